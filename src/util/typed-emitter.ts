/**
 * A small event emitter with its event names and listener arguments checked by TypeScript: each
 * emitter declares its events as a map (`interface XEvents { close: [error: Error | undefined] }`)
 * and extends `TypedEmitter<XEvents>`, so `conn.on('disconected', ...)` or a listener taking the
 * wrong arguments does not compile.
 *
 * Written here rather than extending node:events, so that the promise API runs where Node does
 * not (a browser). It behaves as Node's EventEmitter does where the API relies on it: listeners
 * run in the order added, with the emitter as `this`; an `emit` calls the listeners present when
 * it began; `off` removes the most recently added registration of a listener, `once` ones
 * included; and an 'error' event without a listener throws its error. Node's `events.once(emitter,
 * name)` works on it, and its TypeScript type accepts it. It has no maximum-listener warning and no
 * 'newListener' event.
 */

/** Event name to the arguments its listeners receive. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** The event names of a map. */
export type EventName<E> = keyof E & string;

/** A listener of event `K` of map `E`. */
export type EventListener<E extends EventMap<E>, K extends EventName<E>> = (...args: E[K]) => void;

type AnyListener = (...args: unknown[]) => void;

/** One registration: the listener the caller gave, and whether it runs once. */
interface Registration {
  readonly listener: AnyListener;
  readonly once: boolean;
}

/** The error thrown by an 'error' event nobody listens to, when what was emitted is not an Error. */
function unhandled(what: unknown): Error {
  let shown: string;
  try {
    shown = String(what);
  } catch {
    shown = typeof what;
  }
  return Object.assign(new Error(`Unhandled error. (${shown})`), {
    code: 'ERR_UNHANDLED_ERROR',
    context: what,
  });
}

/** An event emitter typed by the events map `E`. */
export class TypedEmitter<E extends EventMap<E>> {
  // Created on first use: most emitters (one per sender) never get a listener.
  private registrations: Map<string, Registration[]> | undefined;
  private maxListeners = 10;

  /** Calls `listener` on every `event`. */
  on<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this {
    return this.add(event, listener as AnyListener, false, false);
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this {
    return this.add(event, listener as AnyListener, true, false);
  }

  /** Removes a listener added by `on` or `once` (its latest registration, if added more than once). */
  off<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this {
    const list = this.registrations?.get(event);
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.listener === listener) return this.remove(event, list[i]!);
    }
    return this;
  }

  /** Same as `on`. */
  addListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this {
    return this.on(event, listener);
  }

  /** Same as `off`. */
  removeListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this {
    return this.off(event, listener);
  }

  /** Like `on`, called before the listeners already added. */
  prependListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this {
    return this.add(event, listener as AnyListener, false, true);
  }

  /** Like `once`, called before the listeners already added. */
  prependOnceListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this {
    return this.add(event, listener as AnyListener, true, true);
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: EventName<E>): this {
    if (event === undefined) this.registrations = undefined;
    else this.registrations?.delete(event);
    return this;
  }

  /**
   * Calls the listeners of `event` with `args`; true if there was one. An 'error' event with no
   * listener throws its argument (wrapped in an Error if it is not one), as Node's emitters do.
   */
  emit<K extends EventName<E>>(event: K, ...args: E[K]): boolean {
    const list = this.registrations?.get(event);
    if (!list) {
      if (event === 'error') {
        const err: unknown = args[0];
        throw err instanceof Error ? err : unhandled(err);
      }
      return false;
    }
    // The list is never changed in place (add and off make new arrays), so it is safe to walk.
    for (const r of list) {
      if (r.once) this.remove(event, r);
      r.listener.apply(this, args);
    }
    return true;
  }

  /** How many listeners `event` has. */
  listenerCount(event: EventName<E>): number {
    return this.registrations?.get(event)?.length ?? 0;
  }

  /** The listeners of `event`, in the order they run. */
  listeners(event: EventName<E>): ((...args: never[]) => void)[] {
    return (this.registrations?.get(event) ?? []).map((r) => r.listener);
  }

  /** Same as `listeners` (there are no wrappers to show). */
  rawListeners(event: EventName<E>): ((...args: never[]) => void)[] {
    return this.listeners(event);
  }

  /** The events that have listeners. */
  eventNames(): EventName<E>[] {
    return [...(this.registrations?.keys() ?? [])] as EventName<E>[];
  }

  /** Kept so that code written for Node's emitters runs: there is no listener-count warning to tune. */
  setMaxListeners(n: number): this {
    this.maxListeners = n;
    return this;
  }

  /** What `setMaxListeners` set (10 by default, as in Node); nothing depends on it. */
  getMaxListeners(): number {
    return this.maxListeners;
  }

  private remove(event: string, r: Registration): this {
    const list = this.registrations?.get(event);
    if (!list) return this;
    // A new array: an emit under way keeps calling the listeners it began with.
    const rest = list.filter((x) => x !== r);
    if (rest.length === 0) this.registrations!.delete(event);
    else this.registrations!.set(event, rest);
    return this;
  }

  private add(event: string, listener: AnyListener, once: boolean, first: boolean): this {
    if (typeof listener !== 'function') {
      throw new TypeError(`the listener of '${event}' must be a function, got ${typeof listener}`);
    }
    this.registrations ??= new Map();
    const list = this.registrations.get(event) ?? [];
    const r: Registration = { listener, once };
    this.registrations.set(event, first ? [r, ...list] : [...list, r]);
    return this;
  }
}
