/**
 * `listen(options)`: an AMQP server on TCP or TLS. It accepts bare AMQP and SASL on the same port;
 * a broker or the IoT Hub emulator is a set of handlers (onConnection, onLink).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { Condition } from '../connection/conditions.js';
import type { AmqpError } from '../connection/errors.js';
import {
  anonymousServer,
  externalServer,
  plainServer,
  type SaslServerContext,
  type SaslServerMechanism,
} from '../sasl/mechanisms.js';
import type { Timers } from '../client/timers.js';
import type { IncomingLink } from './incoming-link.js';
import { refuseSocket } from './refusal.js';
import { DEFAULT_IDLE_TIMEOUT_MS, resolveLimits, type ServerLimits } from './limits.js';
import { ServerConnection } from './server-connection.js';

export interface ServerSaslOptions {
  /** Offer ANONYMOUS (default true unless `plain` is given). */
  anonymous?: boolean;
  /** Offer PLAIN, judged by this callback. */
  plain?: (username: string, password: string, ctx: SaslServerContext & { authzid: string }) => boolean;
  /** Offer EXTERNAL (TLS client certificates). */
  external?: boolean;
  /** Further mechanisms (MSSBCBS, say). */
  mechanisms?: SaslServerMechanism[];
  /** Refuse clients that skip SASL (default false). */
  required?: boolean;
}

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /** SASL configuration, or false for bare AMQP only. */
  sasl?: ServerSaslOptions | false;
  containerId?: string;
  maxFrameSize?: number;
  /** Close a client silent this long, ms; half is announced (default DEFAULT_IDLE_TIMEOUT_MS, 120 s; 0 = never). */
  idleTimeoutMs?: number;
  /** What one client may make the server hold; every one has a default (see limits.ts). */
  limits?: ServerLimits;
  timers?: Timers;
  /** Called at each client's open; return an AmqpError to refuse it. */
  onConnection?(c: ServerConnection): AmqpError | void;
  /** Called for each link a client attaches; call link.accept(...) or link.refuse(error). */
  onLink?(l: IncomingLink): void;
}

export class AmqpServer extends EventEmitter {
  readonly connections = new Set<ServerConnection>();
  /** Sockets answered with the fixed refusal because the server was full. */
  refusedConnections = 0;
  private listener!: net.Server;
  private readonly limits: Required<ServerLimits>;

  constructor(readonly options: ServerOptions) {
    super();
    this.limits = resolveLimits(options.limits);
  }

  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  get host(): string {
    return (this.listener.address() as net.AddressInfo).address;
  }

  private mechanisms(): SaslServerMechanism[] | undefined {
    const s = this.options.sasl;
    if (s === false) return undefined;
    const m: SaslServerMechanism[] = [...(s?.mechanisms ?? [])];
    if (s?.external) m.push(externalServer());
    if (s?.plain) m.push(plainServer(s.plain));
    if (s?.anonymous ?? !s?.plain) m.push(anonymousServer());
    return m;
  }

  async start(): Promise<this> {
    const o = this.options;
    const onSocket = (socket: net.Socket): void => this.onSocket(socket);
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
    this.listener.on('tlsClientError', (err) => this.emit('clientError', err));
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(o.port ?? 5672, o.host ?? '127.0.0.1', () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    return this;
  }

  private onSocket(socket: net.Socket): void {
    const o = this.options;
    let externalIdentity: string | undefined;
    if (socket instanceof tls.TLSSocket && socket.authorized) {
      const cert = socket.getPeerCertificate();
      externalIdentity = cert?.subject?.CN as string | undefined;
    }
    const limits = this.limits;
    if (limits.maxConnections > 0 && this.connections.size >= limits.maxConnections) {
      // Full: a fixed answer and a close, with no engine built and nothing kept.
      this.refusedConnections++;
      refuseSocket(socket, limits.handshakeTimeoutMs);
      return;
    }
    const mechanisms = this.mechanisms();
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
        saslServer: mechanisms ? { mechanisms, required: o.sasl ? o.sasl.required : false } : undefined,
        externalIdentity,
      },
      socket,
      {
        onOpen: (c) => o.onConnection?.(c) ?? undefined,
        onLink: (l) => {
          if (o.onLink) o.onLink(l);
          else l.refuse({ condition: Condition.NotFound, description: 'this server has no nodes' });
        },
        onClosed: (c) => {
          this.connections.delete(c);
          this.emit('disconnect', c);
        },
        maxMessageSize: limits.maxMessageSize,
        maxLinks: limits.maxLinks,
        maxBufferedOutput: limits.maxBufferedOutput,
      },
      o.timers,
    );
    conn.on('error', () => undefined);
    this.connections.add(conn);
    this.emit('connection', conn);
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
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

export function listen(options: ServerOptions): Promise<AmqpServer> {
  return new AmqpServer(options).start();
}
