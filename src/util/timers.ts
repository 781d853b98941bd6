/**
 * Time, injected. The hub state only reads the time (a {@link Clock}: it never arms a timer of its
 * own, the caller asks for its next deadline and ticks it); the promise API and the clients also
 * arm timers ({@link Timers}). Tests drive both by hand, so nothing ever sleeps on the wall clock.
 */

/** Milliseconds since the epoch, like `Date.now()`. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A clock that also arms timers. */
export interface Timers extends Clock {
  /** Calls `fn` after `ms` milliseconds; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer. */
  clearTimeout(handle: unknown): void;
}

/** The timers of Node itself. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/**
 * Calls `fn` once the work of this event-loop turn is done: Node's setImmediate (after pending
 * I/O), or elsewhere a MessageChannel message (a task, without setTimeout(0)'s 4 ms clamp in
 * browsers). The driver gathers a turn's output into one write with it.
 */
export const nextTurn: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : channelTurn();

/** The part of the web's MessageChannel used here (this project compiles without the DOM types). */
interface Channel {
  port1: { onmessage: (() => void) | null };
  port2: { postMessage(message: unknown): void };
}

function channelTurn(): (fn: () => void) => void {
  const queue: (() => void)[] = [];
  let port: Channel['port2'] | undefined;
  const run = (): void => {
    for (const fn of queue.splice(0)) {
      try {
        fn();
      } catch (e) {
        queueMicrotask(() => {
          throw e; // reported as uncaught, as a throwing setImmediate callback is, without stopping the others
        });
      }
    }
  };
  return (fn) => {
    queue.push(fn);
    if (queue.length > 1) return; // a message is on its way for the ones queued before
    const MessageChannel = (globalThis as unknown as { MessageChannel?: new () => Channel }).MessageChannel;
    if (!MessageChannel) return void setTimeout(run, 0);
    if (!port) {
      const channel = new MessageChannel();
      channel.port1.onmessage = run;
      port = channel.port2;
    }
    port.postMessage(undefined);
  };
}

/** The real clock. */
export const systemClock: Clock = realTimers;

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

/**
 * Waits `ms` on `timers`. With a signal, rejects with what `aborted` makes of its reason when it
 * fires first (the caller's typed abort error).
 */
export function sleep(
  timers: Timers,
  ms: number,
  signal?: AbortSignal,
  aborted: (reason: unknown) => unknown = (r) => r,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal.reason));
    const onAbort = (): void => {
      timers.clearTimeout(t);
      reject(aborted(signal?.reason));
    };
    const t = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
