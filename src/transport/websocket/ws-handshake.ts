/**
 * The WebSocket opening handshake (RFC 6455 section 4) for AMQP (OASIS AMQP WebSocket binding):
 * the client offers `AMQPWSB10` and, as a fallback some brokers use, `amqp`. Pure text in, text
 * out; the stream that carries it is elsewhere.
 */
import { createHash, randomBytes } from 'node:crypto';
import { WebSocketHandshakeError } from './ws-errors.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Subprotocols, best first. */
export const AMQP_SUBPROTOCOLS = ['AMQPWSB10', 'amqp'] as const;
/** Largest HTTP head accepted before the blank line. */
export const MAX_HEAD_BYTES = 8192;

export function acceptFor(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export function newKey(): string {
  return randomBytes(16).toString('base64');
}

export function clientRequest(host: string, path: string, key: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Protocol: ${AMQP_SUBPROTOCOLS.join(', ')}\r\n\r\n`
  );
}

export interface HttpHead {
  /** The first line: request line or status line. */
  start: string;
  /** Header names lower-cased. */
  headers: Map<string, string>;
  /** Bytes after the head (the first WebSocket frames). */
  rest: Buffer;
}

/** Parses an HTTP head from `buf`; undefined until the blank line has arrived. */
export function parseHead(buf: Buffer): HttpHead | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES) throw new WebSocketHandshakeError(400, 'the HTTP head is too long');
    return undefined;
  }
  if (end > MAX_HEAD_BYTES) throw new WebSocketHandshakeError(400, 'the HTTP head is too long');
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new WebSocketHandshakeError(400, `a malformed header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { start: lines[0]!, headers, rest: buf.subarray(end + 4) };
}

const tokens = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);

/** Checks the server's answer; returns the subprotocol it chose. */
export function checkServerResponse(head: HttpHead, key: string): string {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(head.start);
  const code = status ? Number(status[1]) : 0;
  if (code !== 101)
    throw new WebSocketHandshakeError(code, `the server did not upgrade to WebSocket: ${head.start}`);
  if (head.headers.get('upgrade')?.toLowerCase() !== 'websocket')
    throw new WebSocketHandshakeError(code, 'the answer has no Upgrade: websocket');
  if (!tokens(head.headers.get('connection')).some((t) => t.toLowerCase() === 'upgrade'))
    throw new WebSocketHandshakeError(code, 'the answer has no Connection: Upgrade');
  // We offer none, and one we did not offer would change the frames (RFC 6455 section 4.1).
  if (head.headers.has('sec-websocket-extensions'))
    throw new WebSocketHandshakeError(code, 'the answer names an extension we did not offer');
  if (head.headers.get('sec-websocket-accept') !== acceptFor(key))
    throw new WebSocketHandshakeError(code, 'Sec-WebSocket-Accept does not match the key sent');
  const chosen = head.headers.get('sec-websocket-protocol');
  if (!chosen || !(AMQP_SUBPROTOCOLS as readonly string[]).includes(chosen))
    throw new WebSocketHandshakeError(
      code,
      `the server chose the subprotocol ${JSON.stringify(chosen ?? null)}, not AMQPWSB10 or amqp`,
    );
  return chosen;
}

export interface UpgradeAnswer {
  /** The HTTP answer to write. */
  response: string;
  /** The chosen subprotocol. */
  protocol: string;
  /** The endpoint the client asked for, as the server names it. */
  path: string;
}

/**
 * Checks a client's upgrade request against the endpoint `paths` (any one; a trailing slash does
 * not matter, nor does a query); throws WebSocketHandshakeError (400/404/426).
 */
export function answerUpgrade(head: HttpHead, paths: string | readonly string[]): UpgradeAnswer {
  const m = /^GET (\S+) HTTP\/1\.1$/.exec(head.start);
  if (!m) throw new WebSocketHandshakeError(400, `not a GET HTTP/1.1 request: ${JSON.stringify(head.start)}`);
  const target = m[1]!.split('?')[0]!;
  const bare = (p: string): string => p.replace(/\/+$/, '');
  const path = (typeof paths === 'string' ? [paths] : paths).find((p) => bare(p) === bare(target));
  if (path === undefined) throw new WebSocketHandshakeError(404, `no WebSocket endpoint at ${target}`);
  const h = head.headers;
  if (!tokens(h.get('upgrade')).some((t) => t.toLowerCase() === 'websocket'))
    throw new WebSocketHandshakeError(400, 'the request has no Upgrade: websocket');
  if (!tokens(h.get('connection')).some((t) => t.toLowerCase() === 'upgrade'))
    throw new WebSocketHandshakeError(400, 'the request has no Connection: Upgrade');
  if (h.get('sec-websocket-version') !== '13')
    throw new WebSocketHandshakeError(426, 'Sec-WebSocket-Version must be 13');
  // 16 bytes in base64 exactly: a lenient decode would take junk, or two keys joined.
  const key = h.get('sec-websocket-key');
  if (!key || !/^[A-Za-z0-9+/]{22}==$/.test(key))
    throw new WebSocketHandshakeError(400, 'Sec-WebSocket-Key is missing or not 16 bytes in base64');
  const offered = tokens(h.get('sec-websocket-protocol'));
  const protocol = AMQP_SUBPROTOCOLS.find((p) => offered.includes(p));
  if (!protocol)
    throw new WebSocketHandshakeError(
      400,
      `no AMQP subprotocol offered (got ${JSON.stringify(offered)}; want AMQPWSB10 or amqp)`,
    );
  return {
    protocol,
    path,
    response:
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  };
}

/** The HTTP answer to a refused upgrade. */
export function refusalResponse(err: WebSocketHandshakeError): string {
  const reason =
    { 400: 'Bad Request', 404: 'Not Found', 426: 'Upgrade Required' }[err.status] ?? 'Bad Request';
  const body = `${err.message}\n`;
  const extra = err.status === 426 ? 'Sec-WebSocket-Version: 13\r\n' : '';
  return (
    `HTTP/1.1 ${err.status} ${reason}\r\n${extra}Content-Type: text/plain\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
