/** Errors of the promise API: each has a stable code. */
import { AmqpOneError } from '../codec/errors.js';

/** A send or request did not finish in time. */
export class TimeoutError extends AmqpOneError {
  constructor(message: string) {
    super('AMQP_TIMEOUT', message);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends AmqpOneError {
  constructor(reason?: unknown) {
    super('AMQP_ABORTED', `aborted${reason instanceof Error ? `: ${reason.message}` : ''}`, undefined, {
      cause: reason,
    });
  }
}

/** The link, session or connection was closed by us while the operation was pending. */
export class ClosedError extends AmqpOneError {
  constructor(what: string) {
    super('AMQP_CLOSED', `${what} is closed`);
  }
}

/** The caller passed an argument of the wrong type or shape (a bug in the calling code, not the peer). */
export class InvalidArgumentError extends AmqpOneError {
  /** The option at fault as a path (`tls.ca`), when an option was. */
  readonly option: string | undefined;
  /** The valid option it most likely meant, for an unknown one. */
  readonly suggestion: string | undefined;
  constructor(message: string, detail: { option?: string; suggestion?: string } = {}) {
    super('AMQP_INVALID_ARGUMENT', message);
    this.option = detail.option;
    this.suggestion = detail.suggestion;
  }
}
