/**
 * A peek-lock queue: the rules shared by the C2D queues and the feedback queue.
 *
 * - `receive` locks the first available message for `lockMs` and hands out a lock token; the
 *   message is invisible until the lock ends.
 * - complete removes it; reject removes it (dead-lettered); abandon, or the lock timing out,
 *   puts it back and counts one delivery. When the count reaches `maxDeliveryCount` the message is
 *   removed instead (DeliveryCountExceeded). This is how the real hub counts: every time a message
 *   goes back to "enqueued" from "invisible".
 * - A message expires at `expiresAt` while it waits; a locked message is not taken from under the
 *   device's feet: it can still be completed, and expires when its lock ends.
 * - Redelivered messages keep their place (sequence order), as in a Service Bus queue.
 *
 * Timers live in a shared DeadlineHeap; nothing fires unless the owner calls `runDue(now)`.
 */
import type { Message } from '../../codec/message.js';
import { ubyte, ulong } from '../../codec/values.js';
import type { DeadlineHeap, Timer } from './deadlines.js';
import { HubError } from './errors.js';
import { newLockToken, normalizeLockToken } from './lock-token.js';
import { withMessageAnnotations } from './message-utils.js';

export type RemovalReason = 'completed' | 'rejected' | 'expired' | 'deliveryCountExceeded' | 'purged';

/** Device (or service) outcomes, named after the AMQP ones: accepted, rejected, released. */
export type SettleOutcome = 'complete' | 'reject' | 'abandon';

export interface QueueEntry<M> {
  readonly sequenceNumber: number;
  /** The message as enqueued (delivery annotations are added per delivery). */
  readonly message: Message;
  readonly enqueuedAt: number;
  readonly expiresAt: number;
  deliveryCount: number;
  readonly meta: M;
}

interface Slot<M> {
  entry: QueueEntry<M>;
  expiry: Timer | undefined;
  lock: { token: string; until: number; timer: Timer } | undefined;
  removed: boolean;
}

/** A locked message, handed to the receiving link. */
export interface Delivery<M> {
  /** `x-opt-lock-token`: what dispositions name. */
  readonly lockToken: string;
  /** The 16-byte delivery tag carrying the same token. */
  readonly deliveryTag: Buffer;
  readonly sequenceNumber: number;
  /** Deliveries before this one (what `iothub-deliverycount` says). */
  readonly deliveryCount: number;
  readonly lockedUntil: number;
  /** The message with `x-opt-lock-token`, `x-opt-sequence-number`, `iothub-enqueuedtime`, `iothub-deliverycount`. */
  readonly message: Message;
  readonly entry: QueueEntry<M>;
}

export interface LockQueueOptions {
  lockMs: number;
  maxDeliveryCount: number;
}

export interface LockQueueHooks<M> {
  /** A message left the queue for good. */
  removed(entry: QueueEntry<M>, reason: RemovalReason, now: number): void;
  /** A message's delivery count went up (abandon or lock timeout) and it stays queued. */
  counted?(entry: QueueEntry<M>): void;
  /** A message became available (enqueued or back from a lock). */
  available?(): void;
}

/** How many lost lock tokens are remembered, to answer message-lock-lost rather than not-found. */
const LOST_TOKENS = 1024;

export class LockQueue<M> {
  private available: Slot<M>[] = [];
  private readonly locked = new Map<string, Slot<M>>();
  private readonly lost = new Set<string>();

  constructor(
    private readonly deadlines: DeadlineHeap,
    private readonly opts: LockQueueOptions,
    private readonly hooks: LockQueueHooks<M>,
  ) {}

  /** Messages in the queue, locked or not. */
  get size(): number {
    return this.available.length + this.locked.size;
  }
  get availableCount(): number {
    return this.available.length;
  }
  get lockedCount(): number {
    return this.locked.size;
  }

  /** Every entry, in sequence order (for snapshots). */
  entries(): QueueEntry<M>[] {
    return [...this.available, ...this.locked.values()]
      .map((s) => s.entry)
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
  }

  add(entry: QueueEntry<M>): void {
    const slot: Slot<M> = { entry, expiry: undefined, lock: undefined, removed: false };
    slot.expiry = this.deadlines.schedule(entry.expiresAt, (now) => this.expire(slot, now));
    this.insert(slot);
    this.hooks.available?.();
  }

  /** Locks and returns the first available message that has not expired, if any. */
  receive(now: number): Delivery<M> | undefined {
    for (;;) {
      const slot = this.available.shift();
      if (!slot) return undefined;
      if (slot.entry.expiresAt <= now) {
        this.remove(slot, 'expired', now);
        continue;
      }
      const { token, tag } = newLockToken();
      const until = now + this.opts.lockMs;
      slot.lock = {
        token,
        until,
        timer: this.deadlines.schedule(until, (t) => this.lockTimeout(slot, token, t)),
      };
      this.locked.set(token, slot);
      const e = slot.entry;
      const message = withMessageAnnotations(e.message, {
        'x-opt-lock-token': token,
        'x-opt-sequence-number': ulong(e.sequenceNumber),
        'iothub-enqueuedtime': new Date(e.enqueuedAt),
        'iothub-deliverycount': ubyte(Math.min(255, e.deliveryCount)),
      });
      return {
        lockToken: token,
        deliveryTag: tag,
        sequenceNumber: e.sequenceNumber,
        deliveryCount: e.deliveryCount,
        lockedUntil: until,
        message,
        entry: e,
      };
    }
  }

  /**
   * Settles a locked message. HUB_LOCK_NOT_FOUND (amqp:not-found) for a token that is not locked
   * here; HUB_LOCK_LOST (com.microsoft:message-lock-lost) when the lock had timed out.
   */
  settle(lockToken: string | Uint8Array, outcome: SettleOutcome, now: number): QueueEntry<M> {
    const token = normalizeLockToken(lockToken);
    const slot = this.locked.get(token);
    if (!slot) {
      if (this.lost.has(token))
        throw new HubError('HUB_LOCK_LOST', `the lock ${token} expired; the message was requeued`);
      throw new HubError('HUB_LOCK_NOT_FOUND', `no message is locked with ${token}`);
    }
    if (slot.lock!.until <= now) {
      // The lock is over even if the owner has not ticked yet.
      this.lockTimeout(slot, token, now);
      throw new HubError('HUB_LOCK_LOST', `the lock ${token} expired; the message was requeued`);
    }
    if (outcome === 'complete') this.remove(slot, 'completed', now);
    else if (outcome === 'reject') this.remove(slot, 'rejected', now);
    else this.release(slot, now);
    return slot.entry;
  }

  /** Removes every message (locked ones too); returns how many. */
  purge(now: number): number {
    const all = [...this.available, ...this.locked.values()].sort(
      (a, b) => a.entry.sequenceNumber - b.entry.sequenceNumber,
    );
    for (const s of all) this.remove(s, 'purged', now);
    return all.length;
  }

  private lockTimeout(slot: Slot<M>, token: string, now: number): void {
    if (slot.removed || slot.lock?.token !== token) return;
    this.rememberLost(token);
    this.release(slot, now);
  }

  private release(slot: Slot<M>, now: number): void {
    this.unlock(slot);
    const e = slot.entry;
    e.deliveryCount++;
    if (e.deliveryCount >= this.opts.maxDeliveryCount) return this.remove(slot, 'deliveryCountExceeded', now);
    if (e.expiresAt <= now) return this.remove(slot, 'expired', now);
    this.hooks.counted?.(e);
    this.insert(slot);
    this.hooks.available?.();
  }

  private expire(slot: Slot<M>, now: number): void {
    slot.expiry = undefined;
    // A locked message expires when its lock ends (release() checks).
    if (slot.removed || slot.lock) return;
    this.remove(slot, 'expired', now);
  }

  private remove(slot: Slot<M>, reason: RemovalReason, now: number): void {
    if (slot.removed) return;
    slot.removed = true;
    if (slot.lock) {
      if (reason === 'purged') this.rememberLost(slot.lock.token);
      this.unlock(slot);
    } else {
      const i = this.available.indexOf(slot);
      if (i >= 0) this.available.splice(i, 1);
    }
    slot.expiry?.cancel();
    slot.expiry = undefined;
    this.hooks.removed(slot.entry, reason, now);
  }

  private unlock(slot: Slot<M>): void {
    if (!slot.lock) return;
    slot.lock.timer.cancel();
    this.locked.delete(slot.lock.token);
    slot.lock = undefined;
  }

  private insert(slot: Slot<M>): void {
    const a = this.available;
    const seq = slot.entry.sequenceNumber;
    if (a.length === 0 || a[a.length - 1]!.entry.sequenceNumber < seq) {
      a.push(slot);
      return;
    }
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]!.entry.sequenceNumber < seq) lo = mid + 1;
      else hi = mid;
    }
    a.splice(lo, 0, slot);
  }

  private rememberLost(token: string): void {
    this.lost.add(token);
    if (this.lost.size > LOST_TOKENS) this.lost.delete(this.lost.values().next().value!);
  }
}
