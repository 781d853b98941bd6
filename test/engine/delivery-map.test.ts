/** The session's DeliveryIdMap must behave as a Map<number, Delivery> for any pattern of ids. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Delivery } from '../../src/link/delivery.js';
import { DeliveryIdMap } from '../../src/session/delivery-map.js';
import { deliveriesInRange } from '../../src/session/dispositions.js';

const fake = (id: number) => ({ id }) as unknown as Delivery;

// Ids near each other, ones that share ring slots (multiples of 2^8..2^16 apart), wrap-around.
const id = fc.oneof(
  fc.integer({ min: 0, max: 600 }),
  fc.integer({ min: 0, max: 20 }).map((k) => (k * 256 + 3) >>> 0),
  fc.integer({ min: 0, max: 8 }).map((k) => (k * 65536 + 7) >>> 0),
  fc.integer({ min: 0, max: 300 }).map((k) => (0xffffffff - k) >>> 0),
  fc.nat(),
);
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), id }),
  fc.record({ kind: fc.constant('delete' as const), id }),
  fc.record({ kind: fc.constant('range' as const), id, span: fc.integer({ min: 0, max: 2000 }) }),
);

describe('DeliveryIdMap', () => {
  test('matches a Map (get, set, delete, size, entries, ranges)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const m = new DeliveryIdMap(4);
        const model = new Map<number, Delivery>();
        for (const o of ops) {
          if (o.kind === 'set') {
            const d = fake(o.id);
            m.set(o.id, d);
            model.set(o.id, d);
          } else if (o.kind === 'delete') {
            expect(m.delete(o.id)).toBe(model.delete(o.id));
          } else {
            const last = (o.id + o.span) >>> 0;
            expect(deliveriesInRange(m, o.id, last)).toEqual(deliveriesInRange(model, o.id, last));
          }
          expect(m.size).toBe(model.size);
          expect(m.get(o.id)).toBe(model.get(o.id));
        }
        const sorted = (it: Iterable<[number, Delivery]>) => [...it].sort((a, b) => a[0] - b[0]);
        expect(sorted(m.entries())).toEqual(sorted(model.entries()));
        expect([...m.values()].length).toBe(model.size);
      }),
      { numRuns: 500 },
    );
  });

  test('many in flight, settled out of order, and ids beyond the ring (spill)', () => {
    const m = new DeliveryIdMap();
    const model = new Map<number, Delivery>();
    // One delivery left unsettled while 200000 more come and go: its slot is reused by others.
    const stuck = fake(5);
    m.set(5, stuck);
    model.set(5, stuck);
    for (let i = 6; i < 200_000; i++) {
      const d = fake(i);
      m.set(i, d);
      model.set(i, d);
      if (i % 7 === 0) {
        for (const j of [i - 3000, i - 1]) {
          if (j > 5) expect(m.delete(j)).toBe(model.delete(j));
        }
      }
      if (i - 4096 > 5 && model.has(i - 4096)) {
        m.delete(i - 4096);
        model.delete(i - 4096);
      }
    }
    expect(m.size).toBe(model.size);
    expect(m.get(5)).toBe(stuck);
    for (const [k, d] of model) expect(m.get(k)).toBe(d);
  });
});
