import { copyOf, toHex } from '../codec/bytes.js';
import { AmqpOneError } from '../codec/errors.js';
import { Condition } from './conditions.js';

/** The condition a connection closes with when the peer's framing is broken: `Condition.FramingError`. */
export const FRAMING_ERROR_CONDITION = Condition.FramingError;

/** Stable codes for bytes that do not form valid frames or protocol headers. */
export type FramingErrorCode =
  | 'AMQP_FRAME_TOO_LARGE'
  | 'AMQP_FRAME_BAD_SIZE'
  | 'AMQP_FRAME_BAD_DOFF'
  | 'AMQP_FRAME_BAD_TYPE'
  | 'AMQP_HEADER_MISMATCH';

/** The peer's bytes do not follow the framing rules of spec 2.3. Fatal for the connection. */
export class FramingError extends AmqpOneError {
  declare readonly code: FramingErrorCode;
  constructor(code: FramingErrorCode, message: string) {
    super(code, message, Condition.FramingError);
  }
}

/** Why a protocol header was refused. */
export type HeaderMismatchReason = 'truncated' | 'not-amqp' | 'protocol-id' | 'version';

/**
 * The peer sent a protocol header we do not speak (spec 2.2). Carries the bytes received so the
 * engine can log them and answer with the header it does support before closing the socket.
 */
export class ProtocolHeaderMismatchError extends FramingError {
  /** A copy of the (up to 8) header bytes received. */
  readonly received: Buffer;
  readonly reason: HeaderMismatchReason;
  constructor(received: Uint8Array, reason: HeaderMismatchReason) {
    const copy = copyOf(received) as Buffer;
    super('AMQP_HEADER_MISMATCH', `protocol header mismatch (${reason}): received ${toHex(copy)}`);
    this.received = copy;
    this.reason = reason;
  }
}
