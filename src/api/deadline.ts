/**
 * Deadlines for waits on the peer (its open, begin or attach reply): a peer that never answers
 * must not leave the caller waiting for ever.
 */
import { AbortError, TimeoutError } from './errors.js';
import type { Deferred } from '../util/deferred.js';
import type { Timers } from '../util/timers.js';

/** How long `connect()` waits for TCP, TLS, the protocol header, SASL and the peer's open (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
/** How long opening a sender, receiver or session waits for the peer's attach or begin (ms). */
export const DEFAULT_OPEN_TIMEOUT_MS = 60_000;

/** True if `ms` asks for a timer (0 and Infinity mean no deadline). */
function armed(ms: number): boolean {
  return ms > 0 && Number.isFinite(ms);
}

/**
 * Rejects `d` with a TimeoutError after `ms`, or with an AbortError when `signal` fires, after
 * calling `onExpire` to undo the half-done work. Returns the function that disarms both; call it
 * once the wait is over, whichever way it ended (no timer is left behind).
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
  const onAbort = (): void => expire(new AbortError(signal!.reason));
  signal?.addEventListener('abort', onAbort, { once: true });
  function disarm(): void {
    if (timer !== undefined) timers.clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) onAbort();
  return disarm;
}
