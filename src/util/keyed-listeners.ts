/**
 * Callbacks kept per key (a device, a module), each added with the function that removes it. A
 * key's set goes with its last callback, so identities that come and go leave nothing behind.
 */
export class KeyedListeners<A extends unknown[]> {
  private readonly byKey = new Map<string, Set<(...args: A) => void>>();

  /** Adds `cb` under `key`; the returned function removes it (idempotent). */
  add(key: string, cb: (...args: A) => void): () => void {
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(cb);
    return () => {
      set.delete(cb);
      if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
    };
  }

  /** Calls every callback of `key`, over a copy: a callback may remove itself or add others. */
  emit(key: string, ...args: A): void {
    const set = this.byKey.get(key);
    if (set) for (const cb of [...set]) cb(...args);
  }

  /** How many callbacks `key` has. */
  count(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }
}
