/** Helpers for the IoT Hub client tests: a clock the test drives, and waiting without sleeping long. */
import type { Timers } from '../../../src/util/timers.js';

/** Timers that fire only when the test advances the clock. Starts at the real time (SAS tokens need it). */
export class ManualClock implements Timers {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
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
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  /** Timers waiting to fire. */
  get timers(): number {
    return this.pending.size;
  }
  /** Moves the clock forward, firing due timers in order (each at its own time). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}

/** Lets sockets and promises make progress for a moment (real time). */
export function tick(ms = 1): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits (real time) until `cond` holds; fails after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(5);
  }
}

/** Advances the manual clock in steps, letting I/O run between them, until `cond` holds. */
export async function advanceUntil(
  clock: ManualClock,
  cond: () => boolean,
  stepMs = 50,
  maxSteps = 4000,
): Promise<void> {
  for (let i = 0; i < maxSteps && !cond(); i++) {
    clock.advance(stepMs);
    await tick(1);
  }
  if (!cond()) throw new Error('condition not reached while advancing the clock');
}

/** Reads from an async iterator until `enough` says so (real-time limit). */
export async function collect<T>(
  it: AsyncIterator<T>,
  enough: (items: T[]) => boolean,
  timeoutMs = 10_000,
): Promise<T[]> {
  const items: T[] = [];
  const end = Date.now() + timeoutMs;
  while (!enough(items)) {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), Math.max(1, end - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (r === 'timeout') throw new Error(`timed out after ${items.length} items`);
    if (r.done) break;
    items.push(r.value);
  }
  return items;
}

/** Resolves with the iterator's next value, or 'nothing' if none comes within `ms` (real time). */
export async function nextWithin<T>(it: AsyncIterator<T>, ms: number): Promise<T | 'nothing' | 'done'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    it.next(),
    new Promise<'nothing'>((res) => {
      timer = setTimeout(() => res('nothing'), ms);
    }),
  ]);
  clearTimeout(timer);
  if (r === 'nothing') return r;
  return r.done ? 'done' : r.value;
}

/**
 * Like advanceUntil, but the clock only moves on once `idle()` holds (e.g. no token renewal in
 * flight): real I/O gets the time it needs without manual time running ahead of it.
 */
export async function advanceWhenIdle(
  clock: ManualClock,
  cond: () => boolean,
  idle: () => boolean,
  stepMs = 500,
  maxSteps = 4000,
): Promise<void> {
  for (let i = 0; i < maxSteps && !cond(); i++) {
    await until(idle, 10_000, 'idle');
    clock.advance(stepMs);
    await tick(1);
  }
  await until(idle, 10_000, 'idle');
  if (!cond()) throw new Error('condition not reached while advancing the clock');
}
