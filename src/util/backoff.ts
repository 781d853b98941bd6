/**
 * Exponential backoff with jitter, as a pure computation: the callers own the loop, the waiting
 * and the decision to stop. The random source is injected so that tests see exact delays.
 */

export interface BackoffOptions {
  /** The base delay before the first retry (ms, default 100). */
  initialDelayMs?: number;
  /** Cap on the base delay (ms, default 30 000). */
  maxDelayMs?: number;
  /** Growth of the base delay per retry (default 2). */
  multiplier?: number;
  /** Fraction of each delay that is random (0-1, default 0.5): uniform in [base * (1 - jitter), base]. */
  jitter?: number;
  /** Random numbers in [0, 1) (default Math.random). */
  random?: () => number;
}

export class ExponentialBackoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialDelayMs = Math.max(0, options.initialDelayMs ?? 100);
    this.maxDelayMs = Math.max(this.initialDelayMs, options.maxDelayMs ?? 30_000);
    this.multiplier = Math.max(1, options.multiplier ?? 2);
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
    this.random = options.random ?? Math.random;
  }

  /** The delay before retry `retry` (0 for the first retry, after one failure). */
  delayMs(retry: number): number {
    const base = Math.min(this.maxDelayMs, this.initialDelayMs * this.multiplier ** Math.max(0, retry));
    return base * (1 - this.jitter * this.random());
  }
}
