/**
 * A queue: messages in arrival order, handed to its consumers round-robin as their credit allows.
 * A message stays the queue's until its consumer settles it: accepted or rejected, it is gone;
 * released, modified or orphaned (the consumer left), it goes back to its place in the order.
 */
import { StoredMessage } from './stored-message.js';

/** What a queue needs from a consumer (a client receiver link, seen from the broker). */
export interface QueueConsumer {
  /** Messages it may be sent now. */
  readonly credit: number;
  /** Hands one message over (the consumer settles it back through the queue). */
  deliver(m: StoredMessage): void;
}

export class Queue {
  /** Waiting messages, sorted by seq (arrival order). */
  private readonly messages: StoredMessage[] = [];
  private readonly consumerList: QueueConsumer[] = [];
  /** Messages sent to consumers and not yet settled. */
  private readonly outstanding = new Set<StoredMessage>();
  /** Index of the consumer that is next in the round-robin. */
  private turn = 0;
  private nextSeq = 0;
  private dispatching = false;
  private dispatchQueued = false;

  constructor(
    readonly address: string,
    /** Created for a link with a dynamic terminus: it ends with that link (delete-on-close). */
    readonly dynamic = false,
  ) {}

  /** Messages waiting to be sent. */
  get depth(): number {
    return this.messages.length;
  }

  /** Messages sent and not yet settled by their consumer. */
  get unsettled(): number {
    return this.outstanding.size;
  }

  get consumers(): number {
    return this.consumerList.length;
  }

  /** The credit its consumers have granted and not used yet, in total. */
  get credit(): number {
    return this.consumerList.reduce((sum, c) => sum + Math.max(0, c.credit), 0);
  }

  /** Copies of the waiting messages' bytes, in order (for inspection). */
  peek(): Buffer[] {
    return this.messages.map((m) => m.payload);
  }

  enqueue(payload: Buffer): StoredMessage {
    const m = new StoredMessage(this.nextSeq++, payload);
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
    if (this.turn > i) this.turn--;
    for (const m of this.messages) m.forget(c);
  }

  /** The consumer settled it for good (accepted, rejected, or sent presettled). */
  settled(m: StoredMessage): void {
    this.outstanding.delete(m);
  }

  /** Back to its place in the order (released, modified, or its consumer left), for redelivery. */
  putBack(m: StoredMessage): void {
    if (!this.outstanding.delete(m)) return;
    this.messages.splice(this.insertionPoint(m.seq), 0, m);
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
      const i = this.messages.findIndex((m) => m.deliverableTo(c));
      if (i < 0) continue;
      const [m] = this.messages.splice(i, 1);
      this.outstanding.add(m!);
      this.turn = (idx + 1) % n;
      progressed = true;
      c.deliver(m!);
    }
    return progressed;
  }

  /** The queue is being deleted: nothing waiting or outstanding is kept. */
  clear(): void {
    this.messages.length = 0;
    this.outstanding.clear();
  }
}
