/**
 * A min-heap of deadlines with cancellation: the hub keeps one for lock timeouts and TTLs instead of
 * arming a timer per message. The owner asks `next()` for the earliest live deadline and calls
 * `runDue(now)`; nothing here ever runs on its own.
 *
 * Cancelled entries stay in the heap until they reach the top (cheap cancel); when they make up
 * more than half of it the heap is rebuilt, so a busy queue (messages completed long before their
 * TTL) does not grow it without bound.
 */

export interface Timer {
  readonly at: number;
  readonly cancelled: boolean;
  cancel(): void;
}

class Entry implements Timer {
  cancelled = false;
  constructor(
    readonly at: number,
    readonly order: number,
    readonly fire: (now: number) => void,
    private readonly owner: DeadlineHeap,
  ) {}
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.owner.noteCancelled();
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

export class DeadlineHeap {
  private heap: Entry[] = [];
  private order = 0;
  private cancelledCount = 0;

  /**
   * @param onEarlier called when a newly scheduled deadline is earlier than every live one before
   *   it: whoever drives `runDue` should re-arm its timer.
   */
  constructor(private readonly onEarlier?: () => void) {}

  /** Live (not cancelled, not yet fired) entries. */
  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  schedule(at: number, fire: (now: number) => void): Timer {
    const before = this.next();
    const e = new Entry(at, this.order++, fire, this);
    this.heap.push(e);
    this.up(this.heap.length - 1);
    if (this.onEarlier && (before === undefined || at < before)) this.onEarlier();
    return e;
  }

  /** The earliest live deadline, or undefined. */
  next(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.at;
  }

  /** Fires every live entry due at `now` (earliest first); returns how many fired. */
  runDue(now: number): number {
    let n = 0;
    for (;;) {
      this.dropCancelledTop();
      const top = this.heap[0];
      if (!top || top.at > now) return n;
      this.pop();
      // Fired entries count as cancelled so a late cancel() is a harmless no-op.
      top.cancelled = true;
      top.fire(now);
      n++;
    }
  }

  /** Called by an entry's cancel(). */
  noteCancelled(): void {
    this.cancelledCount++;
    if (this.cancelledCount > 64 && this.cancelledCount * 2 > this.heap.length) this.rebuild();
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) {
      this.pop();
      this.cancelledCount--;
    }
  }

  private rebuild(): void {
    this.heap = this.heap.filter((e) => !e.cancelled);
    this.cancelledCount = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(h[r]!, h[l]!) ? r : l;
      if (!less(h[c]!, e)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = e;
  }
}
