/**
 * `connect(url | options)` under Node: the client connection of amqp-connection.ts over a TCP or
 * TLS socket, a WebSocket on either, through an HTTP proxy, or the user's own Duplex. The browser
 * has its own `connect` (connect-browser.ts) over the same connection.
 */
import { opt, type OptionSchema } from '../protocol/options.js';
import { openByteStream } from '../transport/byte-stream.js';
import { openSocket, TLS_OPTIONS } from '../transport/open-socket.js';
import { openWebSocket } from '../transport/websocket/ws-client.js';
import {
  AmqpConnection,
  PORTABLE_CONNECT_OPTIONS,
  type ClientPlatform,
  type ConnectOptions,
  type ResolvedConnectOptions,
} from './amqp-connection.js';

export * from './amqp-connection.js';

// The run-time check of ConnectOptions: a key missing here fails to compile.
export const CONNECT_OPTIONS = {
  ...PORTABLE_CONNECT_OPTIONS,
  transport: opt.function,
  tls: opt.either(opt.boolean, opt.nested(TLS_OPTIONS, 'TLS options')),
  proxy: opt.either(opt.string, opt.instanceOf(URL, 'a URL')),
} satisfies OptionSchema<ConnectOptions>;

/** Node's streams: the user's transport, else a WebSocket or a socket, over TLS and a proxy as asked. */
function openNodeStream(o: ResolvedConnectOptions, signal: AbortSignal) {
  if (o.transport) return openByteStream(o.transport, signal);
  // No socket timer of its own: the connection's deadline (connectTimeoutMs) covers TCP and TLS
  // through `signal`, so 0 means none and a long one is not cut short.
  const where = { host: o.host, port: o.port, tls: o.tls, proxy: o.proxy, signal };
  return o.websocket
    ? openWebSocket({ ...where, ...o.websocket, connectTimeoutMs: 0 })
    : openSocket({ ...where, connectTimeoutMs: 0 });
}

const NODE: ClientPlatform = { options: CONNECT_OPTIONS, open: openNodeStream };

/** Opens a client connection. */
export function connect(options: ConnectOptions | string): Promise<AmqpConnection> {
  return AmqpConnection.connect(options, NODE);
}
