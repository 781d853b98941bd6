/** The one clock for tests that inject {@link Timers}: time moves only when the test says so. */
import type { Timers } from '../../src/util/timers.js';

interface Pending {
  at: number;
  fn: () => void;
}

/**
 * Timers that fire only from {@link advance}. `advance(ms)` fires every timer due by the new time
 * in deadline order (ties in the order they were set), each with `now()` at its own deadline;
 * a timer set by a firing callback fires in the same call if it is due by then. Starts at the
 * real time by default, so that SAS tokens made from `Date.now()` are valid.
 */
export class ManualTimers implements Timers {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(start = Date.now()) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers waiting to fire. */
  get timers(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      // The earliest due timer; Map order is insertion order, so ties go first-set first.
      let next: [number, Pending] | undefined;
      for (const e of this.pending) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}
