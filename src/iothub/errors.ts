/**
 * Errors of the IoT Hub layer's configuration: connection strings, SAS token options and SAS
 * tokens. None of their messages ever repeats a key, a signature or a whole token: they name the
 * field that is wrong.
 */
import { AmqpOneError } from '../codec/errors.js';
import { Condition } from '../protocol/conditions.js';
import { IotHubCondition } from './conditions.js';

/** Stable codes of {@link IotHubConfigError}. */
export type IotHubConfigErrorCode =
  /** A connection string (or the fields given to a connection-string builder) is missing or has a bad key. */
  | 'IOTHUB_BAD_CONNECTION_STRING'
  /** The options given to `generateSasToken` / `verifySasToken` are unusable (no key, bad expiry...). */
  | 'IOTHUB_BAD_SAS_OPTIONS'
  /** A browser page that is not a secure context has no Web Crypto to sign SAS tokens with. */
  | 'IOTHUB_NO_WEB_CRYPTO';

/** A connection string, or the options of a SAS helper, cannot be used. */
export class IotHubConfigError extends AmqpOneError {
  /** The connection-string key (or option name) at fault, when there is one. */
  readonly key: string | undefined;
  constructor(
    message: string,
    key?: string,
    code: IotHubConfigErrorCode = 'IOTHUB_BAD_CONNECTION_STRING',
    options?: { cause?: unknown },
  ) {
    super(code, message, undefined, options);
    this.key = key;
  }
}

/** A string that is not a well-formed `SharedAccessSignature sr=...&sig=...&se=...[&skn=...]` token. */
export class SasTokenError extends AmqpOneError {
  /** The token field at fault (`sr`, `sig`, `se`, `skn`), when there is one. */
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super('IOTHUB_BAD_SAS_TOKEN', message);
    this.field = field;
  }
}

/* ------------------------------------------------------------------ hub errors (contract section 9) */

/** Stable codes of {@link IotHubError}. */
export type IotHubErrorCode =
  | 'IOTHUB_UNAUTHORIZED'
  | 'IOTHUB_DEVICE_NOT_FOUND'
  | 'IOTHUB_DEVICE_NOT_ONLINE'
  | 'IOTHUB_NOT_FOUND'
  | 'IOTHUB_THROTTLED'
  | 'IOTHUB_MESSAGE_TOO_LARGE'
  | 'IOTHUB_QUOTA_EXCEEDED'
  | 'IOTHUB_TIMEOUT'
  | 'IOTHUB_NOT_ALLOWED'
  | 'IOTHUB_INTERNAL_ERROR'
  | 'IOTHUB_LINK_DETACHED'
  | 'IOTHUB_LINK_STOLEN'
  | 'IOTHUB_REDIRECT'
  | 'IOTHUB_INSECURE_REDIRECT'
  | 'IOTHUB_CONNECTION_FORCED'
  | 'IOTHUB_RESOURCE_LOCKED'
  | 'IOTHUB_MESSAGE_LOCK_LOST'
  | 'IOTHUB_SUSPENDED'
  | 'IOTHUB_ARGUMENT_ERROR'
  | 'IOTHUB_PRECONDITION_FAILED'
  | 'IOTHUB_DEVICE_ALREADY_EXISTS'
  | 'IOTHUB_NOT_CONNECTED'
  | 'IOTHUB_TLS_VERIFICATION_FAILED'
  | 'IOTHUB_PROXY_FAILED'
  | 'IOTHUB_WEBSOCKET_REFUSED'
  | 'IOTHUB_MESSAGE_RELEASED'
  | 'IOTHUB_BAD_RESPONSE'
  | 'IOTHUB_ALREADY_RESPONDED'
  | 'IOTHUB_ERROR';

/** What {@link IotHubError} subclasses are constructed from. */
export interface IotHubErrorDetails {
  /** The AMQP condition the hub sent, when there was one. */
  condition?: string;
  /** The hub's description (its `status-description` for CBS). */
  description?: string;
  /** `com.microsoft:tracking-id` from the error info, when present. */
  trackingId?: string;
  /** The CBS / management status code, when the error came from a response. */
  statusCode?: number;
  /** IoT Hub's numeric error code (404103 for DeviceNotOnline), when a REST answer gave or named it. */
  hubErrorCode?: number;
  cause?: unknown;
}

/**
 * An error the hub reported (a rejected outcome, a detach or close with an error, a CBS status), or
 * a failure to reach it. `retryable` says whether the same operation may succeed if tried again
 * (the C# SDK's transient set: timeouts, throttling, stolen/redirected/forced links, lost connections).
 */
export class IotHubError extends AmqpOneError {
  declare readonly code: IotHubErrorCode;
  readonly retryable: boolean;
  readonly description: string | undefined;
  readonly trackingId: string | undefined;
  readonly statusCode: number | undefined;
  /** IoT Hub's numeric error code (404103 for DeviceNotOnline), when a REST answer gave or named it. */
  readonly hubErrorCode: number | undefined;
  constructor(code: IotHubErrorCode, message: string, retryable: boolean, details: IotHubErrorDetails = {}) {
    super(
      code,
      message,
      details.condition,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.retryable = retryable;
    this.description = details.description;
    this.trackingId = details.trackingId;
    this.statusCode = details.statusCode;
    this.hubErrorCode = details.hubErrorCode;
  }
}

function hubMessage(what: string, d: IotHubErrorDetails): string {
  const parts = [d.condition, d.statusCode === undefined ? undefined : `status ${d.statusCode}`].filter(
    (p) => p !== undefined,
  );
  const where = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  return `${what}${where}${d.description ? `: ${d.description}` : ''}`;
}

/** `amqp:unauthorized-access`, a refused SASL exchange or a CBS status other than 2xx. Not retryable. */
export class UnauthorizedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_UNAUTHORIZED', hubMessage('unauthorized', details), false, details);
  }
}
/** `amqp:not-found` on a device operation: the device (or module) is not registered. Not retryable. */
export class DeviceNotFoundError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_DEVICE_NOT_FOUND', hubMessage('device not found', details), false, details);
  }
}
/**
 * A direct method's device or module has no method link open (IoT Hub's 404103 DeviceNotOnline),
 * or none opened within the call's connect timeout. Not retryable: the call was not delivered,
 * and calling again is the application's choice (with a connect timeout, say).
 */
export class DeviceNotOnlineError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_DEVICE_NOT_ONLINE', hubMessage('device not online', details), false, details);
  }
}
/** `com.microsoft:iot-hub-not-found-error`: no such hub. Not retryable. */
export class IotHubNotFoundError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_NOT_FOUND', hubMessage('IoT hub not found', details), false, details);
  }
}
/** `com.microsoft:device-container-throttled` (usually a rejected outcome). Retryable after a pause. */
export class ThrottledError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_THROTTLED', hubMessage('throttled', details), true, details);
  }
}
/** `amqp:link:message-size-exceeded`, or a message larger than the link allows. Not retryable. */
export class MessageTooLargeError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_MESSAGE_TOO_LARGE', hubMessage('message too large', details), false, details);
  }
}
/** `com.microsoft:quota-exceeded` or `amqp:resource-limit-exceeded` (daily quota, C2D queue depth, too many tokens). Not retryable. */
export class QuotaExceededError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_QUOTA_EXCEEDED', hubMessage('quota exceeded', details), false, details);
  }
}
/**
 * `com.microsoft:timeout`, or no answer in time (a send outcome, a CBS or management response).
 * Retryable. (Named so as not to clash with the promise API's TimeoutError.)
 */
export class IotHubTimeoutError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_TIMEOUT', hubMessage('timed out', details), true, details);
  }
}
/** `amqp:not-allowed`: the operation is not allowed (a wrong link for the credentials, say). Not retryable. */
export class NotAllowedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_NOT_ALLOWED', hubMessage('not allowed', details), false, details);
  }
}
/** `amqp:internal-error` (or CBS status 5xx). Retryable. */
export class InternalServerError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_INTERNAL_ERROR', hubMessage('the hub had an internal error', details), true, details);
  }
}
/** `amqp:link:detach-forced`: the hub detached the link. Retryable (on a new link). */
export class LinkDetachedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_LINK_DETACHED', hubMessage('the hub detached the link', details), true, details);
  }
}
/** `amqp:link:stolen`: another receiver took the link (a higher epoch). Retryable. */
export class LinkStolenError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_LINK_STOLEN', hubMessage('the link was stolen', details), true, details);
  }
}
/** `amqp:link:redirect` where no redirect was expected. Retryable (at the new place). */
export class RedirectedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_REDIRECT', hubMessage('redirected', details), true, details);
  }
}
/**
 * A redirect from a TLS connection to a plain (`amqp://`) endpoint: refused, so that no token given
 * over TLS is ever sent in clear text. Not retryable.
 */
export class InsecureRedirectError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super(
      'IOTHUB_INSECURE_REDIRECT',
      hubMessage('refused a redirect from TLS to plain AMQP', details),
      false,
      details,
    );
  }
}
/** `amqp:connection:forced`: the hub closed the connection. Retryable. */
export class ConnectionForcedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_CONNECTION_FORCED', hubMessage('the hub closed the connection', details), true, details);
  }
}
/** `amqp:resource-locked`. Retryable. */
export class ResourceLockedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_RESOURCE_LOCKED', hubMessage('resource locked', details), true, details);
  }
}
/**
 * `com.microsoft:message-lock-lost`, or a C2D disposition the hub cannot match (the lock expired,
 * the link that received the message is gone). The message will be delivered again. Not retryable.
 */
export class MessageLockLostError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_MESSAGE_LOCK_LOST', hubMessage('message lock lost', details), false, details);
  }
}
/** `com.microsoft:iot-hub-suspended`. Not retryable. */
export class IotHubSuspendedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_SUSPENDED', hubMessage('the IoT hub is suspended', details), false, details);
  }
}
/** `com.microsoft:argument-error` (or CBS status 400). Not retryable. */
export class ArgumentError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_ARGUMENT_ERROR', hubMessage('bad argument', details), false, details);
  }
}
/** `com.microsoft:precondition-failed` / `amqp:precondition-failed`. Not retryable. */
export class PreconditionFailedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_PRECONDITION_FAILED', hubMessage('precondition failed', details), false, details);
  }
}
/** A direct method request answered a second time: the hub took the first answer. Not retryable. */
export class AlreadyRespondedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super(
      'IOTHUB_ALREADY_RESPONDED',
      hubMessage('the method request was already answered', details),
      false,
      details,
    );
  }
}
/** The registry already has a device (or module) with that id (REST 409). Not retryable. */
export class DeviceAlreadyExistsError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_DEVICE_ALREADY_EXISTS', hubMessage('device already exists', details), false, details);
  }
}
/** The connection to the hub was lost (or could not be made). Retryable. */
export class NotConnectedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_NOT_CONNECTED', hubMessage('not connected to the hub', details), true, details);
  }
}
/**
 * The hub's TLS certificate was not trusted (unknown CA, wrong host name, expired). Not retryable:
 * give the CA (`tls.ca`) or fix the host name.
 */
export class TlsVerificationError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super(
      'IOTHUB_TLS_VERIFICATION_FAILED',
      hubMessage('the hub certificate is not trusted', details),
      false,
      details,
    );
  }
}

/**
 * The HTTP proxy (option `proxy`) refused the tunnel (`statusCode` is its answer: 407 without
 * credentials, 403...), could not be reached, or did not answer in HTTP. The message names the
 * proxy, never its password. Retryable when the proxy could not be reached or could not reach the
 * hub (502, 503, 504); not for a refusal.
 */
export class ProxyFailedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}, retryable = false) {
    super('IOTHUB_PROXY_FAILED', hubMessage('the HTTP proxy failed', details), retryable, details);
  }
}

/**
 * The server refused the WebSocket upgrade (transport 'amqp-ws'): `statusCode` is its HTTP answer
 * (404 where nothing serves `/$iothub/websocket`), or it did not agree on an AMQP subprotocol.
 * Retryable only for 429 and 5xx.
 */
export class WebSocketRefusedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}, retryable = false) {
    super(
      'IOTHUB_WEBSOCKET_REFUSED',
      hubMessage('the WebSocket upgrade was refused', details),
      retryable,
      details,
    );
  }
}

/** HTTP statuses after which the same request may succeed later. */
function transientStatus(status: number | undefined): boolean {
  return status !== undefined && (status === 429 || status >= 500);
}

/** The hub answered `released` or `modified`: the message was not taken and may be sent again. Retryable. */
export class MessageReleasedError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_MESSAGE_RELEASED', hubMessage('the hub released the message', details), true, details);
  }
}
/** A response (feedback batch, management answer) whose shape we cannot read. Not retryable. */
export class BadResponseError extends IotHubError {
  constructor(details: IotHubErrorDetails = {}) {
    super('IOTHUB_BAD_RESPONSE', hubMessage('unreadable response from the hub', details), false, details);
  }
}

type ErrorCtor = new (d: IotHubErrorDetails) => IotHubError;

const BY_CONDITION: Record<string, ErrorCtor> = {
  [Condition.UnauthorizedAccess]: UnauthorizedError,
  [Condition.NotFound]: DeviceNotFoundError,
  [Condition.ResourceLimitExceeded]: QuotaExceededError,
  [Condition.NotAllowed]: NotAllowedError,
  [Condition.InternalError]: InternalServerError,
  [Condition.MessageSizeExceeded]: MessageTooLargeError,
  [Condition.DetachForced]: LinkDetachedError,
  [Condition.Stolen]: LinkStolenError,
  [Condition.LinkRedirect]: RedirectedError,
  [Condition.ConnectionRedirect]: RedirectedError,
  [Condition.ConnectionForced]: ConnectionForcedError,
  [Condition.ResourceLocked]: ResourceLockedError,
  [Condition.PreconditionFailed]: PreconditionFailedError,
  [IotHubCondition.Timeout]: IotHubTimeoutError,
  [IotHubCondition.DeviceContainerThrottled]: ThrottledError,
  [IotHubCondition.MessageLockLost]: MessageLockLostError,
  [IotHubCondition.IotHubSuspended]: IotHubSuspendedError,
  [IotHubCondition.IotHubNotFound]: IotHubNotFoundError,
  [IotHubCondition.ArgumentError]: ArgumentError,
  [IotHubCondition.PreconditionFailed]: PreconditionFailedError,
  [IotHubCondition.QuotaExceeded]: QuotaExceededError,
};

/** Conditions retried by default even when unknown to this table (C# SDK's transient list). */
const RETRYABLE_UNKNOWN = /timeout|throttl|server-busy|busy/i;

/** An AMQP error as it arrives in a rejected outcome, a detach or a close. */
export interface AmqpErrorLike {
  condition: string;
  description?: string;
  info?: unknown;
}

function infoEntry(info: unknown, key: string): unknown {
  if (!info || typeof info !== 'object') return undefined;
  if (info instanceof Map) {
    for (const [k, v] of info) if (String(k) === key) return v;
    return undefined;
  }
  return (info as Record<string, unknown>)[key];
}

/** The typed error for an AMQP error condition (contract section 9). Unknown conditions give an IotHubError. */
export function errorFromCondition(e: AmqpErrorLike, options: { cause?: unknown } = {}): IotHubError {
  const tracking = infoEntry(e.info, 'com.microsoft:tracking-id');
  const details: IotHubErrorDetails = {
    condition: e.condition,
    description: e.description,
    trackingId: tracking === undefined || tracking === null ? undefined : String(tracking),
    cause: options.cause,
  };
  const Ctor = BY_CONDITION[e.condition];
  if (Ctor) return new Ctor(details);
  return new IotHubError(
    'IOTHUB_ERROR',
    hubMessage('the hub reported an error', details),
    RETRYABLE_UNKNOWN.test(e.condition),
    details,
  );
}

/** The typed error for a CBS or management status code other than 2xx. */
export function errorFromStatus(
  statusCode: number,
  description: string | undefined,
  options: { cause?: unknown } = {},
): IotHubError {
  const d: IotHubErrorDetails = { statusCode, description, cause: options.cause };
  if (statusCode === 401 || statusCode === 403) return new UnauthorizedError(d);
  if (statusCode === 400) return new ArgumentError(d);
  if (statusCode === 404) return new DeviceNotFoundError(d);
  if (statusCode === 408) return new IotHubTimeoutError(d);
  if (statusCode === 412) return new PreconditionFailedError(d);
  if (statusCode === 429) return new ThrottledError(d);
  if (statusCode >= 500) return new InternalServerError(d);
  return new IotHubError('IOTHUB_ERROR', hubMessage('the hub refused the request', d), false, d);
}

/** Node's codes for a server certificate that does not verify. */
const TLS_VERIFY_CODES =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REJECTED|CERT_SIGNATURE_FAILURE|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)$/;

/**
 * Maps anything thrown by the AMQP layers to an {@link IotHubError}: peer errors by condition,
 * SASL failures to UnauthorizedError, timeouts, lost connections and too-large messages by code.
 * An IotHubError is returned as is; errors of our own making (configuration, encoding) too.
 */
export function toIotHubError(err: unknown): unknown {
  if (err instanceof IotHubError) return err;
  if (!(err instanceof AmqpOneError)) return err;
  const pe = err as AmqpOneError & { amqpError?: AmqpErrorLike; remote?: boolean };
  if (pe.amqpError && typeof pe.amqpError.condition === 'string') {
    return errorFromCondition(pe.amqpError, { cause: err });
  }
  switch (err.code) {
    case 'AMQP_SASL_AUTH_FAILED':
    case 'AMQP_SASL_NO_MECHANISM':
      return new UnauthorizedError({ condition: err.condition, description: err.message, cause: err });
    case 'AMQP_SASL_SYS_ERROR':
      return new InternalServerError({ description: err.message, cause: err });
    case 'AMQP_TIMEOUT':
      return new IotHubTimeoutError({ description: err.message, cause: err });
    case 'AMQP_MESSAGE_TOO_LARGE':
      return new MessageTooLargeError({ description: err.message, cause: err });
    case 'AMQP_CONNECT_FAILED': {
      const code = (err.cause as { code?: unknown } | undefined)?.code;
      if (typeof code === 'string' && TLS_VERIFY_CODES.test(code)) {
        return new TlsVerificationError({ description: err.message, cause: err });
      }
      return new NotConnectedError({ description: err.message, cause: err });
    }
    case 'AMQP_DISCONNECTED':
    case 'AMQP_LINK_DETACHED':
      return new NotConnectedError({ description: err.message, cause: err });
    case 'AMQP_PROXY_UNREACHABLE':
      return new ProxyFailedError({ description: err.message, cause: err }, true);
    case 'AMQP_PROXY_REFUSED':
    case 'AMQP_PROXY_BAD_RESPONSE': {
      const status = httpStatus(err);
      const d = { description: err.message, statusCode: status, cause: err };
      return new ProxyFailedError(d, transientStatus(status));
    }
    case 'AMQP_WS_HANDSHAKE': {
      // Status 0: the connection closed or timed out before an answer, a lost connection.
      const status = httpStatus(err);
      if (!status) return new NotConnectedError({ description: err.message, cause: err });
      return new WebSocketRefusedError(
        { description: err.message, statusCode: status, cause: err },
        transientStatus(status),
      );
    }
    default:
      return err;
  }
}

/** The HTTP status a transport error carries (a proxy's or a WebSocket server's answer). */
function httpStatus(err: AmqpOneError): number | undefined {
  const s = (err as { status?: unknown }).status;
  return typeof s === 'number' ? s : undefined;
}

/** Some messages of a batch were not accepted. `errors[i]` is undefined for the messages that were. */
export class BatchSendError extends IotHubError {
  readonly errors: readonly unknown[];
  constructor(errors: readonly unknown[]) {
    const failed = errors.filter((e) => e !== undefined);
    const first = failed[0];
    super(
      'IOTHUB_ERROR',
      `${failed.length} of ${errors.length} messages were not accepted${first instanceof Error ? `; the first: ${first.message}` : ''}`,
      failed.length > 0 && failed.every((e) => (e as { retryable?: unknown }).retryable === true),
      { cause: first },
    );
    this.errors = errors;
  }
}
