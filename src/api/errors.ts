/** Errors of the promise API: each has a stable code. */
import { AmqpOneError } from '../codec/errors.js';

/** A send or request did not finish in time. */
export class TimeoutError extends AmqpOneError {
  constructor(message: string) {
    super('AMQP_TIMEOUT', message);
  }
}

/**
 * The caller's AbortSignal fired: the wait was given up. `cause` is the signal's reason (an
 * `AbortError` DOMException from a plain `controller.abort()`, or what was passed to it).
 */
export class AbortError extends AmqpOneError {
  constructor(reason?: unknown, what?: string) {
    super(
      'AMQP_ABORTED',
      `${what ? `${what}: ` : ''}aborted${reason instanceof Error ? `: ${reason.message}` : ''}`,
      undefined,
      { cause: reason },
    );
  }
}

/** The link, session or connection was closed by us while the operation was pending. */
export class ClosedError extends AmqpOneError {
  constructor(what: string) {
    super('AMQP_CLOSED', `${what} is closed`);
  }
}

/** The caller passed an argument of the wrong type or shape (defined with the protocol errors, so every layer can throw it). */
export { InvalidArgumentError } from '../protocol/errors.js';

/** Why a streamed message's body could not be read to its end: the stable codes. */
export type MessageStreamErrorCode =
  /** The sender aborted the transfer (spec 2.6.14): what came of the message is discarded. */
  | 'AMQP_STREAM_ABORTED'
  /** The message exceeded a max-message-size (ours or the peer's) while it was streaming. */
  | 'AMQP_MESSAGE_TOO_LARGE'
  /** The link, session or connection went away before the last byte (`cause` says how). */
  | 'AMQP_STREAM_LINK_LOST'
  /** The message's bytes are not a valid message (`cause` is the DecodeError). */
  | 'AMQP_STREAM_DECODE'
  /** A streamed body's declared length and the bytes the source gave differ. */
  | 'AMQP_STREAM_LENGTH_MISMATCH';

/**
 * A streamed message did not arrive (or go out) whole: the receiver's body iterable ends with
 * it, the sender's sendStream() rejects with it. `condition` is the AMQP condition where one applies.
 */
export class MessageStreamError extends AmqpOneError {
  declare readonly code: MessageStreamErrorCode;
  constructor(code: MessageStreamErrorCode, message: string, condition?: string, cause?: unknown) {
    super(code, message, condition, cause === undefined ? undefined : { cause });
  }
}
