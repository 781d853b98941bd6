/**
 * `amqp://` and `amqps://` URLs: host, port, TLS, credentials and an optional address path.
 * `ws://` and `wss://` (AMQP over WebSockets) are the same, except that the path is the WebSocket
 * endpoint (`websocket`), not an address, and the default ports are 80 and 443.
 */
import { AmqpOneError } from '../codec/errors.js';

/** The parts of an `amqp://` or `amqps://` URL. */
export interface ParsedUrl {
  tls: boolean;
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** The path without its leading '/', when there is one (an address or a vhost, by use); not for ws URLs. */
  path?: string;
  /** For ws:// and wss://: the request target of the WebSocket upgrade (path and query). */
  websocket?: string;
}

/** Parses `amqp[s]://[user:password@]host[:port][/path]` or `ws[s]://...`; throws a typed error on a bad URL. */
export function parseAmqpUrl(url: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AmqpOneError('AMQP_BAD_URL', `not a URL: ${redacted(url)}`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!['amqp', 'amqps', 'ws', 'wss'].includes(scheme)) {
    throw new AmqpOneError(
      'AMQP_BAD_URL',
      `unsupported scheme ${scheme}: use amqp://, amqps://, ws:// or wss://`,
    );
  }
  const websocket = scheme === 'ws' || scheme === 'wss';
  const tls = scheme === 'amqps' || scheme === 'wss';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new AmqpOneError('AMQP_BAD_URL', `no host in ${redacted(url)}`);
  const path = websocket ? '' : decodeURIComponent(u.pathname.replace(/^\//, ''));
  const defaultPort = websocket ? (tls ? 443 : 80) : tls ? 5671 : 5672;
  return {
    tls,
    host,
    port: u.port ? Number(u.port) : defaultPort,
    username: u.username ? decoded(u.username, 'user') : undefined,
    password: u.password ? decoded(u.password, 'password') : undefined,
    path: path || undefined,
    ...(websocket ? { websocket: (u.pathname || '/') + u.search } : {}),
  };
}

/** The URL for an error message: what stands before the last '@' after '//' may be a password. */
function redacted(url: string): string {
  return url.replace(/\/\/.*@/, '//***@');
}

function decoded(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // Not the part in the message: it may be the password.
    throw new AmqpOneError('AMQP_BAD_URL', `the ${what} in the URL has a malformed %-escape`);
  }
}
