/**
 * One HTTPS request to IoT Hub's service REST API over `node:https` (no dependency), with a
 * deadline on the injected timers, a bound on the answer's size, and IoT Hub's error bodies as
 * typed errors (docs/iothub-rest.md):
 * `{"Message":"ErrorCode:<Name>;<text>","ExceptionMessage":"Tracking ID:<id>-G:..."}`.
 *
 * Plain HTTP (`tls: false`) is for a hub on this machine only: a SAS token is never sent in clear
 * text to another host, as the AMQP clients refuse a redirect from TLS to plain AMQP.
 */
import http from 'node:http';
import https from 'node:https';
import { AbortError, InvalidArgumentError } from '../../api/errors.js';
import type { TlsOptions } from '../../transport/open-socket.js';
import type { Timers } from '../../util/timers.js';
import { restErrorName, restErrorNumber } from '../rest-error-codes.js';
import {
  ArgumentError,
  DeviceAlreadyExistsError,
  DeviceNotFoundError,
  DeviceNotOnlineError,
  InternalServerError,
  IotHubError,
  IotHubNotFoundError,
  IotHubTimeoutError,
  MessageTooLargeError,
  NotConnectedError,
  PreconditionFailedError,
  QuotaExceededError,
  ThrottledError,
  TlsVerificationError,
  UnauthorizedError,
  type IotHubErrorDetails,
} from '../errors.js';

/** The largest answer read (4 MiB: a list of 1000 devices is under 1 MiB). */
export const MAX_REST_RESPONSE_BYTES = 4 * 1024 * 1024;

/** What {@link restRequest} sends. */
export interface RestRequestOptions {
  host: string;
  port: number;
  /** TLS options, or false for plain HTTP (loopback hosts only). */
  tls: TlsOptions | false;
  method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  /** JSON text. */
  body?: string;
  /** The request fails with IotHubTimeoutError after this long (ms). */
  timeoutMs: number;
  timers: Timers;
  signal?: AbortSignal;
  /** Default {@link MAX_REST_RESPONSE_BYTES}. */
  maxResponseBytes?: number;
  /** Keeps connections for the next requests (one per client); without it, one connection per request. */
  agent?: http.Agent;
}

/** An answer of status 2xx. */
export interface RestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, undefined when there is none. */
  body: unknown;
}

/** Whether a host is this machine (where plain HTTP may carry a token). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Node's codes for a server certificate that does not verify (as ../errors.ts reads them). */
const TLS_VERIFY =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REJECTED|CERT_SIGNATURE_FAILURE|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)$/;

/**
 * The real hub's other form, a JSON error inside `Message` (its direct-method errors):
 * `{"errorCode":404103,"trackingId":"...","message":"Timed out waiting for device to connect.",...}`.
 * Its name, text, number and tracking id; undefined when `message` is not that.
 */
function nestedError(
  message: string,
): [string | undefined, string | undefined, number, string | undefined] | undefined {
  let inner: unknown;
  try {
    inner = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof inner !== 'object' || inner === null) return undefined;
  const e = inner as { errorCode?: unknown; message?: unknown; trackingId?: unknown };
  if (typeof e.errorCode !== 'number' || !Number.isInteger(e.errorCode)) return undefined;
  return [
    restErrorName(e.errorCode),
    typeof e.message === 'string' ? e.message : undefined,
    e.errorCode,
    typeof e.trackingId === 'string' ? e.trackingId : undefined,
  ];
}

/**
 * The typed error of a REST answer that is not 2xx, from its status and IoT Hub's error body
 * (its name, text and tracking id). Throttling, timeouts and 5xx are retryable.
 */
export function errorFromRestResponse(status: number, bodyText: string): IotHubError {
  let name: string | undefined;
  let text: string | undefined;
  let trackingId: string | undefined;
  let hubErrorCode: number | undefined;
  try {
    const j = JSON.parse(bodyText) as { Message?: unknown; ExceptionMessage?: unknown };
    const m = typeof j.Message === 'string' ? /^ErrorCode:([^;]*);([\s\S]*)$/.exec(j.Message) : null;
    const nested = m || typeof j.Message !== 'string' ? undefined : nestedError(j.Message);
    if (m) [name, text] = [m[1], m[2]];
    else if (nested) [name, text, hubErrorCode, trackingId] = nested;
    else if (typeof j.Message === 'string') text = j.Message;
    const t =
      typeof j.ExceptionMessage === 'string' ? /Tracking ID:([^\s-]+)/.exec(j.ExceptionMessage) : null;
    if (t) trackingId ??= t[1];
  } catch {
    text = bodyText.slice(0, 200) || undefined;
  }
  const description = name === undefined ? text : `${name}: ${text ?? ''}`;
  hubErrorCode ??= restErrorNumber(name);
  const d: IotHubErrorDetails = { statusCode: status, description, trackingId };
  if (hubErrorCode !== undefined) d.hubErrorCode = hubErrorCode;
  switch (status) {
    case 400:
      return new ArgumentError(d);
    case 401:
      return new UnauthorizedError(d);
    case 403:
      return new QuotaExceededError(d);
    case 404:
      if (name === 'DeviceNotOnline') return new DeviceNotOnlineError(d);
      return name === 'IotHubNotFound' ? new IotHubNotFoundError(d) : new DeviceNotFoundError(d);
    case 408:
      return new IotHubTimeoutError(d);
    case 409:
      return new DeviceAlreadyExistsError(d);
    case 412:
      return new PreconditionFailedError(d);
    case 413:
      return new MessageTooLargeError(d);
    case 429:
      return new ThrottledError(d);
    case 504:
      // GatewayTimeout (504101): a direct method's device did not answer in time.
      return new IotHubTimeoutError(d);
  }
  if (status >= 500) return new InternalServerError(d);
  return new IotHubError('IOTHUB_ERROR', `the hub answered ${status}: ${description ?? ''}`, false, d);
}

/** Sends one request; resolves with a 2xx answer, rejects with a typed IotHubError. */
export function restRequest(o: RestRequestOptions): Promise<RestResponse> {
  if (o.tls === false && !isLoopbackHost(o.host))
    return Promise.reject(
      new InvalidArgumentError(
        `plain HTTP would send the SAS token to ${o.host} in clear text: tls: false is for a hub on this machine only`,
      ),
    );
  if (o.signal?.aborted) return Promise.reject(new AbortError(o.signal.reason));
  const max = o.maxResponseBytes ?? MAX_REST_RESPONSE_BYTES;
  return new Promise<RestResponse>((resolve, reject) => {
    let settled = false;
    const finish = (e: unknown, r?: RestResponse): void => {
      if (settled) return;
      settled = true;
      o.timers.clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (e !== undefined) {
        req.destroy();
        reject(e);
      } else resolve(r!);
    };
    const headers: Record<string, string | number> = { ...o.headers };
    if (o.body !== undefined) headers['Content-Length'] = Buffer.byteLength(o.body);
    const common = {
      host: o.host,
      port: o.port,
      method: o.method,
      path: o.path,
      headers,
      agent: o.agent ?? false,
    };
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          finish(new IotHubError('IOTHUB_BAD_RESPONSE', `the answer is larger than ${max} bytes`, false));
          return;
        }
        chunks.push(c);
      });
      res.on('error', (e) => finish(new NotConnectedError({ description: e.message, cause: e })));
      res.on('end', () => {
        const text = Buffer.concat(chunks, size).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) return finish(errorFromRestResponse(status, text));
        let body: unknown;
        if (text.length > 0 && /application\/json/i.test(String(res.headers['content-type'] ?? ''))) {
          try {
            body = JSON.parse(text) as unknown;
          } catch (e) {
            return finish(
              new IotHubError(
                'IOTHUB_BAD_RESPONSE',
                `the answer is not JSON: ${(e as Error).message}`,
                false,
              ),
            );
          }
        }
        finish(undefined, { status, headers: res.headers, body });
      });
    };
    const req =
      o.tls === false ? http.request(common, onResponse) : https.request({ ...common, ...o.tls }, onResponse);
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = typeof e.code === 'string' ? e.code : '';
      finish(
        TLS_VERIFY.test(code)
          ? new TlsVerificationError({ description: e.message, cause: e })
          : new NotConnectedError({ description: e.message, cause: e }),
      );
    });
    const timer = o.timers.setTimeout(
      () => finish(new IotHubTimeoutError({ description: `no answer within ${o.timeoutMs} ms` })),
      o.timeoutMs,
    );
    const onAbort = (): void => finish(new AbortError(o.signal!.reason));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.end(o.body);
  });
}
