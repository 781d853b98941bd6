/**
 * `ws://` and `wss://`: a TCP or TLS socket (directly or through an HTTP proxy, with the same TLS
 * options as amqps), the upgrade request offering AMQPWSB10 and amqp, then a WebSocketStream the
 * connection runs over. The whole handshake is bounded by the caller's signal and
 * connectTimeoutMs, as openSocket's part is.
 */
import { openSocket, DEFAULT_SOCKET_CONNECT_TIMEOUT_MS, type SocketOptions } from '../open-socket.js';
import { checkServerResponse, clientRequest, newKey } from './ws-handshake.js';
import { readHttpHead } from './read-head.js';
import { InvalidArgumentError } from '../../protocol/errors.js';
import { WebSocketHandshakeError } from './ws-errors.js';
import { WebSocketStream } from './ws-stream.js';

/** Where and how {@link openWebSocket} connects: a socket's options and the HTTP path. */
export interface WebSocketOptions extends SocketOptions {
  /** The request target, '/' by default (IoT Hub: '/$iothub/websocket'). */
  path?: string;
  /** Largest WebSocket message accepted from the server (default 16 MiB). */
  maxMessageSize?: number;
}

/** Opens an AMQP WebSocket: resolves when the server has answered 101 with an AMQP subprotocol. */
export async function openWebSocket(o: WebSocketOptions): Promise<WebSocketStream> {
  const { path = '/', maxMessageSize, ...socketOptions } = o;
  const target = validTarget(path);
  const socket = await openSocket(socketOptions);
  const ms = o.connectTimeoutMs ?? DEFAULT_SOCKET_CONNECT_TIMEOUT_MS;
  let timedOut = false;
  const onAbort = (): void => void socket.destroy();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (ms > 0 && Number.isFinite(ms))
    socket.setTimeout(ms, () => {
      timedOut = true;
      socket.destroy();
    });
  try {
    const key = newKey();
    socket.write(clientRequest(hostHeader(o), target, key));
    const head = await readHttpHead(socket);
    const protocol = checkServerResponse(head, key);
    return new WebSocketStream(socket, 'client', { head: head.rest, maxMessageSize, protocol });
  } catch (err) {
    socket.destroy();
    if (o.signal?.aborted) throw o.signal.reason;
    if (err instanceof WebSocketHandshakeError && err.status === 0 && timedOut)
      throw new WebSocketHandshakeError(0, `no WebSocket answer from ${o.host}:${o.port} within ${ms} ms`);
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    socket.setTimeout(0);
  }
}

/** The Host header: the port is left out when it is the scheme's default (RFC 6455 section 4.1). */
function hostHeader(o: WebSocketOptions): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return o.port === (o.tls ? 443 : 80) ? host : `${host}:${o.port}`;
}

/** A path that cannot add lines to the request. */
function validTarget(path: string): string {
  if (!path.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(path))
    throw new InvalidArgumentError(`not a WebSocket path: ${JSON.stringify(path)}`, { option: 'path' });
  return path;
}
