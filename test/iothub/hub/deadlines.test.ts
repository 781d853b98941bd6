import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DeadlineHeap } from '../../../src/iothub/hub/deadlines.js';

describe('deadline heap', () => {
  test('fires due entries in time order, skips cancelled ones', () => {
    let earlier = 0;
    const h = new DeadlineHeap(() => earlier++);
    const fired: string[] = [];
    h.schedule(30, () => fired.push('c'));
    const b = h.schedule(20, () => fired.push('b'));
    h.schedule(10, () => fired.push('a'));
    h.schedule(10, () => fired.push('a2'));
    expect(earlier).toBe(3);
    b.cancel();
    expect(h.next()).toBe(10);
    expect(h.runDue(25)).toBe(2);
    expect(fired).toEqual(['a', 'a2']);
    expect(h.next()).toBe(30);
    expect(h.size).toBe(1);
    h.runDue(30);
    expect(fired).toEqual(['a', 'a2', 'c']);
    expect(h.next()).toBeUndefined();
  });

  test('property: runDue fires exactly the live entries at or before now, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 1000 }), cancel: fc.boolean() }), {
          maxLength: 300,
        }),
        fc.integer({ min: 0, max: 1000 }),
        (items, now) => {
          const h = new DeadlineHeap();
          const fired: number[] = [];
          const timers = items.map((it, i) => h.schedule(it.at, () => fired.push(i)));
          items.forEach((it, i) => it.cancel && timers[i]!.cancel());
          h.runDue(now);
          const want = items
            .map((it, i) => ({ ...it, i }))
            .filter((it) => !it.cancel && it.at <= now)
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map((it) => it.i);
          expect(fired).toEqual(want);
          const rest = items.filter((it) => !it.cancel && it.at > now).map((it) => it.at);
          expect(h.next()).toBe(rest.length ? Math.min(...rest) : undefined);
          expect(h.size).toBe(rest.length);
        },
      ),
    );
  });
});
