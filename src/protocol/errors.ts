/**
 * Errors of the protocol layers. A peer's close, end or detach with an error becomes a
 * ConnectionError, SessionError or LinkError carrying the peer's AMQP error; a redirect becomes a
 * RedirectError with the place to go.
 */
import { AmqpOneError } from '../codec/errors.js';
import type { AmqpErrorRecord, Fields } from '../codec/spec/records.js';
import type { AmqpValue } from '../codec/values.js';
import { Condition } from './conditions.js';

/** The AMQP error as the peer (or we) sent it. */
export interface AmqpError {
  condition: string;
  description?: string;
  info?: Fields | Map<AmqpValue, AmqpValue>;
}

/** The error as the error record of a close, end or detach frame. */
export function toErrorRecord(e: AmqpError): AmqpErrorRecord {
  return {
    type: 'error',
    condition: e.condition,
    description: e.description,
    info: e.info as Fields | undefined,
  };
}

/** Stable codes derived from the condition: 'amqp:link:stolen' -> 'AMQP_LINK_STOLEN'. */
export function codeForCondition(condition: string): string {
  return condition.replace(/[^a-zA-Z0-9]+/g, '_').toUpperCase();
}

/** Which endpoint an error closed. */
export type Scope = 'connection' | 'session' | 'link';

/** An error from a peer's close/end/detach, or our own for a violation we detected. */
export class ProtocolError extends AmqpOneError {
  readonly amqpError: AmqpError;
  /** True when the peer sent the error; false when we closed because of the peer. */
  readonly remote: boolean;
  constructor(scope: Scope, e: AmqpError, remote: boolean, options?: { cause?: unknown }) {
    super(
      codeForCondition(e.condition),
      `${scope} ${remote ? 'closed by peer' : 'closed'}: ${e.condition}${e.description ? ` (${e.description})` : ''}`,
      e.condition,
      options,
    );
    this.amqpError = e;
    this.remote = remote;
  }
  /** The peer's description. */
  get description(): string | undefined {
    return this.amqpError.description;
  }
  /** The peer's info map. */
  get info(): AmqpError['info'] {
    return this.amqpError.info;
  }
}

export class ConnectionError extends ProtocolError {
  constructor(e: AmqpError, remote: boolean, options?: { cause?: unknown }) {
    super('connection', e, remote, options);
  }
}
export class SessionError extends ProtocolError {
  constructor(e: AmqpError, remote: boolean) {
    super('session', e, remote);
  }
}
export class LinkError extends ProtocolError {
  constructor(e: AmqpError, remote: boolean) {
    super('link', e, remote);
  }
}

/** amqp:connection:redirect or amqp:link:redirect: where the peer sends us instead. */
export class RedirectError extends ProtocolError {
  readonly hostname?: string;
  readonly networkHost?: string;
  readonly port?: number;
  readonly address?: string;
  constructor(scope: Scope, e: AmqpError) {
    super(scope, e, true);
    const get = (k: string): AmqpValue => {
      const info = e.info;
      if (!info) return undefined;
      if (info instanceof Map) {
        for (const [key, v] of info) if (String(key) === k) return v;
        return undefined;
      }
      return info[k];
    };
    const str = (v: AmqpValue): string | undefined => (v === undefined || v === null ? undefined : String(v));
    this.hostname = str(get('hostname'));
    this.networkHost = str(get('network-host'));
    const port = get('port');
    this.port = port === undefined || port === null ? undefined : Number(port);
    this.address = str(get('address'));
  }
}

/** Builds the right error class for a peer's error at a scope. */
export function remoteError(scope: Scope, e: AmqpError): ProtocolError {
  if (e.condition === Condition.ConnectionRedirect || e.condition === Condition.LinkRedirect) {
    return new RedirectError(scope, e);
  }
  if (scope === 'connection') return new ConnectionError(e, true);
  if (scope === 'session') return new SessionError(e, true);
  return new LinkError(e, true);
}

/** SASL failed: the peer refused our credentials, or no mechanism fits. */
export class AuthenticationError extends AmqpOneError {
  /** The sasl-code (1 auth, 2 sys, 3 sys-perm, 4 sys-temp), when the peer sent one. */
  readonly saslCode: number | undefined;
  constructor(code: string, message: string, saslCode?: number) {
    super(code, message, Condition.UnauthorizedAccess);
    this.saslCode = saslCode;
  }
}

/** The transport went away before the connection was closed. */
export class DisconnectedError extends AmqpOneError {
  constructor(message = 'the connection was lost', options?: { cause?: unknown }) {
    super('AMQP_DISCONNECTED', message, undefined, options);
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
