/**
 * A latency histogram with fixed memory and bounded relative error, for per-message latencies
 * recorded on the hot path (one array increment each; no samples are kept).
 *
 * Values are non-negative integers (the bench records microseconds). Values below 2^SUB_BITS are
 * exact; above, each power of two is split into 2^(SUB_BITS-1) equal buckets, so a reported
 * percentile is within 1/2^(SUB_BITS-1) (about 1.6 %) of the true value, like HdrHistogram with
 * two significant digits. The exact max and min are kept besides.
 */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128 exact values, then 64 buckets per power of two
const HALF = SUB >> 1;
const MAX_EXPONENT = 52; // values up to 2^52 (about 142 years in microseconds)
const BUCKETS = SUB + (MAX_EXPONENT - SUB_BITS + 1) * HALF;

/** The smallest value of a bucket (what a percentile reports, capped by the exact max). */
function lowestOf(i: number): number {
  if (i < SUB) return i;
  const j = i - SUB;
  const e = SUB_BITS + Math.floor(j / HALF);
  const top = HALF + (j % HALF);
  return top * 2 ** (e - (SUB_BITS - 1));
}

/** The largest value a bucket holds. */
function highestOf(i: number): number {
  return i + 1 < BUCKETS ? lowestOf(i + 1) - 1 : Number.MAX_SAFE_INTEGER;
}

export interface HistogramSnapshot {
  /** [bucket index, count] pairs for non-empty buckets. */
  buckets: [number, number][];
  count: number;
  min: number;
  max: number;
  sum: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  record(value: number): void {
    let v = Math.round(value);
    if (!(v >= 0)) v = 0; // negative (clock skew between processes) or NaN counts as zero
    if (v > Number.MAX_SAFE_INTEGER) v = Number.MAX_SAFE_INTEGER;
    this.counts[bucketOf(v)]++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /**
   * The value at percentile p (0..100): the upper edge of the bucket holding the rank, capped by
   * the exact max, so it never under-reports. p=100 is the exact max.
   */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.min, Math.min(this.max, highestOf(i)));
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Adds another histogram's counts (one per receiving process, merged in the parent). */
  merge(other: LatencyHistogram | HistogramSnapshot): void {
    const s = other instanceof LatencyHistogram ? other.snapshot() : other;
    for (const [i, n] of s.buckets) this.counts[i]! += n;
    if (s.count === 0) return;
    this.count += s.count;
    this.sum += s.sum;
    if (s.min < this.min) this.min = s.min;
    if (s.max > this.max) this.max = s.max;
  }

  /** A compact, JSON-safe copy (for IPC between the bench processes). */
  snapshot(): HistogramSnapshot {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, min: this.count ? this.min : 0, max: this.max, sum: this.sum };
  }

  static from(s: HistogramSnapshot): LatencyHistogram {
    const h = new LatencyHistogram();
    h.merge(s);
    return h;
  }
}

/** The bucket of a value (the float log2 corrected near powers of two). */
function bucketOf(v: number): number {
  if (v < SUB) return v;
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  else if (2 ** (e + 1) <= v) e++;
  const top = Math.floor(v / 2 ** (e - (SUB_BITS - 1)));
  return SUB + (e - SUB_BITS) * HALF + (top - HALF);
}

export const histogramInternals = { bucketOf, lowestOf, highestOf, BUCKETS };
