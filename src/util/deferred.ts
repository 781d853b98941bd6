/** A one-shot promise with its resolvers, for settling from an event that comes later. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be awaiting yet: do not report a rejection as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
