/**
 * IoT Hub's REST errors as the service writes them: the HTTP status, an `iothub-errorcode` header
 * and the JSON body `{"Message":"ErrorCode:<Name>;<text>","ExceptionMessage":"Tracking ID:...-G:0-TimeStamp:..."}`
 * (docs/iothub-rest.md). azure-iothub reads the name between `ErrorCode:` and the first `;`, and
 * the text up to the next `;` (its `parseErrorBody`), so the text never holds one.
 */
import { randomBytes } from 'node:crypto';
import { HubError, type HubErrorCode } from '../hub/errors.js';
import { IOTHUB_REST_ERRORS } from '../rest-error-codes.js';

/** The error names this emulator answers with, each with its HTTP status and IoT Hub's numeric code. */
export const REST_ERRORS = IOTHUB_REST_ERRORS;

/** One of IoT Hub's error names (the stable code of a {@link RestError}). */
export type RestErrorCode = keyof typeof REST_ERRORS;

/** A request the REST API refuses: thrown by routes and handlers, answered by the server. */
export class RestError extends Error {
  readonly status: number;
  /** IoT Hub's numeric code (404001 for DeviceNotFound). */
  readonly hubCode: number;
  constructor(
    readonly code: RestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RestError';
    [this.status, this.hubCode] = REST_ERRORS[code];
  }
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `MM/DD/YYYY HH:mm:ss` in UTC, the hub's timestamp in tracking ids. */
function hubTimestamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** The body and headers of an error answer; `now` stamps the tracking id. */
export function restErrorResponse(
  err: RestError,
  now: number,
): { status: number; headers: Record<string, string>; body: string } {
  const text = err.message.replace(/;/g, ',') || err.code;
  const trackingId = randomBytes(16).toString('hex');
  const body = JSON.stringify({
    Message: `ErrorCode:${err.code};${text}`,
    ExceptionMessage: `Tracking ID:${trackingId}-G:0-TimeStamp:${hubTimestamp(now)}`,
  });
  return {
    status: err.status,
    headers: { 'iothub-errorcode': err.code, 'Content-Type': 'application/json; charset=utf-8' },
    body,
  };
}

/** The REST name of each hub error a twin or method route can meet (others are the server's 500). */
const FROM_HUB: Partial<Record<HubErrorCode, RestErrorCode>> = {
  HUB_BAD_ARGUMENT: 'ArgumentInvalid',
  HUB_DEVICE_NOT_FOUND: 'DeviceNotFound',
  HUB_PRECONDITION_FAILED: 'PreconditionFailed',
  HUB_DEVICE_NOT_ONLINE: 'DeviceNotOnline',
  HUB_METHOD_TIMEOUT: 'GatewayTimeout',
  HUB_TOO_MANY_REQUESTS: 'ThrottlingException',
  HUB_CLOSED: 'ServiceUnavailable',
};

/** A hub state error as IoT Hub's REST error (the error itself when it has no REST name). */
export function restErrorOfHub(e: unknown): unknown {
  if (!(e instanceof HubError)) return e;
  const code = FROM_HUB[e.code];
  return code === undefined ? e : new RestError(code, e.message);
}
