/**
 * Deadlines and cancellation for every wait on the peer (its open, begin, attach, close or drain
 * answer, a response): one mechanism, so that a timeout and an AbortSignal undo the same
 * half-done work and leave no timer or abort listener behind.
 */
import { AbortError, TimeoutError } from './errors.js';
import type { Deferred } from '../util/deferred.js';
import type { Timers } from '../util/timers.js';

/** How long `connect()` waits for TCP, TLS, the protocol header, SASL and the peer's open (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
/** How long opening a sender, receiver or session waits for the peer's attach or begin (ms). */
export const DEFAULT_OPEN_TIMEOUT_MS = 60_000;

/** How long a wait may last (ms; 0 or Infinity: no deadline) and the signal that abandons it. */
export interface WaitLimit {
  ms: number;
  signal?: AbortSignal;
}

/** True if `ms` asks for a timer (0 and Infinity mean no deadline). */
function armed(ms: number): boolean {
  return ms > 0 && Number.isFinite(ms);
}

/**
 * The AbortError for a signal that has already fired, else undefined. Operations check it before
 * they write anything, so an aborted signal sends nothing to the peer.
 */
export function abortedError(signal: AbortSignal | undefined, what?: string): AbortError | undefined {
  return signal?.aborted ? new AbortError(signal.reason, what) : undefined;
}

/**
 * Rejects `d` with a TimeoutError after `ms`, or with an AbortError when `signal` fires, after
 * calling `onExpire` to undo the half-done work. Returns the function that disarms both; call it
 * once the wait is over, whichever way it ended (no timer and no abort listener is left behind).
 */
export function armDeadline(
  timers: Timers,
  d: Deferred<unknown>,
  ms: number,
  what: string,
  onExpire: (err: Error) => void,
  signal?: AbortSignal,
): () => void {
  const expire = (err: Error): void => {
    disarm();
    onExpire(err);
    d.reject(err);
  };
  const timer = armed(ms)
    ? timers.setTimeout(() => expire(new TimeoutError(`${what} did not complete within ${ms} ms`)), ms)
    : undefined;
  const onAbort = (): void => expire(new AbortError(signal!.reason, what));
  signal?.addEventListener('abort', onAbort, { once: true });
  function disarm(): void {
    if (timer !== undefined) timers.clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) onAbort();
  return disarm;
}
