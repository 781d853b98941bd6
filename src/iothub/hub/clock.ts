/**
 * Time, injected. Every rule of the hub state (TTL, lock timeouts, feedback batching, retention)
 * reads the time from a {@link Clock} and never arms a timer of its own: the caller asks
 * `nextDeadline()` and calls `tick(now)`. Tests therefore move time by hand with {@link ManualClock}.
 */

/** Milliseconds since the epoch, like `Date.now()`. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to (tests, simulations). */
export class ManualClock implements Clock {
  constructor(private t = Date.UTC(2024, 0, 1)) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}
