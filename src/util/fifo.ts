/**
 * A FIFO queue on an array and a head index. `shift` is O(1) without Array#shift (which moves or
 * left-trims the array each time: measurable with thousands of entries waiting): the slot it takes
 * is cleared for the GC, and the consumed prefix is dropped in one splice once the head has passed
 * half the array (and a floor, so that short queues never copy), or at once when the queue empties.
 *
 * Hot paths use it (frame chunks, deliveries, pending sends): no closures, no iterators; indexes
 * given to `at` and returned by `indexOf` count from the head.
 */

/** Consumed slots kept before a compaction is considered. */
const COMPACT_FLOOR = 1024;

export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  /** The oldest entry, left in place. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** The entry `i` places behind the head (0 = the oldest); `i` must be below `length`. */
  at(i: number): T {
    return this.items[this.head + i] as T;
  }

  /** Takes the oldest entry out. */
  shift(): T | undefined {
    const head = this.head;
    const items = this.items;
    if (head >= items.length) return undefined;
    const x = items[head];
    items[head] = undefined;
    this.head = head + 1;
    if (head + 1 === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (head >= COMPACT_FLOOR && (head + 1) * 2 > items.length) {
      items.splice(0, head + 1);
      this.head = 0;
    }
    return x;
  }

  /** Where `x` is (counted from the head), or -1. */
  indexOf(x: T): number {
    const i = this.items.indexOf(x, this.head);
    return i < 0 ? -1 : i - this.head;
  }

  /** Removes the entry at `i` (counted from the head). */
  removeAt(i: number): void {
    this.items.splice(this.head + i, 1);
  }

  /** Removes `x` if queued; true when it was. */
  remove(x: T): boolean {
    const i = this.indexOf(x);
    if (i >= 0) this.removeAt(i);
    return i >= 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  /** Takes everything out, oldest first. */
  takeAll(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.clear();
    return all;
  }
}
