import type { ByteWriter } from '../codec/byte-writer.js';
import { fromValues } from '../codec/bytes.js';
import { ProtocolHeaderMismatchError } from '../protocol/framing-errors.js';

/** Protocol ids of spec 2.2 (AMQP), 5.3.1 (SASL) and 5.2.1 (TLS). */
export const PROTOCOL_ID_AMQP = 0;
/** Protocol id of the TLS header. */
export const PROTOCOL_ID_TLS = 2;
/** Protocol id of the SASL header. */
export const PROTOCOL_ID_SASL = 3;
/** AMQP, TLS or SASL protocol id. */
export type ProtocolId = typeof PROTOCOL_ID_AMQP | typeof PROTOCOL_ID_TLS | typeof PROTOCOL_ID_SASL;

/** A protocol header is 8 bytes: "AMQP", id, major, minor, revision. */
export const PROTOCOL_HEADER_SIZE = 8;

/** The headers as bytes, for comparisons and tests. Writers never read these, so mutating one cannot corrupt output. */
export const AMQP_HEADER = fromValues([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]) as Buffer;
/** The TLS protocol header, AMQP 1.0.0. */
export const TLS_HEADER = fromValues([0x41, 0x4d, 0x51, 0x50, 2, 1, 0, 0]) as Buffer;
/** The SASL protocol header, AMQP 1.0.0. */
export const SASL_HEADER = fromValues([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]) as Buffer;

/** A parsed protocol header. `kind` lets the frame reader hand out headers and frames from one `next()`. */
export interface ProtocolHeader {
  readonly kind: 'header';
  readonly protocolId: ProtocolId;
  readonly major: number;
  readonly minor: number;
  readonly revision: number;
}

/** Writes the protocol header for `protocolId`, version 1.0.0. */
export function writeProtocolHeader(w: ByteWriter, protocolId: ProtocolId): void {
  w.ensure(PROTOCOL_HEADER_SIZE);
  const b = w.buf;
  const p = w.pos;
  b[p] = 0x41; // 'A'
  b[p + 1] = 0x4d; // 'M'
  b[p + 2] = 0x51; // 'Q'
  b[p + 3] = 0x50; // 'P'
  b[p + 4] = protocolId;
  b[p + 5] = 1;
  b[p + 6] = 0;
  b[p + 7] = 0;
  w.pos = p + PROTOCOL_HEADER_SIZE;
}

/**
 * Parses the first 8 bytes of `bytes`. We speak only version 1.0.0, so anything else is a mismatch
 * (spec 2.2: the receiver answers with its own header and closes the socket).
 */
export function parseProtocolHeader(bytes: Uint8Array): ProtocolHeader {
  if (bytes.length < PROTOCOL_HEADER_SIZE) throw new ProtocolHeaderMismatchError(bytes, 'truncated');
  const h = bytes.subarray(0, PROTOCOL_HEADER_SIZE);
  if (h[0] !== 0x41 || h[1] !== 0x4d || h[2] !== 0x51 || h[3] !== 0x50) {
    throw new ProtocolHeaderMismatchError(h, 'not-amqp');
  }
  const id = h[4];
  if (id !== PROTOCOL_ID_AMQP && id !== PROTOCOL_ID_TLS && id !== PROTOCOL_ID_SASL) {
    throw new ProtocolHeaderMismatchError(h, 'protocol-id');
  }
  if (h[5] !== 1 || h[6] !== 0 || h[7] !== 0) throw new ProtocolHeaderMismatchError(h, 'version');
  return { kind: 'header', protocolId: id, major: 1, minor: 0, revision: 0 };
}
