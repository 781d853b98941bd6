import { describe, expect, test } from 'vitest';
import { RetryPolicy, isRetryableError, sleep } from '../../../src/iothub/client/retry.js';
import { AbortError } from '../../../src/api/errors.js';
import { ThrottledError, UnauthorizedError } from '../../../src/iothub/errors.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { tick } from './support.js';

describe('RetryPolicy', () => {
  test('delays double up to the cap, jitter takes off at most the jitter fraction', () => {
    const p = new RetryPolicy({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map((a) => p.delayMs(a))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const j = new RetryPolicy({ initialDelayMs: 100, jitter: 0.5, random: () => 0.999999 });
    expect(j.delayMs(1)).toBeGreaterThan(50);
    expect(j.delayMs(1)).toBeLessThanOrEqual(100);
    const none = new RetryPolicy({ initialDelayMs: 100, jitter: 0, random: () => 0.7 });
    expect(none.delayMs(2)).toBe(200);
  });

  test('honours retryable and maxAttempts', () => {
    const p = new RetryPolicy({ maxAttempts: 3 });
    expect(p.shouldRetry(new ThrottledError(), 1)).toBe(true);
    expect(p.shouldRetry(new ThrottledError(), 3)).toBe(false);
    expect(p.shouldRetry(new UnauthorizedError(), 1)).toBe(false);
    expect(p.shouldRetry(new Error('plain'), 1)).toBe(false);
    expect(isRetryableError({ retryable: true })).toBe(true);
    expect(RetryPolicy.none().shouldRetry(new ThrottledError(), 1)).toBe(false);
  });

  test('run retries retryable errors on the injected timers, with the computed delays', async () => {
    const clock = new ManualTimers(0);
    const p = new RetryPolicy({ maxAttempts: 4, initialDelayMs: 100, jitter: 0 });
    const attempts: number[] = [];
    const done = p.run(
      async ({ attempt }) => {
        attempts.push(clock.now());
        if (attempt < 3) throw new ThrottledError();
        return 'ok';
      },
      { timers: clock },
    );
    await tick();
    expect(attempts).toEqual([0]);
    clock.advance(99);
    await tick();
    expect(attempts).toEqual([0]);
    clock.advance(1);
    await tick();
    expect(attempts).toEqual([0, 100]);
    clock.advance(200);
    await tick();
    expect(await done).toBe('ok');
    expect(attempts).toEqual([0, 100, 300]);
  });

  test('run stops at once on a non-retryable error and after the last attempt', async () => {
    const clock = new ManualTimers(0);
    let n = 0;
    await expect(
      new RetryPolicy().run(
        async () => {
          n++;
          throw new UnauthorizedError({ description: 'no' });
        },
        { timers: clock },
      ),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    expect(n).toBe(1);
    n = 0;
    const p = new RetryPolicy({ maxAttempts: 2, initialDelayMs: 10, jitter: 0 }).run(
      async () => {
        n++;
        throw new ThrottledError();
      },
      { timers: clock },
    );
    p.catch(() => undefined);
    await tick();
    clock.advance(10);
    await tick();
    await expect(p).rejects.toBeInstanceOf(ThrottledError);
    expect(n).toBe(2);
  });

  test('maxElapsedMs bounds the retries; an abort stops the wait', async () => {
    const clock = new ManualTimers(0);
    let n = 0;
    const p = new RetryPolicy({ maxAttempts: 100, initialDelayMs: 100, jitter: 0, maxElapsedMs: 250 }).run(
      async () => {
        n++;
        throw new ThrottledError();
      },
      { timers: clock },
    );
    p.catch(() => undefined);
    for (let i = 0; i < 10; i++) {
      await tick();
      clock.advance(100);
    }
    await expect(p).rejects.toBeInstanceOf(ThrottledError);
    expect(n).toBe(3); // at 0, 100, 300 (elapsed 300 >= 250: stop)
    const ac = new AbortController();
    const s = sleep(clock, 1000, ac.signal);
    ac.abort();
    await expect(s).rejects.toBeInstanceOf(AbortError);
    expect(clock.timers).toBe(0);
  });
});
