/**
 * A tunnel through an HTTP proxy (RFC 9110 CONNECT): TCP to the proxy, one CONNECT request, and
 * once the proxy answers 2xx the socket carries our bytes to the target unchanged. TLS, when
 * wanted, runs end to end inside the tunnel, so the proxy sees neither certificates nor SASL
 * credentials nor tokens; it only learns host and port.
 *
 * The proxy's answer is read through 'readable' and read(), not 'data': once the listener is
 * removed the socket is neither flowing nor paused, so bytes the proxy sent after its head
 * (unshifted back) wait for whoever reads next instead of being emitted to nobody.
 */
import net from 'node:net';
import { AmqpOneError } from '../codec/errors.js';
import { InvalidArgumentError } from '../protocol/errors.js';

/** Stable codes of a tunnel that could not be opened. */
export type ProxyErrorCode = 'AMQP_PROXY_REFUSED' | 'AMQP_PROXY_UNREACHABLE' | 'AMQP_PROXY_BAD_RESPONSE';

/** The proxy refused the tunnel, could not be reached, or did not answer in HTTP. */
export class ProxyError extends AmqpOneError {
  /** The proxy as `host:port` (never its credentials). */
  readonly proxy: string;
  /** The proxy's HTTP status, for AMQP_PROXY_REFUSED (407, 403, 502...). */
  readonly status: number | undefined;
  constructor(
    code: ProxyErrorCode,
    proxy: string,
    message: string,
    status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, `proxy ${proxy}: ${message}`, undefined, options);
    this.proxy = proxy;
    this.status = status;
  }
}

/** Where {@link openTunnel} goes. */
export interface TunnelOptions {
  /** `http://[user:pass@]host[:port]`; the port defaults to 80. */
  proxy: string | URL;
  /** The target the proxy connects to. */
  host: string;
  port: number;
  /** Aborting destroys the socket and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Give up after this long without the proxy's answer (ms); 0 or absent means none. */
  timeoutMs?: number;
}

/** The longest response head we read from a proxy; a longer one is not a proxy speaking. */
export const MAX_PROXY_HEAD_BYTES = 16 * 1024;

/** The proxy URL checked: only plain `http:` (the CONNECT request itself is not encrypted). */
export function parseProxyUrl(proxy: string | URL): URL {
  let url: URL;
  try {
    url = typeof proxy === 'string' ? new URL(proxy) : proxy;
  } catch {
    throw new InvalidArgumentError('proxy: expected an http:// URL', { option: 'proxy' });
  }
  if (!(url instanceof URL) || url.protocol !== 'http:' || url.hostname === '') {
    const scheme = url instanceof URL ? url.protocol : typeof url;
    throw new InvalidArgumentError(`proxy: expected an http:// URL, got ${scheme}`, { option: 'proxy' });
  }
  return url;
}

/** The CONNECT request's head, with Basic credentials from the URL's user and password. */
function connectRequest(url: URL, host: string, port: number): string {
  // A host with spaces or line breaks would add headers of its own to the request.
  if (!/^[^\s/?#@]+$/.test(host)) {
    throw new InvalidArgumentError(`host: ${JSON.stringify(host)} cannot be tunnelled`, { option: 'host' });
  }
  const target = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
  if (url.username !== '' || url.password !== '') {
    let pair: string;
    try {
      pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      // Not the URL in the message: it holds the password.
      throw new InvalidArgumentError('proxy: the user or password has a malformed %-escape', {
        option: 'proxy',
      });
    }
    lines.push(`Proxy-Authorization: Basic ${Buffer.from(pair, 'utf8').toString('base64')}`);
  }
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Opens a socket to `host:port` through the HTTP proxy; resolves once the proxy answered 2xx. */
export function openTunnel(o: TunnelOptions): Promise<net.Socket> {
  let url: URL;
  let request: string;
  try {
    url = parseProxyUrl(o.proxy);
    request = connectRequest(url, o.host, o.port);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const proxyHost = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const proxyPort = url.port === '' ? 80 : Number(url.port);
  const name = `${url.hostname}:${proxyPort}`;
  const target = net.isIPv6(o.host) ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;

  return new Promise((resolve, reject) => {
    const signal = o.signal;
    if (signal?.aborted) return reject(signal.reason);
    const socket = net.connect({ host: proxyHost, port: proxyPort });
    let connected = false;
    let head = Buffer.alloc(0);
    const finish = (err: unknown): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('connect', onConnect);
      socket.setTimeout(0);
      if (err === undefined) return;
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => finish(signal!.reason);
    const onError = (err: Error): void =>
      finish(
        connected
          ? new ProxyError(
              'AMQP_PROXY_BAD_RESPONSE',
              name,
              `connection lost before the proxy answered: ${err.message}`,
              undefined,
              { cause: err },
            )
          : new ProxyError('AMQP_PROXY_UNREACHABLE', name, `cannot connect: ${err.message}`, undefined, {
              cause: err,
            }),
      );
    const onEnd = (): void =>
      finish(new ProxyError('AMQP_PROXY_BAD_RESPONSE', name, 'closed before answering CONNECT'));
    const onConnect = (): void => {
      connected = true;
      socket.write(request);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0 ? head.length > MAX_PROXY_HEAD_BYTES : end + 4 > MAX_PROXY_HEAD_BYTES) {
          return finish(
            new ProxyError(
              'AMQP_PROXY_BAD_RESPONSE',
              name,
              `response head over ${MAX_PROXY_HEAD_BYTES} bytes`,
            ),
          );
        }
        if (end >= 0) return answered(head.subarray(0, end).toString('latin1'), head.subarray(end + 4));
      }
    };
    const answered = (text: string, rest: Buffer): void => {
      const status = /^HTTP\/1\.[01] (\d{3})(?: |\r|$)/.exec(text);
      if (!status) {
        return finish(
          new ProxyError('AMQP_PROXY_BAD_RESPONSE', name, 'answered CONNECT with something other than HTTP'),
        );
      }
      const code = Number(status[1]);
      if (code < 200 || code > 299) {
        const reason = text.slice(status[0].length).split('\r\n', 1)[0]!.trim().slice(0, 200);
        return finish(
          new ProxyError(
            'AMQP_PROXY_REFUSED',
            name,
            `refused CONNECT ${target}: ${code}${reason ? ` ${reason}` : ''}`,
            code,
          ),
        );
      }
      finish(undefined);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.once('connect', onConnect);
    socket.on('readable', onReadable);
    socket.on('error', onError);
    socket.on('end', onEnd);
    signal?.addEventListener('abort', onAbort, { once: true });
    const ms = o.timeoutMs ?? 0;
    if (ms > 0 && Number.isFinite(ms)) {
      socket.setTimeout(ms, () =>
        finish(
          new ProxyError(
            connected ? 'AMQP_PROXY_BAD_RESPONSE' : 'AMQP_PROXY_UNREACHABLE',
            name,
            `no answer within ${ms} ms`,
          ),
        ),
      );
    }
  });
}
