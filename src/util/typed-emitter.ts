/**
 * Node's EventEmitter with its event names and listener arguments checked by TypeScript: each
 * emitter declares its events as a map (`interface XEvents { close: [error: Error | undefined] }`)
 * and extends `TypedEmitter<XEvents>`. At run time it is EventEmitter itself; only the types
 * differ, so `conn.on('disconected', ...)` or a listener taking the wrong arguments does not
 * compile. Written here rather than taken from @types/node's generic EventEmitter, which older
 * @types/node versions in a consumer's project do not have.
 */
import { EventEmitter } from 'node:events';

/** Event name to the arguments its listeners receive. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** The event names of a map. */
export type EventName<E> = keyof E & string;

/** A listener of event `K` of map `E`. */
export type EventListener<E extends EventMap<E>, K extends EventName<E>> = (...args: E[K]) => void;

/** EventEmitter's methods, with names and listeners taken from the events map `E`. */
export interface TypedEmitter<E extends EventMap<E>> {
  /** Calls `listener` on every `event`. */
  on<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  /** Calls `listener` on the next `event` only. */
  once<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  /** Removes a listener added by `on` or `once`. */
  off<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  /** Same as `on`. */
  addListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  /** Same as `off`. */
  removeListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  /** Like `on`, called before the listeners already added. */
  prependListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  /** Like `once`, called before the listeners already added. */
  prependOnceListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: EventName<E>): this;
  /** Calls the listeners of `event` with `args`; true if there was one. */
  emit<K extends EventName<E>>(event: K, ...args: E[K]): boolean;
  /** How many listeners `event` has. */
  listenerCount(event: EventName<E>): number;
}

/** Node's EventEmitter, typed by the events map `E` (see the interface of the same name). */
export class TypedEmitter<E extends EventMap<E>> extends EventEmitter {}
