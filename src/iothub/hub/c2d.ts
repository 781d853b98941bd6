/**
 * Cloud-to-device queues: one peek-lock queue per device (queue.ts), with the IoT Hub rules of
 * contract section 5:
 *
 * - at most 50 messages per device (queued + locked + being written), else HUB_QUEUE_FULL
 *   (amqp:resource-limit-exceeded);
 * - TTL: `absoluteExpiryTime` when the message has one, else the header's `ttl`, else 1 h; never
 *   more than 2 days;
 * - lock 60 s; max delivery count 10; sequence numbers from 1, hub-wide and never reused;
 * - every way a message leaves the queue is reported to `onFeedback` (Success, Rejected, Expired,
 *   DeliveryCountExceeded, Purged) with its `iothub-ack`; the feedback store decides what to keep.
 *
 * Durability (with a state directory): `<stateDir>/c2d.log` holds an `enq` record per accepted
 * message (its encoded bytes plus routing metadata), `dc` records for delivery counts and `rm`
 * records for removals. Locks are not logged: after a restart every message is available again.
 * The log is compacted at start-up (live messages only, plus the next sequence number).
 */
import { encodeMessage, type Message } from '../../codec/message.js';
import { idText } from '../message-values.js';
import type { Clock } from '../../util/timers.js';
import { DeadlineHeap } from './deadlines.js';
import { HubError } from './errors.js';
import type { FeedbackOutcome, FeedbackStatusCode } from './feedback.js';
import { ackModeOf, type AckMode } from './message-utils.js';
import {
  LockQueue,
  type Delivery,
  type QueueEntry,
  type RemovalReason,
  type SettleOutcome,
} from './queue.js';
import { loggedEntry, LoggedQueueStore, queueSnapshot } from './queue-log.js';
import type { LogRecord } from './store.js';
import { KeyedListeners } from '../../util/keyed-listeners.js';

export const C2D_DEFAULTS = {
  maxQueuedPerDevice: 50,
  defaultTtlMs: 3600 * 1000,
  maxTtlMs: 2 * 24 * 3600 * 1000,
  lockMs: 60 * 1000,
  maxDeliveryCount: 10,
} as const;

/** The C2D limits (queue depth per device, default and largest TTL, lock time, max deliveries), each a number. */
export type C2dLimits = { -readonly [K in keyof typeof C2D_DEFAULTS]: number };

/** What a queued C2D message remembers besides its bytes. */
export interface C2dMeta {
  deviceId: string;
  ack: AckMode;
  /** The target device's generation id when the message was accepted (for feedback). */
  generationId: string;
  /** The message id in text form ('' when the message had none). */
  originalMessageId: string;
}

export type C2dDelivery = Delivery<C2dMeta>;
export type C2dEntry = QueueEntry<C2dMeta>;

export interface C2dEnqueued {
  deviceId: string;
  sequenceNumber: number;
  expiresAt: number;
}

export interface C2dOptions extends Partial<C2dLimits> {
  clock: Clock;
  stateDir?: string;
  fsync?: boolean;
  /** Called for every message that leaves a queue (the hub wires it to the feedback store). */
  /**
   * Called for every message that leaves a queue (the hub wires it to the feedback store). When it
   * returns a promise, the removal is logged only after it settles (feedback durable first).
   */
  onFeedback?: (o: FeedbackOutcome) => Promise<unknown> | void;
  /** Called when the earliest deadline (lock or TTL) may have moved earlier. */
  onDeadline?: () => void;
}

const STATUS: Record<RemovalReason, FeedbackStatusCode> = {
  completed: 'Success',
  rejected: 'Rejected',
  expired: 'Expired',
  deliveryCountExceeded: 'DeliveryCountExceeded',
  purged: 'Purged',
};

export class C2dStore extends LoggedQueueStore<C2dMeta, C2dLimits> {
  onFeedback: ((o: FeedbackOutcome) => Promise<unknown> | void) | undefined;
  private readonly clock: Clock;
  private readonly deadlines: DeadlineHeap;
  private readonly queues = new Map<string, LockQueue<C2dMeta>>();
  /** Accepted but not yet durable, per device: they count against the limit. */
  private readonly pending = new Map<string, number>();
  private readonly listeners = new KeyedListeners<[]>();

  private constructor(opts: C2dOptions) {
    super(C2D_DEFAULTS, opts);
    this.clock = opts.clock;
    if (this.limits.maxDeliveryCount < 1 || this.limits.maxDeliveryCount > 100)
      throw new HubError('HUB_BAD_ARGUMENT', 'maxDeliveryCount must be 1..100');
    this.onFeedback = opts.onFeedback;
    this.deadlines = new DeadlineHeap(opts.onDeadline);
  }

  static async open(opts: C2dOptions): Promise<C2dStore> {
    return new C2dStore(opts).openLog(opts, 'c2d.log');
  }

  /** An 'enq' record: a message accepted for a device. */
  protected entered(r: LogRecord, seq: number): C2dEntry | undefined {
    const m = r.meta;
    if (m.k !== 'enq') return undefined;
    return loggedEntry(r, seq, {
      deviceId: String(m.d),
      ack: m.a as AckMode,
      generationId: String(m.g),
      originalMessageId: String(m.id),
    });
  }

  protected restore(entries: C2dEntry[]): void {
    for (const e of entries) this.queue(e.meta.deviceId).add(e);
  }

  protected snapshot(): LogRecord[] {
    const entries = [...this.queues.values()].flatMap((q) => q.entries());
    return queueSnapshot(this.nextSeq, entries, enqMeta);
  }

  private queue(deviceId: string): LockQueue<C2dMeta> {
    let q = this.queues.get(deviceId);
    if (!q) {
      q = new LockQueue<C2dMeta>(
        this.deadlines,
        { lockMs: this.limits.lockMs, maxDeliveryCount: this.limits.maxDeliveryCount },
        {
          removed: (e, reason, now) => this.removed(e, reason, now),
          counted: (e) => this.write({ k: 'dc', s: e.sequenceNumber, c: e.deliveryCount }),
          available: () => this.notify(deviceId),
        },
      );
      this.queues.set(deviceId, q);
    }
    return q;
  }

  /**
   * Queues a message for a device (the caller has checked the device exists). Resolves once the
   * message is accepted (durable, with a state directory); rejects with HUB_QUEUE_FULL
   * (amqp:resource-limit-exceeded) when the device already has the maximum queued.
   */
  enqueue(deviceId: string, message: Message, opts: { generationId?: string } = {}): Promise<C2dEnqueued> {
    try {
      const depth = this.depth(deviceId);
      if (depth >= this.limits.maxQueuedPerDevice)
        throw new HubError(
          'HUB_QUEUE_FULL',
          `device ${deviceId} already has ${depth} messages queued (limit ${this.limits.maxQueuedPerDevice})`,
        );
      const now = this.clock.now();
      const entry: C2dEntry = {
        sequenceNumber: this.nextSeq++,
        message,
        enqueuedAt: now,
        expiresAt: this.expiryOf(message, now),
        deliveryCount: 0,
        meta: {
          deviceId,
          ack: ackModeOf(message),
          generationId: opts.generationId ?? '',
          originalMessageId: idText(message.properties?.messageId) ?? '',
        },
      };
      const result: C2dEnqueued = {
        deviceId,
        sequenceNumber: entry.sequenceNumber,
        expiresAt: entry.expiresAt,
      };
      if (!this.log) {
        this.queue(deviceId).add(entry);
        return Promise.resolve(result);
      }
      this.pending.set(deviceId, (this.pending.get(deviceId) ?? 0) + 1);
      const done = (): void => {
        const n = this.pending.get(deviceId)! - 1;
        if (n === 0) this.pending.delete(deviceId);
        else this.pending.set(deviceId, n);
      };
      return this.log.append(enqMeta(entry), encodeMessage(message)).then(
        () => {
          done();
          this.queue(deviceId).add(entry);
          return result;
        },
        (err: unknown) => {
          done();
          throw err;
        },
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Expiry: absoluteExpiryTime, else now + header ttl, else now + default TTL; capped at max TTL. */
  expiryOf(message: Message, now: number): number {
    const abs = message.properties?.absoluteExpiryTime;
    const ttl = message.header?.ttl;
    let at = now + this.limits.defaultTtlMs;
    if (abs instanceof Date && !Number.isNaN(abs.getTime())) at = abs.getTime();
    else if (typeof ttl === 'number' && ttl > 0) at = now + ttl;
    return Math.min(at, now + this.limits.maxTtlMs);
  }

  /** Locks the device's next message, if any. */
  receive(deviceId: string): C2dDelivery | undefined {
    return this.queues.get(deviceId)?.receive(this.clock.now());
  }

  /** Applies a device outcome by lock token (string or 16-byte tag). See LockQueue.settle for errors. */
  settle(deviceId: string, lockToken: string | Uint8Array, outcome: SettleOutcome): C2dEntry {
    const q = this.queues.get(deviceId);
    if (!q) throw new HubError('HUB_LOCK_NOT_FOUND', `device ${deviceId} has no locked messages`);
    return q.settle(lockToken, outcome, this.clock.now());
  }
  complete(deviceId: string, lockToken: string | Uint8Array): C2dEntry {
    return this.settle(deviceId, lockToken, 'complete');
  }
  reject(deviceId: string, lockToken: string | Uint8Array): C2dEntry {
    return this.settle(deviceId, lockToken, 'reject');
  }
  abandon(deviceId: string, lockToken: string | Uint8Array): C2dEntry {
    return this.settle(deviceId, lockToken, 'abandon');
  }

  /** Removes every message of the device (Purged feedback); returns how many. */
  purge(deviceId: string): number {
    return this.queues.get(deviceId)?.purge(this.clock.now()) ?? 0;
  }

  /** Messages counted against the device's limit: queued, locked and being written. */
  depth(deviceId: string): number {
    return (this.queues.get(deviceId)?.size ?? 0) + (this.pending.get(deviceId) ?? 0);
  }

  /** Messages ready to be received now (not locked). */
  available(deviceId: string): number {
    return this.queues.get(deviceId)?.availableCount ?? 0;
  }

  /** Calls `cb` whenever a message becomes available for the device (new or redelivered). */
  onAvailable(deviceId: string, cb: () => void): () => void {
    return this.listeners.add(deviceId, cb);
  }

  nextDeadline(): number | undefined {
    return this.deadlines.next();
  }

  /** Lock timeouts and expiries due at `now`. */
  tick(now: number): void {
    this.deadlines.runDue(now);
  }

  private removed(e: C2dEntry, reason: RemovalReason, now: number): void {
    const rm = { k: 'rm', s: e.sequenceNumber };
    const feedback = this.onFeedback?.({
      statusCode: STATUS[reason],
      ack: e.meta.ack,
      originalMessageId: e.meta.originalMessageId,
      deviceId: e.meta.deviceId,
      deviceGenerationId: e.meta.generationId,
      at: now,
    });
    if (feedback && this.log) void feedback.then(() => this.write(rm));
    else void this.write(rm);
  }

  private notify(deviceId: string): void {
    this.listeners.emit(deviceId);
  }
}

function enqMeta(e: C2dEntry): { [key: string]: unknown } {
  return {
    k: 'enq',
    s: e.sequenceNumber,
    d: e.meta.deviceId,
    t: e.enqueuedAt,
    x: e.expiresAt,
    a: e.meta.ack,
    g: e.meta.generationId,
    id: e.meta.originalMessageId,
  };
}
