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

export interface TypedEmitter<E extends EventMap<E>> {
  on<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  once<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  off<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  addListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  removeListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  prependListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  prependOnceListener<K extends EventName<E>>(event: K, listener: EventListener<E, K>): this;
  removeAllListeners(event?: EventName<E>): this;
  emit<K extends EventName<E>>(event: K, ...args: E[K]): boolean;
  listenerCount(event: EventName<E>): number;
}

export class TypedEmitter<E extends EventMap<E>> extends EventEmitter {}
