/**
 * One authenticated AMQP connection to a hub (or to its Event Hubs-compatible endpoint), kept
 * alive: SASL PLAIN with a SAS token, or CBS put-token (after no SASL, ANONYMOUS or MSSBCBS) with
 * proactive renewal, or X.509 over TLS; and reconnect with exponential backoff and jitter.
 *
 * The promise API's reconnect does the reconnecting: before each attempt a PLAIN token is fetched
 * afresh, and its `beforeReattach` hook runs CBS on the new connection before anything else, so
 * {@link HubConnection.ready} hands it out only once the token was accepted. The links are not
 * re-attached by the promise API: each generation is a new connection for the clients, which open
 * their links again on 'connected' (lock tokens and link state never outlive their connection).
 */
import { TypedEmitter } from '../../util/typed-emitter.js';
import { utf8Encode } from '../../codec/bytes.js';
import type { AmqpConnection, ReconnectOptions } from '../../client/amqp-connection.js';
import { ClosedError, InvalidArgumentError } from '../../api/errors.js';
import { deferred, type Deferred } from '../../util/deferred.js';
import { realTimers, type Timers } from '../../util/timers.js';
import { errorFields, Log, type Logger } from '../../util/logger.js';
import type { SaslClientMechanism } from '../../sasl/mechanisms.js';
import type { TlsOptions } from '../../transport/open-socket.js';
import { checkOptions, opt, type OptionSchema } from '../../protocol/options.js';
import { IotHubError, NotConnectedError, toIotHubError } from '../errors.js';
import { CbsClient, CbsTokenRenewer, type CbsClientOptions, type TokenRenewalOptions } from './cbs.js';
import type { HubPlatform } from './hub-platform.js';
import { mssbcbsClient } from './mssbcbs.js';
import { isRetryableError } from './retry.js';
import type { TokenInfo, TokenProvider } from './token.js';

/** The SASL layer before CBS: none (the Node SDKs), ANONYMOUS (event-hubs) or MSSBCBS (C SDK, uAMQP). */
export type CbsSasl = 'none' | 'ANONYMOUS' | 'MSSBCBS';

/** How a hub connection authenticates: CBS after a SASL step, SASL PLAIN with a token, or X.509. */
export type HubAuth =
  | {
      kind: 'cbs';
      /** The put-token `name` (and the resource the provider signs). */
      audience: string;
      provider: TokenProvider;
      sasl?: CbsSasl;
      renewal?: TokenRenewalOptions;
      cbs?: CbsClientOptions;
    }
  | {
      kind: 'plain';
      /** `{policy}@sas.root.{hub}` or `{device}@sas.{hub}`. */
      username: string;
      audience: string;
      provider: TokenProvider;
      /**
       * Before the token expires, put a fresh one over CBS on the same connection (default); when
       * that fails, reconnect with a fresh token before the hub detaches the links.
       */
      renewal?: TokenRenewalOptions;
    }
  /** X.509: identity from the TLS client certificate (give tls.cert and tls.key); no SASL, no CBS. */
  | { kind: 'x509' }
  /** No authentication at all (a local endpoint that needs none). */
  | { kind: 'none'; sasl?: 'none' | 'ANONYMOUS' };

/** Reconnect backoff of a hub connection. */
export interface HubReconnectOptions {
  /** First delay (ms, default 100), doubled per failed attempt up to maxDelayMs (default 30 000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of each delay that is random (default 0.5). */
  jitter?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
  /**
   * Whether an attempt's error is worth another attempt (default: its `retryable` flag; errors that
   * are not IotHubErrors, such as refused sockets, count as retryable).
   */
  isRetryable?: (error: unknown) => boolean;
}

export const HUB_RECONNECT_OPTIONS = {
  initialDelayMs: opt.number,
  maxDelayMs: opt.number,
  jitter: opt.number,
  maxAttempts: opt.number,
  isRetryable: opt.function,
} satisfies OptionSchema<HubReconnectOptions>;

/** Options of a {@link HubConnection}. */
export interface HubConnectionOptions {
  /** Node's ({@link nodeHubPlatform}) or a browser's: how the connection is opened and tokens signed. */
  platform: HubPlatform;
  host: string;
  port: number;
  /** TLS options (in a browser `{}`: its own), or false for plain TCP (ws:// over WebSockets). */
  tls: TlsOptions | false;
  /** The open frame's hostname (default `host`). */
  hostname?: string;
  /** AMQP over a WebSocket at `path` (IoT Hub's `/$iothub/websocket`) instead of raw AMQP. */
  websocket?: { path: string };
  /** An HTTP proxy to tunnel through (CONNECT), `http://[user:pass@]host[:port]`. */
  proxy?: string | URL;
  auth: HubAuth;
  /** Timers and clock for renewal, backoff and the connection (default the real ones). */
  timers?: Timers;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  containerId?: string;
  /** Reconnect when the connection is lost (default true). */
  reconnect?: boolean | HubReconnectOptions;
  /** Random numbers for the jitter (default Math.random). */
  random?: () => number;
  /** Structured diagnostics ('iothub' records, and those of the AMQP connection); see `setLogger`. */
  logger?: Logger;
}

const hubConnectionOptions = (platform: HubPlatform) =>
  ({
    platform: opt.object,
    host: opt.string,
    port: opt.number,
    tls: opt.either(opt.oneOf(false), platform.options.tls),
    hostname: opt.string,
    websocket: opt.nested({ path: opt.string } satisfies OptionSchema<{ path: string }>, '{ path }'),
    proxy: opt.either(opt.string, opt.instanceOf(URL, 'a URL')),
    auth: opt.object,
    timers: opt.object,
    connectTimeoutMs: opt.number,
    idleTimeoutMs: opt.number,
    containerId: opt.string,
    reconnect: opt.either(opt.boolean, opt.nested(HUB_RECONNECT_OPTIONS, 'reconnect options')),
    random: opt.function,
    logger: opt.either(opt.function, opt.object),
  }) satisfies OptionSchema<HubConnectionOptions>;

/** Where a hub connection is in its life. */
export type HubConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The events of a HubConnection. */
export interface HubConnectionEvents {
  /** Connected and authenticated (again): a new generation of links may be opened on `connection`. */
  connected: [connection: AmqpConnection, generation: number];
  /** The connection was lost (an IotHubError where the hub said why); a reconnect follows unless it is off. */
  disconnected: [error: Error];
  'token-renewed': [info: TokenInfo];
  'renewal-error': [error: IotHubError];
  /** Reconnecting gave up (or the connection was lost without reconnect): it is closed. */
  failed: [error: unknown];
}

/**
 * Events: 'connected' (AmqpConnection, generation) after each successful (re)connect and
 * authentication; 'disconnected' (error) when the connection is lost; 'token-renewed' (TokenInfo);
 * 'renewal-error' (error); 'failed' (error) when reconnecting gave up (the connection is then closed).
 */
export class HubConnection extends TypedEmitter<HubConnectionEvents> {
  state: HubConnectionState = 'idle';
  /** Counts successful connections: links opened on an older generation are dead. */
  generation = 0;
  /** Attempts made by the current reconnect run. */
  reconnectAttempts = 0;
  private conn: AmqpConnection | undefined;
  private renewer: CbsTokenRenewer | undefined;
  private plainToken: TokenInfo | undefined;
  private waiters: Deferred<AmqpConnection>[] = [];
  private failure: unknown;
  readonly timers: Timers;
  /** @internal Where this connection's 'iothub' records go. */
  readonly log: Log;

  constructor(readonly options: HubConnectionOptions) {
    super();
    if (typeof options?.platform?.connect !== 'function') {
      throw new InvalidArgumentError(
        'HubConnection: options.platform is required (nodeHubPlatform in Node)',
        {
          option: 'platform',
        },
      );
    }
    checkOptions(options, hubConnectionOptions(options.platform), 'HubConnection');
    this.timers = options.timers ?? realTimers;
    this.log = new Log(options.logger, { host: options.host, auth: options.auth.kind });
  }

  /** The current connection, when open. */
  get connection(): AmqpConnection | undefined {
    return this.state === 'open' ? this.conn : undefined;
  }

  /** The CBS token renewer of the current connection (CBS auth only). */
  get tokenRenewer(): CbsTokenRenewer | undefined {
    return this.renewer;
  }

  /** The token in force (CBS auth). */
  get token(): TokenInfo | undefined {
    return this.renewer?.token;
  }

  /** Connects once (no retry): rejects with a typed error when the hub refuses or cannot be reached. */
  async open(): Promise<void> {
    if (this.state === 'open') return;
    if (this.state === 'closed') throw new ClosedError('the hub connection');
    if (this.state === 'connecting' || this.state === 'reconnecting') {
      await this.ready();
      return;
    }
    this.state = 'connecting';
    try {
      await this.connectOnce();
    } catch (e) {
      if ((this.state as HubConnectionState) !== 'closed') this.state = 'idle';
      const w = this.waiters;
      this.waiters = [];
      for (const d of w) d.reject(e);
      throw e;
    }
  }

  /**
   * The open, authenticated connection: at once when open, after the reconnect when one is under
   * way; rejects when the connection is closed or reconnecting gave up.
   */
  ready(): Promise<AmqpConnection> {
    if (this.state === 'open' && this.conn) return Promise.resolve(this.conn);
    if (this.state === 'closed') {
      return Promise.reject(this.failure ?? new ClosedError('the hub connection'));
    }
    if (this.state === 'idle') return Promise.reject(new NotConnectedError({ description: 'not opened' }));
    const d = deferred<AmqpConnection>();
    this.waiters.push(d);
    return d.promise;
  }

  private saslFor(): SaslClientMechanism | 'none' | 'ANONYMOUS' {
    const a = this.options.auth;
    const s = a.kind === 'cbs' || a.kind === 'none' ? (a.sasl ?? 'none') : 'none';
    if (s === 'MSSBCBS') return mssbcbsClient();
    return s;
  }

  private async connectOnce(): Promise<void> {
    const o = this.options;
    const auth = o.auth;
    let sasl: SaslClientMechanism | 'none' | 'ANONYMOUS' = this.saslFor();
    if (auth.kind === 'plain') {
      await this.fetchPlainToken();
      // Read at each SASL exchange: a reconnect sends the token fetched just before it.
      sasl = {
        name: 'PLAIN',
        initialResponse: () => utf8Encode(`\0${auth.username}\0${this.plainToken!.token}`) as Buffer,
      };
    }
    let conn: AmqpConnection;
    try {
      conn = await o.platform.connect({
        host: o.host,
        port: o.port,
        tls: o.tls === false ? false : o.tls,
        hostname: o.hostname ?? o.host,
        ...(o.websocket === undefined ? {} : { websocket: o.websocket }),
        ...(o.proxy === undefined ? {} : { proxy: o.proxy }),
        sasl,
        timers: this.timers,
        connectTimeoutMs: o.connectTimeoutMs,
        idleTimeoutMs: o.idleTimeoutMs,
        containerId: o.containerId,
        reconnect: this.reconnectOptions(),
        logger: o.logger,
      });
    } catch (e) {
      throw toIotHubError(e);
    }
    try {
      await this.authenticate(conn);
    } catch (e) {
      await conn.close().catch(() => undefined);
      throw e;
    }
    this.conn = conn;
    conn.on('disconnected', (err: unknown) => this.onLost(conn, err));
    conn.on('reconnected', () => this.onOpen(conn));
    conn.on('close', (err: unknown) => this.onClosed(conn, err));
    this.onOpen(conn);
  }

  private async fetchPlainToken(): Promise<void> {
    const auth = this.options.auth;
    if (auth.kind !== 'plain') return;
    try {
      this.plainToken = await auth.provider(auth.audience);
    } catch (e) {
      throw toIotHubError(e);
    }
  }

  /** The promise API's reconnect, with authentication before the clients get the connection back. */
  private reconnectOptions(): ReconnectOptions | false {
    const r = this.options.reconnect;
    if (r === false) return false;
    const o = r === undefined || r === true ? {} : r;
    const retryable =
      o.isRetryable ?? ((e: unknown) => (e instanceof IotHubError ? isRetryableError(e) : true));
    return {
      initialDelayMs: o.initialDelayMs,
      maxDelayMs: o.maxDelayMs,
      jitter: o.jitter,
      random: this.options.random,
      maxAttempts: o.maxAttempts,
      isRetryable: (e) => retryable(toIotHubError(e)),
      reattach: false,
      beforeConnect: async () => {
        this.reconnectAttempts++;
        if (this.log.enabled('info', 'iothub'))
          this.log.write('info', 'iothub', 'reconnecting', { attempt: this.reconnectAttempts });
        await this.fetchPlainToken();
      },
      beforeReattach: (conn) => this.authenticate(conn),
    };
  }

  /** CBS put-token (with renewal), or renewal of a PLAIN token over CBS, on a new connection. */
  private async authenticate(conn: AmqpConnection): Promise<void> {
    const auth = this.options.auth;
    const plainToken = this.plainToken;
    let renewer: CbsTokenRenewer | undefined;
    const watch = (r: CbsTokenRenewer): CbsTokenRenewer => {
      r.on('renewed', (info: TokenInfo) => {
        // The token itself is never logged: its audience and expiry say enough.
        if (this.log.enabled('info', 'iothub'))
          this.log.write('info', 'iothub', 'CBS token renewed', {
            audience: auth.kind === 'cbs' || auth.kind === 'plain' ? auth.audience : undefined,
            expiresAt: expiry(info),
          });
        this.emit('token-renewed', info);
      });
      r.on('renewal-error', (err) => {
        if (this.log.enabled('warn', 'iothub'))
          this.log.write('warn', 'iothub', 'CBS token renewal failed', { error: errorFields(err) });
        if (this.listenerCount('renewal-error') > 0) this.emit('renewal-error', err);
      });
      // The hub will drop us: start over with a fresh token rather than wait for it.
      r.on('expired', (err: unknown) => {
        if (this.log.enabled('error', 'iothub'))
          this.log.write('error', 'iothub', 'CBS token expired: reconnecting', { error: errorFields(err) });
        this.restart(err);
      });
      return r;
    };
    try {
      if (auth.kind === 'cbs') {
        // Opened by the first put-token, and again by a renewal when the hub detached them.
        const cbs = (): Promise<CbsClient> => CbsClient.open(conn, auth.cbs);
        renewer = watch(new CbsTokenRenewer(cbs, auth.audience, auth.provider, this.timers, auth.renewal));
        await renewer.start();
        if (this.log.enabled('info', 'iothub'))
          this.log.write('info', 'iothub', 'CBS put-token accepted', {
            audience: auth.audience,
            expiresAt: expiry(renewer.token),
          });
      } else if (auth.kind === 'plain' && plainToken && Number.isFinite(plainToken.expiresAtMs)) {
        renewer = watch(
          new CbsTokenRenewer(
            () => CbsClient.open(conn),
            auth.audience,
            auth.provider,
            this.timers,
            auth.renewal,
          ),
        );
        // Without CBS on this endpoint: a fresh connection (fresh token) before this one expires.
        renewer.on('renewal-error', (err: unknown) => this.restart(err));
        renewer.startWith(plainToken);
      }
    } catch (e) {
      renewer?.stop();
      const err = toIotHubError(e);
      if (this.log.enabled('warn', 'iothub'))
        this.log.write('warn', 'iothub', 'authentication failed', { error: errorFields(err) });
      throw err;
    }
    if ((this.state as HubConnectionState) === 'closed') {
      renewer?.stop();
      throw new ClosedError('the hub connection');
    }
    this.renewer = renewer;
  }

  /** The connection is (again) open and authenticated: a new generation for the clients. */
  private onOpen(conn: AmqpConnection): void {
    if (conn !== this.conn || (this.state as HubConnectionState) === 'closed') return;
    this.state = 'open';
    this.generation++;
    this.reconnectAttempts = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const d of w) d.resolve(conn);
    if (this.log.enabled('info', 'iothub'))
      this.log.write('info', 'iothub', 'connected', { generation: this.generation });
    this.emit('connected', conn, this.generation);
  }

  private onLost(conn: AmqpConnection, err: unknown): void {
    if (conn !== this.conn || this.state !== 'open') return;
    this.renewer?.stop();
    this.renewer = undefined;
    // Without reconnect, the connection's 'close' follows at once and fails everything.
    this.state = 'reconnecting';
    const error = toIotHubError(
      err ?? new NotConnectedError({ description: 'the hub closed the connection' }),
    ) as Error;
    if (this.log.enabled('warn', 'iothub'))
      this.log.write('warn', 'iothub', 'disconnected', { error: errorFields(error) });
    this.emit('disconnected', error);
  }

  /** The connection is gone for good: closed by the hub without reconnect, or reconnecting gave up. */
  private onClosed(conn: AmqpConnection, err: unknown): void {
    if (conn !== this.conn) return;
    this.onLost(conn, err);
    this.conn = undefined;
    this.fail(toIotHubError(err ?? new NotConnectedError({ description: 'the hub closed the connection' })));
  }

  /**
   * When the hub ended the session the links share (IoT Hub's KillAmqpSession fault), links can no
   * longer be opened on `conn`: reconnects, for a new session with every link, and returns true.
   */
  restartIfSessionEnded(conn: AmqpConnection): boolean {
    const s = conn.defaultSession?.engine;
    if (!s || (s.local !== 'detached' && s.remote !== 'detached')) return false;
    this.restart(new NotConnectedError({ description: 'the hub ended the session' }));
    return true;
  }

  /**
   * Drops the current connection and reconnects (e.g. after a link was lost, or the token expired).
   * Ignored unless open.
   */
  restart(reason?: unknown): void {
    const conn = this.conn;
    if (!conn || this.state !== 'open') return;
    const error = toIotHubError(
      reason ?? new NotConnectedError({ description: 'restarting the connection' }),
    );
    this.onLost(conn, error);
    if (this.options.reconnect === false) {
      this.conn = undefined;
      this.fail(error);
      void conn.close().catch(() => undefined);
    } else {
      conn.reconnectNow(error as Error);
    }
  }

  private fail(error: unknown): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.failure = error;
    if (this.log.enabled('error', 'iothub'))
      this.log.write('error', 'iothub', 'connection failed for good', { error: errorFields(error) });
    const w = this.waiters;
    this.waiters = [];
    for (const d of w) d.reject(error);
    if (this.listenerCount('failed') > 0) this.emit('failed', error);
  }

  /** Closes the connection for good; pending `ready()` calls reject. */
  async close(): Promise<void> {
    const conn = this.conn;
    this.state = 'closed';
    this.renewer?.stop();
    this.renewer = undefined;
    this.conn = undefined;
    const w = this.waiters;
    this.waiters = [];
    for (const d of w) d.reject(new ClosedError('the hub connection'));
    if (conn) await conn.close().catch(() => undefined);
  }
}

function expiry(info: TokenInfo | undefined): string | undefined {
  const at = info?.expiresAtMs;
  return at !== undefined && Number.isFinite(at) ? new Date(at).toISOString() : undefined;
}
