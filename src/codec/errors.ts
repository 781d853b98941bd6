/**
 * The error hierarchy every layer builds on. Each error has a stable `code` (for programs) and,
 * where the protocol defines one, the AMQP error `condition` the connection closes with.
 */
export class AmqpOneError extends Error {
  readonly code: string;
  readonly condition: string | undefined;
  constructor(code: string, message: string, condition?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.condition = condition;
  }
}

/** Stable codes for bytes that are not valid AMQP encodings. */
export type DecodeErrorCode =
  | 'AMQP_DECODE_TRUNCATED'
  | 'AMQP_DECODE_UNKNOWN_CONSTRUCTOR'
  | 'AMQP_DECODE_BAD_SIZE'
  | 'AMQP_DECODE_TOO_DEEP'
  | 'AMQP_DECODE_INVALID_UTF8'
  | 'AMQP_DECODE_INVALID_VALUE'
  | 'AMQP_DECODE_MISSING_FIELD'
  | 'AMQP_DECODE_WRONG_TYPE'
  | 'AMQP_DECODE_TRAILING_BYTES';

/** Bad bytes from a peer. Maps to `amqp:decode-error`. */
export class DecodeError extends AmqpOneError {
  /** Offset in the input where the problem was found. */
  readonly offset: number;
  constructor(code: DecodeErrorCode, message: string, offset = -1) {
    super(code, offset >= 0 ? `${message} (at byte ${offset})` : message, 'amqp:decode-error');
    this.offset = offset;
  }
}

/** Stable codes for values we refuse to encode. */
export type EncodeErrorCode = 'AMQP_ENCODE_INVALID_VALUE' | 'AMQP_ENCODE_TOO_DEEP';

/** A value the application asked us to encode that AMQP cannot represent. */
export class EncodeError extends AmqpOneError {
  constructor(message: string, code: EncodeErrorCode = 'AMQP_ENCODE_INVALID_VALUE') {
    super(code, message);
  }
}
