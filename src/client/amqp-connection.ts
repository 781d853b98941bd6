/**
 * A client connection with implicit (or explicit) sessions, senders and receivers, and opt-in
 * reconnect with exponential backoff and jitter. Nothing here opens a socket: a platform's entry
 * gives the way to a stream (`ClientPlatform`), Node's sockets in connect.ts and the browser's
 * WebSocket in connect-browser.ts, so this file and what it imports run in a browser too.
 */
import { Connection, type ConnectionOptions } from '../connection/connection.js';
import { DisconnectedError } from '../protocol/errors.js';
import type { EngineEvent } from '../connection/events.js';
import type { LinkOptions, SourceOptions, TargetOptions } from '../link/link.js';
import type { Receiver } from '../link/receiver.js';
import type { Sender } from '../link/sender.js';
import {
  anonymousClient,
  externalClient,
  plainClient,
  type SaslClientMechanism,
} from '../sasl/mechanisms.js';
import type { Session, SessionOptions } from '../session/session.js';
import type { TlsOptions } from '../transport/open-socket.js';
import type { ByteStreamFactory, DriverStream } from '../transport/byte-stream.js';
import { parseAmqpUrl } from '../transport/url.js';
import { closeOptions, ConnectionCore, type CloseOptions } from '../api/connection-core.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { checkMapsOption, type MessageReceiver, type ReceiverCreditOptions } from '../api/receiver.js';
import type { MapForm } from '../codec/decoder.js';
import type { MessageSender, ResendPolicy } from '../api/sender.js';
import { DEFAULT_STREAM_WINDOW, type StreamingReceiver } from '../api/streaming-receiver.js';
import { sleep, type Timers } from '../util/timers.js';
import { ExponentialBackoff } from '../util/backoff.js';
import {
  abortedError,
  armDeadline,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_OPEN_TIMEOUT_MS,
  type WaitLimit,
} from '../api/deadline.js';
import type { AmqpError } from '../protocol/errors.js';
import { InvalidArgumentError } from '../api/errors.js';
import type { SocketDriver } from '../transport/socket-driver.js';
import { errorFields, Log, loggerProblem } from '../util/logger.js';
import { checkOptions, opt, type AnyOptionSchema, type OptionSchema } from '../protocol/options.js';
import { CONNECTION_OPTIONS } from '../connection/connection.js';
import { LINK_OPTIONS } from '../link/link.js';
import { SESSION_OPTIONS } from '../session/session.js';
import { RECEIVER_CREDIT_OPTIONS } from '../api/receiver.js';

/** Opt-in reconnect: backoff between attempts, and what happens to messages in flight. */
export interface ReconnectOptions {
  /** First delay (ms, default 100), doubled per attempt up to maxDelayMs (default 30 s), with jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of each delay that is random (0-1, default 0.5). */
  jitter?: number;
  /** Random numbers in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
  /** Give up after this many failed attempts (default: never). */
  maxAttempts?: number;
  /** Whether an attempt's error is worth another attempt (default: always); false gives up with it. */
  isRetryable?: (error: unknown) => boolean;
  /** In-flight sends: re-send them (at-least-once) or fail them (default 'fail'). */
  resend?: ResendPolicy;
  /**
   * Runs before each attempt opens its socket: refresh what the SASL mechanism sends (a fresh
   * token). A rejection fails the attempt.
   */
  beforeConnect?: () => Promise<void>;
  /**
   * Runs on each new connection once the peer's open has arrived and before any link is attached
   * again: authenticate there (a CBS put-token), so that the links come back authorised. It may open
   * links of its own. A rejection fails the attempt: the new connection is dropped and the next
   * attempt follows the backoff (or, not retryable, the reconnect gives up with that error).
   */
  beforeReattach?: (connection: AmqpConnection) => Promise<void>;
  /**
   * Re-attach the links after a reconnect (default true). With false, every link fails with the
   * disconnect and its owner opens a new one after 'reconnected' (per-connection link state, such
   * as C2D lock tokens, then never outlives its connection).
   */
  reattach?: boolean;
}

/** AMQP over WebSockets from a client (ConnectOptions.websocket). */
export interface ClientWebSocketOptions {
  /** The request target: '/' by default; IoT Hub's is '/$iothub/websocket'. */
  path?: string;
  /** Largest WebSocket message accepted from the server (default 16 MiB). */
  maxMessageSize?: number;
}

const CLIENT_WEBSOCKET_OPTIONS = {
  path: opt.string,
  maxMessageSize: opt.count,
} satisfies OptionSchema<ClientWebSocketOptions>;

/** Options of `connect`: where, TLS, SASL, the open's fields, deadlines and reconnect. */
export interface ConnectOptions extends Omit<ConnectionOptions, 'role' | 'sasl' | 'saslServer'> {
  url?: string;
  host?: string;
  port?: number;
  /**
   * Runs the connection over a stream this function makes (any Node Duplex of bytes: an SSH
   * channel, a test pipe, a WebSocket adapter) instead of opening TCP. It is called again for each
   * reconnect attempt, with a signal that fires when the attempt is abandoned. `host` is still the
   * open's hostname; `port` and `tls` do not apply (a TLS layer belongs inside the stream).
   */
  transport?: ByteStreamFactory;
  /** true or TLS options for amqps. */
  tls?: boolean | TlsOptions;
  /**
   * An HTTP proxy to tunnel through with CONNECT, `http://[user:pass@]host[:port]`; TLS runs inside
   * the tunnel. `'env'` reads HTTPS_PROXY (TLS) or HTTP_PROXY, and NO_PROXY; the environment is
   * never read otherwise.
   */
  proxy?: string | URL;
  /**
   * AMQP over WebSockets (a `ws://` or `wss://` URL sets it): the upgrade goes to `path` ('/' by
   * default) over TCP, or over TLS with `tls` exactly as for amqps, and through `proxy` if given.
   * The default port is then 80, or 443 with TLS.
   */
  websocket?: ClientWebSocketOptions;
  username?: string;
  password?: string;
  /** SASL: a mechanism, a name, or 'none' to skip SASL. Default PLAIN with a username, else ANONYMOUS. */
  sasl?: SaslClientMechanism | 'ANONYMOUS' | 'PLAIN' | 'EXTERNAL' | 'none';
  /**
   * One deadline (ms) for TCP, TLS, the protocol header, SASL and the peer's open, for the first
   * connect and for each reconnect attempt; on expiry the socket is destroyed and the connect
   * fails with a TimeoutError (code AMQP_TIMEOUT). close() waits as long for the peer's close,
   * then destroys the socket. Default DEFAULT_CONNECT_TIMEOUT_MS (60 s); 0 means no deadline.
   */
  connectTimeoutMs?: number;
  /**
   * Abandons the first connect (not reconnects) with an AbortError (code AMQP_ABORTED, the
   * signal's reason as its cause): the socket is destroyed. A signal that has already fired opens
   * no socket. Once connected, the signal has no further effect (its listener is removed).
   */
  signal?: AbortSignal;
  /**
   * Deadline (ms) for the peer's answer to our begin or attach (openSession, openSender,
   * openReceiver), unless the call gives its own. Default DEFAULT_OPEN_TIMEOUT_MS (60 s); 0 means none.
   */
  openTimeoutMs?: number;
  reconnect?: boolean | ReconnectOptions;
  /** Defaults for senders on this connection. */
  sendTimeoutMs?: number;
  maxQueued?: number;
  /** Default `maps` of receivers on this connection: 'object' (the default) or 'map' (see ReceiverOptions). */
  maps?: MapForm;
  timers?: Timers;
}

/** Per-call deadline and cancellation of an open (sender, receiver, session). */
export interface OpenWaitOptions {
  /** Wait this long (ms) for the peer's attach or begin; default the connection's openTimeoutMs. */
  openTimeoutMs?: number;
  /**
   * Abandons the open with an AbortError (code AMQP_ABORTED): the half-open link is detached (or
   * the session ended), and the peer's answer, if it comes later, only completes that. A signal
   * that has already fired sends nothing.
   */
  signal?: AbortSignal;
}

export interface SenderOptions extends LinkOptions, OpenWaitOptions {
  /** The target address (shorthand for target.address). */
  address?: string;
  /** Send every message presettled (snd-settle-mode settled). */
  presettled?: boolean;
  maxQueued?: number;
  sendTimeoutMs?: number;
  session?: AmqpSession;
}

export interface ReceiverOptions extends LinkOptions, ReceiverCreditOptions, OpenWaitOptions {
  /** The source address (shorthand for source.address). */
  address?: string;
  /** Ask for presettled delivery (snd-settle-mode settled). */
  presettled?: boolean;
  session?: AmqpSession;
}

/** Options of {@link AmqpConnection.openStreamingReceiver}. */
export interface StreamingReceiverOptions extends LinkOptions, OpenWaitOptions {
  /** The source address (shorthand for source.address). */
  address?: string;
  /** Ask for presettled delivery (snd-settle-mode settled). */
  presettled?: boolean;
  /**
   * The incoming window of the receiver's own session, in frames (default 16): what a message
   * holds while its reader waits is at most this many frames of our max-frame-size.
   */
  incomingWindow?: number;
  /** Bytes of a message's sections other than data held at most (default 1 MiB). */
  maxSectionBytes?: number;
  /** How maps in the head and footer decode (see ReceiverCreditOptions.maps). */
  maps?: MapForm;
}

// The run-time checks of the options above (protocol/options.ts): a key missing here fails to compile.
const RESEND = opt.oneOf('at-least-once', 'fail');

export const RECONNECT_OPTIONS = {
  initialDelayMs: opt.number,
  maxDelayMs: opt.number,
  jitter: opt.number,
  random: opt.function,
  maxAttempts: opt.number,
  isRetryable: opt.function,
  resend: RESEND,
  beforeConnect: opt.function,
  beforeReattach: opt.function,
  reattach: opt.boolean,
} satisfies OptionSchema<ReconnectOptions>;

/** The options every platform takes; each adds its own `tls`, `proxy` and `transport` rules. */
export const PORTABLE_CONNECT_OPTIONS = {
  ...CONNECTION_OPTIONS,
  url: opt.string,
  host: opt.string,
  port: opt.number,
  websocket: opt.nested(CLIENT_WEBSOCKET_OPTIONS, 'WebSocket options ({ path })'),
  username: opt.string,
  password: opt.string,
  sasl: opt.either(opt.oneOf('ANONYMOUS', 'PLAIN', 'EXTERNAL', 'none'), opt.object),
  connectTimeoutMs: opt.number,
  signal: opt.signal,
  openTimeoutMs: opt.number,
  reconnect: opt.either(opt.boolean, opt.nested(RECONNECT_OPTIONS, 'reconnect options')),
  sendTimeoutMs: opt.number,
  maxQueued: opt.number,
  timers: opt.object,
  maps: opt.oneOf('object', 'map'),
} satisfies OptionSchema<Omit<ConnectOptions, PlatformOption>>;

/** The options whose rules depend on the platform (a browser has no TLS settings, proxy or Duplex). */
export type PlatformOption = 'tls' | 'proxy' | 'transport';

/** Connect options with the host and port filled in (from the URL or the defaults). */
export type ResolvedConnectOptions = ConnectOptions & { host: string; port: number };

/**
 * @internal How a platform opens a client connection's stream (Node: TCP, TLS, WebSocket or the
 * user's Duplex; a browser: its WebSocket), and the run-time rules of the options it takes.
 */
export interface ClientPlatform {
  /** The options schema `connect` checks against. */
  options: AnyOptionSchema;
  /**
   * Opens the stream of one attempt. `signal` fires when the attempt is abandoned (its deadline
   * or the caller's signal): stop opening, destroy what was opened, reject with its reason.
   */
  open(options: ResolvedConnectOptions, signal: AbortSignal): Promise<DriverStream>;
}

export const OPEN_WAIT_OPTIONS = {
  openTimeoutMs: opt.number,
  signal: opt.signal,
} satisfies OptionSchema<OpenWaitOptions>;

export const OPEN_SESSION_OPTIONS = {
  ...SESSION_OPTIONS,
  ...OPEN_WAIT_OPTIONS,
} satisfies OptionSchema<SessionOptions & OpenWaitOptions>;

export const SENDER_OPTIONS = {
  ...LINK_OPTIONS,
  ...OPEN_WAIT_OPTIONS,
  address: opt.string,
  presettled: opt.boolean,
  maxQueued: opt.number,
  sendTimeoutMs: opt.number,
  session: opt.object,
} satisfies OptionSchema<SenderOptions>;

export const RECEIVER_OPTIONS = {
  ...LINK_OPTIONS,
  ...RECEIVER_CREDIT_OPTIONS,
  ...OPEN_WAIT_OPTIONS,
  address: opt.string,
  presettled: opt.boolean,
  session: opt.object,
} satisfies OptionSchema<ReceiverOptions>;

export const STREAMING_RECEIVER_OPTIONS = {
  ...LINK_OPTIONS,
  ...OPEN_WAIT_OPTIONS,
  address: opt.string,
  presettled: opt.boolean,
  incomingWindow: opt.number,
  maxSectionBytes: opt.number,
  maps: opt.oneOf('object', 'map'),
} satisfies OptionSchema<StreamingReceiverOptions>;

/** An explicit session. */
export class AmqpSession {
  constructor(
    public engine: Session,
    readonly options: SessionOptions,
  ) {}
}

interface LinkRecord {
  kind: 'sender' | 'receiver';
  options: LinkOptions;
  session: AmqpSession;
  wrapper: MessageSender | MessageReceiver;
}

function resolveOptions(options: ConnectOptions | string, schema: AnyOptionSchema): ResolvedConnectOptions {
  const o: ConnectOptions =
    typeof options === 'string' ? { url: options } : { ...checked(options, schema, 'connect') };
  checkMapsOption(o.maps);
  if (o.url) {
    const u = parseAmqpUrl(o.url);
    o.host ??= u.host;
    o.port ??= u.port;
    // An amqps or wss URL asks for TLS: tls: false beside it would send credentials in the clear.
    if (u.tls && o.tls === false)
      throw new InvalidArgumentError(`connect: tls: false contradicts the URL's ${o.url.split(':')[0]}:`, {
        option: 'tls',
      });
    if (o.tls === undefined && u.tls) o.tls = true;
    o.username ??= u.username;
    o.password ??= u.password;
    if (u.websocket !== undefined && o.websocket === undefined) o.websocket = { path: u.websocket };
  }
  // TLS asked for must not be dropped silently: the credentials would then cross the stream in
  // the clear. A stream carries its own TLS (tls.connect({ socket: stream })).
  if (o.transport && o.tls)
    throw new InvalidArgumentError(
      'connect: tls (or an amqps URL) does not apply with transport; put the TLS layer inside the stream',
      { option: 'tls' },
    );
  // A proxy is a way to open TCP; the user's stream replaces TCP, so the proxy would be ignored.
  if (o.transport && o.proxy)
    throw new InvalidArgumentError('connect: proxy does not apply with transport; tunnel inside the stream', {
      option: 'proxy',
    });
  if (o.transport && o.websocket)
    throw new InvalidArgumentError(
      'connect: websocket (or a ws URL) does not apply with transport; the stream is the whole transport',
      { option: 'websocket' },
    );
  const defaultPort = o.websocket ? (o.tls ? 443 : 80) : o.tls ? 5671 : 5672;
  return { ...o, host: o.host ?? 'localhost', port: o.port ?? defaultPort };
}

function saslFor(o: ConnectOptions): SaslClientMechanism | undefined {
  const s = o.sasl;
  if (s === 'none') return undefined;
  if (typeof s === 'object') return s;
  if (s === 'EXTERNAL') return externalClient();
  if (s === 'PLAIN' || (s === undefined && o.username !== undefined))
    return plainClient(o.username ?? '', o.password ?? '');
  return anonymousClient();
}

/** An options argument must be an object (or a string address where allowed) with known keys. */
function checked<T extends object>(o: T, schema: AnyOptionSchema, call: string): T {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new InvalidArgumentError(
      `${call}: expected an address string or an options object, got ${describe(o)}`,
    );
  }
  checkOptions(o, schema, call);
  return o;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** The events of a client connection: `conn.on('disconnected', (error) => ...)`. */
export interface AmqpConnectionEvents {
  /**
   * The connection is gone for good: closed by us (no error), by the peer, lost without reconnect,
   * or reconnecting gave up (with the last attempt's error).
   */
  close: [error: Error | undefined];
  /** The connection was lost, not by our close; with reconnect, attempts follow. */
  disconnected: [error: Error | undefined];
  /** A reconnect succeeded: links are attached again (or, with `reattach: false`, may be opened). */
  reconnected: [];
}

/** A client connection: opens senders, receivers and sessions, and reconnects when asked to. */
export class AmqpConnection extends ConnectionCore<AmqpConnectionEvents> {
  private readonly opts: ResolvedConnectOptions;
  private readonly sessionsList: AmqpSession[] = [];
  private readonly links: LinkRecord[] = [];
  private opened: Deferred<void> | undefined;
  private closingByUs = false;
  private established = false;
  private attempt = 0;
  /** True while a lost connection is being re-established. */
  reconnecting = false;
  private inHook = false;
  /** Links opened by `beforeReattach`: they belong to one connection and end with it. */
  private hookLinks: (MessageSender | MessageReceiver)[] = [];
  defaultSession!: AmqpSession;
  private readonly log: Log;

  private constructor(
    options: ResolvedConnectOptions,
    private readonly platform: ClientPlatform,
  ) {
    super(options.timers);
    this.opts = options;
    const problem = loggerProblem(options.logger);
    if (problem) throw new InvalidArgumentError(`connect: ${problem}`);
    this.log = new Log(options.logger, { host: options.host, port: options.port });
  }

  /**
   * @internal Opens a connection over the platform's streams and waits for the peer's open (users
   * call `connect`, which passes its platform).
   */
  static async connect(options: ConnectOptions | string, platform: ClientPlatform): Promise<AmqpConnection> {
    const c = new AmqpConnection(resolveOptions(options, platform.options), platform);
    await c.establish();
    return c;
  }

  /** The peer's open frame, once it arrived. */
  get remoteOpen() {
    return this.engine.remoteOpen;
  }

  private async establish(): Promise<void> {
    const o = this.opts;
    const ms = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const aborted = this.established
      ? undefined
      : abortedError(o.signal, `connecting to ${o.host}:${o.port}`);
    if (aborted) throw aborted; // no socket is opened
    // One deadline for the whole handshake: it stops the socket being opened, or destroys the
    // one that is open and fails the wait for the peer's open.
    const stop = new AbortController();
    const gate = deferred<void>();
    let driver: SocketDriver | undefined;
    const disarm = armDeadline(
      this.timers,
      gate,
      ms,
      `connecting to ${o.host}:${o.port}`,
      (err) => {
        stop.abort(err);
        this.opened?.reject(err);
        driver?.destroy(err);
      },
      this.established ? undefined : o.signal,
    );
    try {
      // The deadline above (connectTimeoutMs, on this.timers) covers opening the stream through `stop`.
      const socket = await this.platform.open(o, stop.signal);
      const engine = new Connection({
        ...o,
        role: 'client',
        hostname: o.hostname ?? o.host,
        sasl: saslFor(o),
      });
      this.opened = deferred<void>();
      this.bind(engine, socket);
      driver = this.driver;
      if (stop.signal.aborted) driver.destroy(stop.signal.reason as Error);
      engine.open();
      // Sessions and links are begun at once: they go out with the open (pipelining).
      if (this.sessionsList.length === 0) {
        this.defaultSession = new AmqpSession(engine.beginSession(), {});
        this.sessionsList.push(this.defaultSession);
      } else {
        for (const s of this.sessionsList) s.engine = engine.beginSession(s.options);
      }
      this.schedule();
      await Promise.race([this.opened.promise, gate.promise]);
      this.opened = undefined;
      // A server that refuses us opens and closes at once (spec 2.4.1): the close may come in the
      // same read as the open.
      if (engine.remote === 'closed' || engine.finished) {
        throw engine.error ?? new DisconnectedError('the peer closed the connection as it opened');
      }
      this.established = true;
      if (this.log.enabled('info', 'connection'))
        this.log.write('info', 'connection', 'connected', {
          connection: engine.log.context.connection,
          tls: !!o.tls,
          remoteContainerId: engine.remoteOpen?.containerId,
        });
    } finally {
      disarm();
    }
  }

  protected override onOtherEvent(e: EngineEvent): void {
    if (e.type === 'connection-remote-open') {
      this.opened?.resolve();
    } else if (e.type === 'transport-done' || e.type === 'connection-closed') {
      if (e.error) this.opened?.reject(e.error);
    }
  }

  protected onTransportClosed(err: Error | undefined): void {
    this.opened?.reject(err ?? new DisconnectedError('the connection closed during open'));
    if (this.reconnecting) return; // a failed attempt: the reconnect loop goes on
    if (!this.closingByUs && this.opts.reconnect && this.established) {
      void this.reconnect(err);
      return;
    }
    this.failAll(
      err ?? (this.closingByUs ? undefined : new DisconnectedError('the peer closed the connection')),
    );
    if (err && this.log.enabled('warn', 'connection'))
      this.log.write('warn', 'connection', 'connection lost', { error: errorFields(err) });
    this.closedDeferred.resolve();
    if (!this.closingByUs) this.emit('disconnected', err);
    this.emit('close', err);
  }

  private reconnectOptions(): ReconnectOptions & { resend: ResendPolicy } {
    const r = this.opts.reconnect === true ? {} : (this.opts.reconnect as ReconnectOptions);
    return { ...r, resend: r.resend ?? 'fail' };
  }

  /**
   * After an established connection was lost: new connections, with backoff, until one is open,
   * the `beforeReattach` hook passed and the links are attached again (or the attempts ran out).
   */
  private async reconnect(err: Error | undefined): Promise<void> {
    this.reconnecting = true;
    if (this.log.enabled('warn', 'connection'))
      this.log.write('warn', 'connection', 'connection lost, reconnecting', { error: errorFields(err) });
    this.emit('disconnected', err);
    const r = this.reconnectOptions();
    this.failHookLinks(err);
    this.failStreams(err ?? new DisconnectedError('the peer closed the connection'));
    if (r.reattach === false) {
      this.links.length = 0;
      this.failLinks(err ?? new DisconnectedError('the peer closed the connection'));
    }
    for (const l of this.links) {
      if (l.kind === 'sender') (l.wrapper as MessageSender).onDisconnected();
    }
    const backoff = new ExponentialBackoff(r);
    const maxAttempts = r.maxAttempts ?? Infinity;
    for (;;) {
      if (this.closingByUs) return;
      if (this.attempt >= maxAttempts)
        return this.giveUp(err ?? new DisconnectedError('gave up reconnecting'));
      await sleep(this.timers, backoff.delayMs(this.attempt));
      this.attempt++;
      if (this.closingByUs) return;
      const before = this.links.slice();
      try {
        await r.beforeConnect?.();
        this.stopIfClosing();
        await this.establish();
        this.stopIfClosing();
        if (r.beforeReattach) {
          // The links the hook opens are its own: it opens them again on each new connection.
          this.inHook = true;
          try {
            await r.beforeReattach(this);
          } finally {
            this.inHook = false;
          }
          this.stopIfClosing();
        }
        await this.reattachAll(before);
        this.attempt = 0;
        this.reconnecting = false;
        for (const l of before) {
          if (l.kind === 'sender')
            (l.wrapper as MessageSender).onReattached((l.wrapper as MessageSender).link);
        }
        if (this.log.enabled('info', 'connection'))
          this.log.write('info', 'connection', 'reconnected', { attempt: this.attempt });
        this.emit('reconnected');
        return;
      } catch (e) {
        this.opened = undefined;
        err = e as Error;
        if (this.log.enabled('info', 'connection'))
          this.log.write('info', 'connection', 'reconnect attempt failed', {
            attempt: this.attempt,
            error: errorFields(err),
          });
        this.failHookLinks(err);
        this.engine.close();
        this.driver.destroy();
        if (this.closingByUs) return;
        if (r.isRetryable && !r.isRetryable(e)) return this.giveUp(err);
      }
    }
  }

  /** close() during an attempt: the attempt's connection is dropped by the caller's catch. */
  private stopIfClosing(): void {
    if (this.closingByUs) throw new DisconnectedError('closed while reconnecting');
  }

  /** The hook's links of a connection that is gone are ended, not re-attached: it opens new ones. */
  private failHookLinks(err: Error | undefined): void {
    const e = err ?? new DisconnectedError('the peer closed the connection');
    for (const w of this.hookLinks.splice(0)) this.dropWrapper(w, e);
  }

  private giveUp(err: Error): void {
    if (this.log.enabled('error', 'connection'))
      this.log.write('error', 'connection', 'gave up reconnecting', { error: errorFields(err) });
    this.reconnecting = false;
    this.failAll(err);
    this.closedDeferred.resolve();
    this.emit('close', err);
  }

  /** Drops the connection and reconnects at once (when reconnect is on), e.g. for a fresh token. */
  reconnectNow(reason?: Error): void {
    if (!this.opts.reconnect || this.reconnecting || this.closingByUs) return;
    this.attempt = 0;
    this.driver.destroy(reason);
  }

  private async reattachAll(links: LinkRecord[]): Promise<void> {
    for (const l of links) {
      const link = await this.attach<Sender | Receiver>(
        l.session.engine,
        l.kind,
        { ...l.options, name: undefined },
        this.openWait({}),
      );
      if (l.kind === 'sender') (l.wrapper as MessageSender).link = link as Sender;
      else (l.wrapper as MessageReceiver).onReattached(link as Receiver);
      link.context = l.wrapper;
    }
  }

  /** Begins a session; resolves once the peer has answered with its begin. */
  async openSession(options: SessionOptions & OpenWaitOptions = {}): Promise<AmqpSession> {
    const { openTimeoutMs, signal, ...sessionOptions } = checked(
      options,
      OPEN_SESSION_OPTIONS,
      'openSession',
    );
    const aborted = abortedError(signal, 'beginning a session');
    if (aborted) throw aborted;
    const s = new AmqpSession(this.engine.beginSession(sessionOptions), sessionOptions);
    this.sessionsList.push(s);
    try {
      await this.awaitBegin(s.engine, this.openWait({ openTimeoutMs, signal }));
    } catch (e) {
      this.sessionsList.splice(this.sessionsList.indexOf(s), 1);
      throw e;
    }
    return s;
  }

  private openWait(o: OpenWaitOptions): WaitLimit {
    return { ms: o.openTimeoutMs ?? this.opts.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS, signal: o.signal };
  }

  /** Opens a sender; resolves once the peer has attached (and created the target). */
  async openSender(addressOrOptions: string | SenderOptions): Promise<MessageSender> {
    const { openTimeoutMs, signal, ...o }: SenderOptions =
      typeof addressOrOptions === 'string'
        ? { address: addressOrOptions }
        : checked(addressOrOptions, SENDER_OPTIONS, 'openSender');
    const session = o.session ?? this.defaultSession;
    const target: TargetOptions | undefined =
      o.target === null
        ? undefined
        : {
            ...(o.target as TargetOptions | undefined),
            address: o.address ?? (o.target as TargetOptions | undefined)?.address,
          };
    const options: LinkOptions = {
      ...o,
      target,
      source: o.source ?? {},
      sndSettleMode: o.sndSettleMode ?? (o.presettled ? 1 : undefined),
    };
    const link = await this.attach<Sender>(
      session.engine,
      'sender',
      options,
      this.openWait({ openTimeoutMs, signal }),
    );
    const s = this.wrapSender(link, {
      maxQueued: o.maxQueued ?? this.opts.maxQueued,
      sendTimeoutMs: o.sendTimeoutMs ?? this.opts.sendTimeoutMs,
      resend: this.opts.reconnect ? this.reconnectOptions().resend : 'fail',
    });
    if (this.inHook) this.hookLinks.push(s);
    else this.links.push({ kind: 'sender', options, session, wrapper: s });
    return s;
  }

  /** Opens a receiver; resolves once the peer has attached (and created the source). */
  async openReceiver(addressOrOptions: string | ReceiverOptions = {}): Promise<MessageReceiver> {
    const { openTimeoutMs, signal, ...o }: ReceiverOptions =
      typeof addressOrOptions === 'string'
        ? { address: addressOrOptions }
        : checked(addressOrOptions, RECEIVER_OPTIONS, 'openReceiver');
    const maps = checkMapsOption(o.maps ?? this.opts.maps);
    const session = o.session ?? this.defaultSession;
    const source: SourceOptions = { ...(o.source ?? {}), address: o.address ?? o.source?.address };
    const options: LinkOptions = {
      ...o,
      source,
      target: o.target ?? {},
      sndSettleMode: o.sndSettleMode ?? (o.presettled ? 1 : undefined),
    };
    const link = await this.attach<Receiver>(
      session.engine,
      'receiver',
      options,
      this.openWait({ openTimeoutMs, signal }),
    );
    const r = this.wrapReceiver(link, { credit: o.credit, autoAccept: o.autoAccept, maps, decode: o.decode });
    if (this.inHook) this.hookLinks.push(r);
    else this.links.push({ kind: 'receiver', options, session, wrapper: r });
    return r;
  }

  /**
   * Opens a receiver for messages too large to hold (see StreamingReceiver): each message is handed
   * out once its sections before the body arrived, its body read as it arrives. The link gets a
   * session of its own, whose incoming window bounds what a message holds while its reader waits.
   * It is not re-attached after a reconnect: a message mid-way cannot resume.
   */
  async openStreamingReceiver(
    addressOrOptions: string | StreamingReceiverOptions = {},
  ): Promise<StreamingReceiver> {
    const { openTimeoutMs, signal, incomingWindow, maxSectionBytes, maps, ...o }: StreamingReceiverOptions =
      typeof addressOrOptions === 'string'
        ? { address: addressOrOptions }
        : checked(addressOrOptions, STREAMING_RECEIVER_OPTIONS, 'openStreamingReceiver');
    const aborted = abortedError(signal, 'opening a streaming receiver');
    if (aborted) throw aborted;
    const wait = this.openWait({ openTimeoutMs, signal });
    const session = this.engine.beginSession({
      incomingWindow: Math.max(1, Math.floor(incomingWindow ?? DEFAULT_STREAM_WINDOW)),
    });
    const endSession = (): void => {
      if (session.local === 'detached') return;
      session.end();
      this.schedule();
    };
    const source: SourceOptions = { ...(o.source ?? {}), address: o.address ?? o.source?.address };
    try {
      await this.awaitBegin(session, wait);
      const link = await this.attach<Receiver>(
        session,
        'receiver',
        {
          ...o,
          source,
          target: o.target ?? {},
          sndSettleMode: o.sndSettleMode ?? (o.presettled ? 1 : undefined),
        },
        wait,
      );
      const decode = { maps: checkMapsOption(maps ?? this.opts.maps), maxSectionBytes };
      return this.wrapStreamingReceiver(link, decode, endSession);
    } catch (e) {
      endSession();
      throw e;
    }
  }

  /**
   * Closes the connection and waits for the peer's close: `close()`, `close(error)` or
   * `close({ error, signal })`. A peer that never answers must not hold the caller: after
   * connectTimeoutMs the socket is destroyed and close resolves (the connection is gone either
   * way). An aborted `signal` destroys the socket at once and rejects with an AbortError once the
   * connection is torn down (see CloseOptions). Reconnecting stops in every case.
   */
  override async close(options?: CloseOptions | AmqpError): Promise<void> {
    this.closingByUs = true;
    const { error, signal } = closeOptions(options);
    if (this.reconnecting) {
      // No connection to close: the loop stops at its next step, and nothing waits for the peer.
      this.failAll(new DisconnectedError('closed while reconnecting'));
      this.closedDeferred.resolve();
      const aborted = abortedError(signal, 'closing the connection');
      if (aborted) throw aborted;
      return;
    }
    await this.closeWithin({ ms: this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, signal }, error);
  }
}
