/**
 * `listen(options)`: an AMQP server on TCP or TLS, with bare AMQP and SASL on the same port as
 * `sasl` allows; a broker or the IoT Hub emulator is a set of handlers (onConnection, onLink).
 */
import net from 'node:net';
import tls from 'node:tls';
import { AmqpOneError } from '../codec/errors.js';
import { Condition } from '../protocol/conditions.js';
import { InvalidArgumentError, type AmqpError } from '../protocol/errors.js';
import {
  anonymousServer,
  externalServer,
  plainServer,
  type SaslServerContext,
  type SaslServerMechanism,
} from '../sasl/mechanisms.js';
import { realTimers, type Timers } from '../util/timers.js';
import { listenOn } from '../transport/listen-on.js';
import { sniffUpgrade } from '../transport/websocket/ws-accept.js';
import { isByteStream, type ByteStream } from '../transport/byte-stream.js';
import { errorFields, Log, loggerProblem, type Logger } from '../util/logger.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { IncomingLink } from './server-connection.js';
import type { MapForm } from '../codec/decoder.js';
import { refuseSocket } from './refusal.js';
import { DEFAULT_IDLE_TIMEOUT_MS, resolveLimits, SERVER_LIMITS, type ServerLimits } from './limits.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import { ServerConnection } from './server-connection.js';

/**
 * Who may connect. Credentials make SASL mandatory: a client that skips SASL (sends the bare AMQP
 * header) gets the SASL header back and the connection closes (spec 5.1), unless `required: false`
 * says otherwise. ANONYMOUS is never offered unless asked for.
 */
export interface ServerSaslOptions {
  /** Offer ANONYMOUS (default false: an open server says so). */
  anonymous?: boolean;
  /** Offer PLAIN, judged by this callback. */
  plain?: (username: string, password: string, ctx: SaslServerContext & { authzid: string }) => boolean;
  /** Offer EXTERNAL (TLS client certificates). */
  external?: boolean;
  /** Further mechanisms (MSSBCBS, say). */
  mechanisms?: SaslServerMechanism[];
  /**
   * Refuse clients that skip SASL. Default: true when anything besides ANONYMOUS is offered (a
   * bare header would bypass the credentials); false when ANONYMOUS is all there is (a bare client
   * is then no less known than an anonymous one). `required: false` next to credentials is the
   * explicit opt-in for peers that authenticate after the open (IoT Hub's CBS).
   */
  required?: boolean;
}

/** The server's options do not say who may connect (or say nothing can). */
export class ServerOptionsError extends AmqpOneError {
  constructor(message: string) {
    super('AMQP_SERVER_OPTIONS', message);
  }
}

/** Options of {@link listen}. */
export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /**
   * Who may connect; there is no default, so an open server is never one by omission:
   * `false` = bare AMQP only, no authentication; `{ anonymous: true }` = SASL ANONYMOUS (and the
   * bare header); `{ plain, external, mechanisms }` = those credentials, SASL mandatory.
   */
  sasl: ServerSaslOptions | false;
  containerId?: string;
  maxFrameSize?: number;
  /** Close a client silent this long, ms; half is announced (default DEFAULT_IDLE_TIMEOUT_MS, 120 s; 0 = never). */
  idleTimeoutMs?: number;
  /**
   * Also serve AMQP over WebSockets on the same port (and TLS, if any): a client whose first bytes
   * are an HTTP request is upgraded at `path`; one that sends the AMQP header is served as ever.
   */
  websocket?: ServerWebSocketOptions;
  /** What one client may make the server hold; every one has a default (see {@link ServerLimits}). */
  limits?: ServerLimits;
  timers?: Timers;
  /** Default `maps` of the receivers links are accepted with: 'object' (the default) or 'map' (see AcceptOptions). */
  maps?: MapForm;
  /**
   * Structured diagnostics of the server and of each client connection (see `setLogger` for the
   * process-wide one).
   */
  logger?: Logger;
  /**
   * What SASL EXTERNAL takes as a TLS client's identity. Default: the CN of a certificate that
   * verified against `tls.ca`; a server that judges certificates itself (by thumbprint, say)
   * returns its own name for any certificate, or undefined for none.
   */
  externalIdentity?(socket: tls.TLSSocket): string | undefined;
  /** Called at each client's open; return an AmqpError to refuse it. */
  onConnection?(c: ServerConnection): AmqpError | void;
  /** Called for each link a client attaches; call link.accept(...) or link.refuse(error). */
  onLink?(l: IncomingLink): void;
}

/** AMQP over WebSockets on a server's port. */
export interface ServerWebSocketOptions {
  /**
   * The endpoint, or several, '/' by default; a trailing slash does not matter. Other paths get
   * 404. The connection's `socket` (a WebSocketStream) says which one a client asked for.
   */
  path?: string | string[];
  /**
   * Largest WebSocket message from a client (default 16 MiB, DEFAULT_MAX_WS_MESSAGE), counted from
   * its frames' length fields: its bytes are served as they arrive, not held. Above it: close code 1009.
   */
  maxMessageSize?: number;
}

// The run-time checks of the options above (protocol/options.ts): a key missing here fails to compile.
export const SERVER_SASL_OPTIONS = {
  anonymous: opt.boolean,
  plain: opt.function,
  external: opt.boolean,
  mechanisms: opt.array,
  required: opt.boolean,
} satisfies OptionSchema<ServerSaslOptions>;

export const SERVER_TLS_OPTIONS = {
  cert: opt.pem,
  key: opt.pem,
  ca: opt.listOf(opt.pem),
  requestCert: opt.boolean,
} satisfies OptionSchema<NonNullable<ServerOptions['tls']>>;

export const SERVER_WEBSOCKET_OPTIONS = {
  path: opt.listOf(opt.string),
  maxMessageSize: opt.count,
} satisfies OptionSchema<ServerWebSocketOptions>;

export const SERVER_OPTIONS = {
  host: opt.string,
  port: opt.number,
  tls: opt.nested(SERVER_TLS_OPTIONS, 'TLS options ({ cert, key })'),
  sasl: opt.either(opt.oneOf(false), opt.nested(SERVER_SASL_OPTIONS, 'SASL options')),
  containerId: opt.string,
  maxFrameSize: opt.count,
  idleTimeoutMs: opt.count,
  websocket: opt.nested(SERVER_WEBSOCKET_OPTIONS, 'WebSocket options ({ path })'),
  limits: opt.nested(SERVER_LIMITS, 'limits'),
  timers: opt.object,
  externalIdentity: opt.function,
  onConnection: opt.function,
  onLink: opt.function,
  maps: opt.oneOf('object', 'map'),
  logger: opt.either(opt.function, opt.object),
} satisfies OptionSchema<ServerOptions>;

/** The events of a server: `server.on('connection', (c) => ...)`. */
export interface AmqpServerEvents {
  /** A client's socket was accepted (its open may not have arrived yet). */
  connection: [connection: ServerConnection];
  /** A client's connection is gone. */
  disconnect: [connection: ServerConnection];
  /**
   * A client failed the TLS or the WebSocket handshake (no connection was made): a TLS error, or a
   * WebSocketHandshakeError with the HTTP `status` it was answered with.
   */
  clientError: [error: Error];
}

/** A listening AMQP server. */
export class AmqpServer extends TypedEmitter<AmqpServerEvents> {
  readonly connections = new Set<ServerConnection>();
  /** Sockets whose first bytes or WebSocket upgrade are awaited; they count as connections. */
  private readonly upgrading = new Set<ByteStream>();

  /** Clients whose first bytes or WebSocket upgrade are still awaited (with `websocket` only). */
  get pendingHandshakes(): number {
    return this.upgrading.size;
  }
  /** Sockets answered with the fixed refusal because the server was full. */
  refusedConnections = 0;
  private listener!: net.Server;
  /** Set by start(), once the options are checked. */
  private limits!: Required<ServerLimits>;
  private readonly log: Log;

  // Nothing here throws, whatever the options: listen() reports a bad option as a rejection.
  constructor(readonly options: ServerOptions) {
    super();
    const given = options as ServerOptions | undefined;
    this.log = new Log(loggerProblem(given?.logger) ? undefined : given?.logger);
  }

  /** The port it listens on. */
  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  /** The address it listens on. */
  get host(): string {
    return (this.listener.address() as net.AddressInfo).address;
  }

  /** The SASL layer `options.sasl` asks for; undefined for bare AMQP only. */
  private saslServer(): { mechanisms: SaslServerMechanism[]; required: boolean } | undefined {
    const s = this.options.sasl;
    if (s === false) return undefined;
    const m: SaslServerMechanism[] = [...(s.mechanisms ?? [])];
    if (s.external) m.push(externalServer());
    if (s.plain) m.push(plainServer(s.plain));
    const credentials = m.length > 0;
    if (s.anonymous) m.push(anonymousServer());
    return { mechanisms: m, required: s.required ?? credentials };
  }

  /** Starts listening; {@link listen} calls it. */
  async start(): Promise<this> {
    checkOptions(this.options, SERVER_OPTIONS, 'listen');
    const o = this.options;
    this.limits = resolveLimits(o?.limits);
    // listen() with nothing at all: the same answer as without `sasl`.
    const s = (o as ServerOptions | undefined)?.sasl as ServerSaslOptions | false | undefined;
    if (s === undefined || s === null)
      throw new ServerOptionsError(
        'listen() needs `sasl`: false (bare AMQP, no authentication), { anonymous: true } or credentials',
      );
    if (s !== false && this.saslServer()!.mechanisms.length === 0)
      throw new ServerOptionsError('`sasl` offers no mechanism: give credentials, or anonymous: true');
    const problem = loggerProblem(o.logger);
    if (problem) throw new ServerOptionsError(problem);
    const onSocket = (socket: net.Socket): void => {
      if (o.websocket) this.sniff(socket, o.websocket);
      else this.onSocket(socket);
    };
    this.listener = o.tls
      ? tls.createServer(
          {
            cert: o.tls.cert,
            key: o.tls.key,
            ca: o.tls.ca,
            requestCert: o.tls.requestCert ?? false,
            rejectUnauthorized: false,
          },
          onSocket,
        )
      : net.createServer(onSocket);
    this.listener.on('tlsClientError', (err) => {
      if (this.log.enabled('warn', 'server'))
        this.log.write('warn', 'server', 'TLS handshake failed', { error: errorFields(err) });
      this.emit('clientError', err);
    });
    // A port in use, refused or invalid is a ListenError naming host and port.
    await listenOn(this.listener, o.port ?? 5672, o.host ?? '127.0.0.1');
    if (this.log.enabled('info', 'server'))
      this.log.write('info', 'server', 'listening', { host: this.host, port: this.port, tls: !!o.tls });
    return this;
  }

  /**
   * Serves a client over `stream`, any Node Duplex of bytes (an SSH channel, a test pipe, a
   * WebSocket adapter): as a socket the server accepted, with the same limits, SASL and handlers.
   * The server must have started (listen() resolved). `transport` is the TLS socket under
   * `stream` (a WebSocket's), whose client certificate SASL EXTERNAL then takes as on the
   * server's own port. Returns the connection, or undefined when the server is full (the stream
   * then gets the fixed refusal and is closed).
   */
  accept(stream: ByteStream, transport: ByteStream = stream): ServerConnection | undefined {
    if (!isByteStream(stream))
      throw new InvalidArgumentError('AmqpServer.accept: expected a Duplex stream of bytes', {
        option: 'stream',
      });
    if (this.limits === undefined)
      throw new InvalidArgumentError('AmqpServer.accept: the server has not started (await listen() first)');
    if (!isByteStream(transport))
      throw new InvalidArgumentError(
        'AmqpServer.accept: expected the transport as a Duplex stream of bytes',
        {
          option: 'transport',
        },
      );
    return this.onSocket(stream, transport);
  }

  /** Raw AMQP or a WebSocket upgrade, by the client's first bytes (ws-accept.ts). */
  private sniff(socket: net.Socket, ws: ServerWebSocketOptions): void {
    if (this.full()) return this.refuse(socket);
    this.upgrading.add(socket);
    sniffUpgrade(socket, {
      path: ws.path ?? '/',
      maxMessageSize: ws.maxMessageSize,
      deadlineMs: this.limits.handshakeTimeoutMs,
      timers: this.options.timers ?? realTimers,
    }).then(
      (r) => {
        this.upgrading.delete(socket);
        const conn = this.onSocket(r.kind === 'amqp' ? socket : r.stream, socket);
        if (r.kind === 'amqp') socket.resume();
        return conn;
      },
      (err: Error) => {
        this.upgrading.delete(socket);
        if (this.log.enabled('warn', 'server'))
          this.log.write('warn', 'server', 'WebSocket handshake failed', {
            remoteAddress: socket.remoteAddress,
            error: errorFields(err),
          });
        this.emit('clientError', err);
      },
    );
  }

  /** maxConnections reached, counting the clients still in their WebSocket upgrade. */
  private full(): boolean {
    const max = this.limits.maxConnections;
    return max > 0 && this.connections.size + this.upgrading.size >= max;
  }

  /** Full: a fixed answer and a close, with no engine built and nothing kept. */
  private refuse(socket: ByteStream): undefined {
    this.refusedConnections++;
    if (this.log.enabled('warn', 'server'))
      this.log.write('warn', 'server', 'full: client refused', {
        remoteAddress: socket.remoteAddress,
        maxConnections: this.limits.maxConnections,
      });
    refuseSocket(socket, this.limits.handshakeTimeoutMs);
    return undefined;
  }

  /** Serves a client over `socket`; `transport` is the TCP or TLS socket under it (for EXTERNAL's certificate). */
  private onSocket(socket: ByteStream, transport: ByteStream = socket): ServerConnection | undefined {
    const o = this.options;
    let externalIdentity: string | undefined;
    if (transport instanceof tls.TLSSocket) {
      if (o.externalIdentity) externalIdentity = o.externalIdentity(transport);
      else if (transport.authorized)
        externalIdentity = transport.getPeerCertificate()?.subject?.CN as string | undefined;
    }
    const limits = this.limits;
    if (this.full()) return this.refuse(socket);
    const saslServer = this.saslServer();
    const conn = new ServerConnection(
      {
        containerId: o.containerId,
        maxFrameSize: o.maxFrameSize,
        idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
        handshakeTimeoutMs: limits.handshakeTimeoutMs,
        maxUnsettledDeliveries: limits.maxUnsettledDeliveries,
        maxReassemblyBytes: limits.maxReassemblyBytes,
        channelMax: limits.maxSessions,
        sessionDefaults: { handleMax: limits.maxLinksPerSession },
        saslServer,
        externalIdentity,
        logger: o.logger,
      },
      socket,
      {
        onOpen: (c) => o.onConnection?.(c) ?? undefined,
        onLink: (l) => {
          if (o.onLink) o.onLink(l);
          else l.refuse({ condition: Condition.NotFound, description: 'this server has no nodes' });
        },
        onClosed: (c, err) => {
          this.connections.delete(c);
          if (this.log.enabled('debug', 'server'))
            this.log.write('debug', 'server', 'client gone', {
              connection: c.engine.log.context.connection,
              error: errorFields(err),
            });
          this.emit('disconnect', c);
        },
        maxMessageSize: limits.maxMessageSize,
        maxLinks: limits.maxLinks,
        maxBufferedOutput: limits.maxBufferedOutput,
        maps: o.maps,
      },
      o.timers,
    );
    this.connections.add(conn);
    if (this.log.enabled('debug', 'server'))
      this.log.write('debug', 'server', 'client connected', {
        connection: conn.engine.log.context.connection,
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
      });
    this.emit('connection', conn);
    return conn;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const s of this.upgrading) s.destroy();
    const closing = [...this.connections].map((c) =>
      Promise.race([
        c.close({ condition: Condition.ConnectionForced, description: 'server shutting down' }),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]).finally(() => c.driver.destroy()),
    );
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}

/**
 * Starts an AMQP server. Rejects with a ServerOptionsError when `sasl` says nothing usable, and
 * with a ListenError (code AMQP_ADDRESS_IN_USE, AMQP_ADDRESS_DENIED, AMQP_ADDRESS_UNAVAILABLE,
 * AMQP_BAD_PORT or AMQP_LISTEN_FAILED; `host`, `port`, and Node's error as `cause`) when the
 * port cannot be listened on.
 */
export function listen(options: ServerOptions): Promise<AmqpServer> {
  return new AmqpServer(options).start();
}
