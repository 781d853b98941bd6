/**
 * Delivery feedback (contract section 6): records produced when C2D messages leave their queue,
 * batched into feedback messages that the service reads on `/messages/serviceBound/feedback`.
 *
 * - Which outcomes are kept depends on the message's `iothub-ack`: positive -> Success; negative ->
 *   Expired, DeliveryCountExceeded, Rejected, Purged; full -> all; none -> nothing.
 * - A batch is cut when 64 records are pending, or `batchDelayMs` (default 15 s) after the oldest
 *   pending record: `nextDeadline()` says when, `tick(now)` cuts it.
 * - The feedback queue is a peek-lock queue like a device's (TTL 1 h, lock 60 s, max delivery
 *   count 10), without feedback of its own.
 *
 * Durability (with a state directory): `<stateDir>/feedback.log` holds each pending record (`r`),
 * each batch (`b`: its encoded message, and how many pending records it consumed), delivery counts
 * (`dc`) and removals (`rm`); compacted at start-up.
 */
import { randomUUID } from 'node:crypto';
import { encodeMessage, type Message } from '../../codec/message.js';
import type { Clock } from '../../util/timers.js';
import { DeadlineHeap } from './deadlines.js';
import { HubError } from './errors.js';
import type { AckMode } from './message-utils.js';
import { LockQueue, type Delivery, type QueueEntry, type SettleOutcome } from './queue.js';
import { loggedEntry, LoggedQueueStore, queueSnapshot } from './queue-log.js';
import type { LogRecord } from './store.js';

export type FeedbackStatusCode = 'Success' | 'Expired' | 'DeliveryCountExceeded' | 'Rejected' | 'Purged';

export const FEEDBACK_CONTENT_TYPE = 'application/vnd.microsoft.iothub.feedback.json';

/** How a C2D message left its queue. */
export interface FeedbackOutcome {
  statusCode: FeedbackStatusCode;
  ack: AckMode;
  originalMessageId: string;
  deviceId: string;
  deviceGenerationId: string;
  /** When it happened (epoch ms). */
  at: number;
}

/** One element of a feedback message's JSON array. */
export interface FeedbackRecord {
  originalMessageId: string;
  enqueuedTimeUtc: string;
  statusCode: FeedbackStatusCode;
  description: string;
  deviceId: string;
  deviceGenerationId: string;
}

/** Descriptions (uncertain: the real hub's wording is only documented for Success). */
export const FEEDBACK_DESCRIPTIONS: Record<FeedbackStatusCode, string> = {
  Success: 'Success',
  Expired: 'Message Expired',
  DeliveryCountExceeded: 'Message Delivery Count Exceeded',
  Rejected: 'Message Rejected',
  Purged: 'Message Purged',
};

/** Whether a message with `ack` gets a feedback record for `status`. */
export function wantsFeedback(ack: AckMode, status: FeedbackStatusCode): boolean {
  if (ack === 'full') return true;
  if (ack === 'positive') return status === 'Success';
  if (ack === 'negative') return status !== 'Success';
  return false;
}

export function toFeedbackRecord(o: FeedbackOutcome): FeedbackRecord {
  return {
    originalMessageId: o.originalMessageId,
    enqueuedTimeUtc: new Date(o.at).toISOString(),
    statusCode: o.statusCode,
    description: FEEDBACK_DESCRIPTIONS[o.statusCode],
    deviceId: o.deviceId,
    deviceGenerationId: o.deviceGenerationId,
  };
}

/** A feedback message: data body = JSON array, content type, user-id = hub name, iothub-enqueuedtime. */
export function buildFeedbackMessage(
  hubName: string,
  records: FeedbackRecord[],
  now: number,
  messageId: string = randomUUID(),
): Message {
  return {
    properties: {
      messageId,
      userId: Buffer.from(hubName, 'utf8'),
      contentType: FEEDBACK_CONTENT_TYPE,
    },
    messageAnnotations: { 'iothub-enqueuedtime': new Date(now) },
    body: Buffer.from(JSON.stringify(records), 'utf8'),
    bodyType: 'data',
  };
}

export const FEEDBACK_DEFAULTS = {
  batchDelayMs: 15_000,
  maxBatch: 64,
  ttlMs: 3600 * 1000,
  lockMs: 60 * 1000,
  maxDeliveryCount: 10,
} as const;

/** The feedback limits (batching delay, batch size, TTL, lock time, max deliveries), each a number. */
export type FeedbackLimits = { -readonly [K in keyof typeof FEEDBACK_DEFAULTS]: number };

export interface FeedbackOptions extends Partial<FeedbackLimits> {
  hubName: string;
  clock: Clock;
  stateDir?: string;
  fsync?: boolean;
  /** Called when the earliest deadline (batch, lock or TTL) may have moved earlier. */
  onDeadline?: () => void;
}

/** What a feedback queue entry remembers: how many records its batch holds. */
export interface FeedbackMeta {
  records: number;
}
export type FeedbackDelivery = Delivery<FeedbackMeta>;
export type FeedbackEntry = QueueEntry<FeedbackMeta>;

interface Pending {
  record: FeedbackRecord;
  at: number;
}

export class FeedbackStore extends LoggedQueueStore<FeedbackMeta, FeedbackLimits> {
  readonly hubName: string;
  private readonly clock: Clock;
  private readonly deadlines: DeadlineHeap;
  private readonly queue: LockQueue<FeedbackMeta>;
  private readonly onDeadline: (() => void) | undefined;
  private readonly listeners = new Set<() => void>();
  private pending: Pending[] = [];

  private constructor(opts: FeedbackOptions) {
    super(FEEDBACK_DEFAULTS, opts);
    this.hubName = opts.hubName;
    this.clock = opts.clock;
    if (this.limits.maxBatch < 1) throw new HubError('HUB_BAD_ARGUMENT', 'maxBatch must be at least 1');
    this.onDeadline = opts.onDeadline;
    this.deadlines = new DeadlineHeap(opts.onDeadline);
    this.queue = new LockQueue<FeedbackMeta>(
      this.deadlines,
      { lockMs: this.limits.lockMs, maxDeliveryCount: this.limits.maxDeliveryCount },
      {
        removed: (e) => this.write({ k: 'rm', s: e.sequenceNumber }),
        counted: (e) => this.write({ k: 'dc', s: e.sequenceNumber, c: e.deliveryCount }),
        available: () => {
          for (const cb of [...this.listeners]) cb();
        },
      },
    );
  }

  static async open(opts: FeedbackOptions): Promise<FeedbackStore> {
    return new FeedbackStore(opts).openLog(opts, 'feedback.log');
  }

  /** Pending records ('r') wait for a batch; a batch ('b') consumes the first `n` of them. */
  protected entered(r: LogRecord, seq: number): FeedbackEntry | undefined {
    const m = r.meta;
    if (m.k === 'r') this.pending.push({ record: m.r as FeedbackRecord, at: Number(m.t) });
    if (m.k !== 'b') return undefined;
    this.pending.splice(0, Number(m.n));
    return loggedEntry(r, seq, { records: Number(m.c) });
  }

  protected restore(entries: FeedbackEntry[]): void {
    for (const e of entries) this.queue.add(e);
  }

  protected snapshot(): LogRecord[] {
    const out = queueSnapshot(this.nextSeq, this.queue.entries(), (e) => batchMeta(e, 0));
    for (const p of this.pending)
      out.push({ meta: { k: 'r', t: p.at, r: p.record }, payload: Buffer.alloc(0) });
    return out;
  }

  /**
   * Takes a C2D outcome; keeps it as a pending record when the message's ack asks for it (returns
   * whether it did). A full batch (64) is cut at once.
   */
  record(o: FeedbackOutcome): boolean {
    return this.submit(o) !== undefined;
  }

  /**
   * Like record(), but returns a promise that resolves once the record is durable (undefined when
   * the outcome is not kept). The C2D store waits for it before logging the message's removal, so
   * that a crash in between repeats a delivery rather than losing its feedback.
   */
  submit(o: FeedbackOutcome): Promise<void> | undefined {
    if (!wantsFeedback(o.ack, o.statusCode)) return undefined;
    const p: Pending = { record: toFeedbackRecord(o), at: o.at };
    this.pending.push(p);
    const durable = this.write({ k: 'r', t: p.at, r: p.record });
    if (this.pending.length >= this.limits.maxBatch) this.cutBatch(o.at);
    else if (this.pending.length === 1) this.onDeadline?.();
    return durable;
  }

  /** Records waiting to be batched. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Feedback messages in the queue (locked or not). */
  get depth(): number {
    return this.queue.size;
  }

  /** Cuts batches of everything pending now, whatever the delay (e.g. before a clean shutdown). */
  flushPending(now: number = this.clock.now()): void {
    while (this.pending.length > 0) this.cutBatch(now);
  }

  /** Locks the next feedback message, if any. */
  receive(): FeedbackDelivery | undefined {
    return this.queue.receive(this.clock.now());
  }

  settle(lockToken: string | Uint8Array, outcome: SettleOutcome): FeedbackEntry {
    return this.queue.settle(lockToken, outcome, this.clock.now());
  }
  complete(lockToken: string | Uint8Array): FeedbackEntry {
    return this.settle(lockToken, 'complete');
  }
  abandon(lockToken: string | Uint8Array): FeedbackEntry {
    return this.settle(lockToken, 'abandon');
  }
  reject(lockToken: string | Uint8Array): FeedbackEntry {
    return this.settle(lockToken, 'reject');
  }

  /** Calls `cb` whenever a feedback message becomes available. */
  onAvailable(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  nextDeadline(): number | undefined {
    const q = this.deadlines.next();
    const first = this.pending[0];
    const b = first ? first.at + this.limits.batchDelayMs : undefined;
    if (q === undefined) return b;
    if (b === undefined) return q;
    return Math.min(q, b);
  }

  tick(now: number): void {
    while (this.pending.length > 0 && this.pending[0]!.at + this.limits.batchDelayMs <= now)
      this.cutBatch(now);
    this.deadlines.runDue(now);
  }

  private cutBatch(now: number): void {
    const taken = this.pending.splice(0, this.limits.maxBatch);
    if (taken.length === 0) return;
    const entry: FeedbackEntry = {
      sequenceNumber: this.nextSeq++,
      message: buildFeedbackMessage(
        this.hubName,
        taken.map((p) => p.record),
        now,
      ),
      enqueuedAt: now,
      expiresAt: now + this.limits.ttlMs,
      deliveryCount: 0,
      meta: { records: taken.length },
    };
    if (this.pending.length > 0) this.onDeadline?.();
    if (!this.log) {
      this.queue.add(entry);
      return;
    }
    this.log.append(batchMeta(entry, taken.length), encodeMessage(entry.message)).then(
      () => this.queue.add(entry),
      () => {
        // The log is broken (its error is kept); the batch stays in memory only.
        this.queue.add(entry);
      },
    );
  }
}

function batchMeta(e: FeedbackEntry, consumed: number): { [key: string]: unknown } {
  return { k: 'b', s: e.sequenceNumber, n: consumed, c: e.meta.records, t: e.enqueuedAt, x: e.expiresAt };
}
