/**
 * An in-memory queue broker on `listen`: one queue per address, created on first use. A client's
 * sender puts messages on the queue its target names; a client's receiver takes them from the
 * queue its source names, in order, as its credit allows, round-robin with the other receivers.
 * Dynamic termini get a generated address and a queue that ends with the link (delete-on-close).
 * Settle modes are granted as the client asks (presettled delivery, rcv-settle-mode second).
 */
import type { Logger } from '../util/logger.js';
import { randomUUID } from 'node:crypto';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { ReceivedMessage } from '../api/received-message.js';
import { Condition } from '../protocol/conditions.js';
import type { AmqpError } from '../protocol/errors.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import {
  listen,
  SERVER_OPTIONS,
  type AmqpServer,
  type ServerOptions,
  type ServerSaslOptions,
} from '../server/server.js';
import type { IncomingLink } from '../server/server-connection.js';
import type { ServerConnection } from '../server/server-connection.js';
import { Consumer } from './consumer.js';
import { Producer, type Route } from './producer.js';
import { Queue, type QueueLimits, type SharedBudget } from './queue.js';
import { saslOptions } from './users.js';

export interface BrokerOptions {
  /** Default 5672; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  tls?: ServerOptions['tls'];
  /**
   * SASL as `listen` takes it. No default: without `users`, say `false` (bare AMQP only) or
   * `{ anonymous: true }` (an open broker); with `users`, these options add to PLAIN.
   */
  sasl?: ServerSaslOptions | false;
  /**
   * Users for SASL PLAIN (name to password). With it SASL is mandatory (bare AMQP refused unless
   * `sasl.required` is false) and ANONYMOUS is off unless `sasl.anonymous` says so.
   */
  users?: Record<string, string>;
  /** Also serve AMQP over WebSockets on `port`, as `listen` does (raw AMQP goes on being served). */
  websocket?: ServerOptions['websocket'];
  /**
   * A second port serving AMQP over WebSockets only at `ws://host:wsPort/` (wss with `tls`),
   * with the same queues, SASL and limits (maxConnections counts each port separately).
   */
  wsPort?: number;
  containerId?: string;
  /** Structured diagnostics of the broker's server and its client connections (see `setLogger`). */
  logger?: Logger;
  /** The credit window each client sender gets (default 100). */
  credit?: number;
  maxFrameSize?: number;
  /** A silent client is closed after this long, ms (default listen's, DEFAULT_IDLE_TIMEOUT_MS: 120 s; 0 = never). */
  idleTimeoutMs?: number;
  /**
   * Per-client limits, as `listen` takes them; each has listen's default (server/limits.ts), but
   * `maxMessageSize`, the max-message-size of every client sender's link: default
   * DEFAULT_BROKER_MAX_MESSAGE_SIZE (4 MiB; 0 = no limit).
   */
  limits?: ServerOptions['limits'];
  /**
   * Messages one queue holds, waiting or sent and not settled; past it sends to the queue are
   * rejected with amqp:resource-limit-exceeded. Default {@link DEFAULT_MAX_QUEUE_MESSAGES} (100 000).
   */
  maxQueueMessages?: number;
  /** Bytes one queue holds, likewise. Default {@link DEFAULT_MAX_QUEUE_BYTES} (64 MiB). */
  maxQueueBytes?: number;
  /** Bytes all queues hold together, likewise. Default {@link DEFAULT_MAX_BROKER_BYTES} (512 MiB). */
  maxTotalBytes?: number;
  /**
   * Queues that exist at once; an attach (or a relayed message) that would create another is
   * refused with amqp:resource-limit-exceeded. Unused queues (no links, nothing held) are freed.
   * Default {@link DEFAULT_MAX_QUEUES} (10 000).
   */
  maxQueues?: number;
}

// The run-time checks of the options above (protocol/options.ts): a key missing here fails to compile.
export const BROKER_OPTIONS = {
  port: opt.number,
  host: opt.string,
  tls: SERVER_OPTIONS.tls,
  sasl: SERVER_OPTIONS.sasl,
  users: opt.object,
  websocket: SERVER_OPTIONS.websocket,
  wsPort: opt.number,
  containerId: opt.string,
  credit: opt.count,
  maxFrameSize: opt.count,
  idleTimeoutMs: opt.count,
  limits: SERVER_OPTIONS.limits,
  maxQueueMessages: opt.count,
  maxQueueBytes: opt.count,
  maxTotalBytes: opt.count,
  maxQueues: opt.count,
  logger: opt.either(opt.function, opt.object),
} satisfies OptionSchema<BrokerOptions>;

/**
 * The broker's max-message-size: four times IoT Hub's 1 MiB, so a 1 MiB body with its properties
 * passes, as the interop suites send; a test broker needs no more, and it bounds what one link
 * can make the broker buffer.
 */
export const DEFAULT_BROKER_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
/** Bytes held by all queues of a broker before sends are refused: 512 MiB. */
export const DEFAULT_MAX_BROKER_BYTES = 512 * 1024 * 1024;
/** Queues a broker holds at once. */
export const DEFAULT_MAX_QUEUES = 10_000;

/** The queue a link is attached to, and whether the link created it (a dynamic node). */
interface Attachment {
  queue: Queue;
  creator: boolean;
}

/** The events of a broker. */
export interface BrokerEvents {
  /** A client connected. */
  connection: [connection: ServerConnection];
  /** A client's connection is gone, with the error it closed with (or the transport failure), if any. */
  disconnect: [connection: ServerConnection, error: Error | undefined];
}

export class Broker extends TypedEmitter<BrokerEvents> {
  private readonly queueMap = new Map<string, Queue>();
  /** The links on each queue: a deleted dynamic queue detaches them. */
  private readonly links = new Map<Queue, Set<IncomingLink>>();
  private server!: AmqpServer;
  private wsServer: AmqpServer | undefined;
  private readonly credit: number;
  private readonly queueLimits: QueueLimits;
  private readonly budget: SharedBudget;
  private readonly maxQueues: number;

  constructor(readonly options: BrokerOptions = {}) {
    super();
    checkOptions(options, BROKER_OPTIONS, 'startBroker');
    this.credit = Math.max(1, options.credit ?? 100);
    this.budget = { bytes: 0, maxBytes: options.maxTotalBytes ?? DEFAULT_MAX_BROKER_BYTES };
    this.queueLimits = {
      ...(options.maxQueueMessages === undefined ? {} : { maxMessages: options.maxQueueMessages }),
      ...(options.maxQueueBytes === undefined ? {} : { maxBytes: options.maxQueueBytes }),
      shared: this.budget,
    };
    this.maxQueues = options.maxQueues ?? DEFAULT_MAX_QUEUES;
  }

  /** Bytes held by all queues (waiting and unsettled messages). */
  get bytes(): number {
    return this.budget.bytes;
  }

  /** The queues by address (inspect only: they change as clients come and go). */
  get queues(): ReadonlyMap<string, Queue> {
    return this.queueMap;
  }

  get port(): number {
    return this.server.port;
  }

  get host(): string {
    return this.server.host;
  }

  /** The WebSocket port (`wsPort`), when there is one. */
  get wsPort(): number | undefined {
    return this.wsServer?.port;
  }

  /** The client connections open now, on every port. */
  get connections(): ReadonlySet<ServerConnection> {
    if (!this.wsServer) return this.server.connections;
    return new Set([...this.server.connections, ...this.wsServer.connections]);
  }

  async start(): Promise<this> {
    const o = this.options;
    this.server = await this.listenOn(o.port ?? 5672, o.websocket);
    if (o.wsPort !== undefined) {
      try {
        this.wsServer = await this.listenOn(o.wsPort, { path: '/' });
      } catch (err) {
        await this.server.close();
        throw err;
      }
    }
    return this;
  }

  /** One listener with the broker's handlers. */
  private async listenOn(port: number, websocket: ServerOptions['websocket']): Promise<AmqpServer> {
    const o = this.options;
    const server = await listen({
      port,
      host: o.host ?? '127.0.0.1',
      tls: o.tls,
      websocket,
      sasl: saslOptions(o) as ServerOptions['sasl'], // undefined: listen() says what is missing
      containerId: o.containerId ?? `amqp-one-broker-${randomUUID()}`,
      maxFrameSize: o.maxFrameSize,
      idleTimeoutMs: o.idleTimeoutMs,
      limits: { ...o.limits, maxMessageSize: o.limits?.maxMessageSize ?? DEFAULT_BROKER_MAX_MESSAGE_SIZE },
      onLink: (l) => this.onLink(l),
      logger: o.logger,
    });
    // 'disconnect' carries the error the client closed with (or the transport failure), if any.
    server.on('connection', (c: ServerConnection) => {
      this.emit('connection', c);
      c.on('close', (err: Error | undefined) => this.emit('disconnect', c, err));
    });
    return server;
  }

  /** The queue at `address`, created if there is none (even past maxQueues: the caller's choice). */
  queue(address: string): Queue {
    return this.queueMap.get(address) ?? this.addQueue(address, false);
  }

  /** The queue at `address`, or, when it would be one too many, the error to refuse with. */
  private queueOrRefusal(address: string): Queue | AmqpError {
    return this.queueMap.get(address) ?? this.tooManyQueues(address) ?? this.addQueue(address, false);
  }

  private tooManyQueues(address: string): AmqpError | undefined {
    if (this.queueMap.size < this.maxQueues) return undefined;
    return {
      condition: Condition.ResourceLimitExceeded,
      description: `the broker holds ${this.queueMap.size} queues, its limit; ${address} cannot be created`,
    };
  }

  private addQueue(address: string, dynamic: boolean): Queue {
    const q = new Queue(address, dynamic, this.queueLimits);
    // A queue nobody uses any more is freed, so that clients cycling through addresses cannot
    // grow the map; it comes back empty on next use, as it left.
    q.onIdle = () => this.freeIfUnused(q);
    this.queueMap.set(address, q);
    return q;
  }

  private freeIfUnused(q: Queue): void {
    if (q.dynamic || !q.idle || (this.links.get(q)?.size ?? 0) > 0) return;
    if (this.queueMap.get(q.address) === q) this.queueMap.delete(q.address);
    this.links.delete(q);
  }

  /** Closes every connection (amqp:connection:forced) and stops listening. Queues stay inspectable. */
  async close(): Promise<void> {
    await Promise.all([this.server.close(), this.wsServer?.close()]);
  }

  private onLink(l: IncomingLink): void {
    if (l.remoteAttach.target?.type === 'coordinator') {
      return l.refuse({ condition: Condition.NotImplemented, description: 'transactions are not supported' });
    }
    if (l.role === 'sender') this.attachConsumer(l);
    else this.attachProducer(l);
  }

  /** A client receiver: our sender serves it from the queue its source names. */
  private attachConsumer(l: IncomingLink): void {
    const source = l.source;
    if (!source || (!source.dynamic && l.address === undefined)) return l.refuse(missing('source', l));
    const at = source.dynamic ? this.createDynamic() : this.staticQueue(l.address!);
    if (!('queue' in at)) return l.refuse(at);
    // Our answer: the node we really serve. No filters are applied, so none are claimed; messages
    // are always taken from the queue (spec 3.5.3: the reply says what the source does).
    const { type: _type, filter: _filter, ...rest } = source;
    const reply = { ...rest, address: at.queue.address, distributionMode: undefined };
    // No bound on the sender's own queue: the queue hands it no more than its credit, and the
    // credit is counted on the link (sends held back by the bound would not be counted).
    const sender = l.acceptSender({ source: reply, maxQueued: Infinity });
    const consumer = new Consumer(at.queue, sender, () => this.linkGone(l, at));
    this.track(l, at.queue);
    at.queue.subscribe(consumer);
  }

  /** A client sender: our receiver puts its messages on the queue its target names. */
  private attachProducer(l: IncomingLink): void {
    const target = l.target;
    if (!target) return l.refuse(missing('target', l));
    const found = target.dynamic
      ? this.createDynamic()
      : l.address === undefined
        ? undefined
        : this.staticQueue(l.address);
    if (found && !('queue' in found)) return l.refuse(found);
    const at = found;
    const { type: _type, ...rest } = target;
    const receiver = l.acceptReceiver({
      credit: this.credit,
      target: at ? { ...rest, address: at.queue.address } : rest,
    });
    // Without an address, the link is an anonymous relay: each message names its queue.
    const route: Route = at ? () => at.queue : (m) => this.relay(m);
    if (at) this.track(l, at.queue);
    const fail = (error: AmqpError): void => {
      l.engineLink.detach({ error });
      l.connection.schedule();
    };
    void new Producer(receiver, route, fail).run().then(() => at && this.linkGone(l, at));
  }

  private staticQueue(address: string): Attachment | AmqpError {
    const queue = this.queueOrRefusal(address);
    return queue instanceof Queue ? { queue, creator: false } : queue;
  }

  /** A dynamic node: a fresh address, a queue that the creating link owns. */
  private createDynamic(): Attachment | AmqpError {
    const address = `dynamic/${randomUUID()}`;
    return this.tooManyQueues(address) ?? { queue: this.addQueue(address, true), creator: true };
  }

  private relay(m: ReceivedMessage): Queue | AmqpError {
    const to = m.message.properties?.to;
    if (to === undefined || to === null) {
      return { condition: Condition.NotFound, description: 'no target address and no properties.to' };
    }
    return this.queueOrRefusal(String(to));
  }

  private track(l: IncomingLink, q: Queue): void {
    let set = this.links.get(q);
    if (!set) this.links.set(q, (set = new Set()));
    set.add(l);
  }

  private linkGone(l: IncomingLink, at: Attachment): void {
    this.links.get(at.queue)?.delete(l);
    if (at.creator) this.deleteQueue(at.queue);
    else this.freeIfUnused(at.queue);
  }

  /** A dynamic node ends with its link (delete-on-close): its messages go, other links are detached. */
  private deleteQueue(q: Queue): void {
    if (this.queueMap.get(q.address) === q) this.queueMap.delete(q.address);
    const others = this.links.get(q) ?? new Set();
    this.links.delete(q);
    q.clear();
    for (const l of others) {
      l.engineLink.detach({
        error: {
          condition: Condition.ResourceDeleted,
          description: `${q.address} was deleted with its link`,
        },
      });
      l.connection.schedule();
    }
  }
}

function missing(what: 'source' | 'target', l: IncomingLink): AmqpError {
  const role = l.role === 'sender' ? 'receiver' : 'sender';
  return { condition: Condition.InvalidField, description: `a ${role} link needs a ${what} with an address` };
}

/** Starts a broker: `await startBroker({ port: 0, users: { alice: pw } })`, then `.port`, `.queues`, `.close()`. */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  return new Broker(options).start();
}
