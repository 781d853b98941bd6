/**
 * The MSSBCBS SASL mechanism (contract section 2): what the C SDK and uAMQP use before CBS. It
 * carries no credentials (an empty initial response): the SAS token follows over `$cbs`.
 */
import type { SaslClientMechanism } from '../../sasl/mechanisms.js';
import { alloc } from '../../codec/bytes.js';

/** The SASL mechanism of Azure's CBS-only clients (no credentials in SASL). */
export const MSSBCBS = 'MSSBCBS';

/** The client side of MSSBCBS: initial response present and empty, no challenges expected. */
export function mssbcbsClient(): SaslClientMechanism {
  return { name: MSSBCBS, initialResponse: () => alloc(0) as Buffer };
}
