/**
 * `connect(url | options)` in a browser: the same client connection as Node's (amqp-connection.ts)
 * over the browser's WebSocket (transport/browser-websocket.ts). TLS is the browser's (wss://),
 * and there is no proxy or Duplex option: the browser opens the connection, through the proxy it
 * is configured with. Nothing here or below imports a Node module (test/browser checks the bundle).
 */
import { opt, type OptionSchema } from '../protocol/options.js';
import { InvalidArgumentError } from '../protocol/errors.js';
import { openBrowserWebSocket } from '../transport/browser-websocket.js';
import {
  AmqpConnection,
  PORTABLE_CONNECT_OPTIONS,
  type ClientPlatform,
  type ConnectOptions,
  type PlatformOption,
  type ResolvedConnectOptions,
} from './amqp-connection.js';

/**
 * Options of the browser's {@link connect}: those of Node's, without TLS settings, proxy and
 * transport. A `ws://` or `wss://` URL says where; without a URL, `host`, `port`, `tls` (wss) and
 * `websocket.path` do.
 */
export interface BrowserConnectOptions extends Omit<ConnectOptions, PlatformOption> {
  /** wss:// rather than ws:// when there is no URL (the browser's TLS: its own trust store). */
  tls?: boolean;
}

const BROWSER_CONNECT_OPTIONS = {
  ...PORTABLE_CONNECT_OPTIONS,
  tls: opt.boolean,
} satisfies OptionSchema<BrowserConnectOptions>;

/** The WebSocket URL of resolved options (credentials are not put in it: they go in SASL). */
export function webSocketUrl(o: ResolvedConnectOptions): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const path = o.websocket?.path ?? '/';
  return `${o.tls ? 'wss' : 'ws'}://${host}:${o.port}${path.startsWith('/') ? path : `/${path}`}`;
}

function openBrowserStream(o: ResolvedConnectOptions, signal: AbortSignal) {
  if (!o.websocket) {
    return Promise.reject(
      new InvalidArgumentError('connect: a browser connects over WebSocket only: use a ws:// or wss:// URL', {
        option: 'url',
      }),
    );
  }
  return openBrowserWebSocket(webSocketUrl(o), signal, {
    maxMessageSize: o.websocket.maxMessageSize,
    timers: o.timers,
  });
}

const BROWSER: ClientPlatform = { options: BROWSER_CONNECT_OPTIONS, open: openBrowserStream };

/**
 * Opens a client connection over the browser's WebSocket: `connect('wss://host/path')`, or
 * options (without a URL the connection is a WebSocket to host and port, '/' by default).
 */
export function connect(options: BrowserConnectOptions | string): Promise<AmqpConnection> {
  const o =
    typeof options === 'object' &&
    options !== null &&
    options.url === undefined &&
    options.websocket === undefined
      ? { ...options, websocket: {} }
      : options;
  return AmqpConnection.connect(o, BROWSER);
}
