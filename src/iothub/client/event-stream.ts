/**
 * Reading telemetry: attach on the hub host to `messages/events/ConsumerGroups/<cg>/Partitions/<p>`,
 * follow the `amqp:link:redirect` to the Event Hubs-compatible endpoint, authenticate there, ask
 * `$management` for the partitions and read them all, with a selector filter for the start
 * position. After a lost connection each partition resumes after the last sequence number it
 * delivered, so no event is read twice and none is skipped.
 */
import { randomUUID } from 'node:crypto';
import type { AmqpConnection } from '../../client/connect.js';
import { deferred, type Deferred } from '../../util/deferred.js';
import type { MessageReceiver } from '../../api/receiver.js';
import type { Timers } from '../../util/timers.js';
import { RedirectError } from '../../protocol/errors.js';
import { IotHubConfigError, toIotHubError } from '../errors.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { isConnectionLoss, openReceiverChecked } from './client-options.js';
import {
  DEFAULT_CONSUMER_GROUP,
  endpointFromRedirect,
  eventFromMessage,
  partitionAddress,
  selectorFilterSet,
  type EventHubEndpoint,
  type EventPosition,
  type IotHubEvent,
} from './events.js';
import type { HubConnection } from './hub-connection.js';
import { readEventHubInfo } from './management.js';
import { LINK_REOPEN_BACKOFF, isRetryableError, sleep } from './retry.js';
import { opt, type OptionSchema } from '../../protocol/options.js';

/** How long a probe receiver on the hub waits for the redirect before the hub counts as serving events itself. */
const REDIRECT_WAIT_MS = 3000;

/** Options of {@link ServiceClient.events}. */
export interface EventsOptions {
  /** Default '$Default'. */
  consumerGroup?: string;
  /** Partition ids to read (default: all, from `$management`). */
  partitions?: string[];
  /**
   * Where to start: one position for every partition, or one per partition id (partitions not
   * named start at 'latest'). Default 'latest'. Resume with `{ sequenceNumber: n }` (n excluded).
   */
  from?: EventPosition | { [partitionId: string]: EventPosition };
  /** Events prefetched per partition (default 100). */
  prefetch?: number;
  /** Events buffered for the consumer across partitions before the links wait (default 1000). */
  maxBuffered?: number;
  /** `com.microsoft:epoch` on the receivers (a higher epoch takes the partitions from other readers). */
  ownerLevel?: number | bigint;
  signal?: AbortSignal;
}

const POSITION = opt.either(opt.oneOf('earliest', 'latest'), opt.object);

/** The run-time check of EventsOptions (protocol/options.ts). */
export const EVENTS_OPTIONS = {
  consumerGroup: opt.string,
  partitions: opt.listOf(opt.string),
  from: POSITION,
  prefetch: opt.number,
  maxBuffered: opt.number,
  ownerLevel: opt.numberOrBigint,
  signal: opt.signal,
} satisfies OptionSchema<EventsOptions>;

/** What the stream needs from the ServiceClient. */
export interface EventStreamHost {
  hub: HubConnection;
  /** The hub connection, opened if need be. */
  ready(): Promise<AmqpConnection>;
  timers: Timers;
  /** Whether the hub connection uses TLS (the default for a redirect without a scheme). */
  tls: boolean;
  /** A connection to the Event Hubs-compatible endpoint, with the service's credentials. */
  connectEventHub(endpoint: EventHubEndpoint): HubConnection;
}

function isPosition(v: unknown): v is EventPosition {
  return (
    v === 'earliest' ||
    v === 'latest' ||
    (typeof v === 'object' && v !== null && ('sequenceNumber' in v || 'offset' in v || 'enqueuedTime' in v))
  );
}

/**
 * An async iterable of telemetry events from every partition (in order within a partition).
 * `close()` (or breaking out of a for-await) stops it.
 */
export class EventStream implements AsyncIterableIterator<IotHubEvent> {
  private readonly queue: AsyncQueue<IotHubEvent>;
  private readonly consumerGroup: string;
  private readonly lastQueued = new Map<string, bigint>();
  private readonly lastYielded = new Map<string, bigint>();
  private readonly receivers = new Set<MessageReceiver>();
  private started: Promise<void> | undefined;
  private eh: HubConnection | undefined;
  private ownsEh = false;
  private closed = false;
  /** The endpoint the redirect pointed at (once started). */
  endpoint: EventHubEndpoint | undefined;
  /** The partitions read (once started). */
  partitionIds: string[] | undefined;

  constructor(
    private readonly host: EventStreamHost,
    private readonly options: EventsOptions = {},
  ) {
    this.consumerGroup = options.consumerGroup ?? DEFAULT_CONSUMER_GROUP;
    this.queue = new AsyncQueue<IotHubEvent>(Math.max(1, options.maxBuffered ?? 1000));
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  /** True once closed (or failed). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The connection the events are read on (the Event Hubs-compatible endpoint's), once started. */
  get connection(): HubConnection | undefined {
    return this.eh;
  }

  /** The last sequence number handed to the consumer, per partition: where to resume from. */
  positions(): Map<string, bigint> {
    return new Map(this.lastYielded);
  }

  /** Connects (redirect, authentication, partitions) and starts reading; iteration calls it too. */
  start(): Promise<void> {
    this.started ??= this.run().catch((e: unknown) => {
      const err = toIotHubError(e);
      this.queue.end(err);
      void this.shutdown();
      throw err;
    });
    return this.started;
  }

  private async run(): Promise<void> {
    const firstPartition = this.options.partitions?.[0] ?? '0';
    const hubConn = await this.host.ready();
    const probeAddress = `/messages/events/ConsumerGroups/${this.consumerGroup}/Partitions/${firstPartition}`;
    let endpoint: EventHubEndpoint | undefined;
    try {
      // The hub echoes the terminus in its attach reply (uAMQP insists), then detaches with the
      // redirect: wait for that detach. A receiver left attached means an endpoint that serves the
      // events itself. (Real time on purpose: the fallback must not depend on an injected clock.)
      const probe = await openReceiverChecked(hubConn, { address: probeAddress, credit: 'manual' });
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        probe.receive().then(
          () => undefined,
          (e: unknown) => e,
        ),
        new Promise<'attached'>((r) => {
          timer = setTimeout(() => r('attached'), REDIRECT_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (waited !== 'attached' && waited !== undefined) throw waited;
      await probe.close();
    } catch (e) {
      if (!(e instanceof RedirectError)) throw e;
      endpoint = endpointFromRedirect(e, this.host.tls);
    }
    if (this.closed) return;
    if (endpoint) {
      const log = this.host.hub.log;
      if (log.enabled('info', 'iothub'))
        log.write('info', 'iothub', 'following the redirect to the Event Hubs-compatible endpoint', {
          endpointHost: endpoint.host,
          endpointPort: endpoint.port,
          entityPath: endpoint.entityPath,
        });
      this.endpoint = endpoint;
      this.eh = this.host.connectEventHub(endpoint);
      this.ownsEh = true;
      await this.eh.open();
    } else {
      this.eh = this.host.hub;
    }
    const entityPath = endpoint?.entityPath ?? 'messages/events';
    let partitions = this.options.partitions;
    if (!partitions) {
      const conn = await this.eh.ready();
      const info = await readEventHubInfo(conn, entityPath, { securityToken: this.eh.token?.token });
      partitions = info.partitionIds;
    }
    if (partitions.length === 0) throw new IotHubConfigError('no partitions to read', 'partitions');
    this.partitionIds = partitions;
    // start() resolves once every partition is attached: 'latest' then means "after this point".
    const attached = partitions.map(() => deferred<void>());
    partitions.forEach((p, i) => void this.pump(p, entityPath, attached[i]!));
    await Promise.all(attached.map((d) => d.promise));
  }

  private startPosition(partitionId: string): EventPosition {
    const last = this.lastQueued.get(partitionId);
    if (last !== undefined) return { sequenceNumber: last, inclusive: false };
    const from = this.options.from;
    if (from === undefined) return 'latest';
    if (isPosition(from)) return from;
    return (from as { [p: string]: EventPosition })[partitionId] ?? 'latest';
  }

  private async pump(partitionId: string, entityPath: string, attached: Deferred<void>): Promise<void> {
    try {
      await this.readPartition(partitionId, entityPath, attached);
    } finally {
      attached.resolve(); // closed before it attached: start() must not wait for ever
    }
  }

  private async readPartition(
    partitionId: string,
    entityPath: string,
    attached: Deferred<void>,
  ): Promise<void> {
    const eh = this.eh!;
    if (this.closed) return attached.resolve();
    const address = partitionAddress(entityPath, this.consumerGroup, partitionId);
    const receiverName = `amqp-one-${randomUUID()}`;
    let failures = 0;
    while (!this.closed) {
      let receiver: MessageReceiver;
      let conn: AmqpConnection;
      let generation: number;
      try {
        conn = await eh.ready();
        generation = eh.generation;
        const properties: Record<string, string | bigint> = { 'com.microsoft:receiver-name': receiverName };
        if (this.options.ownerLevel !== undefined) {
          properties['com.microsoft:epoch'] = BigInt(this.options.ownerLevel);
        }
        receiver = await openReceiverChecked(conn, {
          address,
          source: { address, filter: selectorFilterSet(this.startPosition(partitionId)) },
          credit: Math.max(1, this.options.prefetch ?? 100),
          properties,
        });
      } catch (e) {
        if (this.closed) return attached.resolve();
        const err = toIotHubError(e);
        if (eh.state === 'closed' || (!isRetryableError(err) && !isConnectionLoss(err))) {
          attached.reject(err);
          this.fail(err);
          return;
        }
        await sleep(this.host.timers, LINK_REOPEN_BACKOFF.delayMs(failures++));
        continue;
      }
      failures = 0;
      attached.resolve();
      this.receivers.add(receiver);
      try {
        for (;;) {
          await this.queue.room();
          if (this.closed) break;
          const m = await receiver.receive();
          if (m === undefined) break;
          if (!m.settled) m.accept();
          const event = eventFromMessage(m.message, partitionId);
          const seq = event.systemProperties.sequenceNumber;
          if (seq >= 0n) {
            const prev = this.lastQueued.get(partitionId);
            // A resumed link may repeat what we already have (a server ignoring the filter): skip it.
            if (prev !== undefined && seq <= prev) continue;
            this.lastQueued.set(partitionId, seq);
          }
          this.queue.push(event);
        }
      } catch {
        // The link or the connection went away: resume after the last event queued.
      }
      this.receivers.delete(receiver);
      if (this.closed) {
        await receiver.close().catch(() => undefined);
        return;
      }
      if (eh.state === 'open' && eh.generation === generation) {
        // Only the link went: pause, then attach again.
        await sleep(this.host.timers, LINK_REOPEN_BACKOFF.delayMs(failures++));
      }
    }
  }

  private fail(err: unknown): void {
    this.queue.end(err);
    void this.shutdown();
  }

  /** The next event from any partition. */
  async next(): Promise<IteratorResult<IotHubEvent>> {
    if (!this.closed) {
      try {
        await this.start();
      } catch {
        // The queue carries the error.
      }
    }
    const e = await this.queue.next();
    if (e === undefined) return { done: true, value: undefined };
    const seq = e.systemProperties.sequenceNumber;
    if (seq >= 0n) this.lastYielded.set(e.partitionId, seq);
    return { done: false, value: e };
  }

  /** Stops reading and closes the partition links (`break` calls it). */
  async return(): Promise<IteratorResult<IotHubEvent>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /** The stream itself: `for await (const e of service.events())`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<IotHubEvent> {
    return this;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    const rs = [...this.receivers];
    this.receivers.clear();
    await Promise.all(rs.map((r) => r.close().catch(() => undefined)));
    if (this.ownsEh) await this.eh?.close();
  }

  /** Stops reading: the links and the Event Hubs connection are closed; iteration ends. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.queue.discard(() => true);
    this.queue.end();
    await this.shutdown();
  }
}
