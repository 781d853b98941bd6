/**
 * Twins as read (GET over AMQP or REST, the hub state's document) carry `$metadata` in desired and
 * reported, with the time of each change: tests that compare the properties themselves drop it.
 * Tests of the metadata are in test/iothub/hub/twin.test.ts.
 */
export function withoutMetadata<T>(v: T): T {
  if (Array.isArray(v)) return v.map(withoutMetadata) as T;
  if (typeof v !== 'object' || v === null || Buffer.isBuffer(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    if (k !== '$metadata')
      // defineProperty: a `__proto__` key stays an own property, as the twin holds it.
      Object.defineProperty(out, k, {
        value: withoutMetadata(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  return out as T;
}
