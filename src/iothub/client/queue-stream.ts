/** The async iterators of the device client: one queue, several competing readers. */
import { deferred } from '../../util/deferred.js';
import type { AsyncQueue } from '../../util/async-queue.js';

/**
 * An async iterator over a client's queue (C2D messages, method requests, desired updates).
 * `close()` (or `return()`, even while a `next()` is pending) ends this iterator only; an item it
 * had not handed out stays for the others.
 */
export class QueueStream<T> implements AsyncIterableIterator<T> {
  private done = false;
  private readonly closed = deferred<'closed'>();

  constructor(private readonly queue: AsyncQueue<T>) {}

  /** The next item; done when the client closes. */
  async next(): Promise<IteratorResult<T>> {
    if (this.done) return { done: true, value: undefined };
    const taking = this.queue.next();
    const r = await Promise.race([taking, this.closed.promise]);
    if (r === 'closed') {
      // Closed while waiting: whatever the queue hands out later goes back for the others.
      taking.then((m) => m && this.queue.unshift(m)).catch(() => undefined);
      return { done: true, value: undefined };
    }
    if (r === undefined) {
      this.done = true;
      return { done: true, value: undefined };
    }
    if (this.done) {
      this.queue.unshift(r);
      return { done: true, value: undefined };
    }
    return { done: false, value: r };
  }

  /** Stops the iteration (`break` calls it). */
  async return(): Promise<IteratorResult<T>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /** Stops the iteration; items not yet taken stay with the client. */
  async close(): Promise<void> {
    this.done = true;
    this.closed.resolve('closed');
  }

  /** The stream itself: `for await (const m of device.messages())`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
