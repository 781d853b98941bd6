/** What the link wrappers need from the connection that carries them (client or server side). */
import type { Timers } from '../util/timers.js';

export interface LinkHost {
  timers: Timers;
  /** Asks for the engine's output to be flushed at the end of this event-loop turn. */
  schedule(): void;
  /** True while a lost connection is being re-established (pending sends wait instead of failing). */
  readonly reconnecting: boolean;
}

/** A one-shot promise with its resolvers, for waiting on engine events. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be awaiting yet: do not report a rejection as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
