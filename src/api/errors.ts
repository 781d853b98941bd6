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
