/**
 * coalesce() (dispositions into ranges): whatever the queue (in order, shuffled, repeated, across
 * the delivery-id wrap), every delivery goes out exactly once, with its own settlement and state,
 * and a queue already in serial order (the fast path) gives the fewest ranges.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { DeliveryState } from '../../src/codec/spec/records.js';
import type { Delivery } from '../../src/link/delivery.js';
import { Role } from '../../src/link/link.js';
import { ACCEPTED, RELEASED } from '../../src/link/receiver.js';
import { coalesce, inSerialOrder, type PendingDisposition } from '../../src/session/dispositions.js';

type Spec = { gap: number; role: 'sender' | 'receiver'; settled: boolean; state: 0 | 1 | 2 };

const spec = fc.record({
  gap: fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: 1, max: 5 })),
  role: fc.constantFrom('receiver' as const, 'receiver' as const, 'sender' as const),
  settled: fc.oneof(fc.constant(true), fc.constant(true), fc.boolean()),
  state: fc.constantFrom(0 as const, 0 as const, 1 as const, 2 as const),
});
const base = fc.oneof(
  fc.integer({ min: 0, max: 100 }),
  fc.integer({ min: 0, max: 60 }).map((k) => (0xffffffff - k) >>> 0),
  fc.nat(),
);

function build(b: number, specs: Spec[]): { d: Delivery; role: 'sender' | 'receiver' }[] {
  let id = b;
  return specs.map((s, i) => {
    if (i > 0) id = (id + s.gap) >>> 0;
    const state: DeliveryState =
      s.state === 0
        ? ACCEPTED
        : s.state === 1
          ? RELEASED
          : ({ type: 'rejected', error: undefined } as DeliveryState);
    return { d: { id, settled: s.settled, state } as unknown as Delivery, role: s.role };
  });
}

/** Each (role, id) covered by the frames, with the frame's settlement and state. */
function expand(
  frames: ReturnType<typeof coalesce>,
): Map<string, { settled: boolean; state: DeliveryState }> {
  const out = new Map<string, { settled: boolean; state: DeliveryState }>();
  for (const f of frames) {
    const span = (((f.last ?? f.first) - f.first) >>> 0) + 1;
    expect(span).toBeLessThanOrEqual(1000);
    for (let i = 0; i < span; i++) {
      const key = `${f.role === Role.Receiver ? 'receiver' : 'sender'}:${(f.first + i) >>> 0}`;
      expect(out.has(key)).toBe(false); // never twice
      out.set(key, { settled: f.settled === true, state: f.state! });
    }
  }
  return out;
}

function check(queued: PendingDisposition[], all: { d: Delivery; role: string }[]): void {
  const got = expand(coalesce(queued));
  const queuedSet = new Set(queued.map((q) => q.d));
  const want = all.filter((x) => queuedSet.has(x.d));
  expect(got.size).toBe(want.length);
  for (const { d, role } of want) {
    const g = got.get(`${role}:${d.id}`);
    expect(g).toBeDefined();
    expect(g!.settled).toBe(d.settled);
    expect(g!.state.type).toBe(d.state!.type);
    // An outcome with fields is never merged with another object.
    if (d.state!.type === 'rejected') expect(g!.state).toBe(d.state);
  }
}

describe('coalesce', () => {
  test('in serial order (the fast path): each delivery once, and the fewest ranges', () => {
    fc.assert(
      fc.property(
        base,
        fc.array(spec, { minLength: 1, maxLength: 80 }),
        fc.boolean(),
        (b, specs, oneRole) => {
          const all = build(b, oneRole ? specs.map((s) => ({ ...s, role: 'receiver' as const })) : specs);
          check(all, all);
          if (inSerialOrder(all)) {
            // Minimal: a new range exactly where the id, settlement or outcome breaks the run.
            let breaks = 1;
            for (let i = 1; i < all.length; i++) {
              const [p, q] = [all[i - 1]!.d, all[i]!.d];
              const rejected = p.state!.type === 'rejected' || q.state!.type === 'rejected';
              if (q.id !== (p.id + 1) >>> 0 || p.settled !== q.settled || p.state !== q.state || rejected)
                breaks++;
            }
            expect(coalesce(all)).toHaveLength(breaks);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('shuffled and repeated: each delivery once, with its latest state', () => {
    fc.assert(
      fc.property(
        base,
        fc.array(spec, { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 100 }),
        (b, specs, picks) => {
          const all = build(b, specs);
          const queued = picks.length ? picks.map((k) => all[k % all.length]!) : [...all].reverse();
          check(queued, all);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('inSerialOrder refuses repeats, mixed roles and descending ids', () => {
    const d = (id: number) => ({ id, settled: true, state: ACCEPTED }) as unknown as Delivery;
    const a = d(0xfffffffe);
    const b = d(0xffffffff);
    const c = d(0);
    expect(
      inSerialOrder([
        { d: a, role: 'receiver' },
        { d: b, role: 'receiver' },
        { d: c, role: 'receiver' },
      ]),
    ).toBe(true);
    expect(
      coalesce([
        { d: a, role: 'receiver' },
        { d: b, role: 'receiver' },
        { d: c, role: 'receiver' },
      ]),
    ).toEqual([
      {
        type: 'disposition',
        role: Role.Receiver,
        first: 0xfffffffe,
        last: 0,
        settled: true,
        state: ACCEPTED,
      },
    ]);
    expect(
      inSerialOrder([
        { d: a, role: 'receiver' },
        { d: a, role: 'receiver' },
      ]),
    ).toBe(false);
    expect(
      inSerialOrder([
        { d: a, role: 'receiver' },
        { d: b, role: 'sender' },
      ]),
    ).toBe(false);
    // Order is serial distance from the first id, so coming back to an id is refused.
    expect(
      inSerialOrder([
        { d: a, role: 'receiver' },
        { d: b, role: 'receiver' },
        { d: a, role: 'receiver' },
      ]),
    ).toBe(false);
    expect(
      inSerialOrder([
        { d: b, role: 'receiver' },
        { d: c, role: 'receiver' },
        { d: b, role: 'receiver' },
      ]),
    ).toBe(false);
  });
});
