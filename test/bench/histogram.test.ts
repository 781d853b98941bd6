/** The bench's latency histogram: percentiles within its stated error of the exact ones. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { histogramInternals, LatencyHistogram } from '../../src/bench/histogram.js';

const { bucketOf, lowestOf, highestOf, BUCKETS } = histogramInternals;

/** The exact percentile by the same rank rule (nearest rank, at least 1). */
function exact(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('LatencyHistogram', () => {
  test('values below 128 are exact; every bucket holds exactly the values between its edges', () => {
    for (let v = 0; v < 128; v++) expect(bucketOf(v)).toBe(v);
    for (let i = 0; i < BUCKETS - 1; i++) {
      expect(bucketOf(lowestOf(i))).toBe(i);
      expect(bucketOf(highestOf(i))).toBe(i);
      expect(highestOf(i) + 1).toBe(lowestOf(i + 1));
    }
  });

  test('bucket edges near powers of two (where a float log2 can be off by one)', () => {
    for (let e = 7; e < 52; e++) {
      const p = 2 ** e;
      expect(lowestOf(bucketOf(p))).toBe(p);
      expect(highestOf(bucketOf(p - 1))).toBe(p - 1);
    }
  });

  test('property: every percentile is >= the exact one and within 1/64 above it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 400 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (values, p) => {
          const h = new LatencyHistogram();
          for (const v of values) h.record(v);
          const sorted = [...values].sort((a, b) => a - b);
          const want = exact(sorted, p);
          const got = h.percentile(p);
          expect(got).toBeGreaterThanOrEqual(want);
          expect(got).toBeLessThanOrEqual(Math.max(want, want + want / 64));
          expect(got).toBeLessThanOrEqual(sorted[sorted.length - 1]!);
          expect(h.percentile(100)).toBe(sorted[sorted.length - 1]);
          expect(h.count).toBe(values.length);
          expect(h.min).toBe(sorted[0]);
        },
      ),
    );
  });

  test('property: merging snapshots equals recording everything in one histogram', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1e9 })),
        fc.array(fc.integer({ min: 0, max: 1e9 })),
        (a, b) => {
          const ha = new LatencyHistogram();
          const hb = new LatencyHistogram();
          const all = new LatencyHistogram();
          for (const v of a) (ha.record(v), all.record(v));
          for (const v of b) (hb.record(v), all.record(v));
          const merged = LatencyHistogram.from(JSON.parse(JSON.stringify(ha.snapshot())));
          merged.merge(hb.snapshot());
          expect(merged.snapshot()).toEqual(all.snapshot());
          for (const p of [50, 90, 99, 99.9]) expect(merged.percentile(p)).toBe(all.percentile(p));
        },
      ),
    );
  });

  test('negative values (clock skew between processes) and NaN count as zero; empty reports zeros', () => {
    const h = new LatencyHistogram();
    expect(h.percentile(50)).toBe(0);
    expect(h.mean).toBe(0);
    h.record(-5);
    h.record(Number.NaN);
    h.record(10);
    expect(h.count).toBe(3);
    expect(h.min).toBe(0);
    expect(h.percentile(50)).toBe(0);
    expect(h.max).toBe(10);
    expect(h.mean).toBeCloseTo(10 / 3);
  });
});
