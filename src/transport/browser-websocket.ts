/**
 * AMQP over the browser's own WebSocket: the stream the driver (socket-driver.ts) needs, made of
 * what a browser gives. The browser does the HTTP upgrade, the framing, masking, ping and the close
 * handshake; here are only what the AMQP WebSocket binding and the driver add:
 * - the subprotocols `AMQPWSB10` and `amqp` are offered, and an answer without one is refused;
 * - binary messages only (`binaryType` 'arraybuffer'); a text message closes the connection;
 * - backpressure: a browser WebSocket never refuses a send and has no 'drain' event, so
 *   `bufferedAmount` is compared with a high-water mark and, while above it, polled on the injected
 *   timers until it falls to a quarter of it;
 * - a close before the open is a WebSocketHandshakeError (code AMQP_WS_HANDSHAKE, status 0: the
 *   browser does not tell why), and a close after it that is not clean is an 'error' first.
 * It imports no Node module, so the browser entry can bundle it; the Node client uses ws-client.ts.
 */
import { AmqpOneError } from '../codec/errors.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { realTimers, type Timers } from '../util/timers.js';
import type { DriverStream } from './byte-stream.js';
import { WebSocketError, WebSocketHandshakeError } from './websocket/ws-errors.js';

/** The subprotocols offered, in order of preference (the OASIS binding's, then amqpnetlite's). */
export const BROWSER_WS_SUBPROTOCOLS = ['AMQPWSB10', 'amqp'];

/** Bytes waiting in the browser's send buffer above which writing waits (default 1 MiB). */
export const DEFAULT_WS_HIGH_WATER_MARK = 1024 * 1024;

/** How often (ms) the send buffer is looked at while writing waits for it to empty. */
export const WS_DRAIN_POLL_MS = 5;

/** The part of the WHATWG WebSocket used here (this project compiles without the DOM types). */
export interface WebSocketLike {
  binaryType: string;
  readonly protocol: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: the browser's, or a test's. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

const OPEN = 1;

/** How {@link openBrowserWebSocket} connects. */
export interface BrowserWebSocketOptions {
  /** Largest message accepted from the server (default: no limit of ours). */
  maxMessageSize?: number;
  /** See DEFAULT_WS_HIGH_WATER_MARK. */
  highWaterMark?: number;
  /** For the drain polling (default the real ones). */
  timers?: Timers;
  /** The WebSocket class (default `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor;
}

/**
 * Opens `url` (ws:// or wss://) and resolves once the server has accepted one of our subprotocols.
 * `signal` abandons the attempt: the socket is closed and the promise rejects with its reason.
 */
export function openBrowserWebSocket(
  url: string,
  signal: AbortSignal,
  options: BrowserWebSocketOptions = {},
): Promise<BrowserWebSocketStream> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const WS = options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof WS !== 'function') {
      return reject(new AmqpOneError('AMQP_CONNECT_FAILED', 'this environment has no WebSocket'));
    }
    let ws: WebSocketLike;
    try {
      ws = new WS(url, BROWSER_WS_SUBPROTOCOLS);
    } catch (e) {
      // A URL the browser refuses (a SyntaxError), or a port it blocks.
      const why = e instanceof Error ? e.message : String(e);
      return reject(
        new WebSocketHandshakeError(0, `cannot open a WebSocket to ${url}: ${why}`, { cause: e }),
      );
    }
    ws.binaryType = 'arraybuffer';
    const settle = (): void => {
      signal.removeEventListener('abort', onAbort);
      ws.onopen = ws.onclose = ws.onerror = null;
    };
    const onAbort = (): void => {
      settle();
      ws.close();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    ws.onerror = () => undefined; // the close that follows says what there is to say
    ws.onclose = (ev) => {
      settle();
      reject(
        new WebSocketHandshakeError(
          0,
          `the WebSocket to ${url} closed before it opened (close code ${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`,
        ),
      );
    };
    ws.onopen = () => {
      settle();
      if (!BROWSER_WS_SUBPROTOCOLS.includes(ws.protocol)) {
        ws.close(1000, 'no AMQP subprotocol');
        return reject(
          new WebSocketHandshakeError(
            101,
            `the server chose the subprotocol ${JSON.stringify(ws.protocol || null)}, not AMQPWSB10 or amqp`,
          ),
        );
      }
      resolve(new BrowserWebSocketStream(ws, options));
    };
  });
}

interface StreamEvents {
  data: [chunk: Uint8Array];
  drain: [];
  error: [err: Error];
  close: [];
}

/** An open browser WebSocket as the driver's stream (see the file's comment). */
export class BrowserWebSocketStream extends TypedEmitter<StreamEvents> implements DriverStream {
  private needDrain = false;
  private pollTimer: unknown;
  private paused = false;
  private readonly held: Uint8Array[] = [];
  private closed = false;
  private readonly highWaterMark: number;
  private readonly maxMessageSize: number;
  private readonly timers: Timers;

  constructor(
    private readonly ws: WebSocketLike,
    options: BrowserWebSocketOptions = {},
  ) {
    super();
    this.highWaterMark = options.highWaterMark ?? DEFAULT_WS_HIGH_WATER_MARK;
    this.maxMessageSize = options.maxMessageSize ?? 0;
    this.timers = options.timers ?? realTimers;
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onerror = () => undefined;
    ws.onclose = (ev) => {
      if (ev.wasClean && (ev.code === 1000 || ev.code === 1005)) this.finish(undefined);
      else
        this.finish(
          new AmqpOneError(
            'AMQP_WS_CLOSED',
            `the WebSocket closed with code ${ev.code}${ev.reason ? ` (${ev.reason})` : ''}${ev.wasClean ? '' : ', not cleanly'}`,
          ),
        );
    };
  }

  /** The subprotocol the server chose. */
  get protocol(): string {
    return this.ws.protocol;
  }

  get writableNeedDrain(): boolean {
    return this.needDrain;
  }

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  /** Sends `chunk` as one binary message (the browser copies it); false: wait for 'drain'. */
  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ws.readyState !== OPEN) return false;
    this.ws.send(chunk);
    if (this.ws.bufferedAmount > this.highWaterMark && !this.needDrain) {
      this.needDrain = true;
      this.pollDrain();
    }
    return !this.needDrain;
  }

  /** Starts the close handshake after what is already sent; 'close' follows the server's answer. */
  end(): this {
    if (!this.closed) this.ws.close(1000);
    return this;
  }

  /**
   * Closes now: a browser has no abort, so the close handshake starts and the stream reports
   * 'error' (when given one) and 'close' at once, without waiting for the server.
   */
  destroy(err?: Error): this {
    if (this.closed) return this;
    this.ws.close(1000);
    // Later, as Node's destroy() emits: the caller may be in the middle of handling an event.
    queueMicrotask(() => this.finish(err));
    return this;
  }

  /** Holds incoming messages until resume() (the browser itself keeps reading). */
  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    while (!this.paused && !this.closed && this.held.length > 0) this.emit('data', this.held.shift()!);
    return this;
  }

  private onMessage(data: unknown): void {
    if (this.closed) return;
    if (!(data instanceof ArrayBuffer)) {
      this.ws.close(1000, 'AMQP is binary only'); // scripts may not send 1003 themselves
      return this.finish(new WebSocketError('AMQP_WS_TEXT', 'a text message: AMQP is binary only'));
    }
    if (this.maxMessageSize > 0 && data.byteLength > this.maxMessageSize) {
      this.ws.close(1000, 'message too big');
      return this.finish(
        new WebSocketError(
          'AMQP_WS_TOO_BIG',
          `a message of ${data.byteLength} bytes, above the limit of ${this.maxMessageSize}`,
        ),
      );
    }
    const chunk = new Uint8Array(data);
    if (this.paused || this.held.length > 0) this.held.push(chunk);
    else this.emit('data', chunk);
  }

  private pollDrain(): void {
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = undefined;
      if (this.closed) return;
      if (this.ws.bufferedAmount > this.highWaterMark / 4) return this.pollDrain();
      this.needDrain = false;
      this.emit('drain');
    }, WS_DRAIN_POLL_MS);
  }

  /** Once: 'error' (if any) then 'close', as a Node socket reports its end. */
  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer !== undefined) this.timers.clearTimeout(this.pollTimer);
    this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
    this.held.length = 0;
    if (err && this.listenerCount('error') > 0) this.emit('error', err);
    this.emit('close');
  }
}
