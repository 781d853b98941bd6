/** `amqp://` and `amqps://` URLs: host, port, TLS, credentials and an optional address path. */
import { AmqpOneError } from '../codec/errors.js';

/** The parts of an `amqp://` or `amqps://` URL. */
export interface ParsedUrl {
  tls: boolean;
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** The path without its leading '/', when there is one (an address or a vhost, by use). */
  path?: string;
}

/** Parses `amqp[s]://[user:password@]host[:port]`; throws a typed error on a bad URL. */
export function parseAmqpUrl(url: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AmqpOneError('AMQP_BAD_URL', `not a URL: ${url}`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'amqp' && scheme !== 'amqps') {
    throw new AmqpOneError('AMQP_BAD_URL', `unsupported scheme ${scheme}: use amqp:// or amqps://`);
  }
  const tls = scheme === 'amqps';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new AmqpOneError('AMQP_BAD_URL', `no host in ${url}`);
  const path = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    tls,
    host,
    port: u.port ? Number(u.port) : tls ? 5671 : 5672,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    path: path || undefined,
  };
}
