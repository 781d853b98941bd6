/** Helpers for the IoT Hub client tests: driving a manual clock, and waiting without sleeping long. */
import type { ManualTimers } from '../../support/manual-timers.js';

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
  clock: ManualTimers,
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
  clock: ManualTimers,
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
