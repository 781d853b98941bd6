/**
 * A queue: messages in arrival order, handed to its consumers round-robin as their credit allows.
 * A message stays the queue's until its consumer settles it: accepted or rejected, it is gone;
 * released, modified or orphaned (the consumer left), it goes back to its place in the order.
 *
 * Bounded: a queue holds at most `maxMessages` messages and `maxBytes` bytes (waiting plus sent
 * and not yet settled), and all queues of a broker together at most the shared budget's bytes;
 * `refusal(size)` says why a message does not fit, and the producer refuses it.
 */
import { Condition } from '../protocol/conditions.js';
import type { AmqpError } from '../protocol/errors.js';
import type { MessageEdit } from './message-edit.js';
import { StoredMessage } from './stored-message.js';

/** Messages a queue holds (waiting and unsettled) before sends to it are refused. */
export const DEFAULT_MAX_QUEUE_MESSAGES = 100_000;
/** Bytes a queue holds (waiting and unsettled) before sends to it are refused: 64 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;

/** What a queue needs from a consumer (a client receiver link, seen from the broker). */
export interface QueueConsumer {
  /** Messages it may be sent now. */
  readonly credit: number;
  /** Hands one message over (the consumer settles it back through the queue). */
  deliver(m: StoredMessage): void;
}

/** Bytes held by every queue of a broker, against one bound. */
export interface SharedBudget {
  bytes: number;
  readonly maxBytes: number;
}

export interface QueueLimits {
  /** Default {@link DEFAULT_MAX_QUEUE_MESSAGES}. */
  maxMessages?: number;
  /** Default {@link DEFAULT_MAX_QUEUE_BYTES}. */
  maxBytes?: number;
  /** The broker-wide byte budget this queue draws from (none: only the queue's own bounds). */
  shared?: SharedBudget;
}

export class Queue {
  /** Waiting messages, sorted by seq (arrival order). */
  private readonly messages: StoredMessage[] = [];
  private readonly consumerList: QueueConsumer[] = [];
  /** Messages sent to consumers and not yet settled. */
  private readonly outstanding = new Set<StoredMessage>();
  /**
   * Per consumer that skipped messages it refused: every waiting message with a lower seq is one
   * it refused, so its next search starts there. Without it a consumer that refuses everything
   * (a receiver whose max-message-size no message fits) made each dispatch rescan the queue.
   */
  private readonly scanFrom = new Map<QueueConsumer, number>();
  /** Index of the consumer that is next in the round-robin. */
  private turn = 0;
  private nextSeq = 0;
  private dispatching = false;
  private dispatchQueued = false;
  private heldBytes = 0;
  readonly maxMessages: number;
  readonly maxBytes: number;
  private readonly shared: SharedBudget | undefined;
  /** Called when the queue may have become unused (no consumer, nothing held); the broker frees it. */
  onIdle: ((q: Queue) => void) | undefined;

  constructor(
    readonly address: string,
    /** Created for a link with a dynamic terminus: it ends with that link (delete-on-close). */
    readonly dynamic = false,
    limits: QueueLimits = {},
  ) {
    this.maxMessages = limits.maxMessages ?? DEFAULT_MAX_QUEUE_MESSAGES;
    this.maxBytes = limits.maxBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    this.shared = limits.shared;
  }

  /** Messages waiting to be sent. */
  get depth(): number {
    return this.messages.length;
  }

  /** Messages sent and not yet settled by their consumer. */
  get unsettled(): number {
    return this.outstanding.size;
  }

  /** Bytes held: waiting messages and those sent and not yet settled. */
  get bytes(): number {
    return this.heldBytes;
  }

  get consumers(): number {
    return this.consumerList.length;
  }

  /** No consumer and nothing held: the queue can go without losing anything. */
  get idle(): boolean {
    return this.consumerList.length === 0 && this.messages.length === 0 && this.outstanding.size === 0;
  }

  /** The credit its consumers have granted and not used yet, in total. */
  get credit(): number {
    return this.consumerList.reduce((sum, c) => sum + Math.max(0, c.credit), 0);
  }

  /** Copies of the waiting messages' bytes, in order (for inspection). */
  peek(): Buffer[] {
    return this.messages.map((m) => m.payload);
  }

  /** Why a message of `size` bytes cannot be enqueued now (amqp:resource-limit-exceeded), or undefined. */
  refusal(size: number): AmqpError | undefined {
    const held = this.messages.length + this.outstanding.size;
    let why: string | undefined;
    if (held + 1 > this.maxMessages) why = `holds ${held} messages, its limit`;
    else why = this.bytesRefusal(size);
    if (why === undefined) return undefined;
    return { condition: Condition.ResourceLimitExceeded, description: `queue ${this.address} ${why}` };
  }

  /** Why `size` more bytes would pass the queue's or the broker's byte limit, or undefined. */
  private bytesRefusal(size: number): string | undefined {
    if (this.heldBytes + size > this.maxBytes)
      return `holds ${this.heldBytes} bytes; ${size} more would pass its limit of ${this.maxBytes}`;
    if (this.shared && this.shared.bytes + size > this.shared.maxBytes)
      return `cannot take ${size} bytes: the broker's queues hold ${this.shared.bytes} of their ${this.shared.maxBytes}`;
    return undefined;
  }

  /**
   * Edits a message its consumer answered `modified` (spec 3.4.5), keeping the byte counts exact.
   * A consumer that modifies again and again with new annotation keys would grow a held message
   * without bound, so growth is checked like a new message: annotations that do not fit are not
   * merged (the delivery-count is still bumped); if even that does not fit, the message stays as
   * it was, as if released. Either way it is kept, and what is counted is what is held.
   */
  modify(m: StoredMessage, e: MessageEdit): void {
    if (!this.outstanding.has(m)) return; // no longer ours (the queue was cleared): nothing to count
    for (const attempt of [e, { failedDelivery: e.failedDelivery }]) {
      const payload = m.edited(attempt);
      const grown = payload.length - m.size;
      if (grown > 0 && this.bytesRefusal(grown) !== undefined) continue;
      this.hold(m.replace(payload));
      return;
    }
  }

  /** Enqueues (the caller checked `refusal` first: the limits are not checked again here). */
  enqueue(payload: Buffer): StoredMessage {
    const m = new StoredMessage(this.nextSeq++, payload);
    this.hold(m.size);
    this.messages.push(m);
    this.dispatchSoon();
    return m;
  }

  subscribe(c: QueueConsumer): void {
    this.consumerList.push(c);
    this.dispatchSoon();
  }

  unsubscribe(c: QueueConsumer): void {
    const i = this.consumerList.indexOf(c);
    if (i < 0) return;
    this.consumerList.splice(i, 1);
    this.scanFrom.delete(c);
    if (this.turn > i) this.turn--;
    for (const m of this.messages) m.forget(c);
    if (this.idle) this.onIdle?.(this);
  }

  /** The consumer settled it for good (accepted, rejected, or sent presettled). */
  settled(m: StoredMessage): void {
    if (!this.outstanding.delete(m)) return;
    this.hold(-m.size);
    if (this.idle) this.onIdle?.(this);
  }

  /** Back to its place in the order (released, modified, or its consumer left), for redelivery. */
  putBack(m: StoredMessage): void {
    if (!this.outstanding.delete(m)) return;
    this.messages.splice(this.insertionPoint(m.seq), 0, m);
    // A consumer whose search starts after it must see it again, unless it refused it.
    for (const [c, from] of this.scanFrom)
      if (m.seq < from && m.deliverableTo(c)) this.scanFrom.set(c, m.seq);
    this.dispatchSoon();
  }

  /** Binary search: requeued messages go near the front, so this is cheap. */
  private insertionPoint(seq: number): number {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.messages[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private hold(bytes: number): void {
    this.heldBytes += bytes;
    if (this.shared) this.shared.bytes += bytes;
  }

  /**
   * Dispatches once the current batch of incoming frames is handled. New credit and the outcomes
   * that arrived with it in one read are seen together: a message released in the same read as a
   * flow goes out again before the messages behind it (outcomes resolve in microtasks queued
   * earlier). It still runs before the output is flushed, so a drain is answered after the
   * messages it let go.
   */
  dispatchSoon(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /**
   * Hands out messages, one per consumer with credit in turn, until the queue or the credit is
   * used up. Re-entrant calls (a delivery that settles at once) fold into the running loop.
   */
  dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.messages.length > 0 && this.handOneRound()) {
        // each round gives at most one message to each consumer
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** One pass over the consumers, starting at the one whose turn it is. True if any got a message. */
  private handOneRound(): boolean {
    let progressed = false;
    const list = [...this.consumerList]; // a delivery may unsubscribe its consumer
    const n = list.length;
    const start = this.turn;
    for (let k = 0; k < n && this.messages.length > 0; k++) {
      const idx = (start + k) % n;
      const c = list[idx]!;
      if (c.credit <= 0) continue;
      const i = this.firstFor(c);
      if (i < 0) continue;
      const [m] = this.messages.splice(i, 1);
      this.outstanding.add(m!);
      this.turn = (idx + 1) % n;
      progressed = true;
      c.deliver(m!);
    }
    return progressed;
  }

  /**
   * The first waiting message `c` has not refused, or -1. Each refused message is passed over
   * once per consumer, not once per dispatch: the search resumes where the last one stopped.
   */
  private firstFor(c: QueueConsumer): number {
    const from = this.scanFrom.get(c);
    const begin = from === undefined ? 0 : this.insertionPoint(from);
    let i = begin;
    while (i < this.messages.length && !this.messages[i]!.deliverableTo(c)) i++;
    if (i > begin || from !== undefined)
      this.scanFrom.set(c, i < this.messages.length ? this.messages[i]!.seq : this.nextSeq);
    return i < this.messages.length ? i : -1;
  }

  /** The queue is being deleted: nothing waiting or outstanding is kept. */
  clear(): void {
    this.hold(-this.heldBytes);
    this.messages.length = 0;
    this.outstanding.clear();
  }
}
