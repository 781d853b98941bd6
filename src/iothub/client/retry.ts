/**
 * Retry with exponential backoff and jitter, honouring each error's `retryable` flag (see
 * ../errors.ts). Time goes through injected Timers, so tests never sleep.
 */
import { realTimers, sleep as waitOn, type Timers } from '../../util/timers.js';
import { AbortError } from '../../api/errors.js';
import { ExponentialBackoff } from '../../util/backoff.js';
import { checkOptions, opt, type OptionSchema } from '../../protocol/options.js';

/** How a {@link RetryPolicy} retries: attempts and backoff. */
export interface RetryPolicyOptions {
  /** Attempts in all, the first one included (default 5). 1 = no retry. */
  maxAttempts?: number;
  /** Delay before the first retry (ms, default 100), doubled for each further one. */
  initialDelayMs?: number;
  /** Cap on the delay (ms, default 10 000). */
  maxDelayMs?: number;
  /**
   * Fraction of the delay that is random (0-1, default 0.5): the delay is uniform in
   * [base * (1 - jitter), base].
   */
  jitter?: number;
  /** Give up once this much time has passed since the first attempt (ms, default: no limit). */
  maxElapsedMs?: number;
  /** Decides whether an error may be retried (default: its `retryable` flag, false when it has none). */
  isRetryable?: (error: unknown) => boolean;
  /** Random numbers in [0, 1) (default Math.random): injectable for tests. */
  random?: () => number;
}

export const RETRY_POLICY_OPTIONS = {
  maxAttempts: opt.number,
  initialDelayMs: opt.number,
  maxDelayMs: opt.number,
  jitter: opt.number,
  maxElapsedMs: opt.number,
  isRetryable: opt.function,
  random: opt.function,
} satisfies OptionSchema<RetryPolicyOptions>;

/** What {@link RetryPolicy.run} passes to the operation. */
export interface RetryAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  /** The error of the previous attempt, if any. */
  lastError?: unknown;
}

/** The pause before a lost link is opened again (its connection still up): no jitter, as one client. */
export const LINK_REOPEN_BACKOFF = new ExponentialBackoff({ jitter: 0 });

/** True when `error` carries `retryable: true`. */
export function isRetryableError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/** Retries an operation that failed with a retryable hub error, with exponential backoff and jitter. */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
  readonly maxElapsedMs: number;
  private readonly retryable: (error: unknown) => boolean;
  private readonly backoff: ExponentialBackoff;

  constructor(options: RetryPolicyOptions = {}) {
    checkOptions(options, RETRY_POLICY_OPTIONS, 'RetryPolicy');
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 5));
    this.backoff = new ExponentialBackoff({ ...options, maxDelayMs: options.maxDelayMs ?? 10_000 });
    this.initialDelayMs = this.backoff.initialDelayMs;
    this.maxDelayMs = this.backoff.maxDelayMs;
    this.jitter = this.backoff.jitter;
    this.maxElapsedMs = options.maxElapsedMs ?? Infinity;
    this.retryable = options.isRetryable ?? isRetryableError;
  }

  /** A policy that never retries. */
  static none(): RetryPolicy {
    return new RetryPolicy({ maxAttempts: 1 });
  }

  /** The delay before attempt `attempt + 1`, after `attempt` failed attempts (attempt >= 1). */
  delayMs(attempt: number): number {
    return this.backoff.delayMs(attempt - 1);
  }

  /** Whether to try again after `attempt` attempts failed, the last one with `error`. */
  shouldRetry(error: unknown, attempt: number, elapsedMs = 0): boolean {
    return attempt < this.maxAttempts && elapsedMs < this.maxElapsedMs && this.retryable(error);
  }

  /**
   * Runs `op` until it succeeds, an error is not retryable, or the attempts are used up; the last
   * error is thrown. Waits with `timers` (default the real ones) between attempts.
   */
  async run<T>(
    op: (a: RetryAttempt) => Promise<T>,
    options: {
      timers?: Timers;
      signal?: AbortSignal;
      /** Checked after each failure: true ends the retries (the operation cannot succeed any more). */
      stop?: () => boolean;
    } = {},
  ): Promise<T> {
    const timers = options.timers ?? realTimers;
    const started = timers.now();
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) throw new AbortError(options.signal.reason);
      try {
        return await op({ attempt, lastError });
      } catch (e) {
        lastError = e;
        if (options.stop?.() || !this.shouldRetry(e, attempt, timers.now() - started)) throw e;
      }
      await sleep(timers, this.delayMs(attempt), options.signal);
    }
  }
}

/** Waits `ms` on `timers`; rejects with AbortError when `signal` fires first. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return waitOn(timers, ms, signal, (reason) => new AbortError(reason));
}
