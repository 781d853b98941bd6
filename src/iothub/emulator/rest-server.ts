/**
 * The REST API's request handler on the HTTPS port (https-port.ts hands it every request that is
 * not a WebSocket upgrade): it reads the head, asks rest-router.ts for the route, the api-version
 * and the token's right, and only then reads the JSON body and calls the route's handler.
 *
 * Bounds (docs/security.md): a head of MAX_HEAD_BYTES (Node's `maxHeaderSize`, set by the port);
 * a body of `maxBodyBytes`, refused from its Content-Length or cut as it streams in, and read
 * only for a request whose token was accepted; `requestTimeoutMs` from the head to the answer
 * (or, once its token is accepted, the route's own `deadlineMs`: a direct method's), on the
 * injected timers, after which the request is answered 408 (or its socket destroyed if
 * the answer had begun). A request refused before its body is read is answered with
 * `Connection: close`, so the unread bytes are never parsed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, Timers } from '../../util/timers.js';
import type { AuthConfig } from './auth.js';
import { RestError, restErrorResponse } from './rest-errors.js';
import { authorize, checkApiVersion, type RestReply, type RouteTable } from './rest-router.js';

/** The largest request body read (128 KiB: a direct method's payload limit, well above any registry document). */
export const REST_MAX_BODY_BYTES = 128 * 1024;
/** From a request's head to its answer (30 s). */
export const REST_REQUEST_TIMEOUT_MS = 30_000;

/** Options of {@link restHandler}. */
export interface RestHandlerOptions {
  routes: RouteTable;
  auth: AuthConfig;
  /** The hub's clock: token expiry, tracking-id timestamps. */
  clock: Clock;
  /** The request deadline's timers. */
  timers: Timers;
  /** Default {@link REST_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Default {@link REST_REQUEST_TIMEOUT_MS}; 0 = none. */
  requestTimeoutMs?: number;
  /** A refused request or a handler failure, for the hub's log. */
  onRefused?: (reason: string) => void;
}

/** Splits `req.url` into its path and query (never through URL, which reads `//x` as a host). */
export function splitTarget(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.startsWith('/')) throw new RestError('NotFound', 'the request target must be a path');
  return { path, query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
}

/** The request's headers with lower-case names (Node's `headers`, repeats joined). */
function headerMap(req: IncomingMessage): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) m.set(k, Array.isArray(v) ? v.join(', ') : v);
  return m;
}

/** Reads the body up to `max` bytes (413 past it); resolves undefined when there is none. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max)
    return Promise.reject(
      new RestError('RequestEntityTooLarge', `the body of ${declared} bytes is over the limit of ${max}`),
    );
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > max) {
        cleanup();
        reject(new RestError('RequestEntityTooLarge', `the body is over the limit of ${max} bytes`));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(size === 0 ? undefined : Buffer.concat(chunks, size));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    // A socket closed mid-body (the deadline's answer, a reset) ends the wait too.
    const onClose = (): void => onError(new Error('the connection closed before the body ended'));
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function parseJson(body: Buffer | undefined): unknown {
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (e) {
    throw new RestError('IotHubFormatError', `the body is not valid JSON: ${(e as Error).message}`);
  }
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | undefined,
  close: boolean,
): void {
  if (res.headersSent || res.destroyed) return;
  const h: Record<string, string | number> = { ...headers };
  if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
  if (close) h.Connection = 'close';
  res.writeHead(status, h);
  res.end(body);
}

function sendReply(res: ServerResponse, reply: RestReply, close: boolean): void {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (reply.body !== undefined) {
    body = JSON.stringify(reply.body);
    headers['Content-Type'] = 'application/json; charset=utf-8';
  }
  if (reply.etag !== undefined) headers.ETag = `"${reply.etag}"`;
  send(res, reply.status, headers, body, close);
}

/** Whether a request announces a body (which a route without one leaves unread). */
function announcesBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The handler of the REST API's requests. */
export function restHandler(o: RestHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBody = o.maxBodyBytes ?? REST_MAX_BODY_BYTES;
  const timeoutMs = o.requestTimeoutMs ?? REST_REQUEST_TIMEOUT_MS;

  const refuse = (res: ServerResponse, err: RestError, close: boolean): void => {
    o.onRefused?.(`${err.status} ${err.code}: ${err.message}`);
    const r = restErrorResponse(err, o.clock.now());
    send(res, r.status, r.headers, r.body, close);
  };

  return (req, res) => {
    let timer: unknown;
    let closed = false;
    const arm = (ms: number): void => {
      if (timer !== undefined) o.timers.clearTimeout(timer);
      timer = undefined;
      if (ms <= 0 || closed) return;
      timer = o.timers.setTimeout(() => {
        timer = undefined;
        if (res.headersSent) res.destroy();
        else refuse(res, new RestError('RequestTimedOut', `no answer within ${ms} ms`), true);
      }, ms);
    };
    arm(timeoutMs);
    res.once('close', () => {
      closed = true;
      if (timer !== undefined) o.timers.clearTimeout(timer);
    });
    req.on('error', () => {}); // a reset mid-body: the socket's close ends it

    let bodyRead = false;
    const run = async (): Promise<void> => {
      const { path, query } = splitTarget(req.url ?? '');
      const { route, params } = o.routes.match(req.method ?? '', path);
      checkApiVersion(query);
      const now = o.clock.now();
      const grant = authorize(o.auth, req.headers.authorization, route.right, path, params, now);
      if (route.deadlineMs !== undefined) arm(route.deadlineMs);
      let body: unknown;
      if (route.body) {
        const raw = await readBody(req, maxBody);
        bodyRead = true;
        body = parseJson(raw);
      }
      const reply = await route.handle({
        method: route.method,
        path,
        params,
        query,
        headers: headerMap(req),
        body,
        grant,
        now,
      });
      sendReply(res, reply, !bodyRead && announcesBody(req));
    };
    run().catch((e: unknown) => {
      // Already answered (the deadline's 408) or gone: nothing left to tell anyone.
      if (res.headersSent || res.destroyed) return;
      if (e instanceof RestError) {
        // Until the body is read, unread bytes may follow: close rather than parse them.
        refuse(res, e, !bodyRead && announcesBody(req));
        return;
      }
      o.onRefused?.(`500: ${(e as Error)?.message ?? String(e)}`);
      refuse(res, new RestError('ServerError', 'the emulator failed to answer this request'), true);
    });
  };
}
