/**
 * Opens a TCP or TLS socket, directly or through an HTTP proxy's CONNECT tunnel. TLS verifies the
 * server by default, with SNI, a custom CA and client certificates; through a proxy it runs inside
 * the tunnel, end to end with the target.
 */
import net from 'node:net';
import tls from 'node:tls';
import { AmqpOneError } from '../codec/errors.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import { openTunnel, parseProxyUrl } from './http-proxy.js';
import { proxyFromEnv } from './proxy-env.js';

/** TLS options of a client connection. */
export interface TlsOptions {
  /** Trusted CA(s), PEM. Defaults to Node's bundle. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key (for SASL EXTERNAL / X.509). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** SNI and certificate host name; defaults to the host. */
  servername?: string;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
}

/** A client's TLS: what to trust and who we are. */
export const TLS_OPTIONS = {
  ca: opt.listOf(opt.pem),
  cert: opt.pem,
  key: opt.pem,
  servername: opt.string,
  rejectUnauthorized: opt.boolean,
} satisfies OptionSchema<TlsOptions>;

/** Where and how {@link openSocket} connects. */
export interface SocketOptions {
  host: string;
  port: number;
  tls?: boolean | TlsOptions;
  /**
   * Give up connecting after this long without progress (ms, TCP and TLS only). Default
   * DEFAULT_SOCKET_CONNECT_TIMEOUT_MS (30 s); 0 or Infinity means none (a caller whose `signal`
   * carries its own deadline).
   */
  connectTimeoutMs?: number;
  /** Aborting destroys the socket and rejects with the signal's reason (the client's whole-handshake deadline). */
  signal?: AbortSignal;
  /**
   * An HTTP proxy, `http://[user:pass@]host[:port]`: the socket is a CONNECT tunnel through it to
   * host:port (Basic proxy authentication from the URL). A refusal is a ProxyError. `'env'`: the
   * one HTTPS_PROXY (TLS) or HTTP_PROXY names, unless NO_PROXY lists the host (proxy-env.ts).
   */
  proxy?: string | URL;
}

const SOCKET_OPTIONS = {
  host: opt.string,
  port: opt.number,
  tls: opt.either(opt.boolean, opt.nested(TLS_OPTIONS, 'TLS options')),
  connectTimeoutMs: opt.number,
  signal: opt.signal,
  proxy: opt.either(opt.string, opt.instanceOf(URL, 'a URL')),
} satisfies OptionSchema<SocketOptions>;

/** How long openSocket waits for TCP and TLS unless told otherwise: 30 s. */
export const DEFAULT_SOCKET_CONNECT_TIMEOUT_MS = 30_000;

/** Opens a TCP or TLS socket, with a deadline and a signal. */
export function openSocket(o: SocketOptions): Promise<net.Socket> {
  try {
    checkOptions(o, SOCKET_OPTIONS, 'openSocket');
    const proxy = o.proxy === 'env' ? proxyFromEnv(o.host, o.port, Boolean(o.tls)) : o.proxy;
    if (proxy !== undefined) parseProxyUrl(proxy);
    return proxy === undefined ? connectTo(o) : viaProxy(o, proxy);
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** Through the proxy's tunnel: the tunnel, then the TLS handshake inside it, each within connectTimeoutMs. */
async function viaProxy(o: SocketOptions, proxy: string | URL): Promise<net.Socket> {
  const timeoutMs = o.connectTimeoutMs ?? DEFAULT_SOCKET_CONNECT_TIMEOUT_MS;
  const tunnel = await openTunnel({ proxy, host: o.host, port: o.port, signal: o.signal, timeoutMs });
  if (!o.tls) {
    tunnel.setNoDelay(true);
    return tunnel;
  }
  return connectTo(o, tunnel);
}

/** TCP or TLS to host:port, or TLS inside `tunnel` when given. */
function connectTo(o: SocketOptions, tunnel?: net.Socket): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const signal = o.signal;
    if (signal?.aborted) {
      tunnel?.destroy();
      return reject(signal.reason);
    }
    const onAbort = (): void => {
      socket.destroy();
      tunnel?.destroy();
      reject(signal!.reason);
    };
    const fail = (err: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      tunnel?.destroy();
      reject(
        new AmqpOneError(
          'AMQP_CONNECT_FAILED',
          `cannot connect to ${o.host}:${o.port}: ${err.message}`,
          undefined,
          { cause: err },
        ),
      );
    };
    if (o.tls) {
      const t: TlsOptions = o.tls === true ? {} : o.tls;
      socket = tls.connect({
        ...(tunnel ? { socket: tunnel } : { host: o.host, port: o.port }),
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        servername: t.servername ?? (net.isIP(o.host) ? undefined : o.host),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      });
      socket.once('secureConnect', done);
    } else {
      socket = net.connect({ host: o.host, port: o.port });
      socket.once('connect', done);
    }
    socket.once('error', fail);
    signal?.addEventListener('abort', onAbort, { once: true });
    const ms = o.connectTimeoutMs ?? DEFAULT_SOCKET_CONNECT_TIMEOUT_MS;
    if (ms > 0 && Number.isFinite(ms)) socket.setTimeout(ms, () => fail(new Error('connect timed out')));
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      socket.setTimeout(0);
      socket.setNoDelay(true);
      resolve(socket);
    }
  });
}
