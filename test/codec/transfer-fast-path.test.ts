/** encodeTransfer (the send path's transfer writer) must write exactly what the generic writer does. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { encodeComposite, encodeTransfer } from '../../src/codec/composite.js';
import type { Transfer } from '../../src/codec/spec/records.js';

function both(t: Transfer): [Buffer | Error, Buffer | Error] {
  const run = (f: (w: ByteWriter, t: Transfer) => void): Buffer | Error => {
    const w = new ByteWriter(8);
    w.u8(0xee); // not at offset 0
    try {
      f(w, t);
    } catch (e) {
      return e as Error;
    }
    return w.copy();
  };
  return [run(encodeTransfer), run((w, r) => encodeComposite(w, r))];
}

const uint = fc.oneof(fc.constantFrom(0, 1, 255, 256, 0xffffffff), fc.nat());
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

describe('encodeTransfer', () => {
  test('same bytes as the generic writer', () => {
    fc.assert(
      fc.property(
        fc.record({
          handle: uint,
          deliveryId: opt(uint),
          deliveryTag: opt(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))),
          messageFormat: opt(uint),
          settled: opt(fc.boolean()),
          more: opt(fc.boolean()),
          aborted: opt(fc.boolean()),
          rcvSettleMode: opt(fc.constantFrom(0, 1)),
        }),
        (r) => {
          const [fast, generic] = both({ type: 'transfer', ...r });
          expect(fast).toEqual(generic);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('bad values fail as in the generic writer', () => {
    for (const t of [
      { handle: -1 },
      { handle: 1.5 },
      { handle: 0, deliveryId: 2 ** 32 },
      { handle: 0, deliveryTag: 'x' as never },
      { handle: 0, settled: 1 as never },
      { handle: undefined as never },
    ]) {
      const [fast, generic] = both({ type: 'transfer', ...t });
      expect(String(fast)).toBe(String(generic));
    }
  });
});
