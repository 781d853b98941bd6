/**
 * A small FIFO between producers (link pumps) and one consumer (an async iterator), with an
 * optional capacity so that producers wait instead of buffering without bound.
 */
import { deferred, type Deferred } from './deferred.js';

export class AsyncQueue<T> {
  private items: T[] = [];
  private readers: Deferred<T | undefined>[] = [];
  private roomWaiters: Deferred<void>[] = [];
  private ended: { error?: unknown } | undefined;

  constructor(readonly capacity = Infinity) {}

  get size(): number {
    return this.items.length;
  }

  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  /** Adds an item (ignored once the queue ended). */
  push(item: T): void {
    if (this.ended) return;
    const r = this.readers.shift();
    if (r) r.resolve(item);
    else this.items.push(item);
  }

  /** Puts an item back at the head (one taken but not used). */
  unshift(item: T): void {
    if (this.ended && this.ended.error !== undefined) return;
    const r = this.readers.shift();
    if (r) r.resolve(item);
    else this.items.unshift(item);
  }

  /** Resolves when there is room below the capacity (or the queue ended). */
  room(): Promise<void> {
    if (this.items.length < this.capacity || this.ended) return Promise.resolve();
    const d = deferred<void>();
    this.roomWaiters.push(d);
    return d.promise;
  }

  /** The next item; undefined once the queue ended cleanly; the error when it ended with one. */
  next(): Promise<T | undefined> {
    if (this.items.length > 0) {
      const item = this.items.shift()!;
      this.wakeProducers();
      return Promise.resolve(item);
    }
    if (this.ended) {
      return this.ended.error === undefined ? Promise.resolve(undefined) : Promise.reject(this.ended.error);
    }
    const d = deferred<T | undefined>();
    this.readers.push(d);
    return d.promise;
  }

  /** Removes the queued items that `drop` selects. */
  discard(drop: (item: T) => boolean): void {
    this.items = this.items.filter((i) => !drop(i));
    this.wakeProducers();
  }

  private wakeProducers(): void {
    if (this.items.length >= this.capacity) return;
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const d of w) d.resolve();
  }

  /** Ends the queue: items already queued are still handed out, then `undefined` (or the error). */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = { error };
    const r = this.readers;
    this.readers = [];
    for (const d of r) error === undefined ? d.resolve(undefined) : d.reject(error);
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const d of w) d.resolve();
  }
}
