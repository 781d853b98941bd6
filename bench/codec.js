// Codec benchmark: amqp-one vs rhea, side by side in one process.
//
//   npm run bench:codec                 full run (~40 s of measuring)
//   BENCH_QUICK=1 npm run bench:codec   quick run (~8 s)
//   BENCH_FILTER=decode node bench/codec.js   only the cases whose name contains "decode"
//
// Every case runs its two implementations interleaved (A B, B A, A B, ...) after a warm-up, takes
// several timed samples of each, and reports the MEDIAN ops/s. Machines are noisy: trust the
// ratio columns more than the absolute figures.
//
// Output: one JSON line per (case, impl) on stdout, then a human table; the same results are
// written to bench/results/codec-latest.json.
// The cases and their sanity checks live in bench/codec-cases.js.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CASES, ENCODED_BYTES, machineLine, printTable } from './codec-cases.js';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_RESULTS_DIR: where the -latest.json goes (npm run bench:all keeps quick runs apart).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const FILTER = process.env.BENCH_FILTER ?? '';
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? (QUICK ? 9 : 21));
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? (QUICK ? 40 : 100));
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? (QUICK ? 100 : 400));
const BATCH_MS = 2; // one timer read per ~2 ms of work

// ---------------------------------------------------------------- harness

/** Written by every run so that nothing is optimised away; printed at the end. */
let sink = 0;

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

/** Finds a batch size n such that run(n) takes about BATCH_MS. */
function calibrate(run) {
  let n = 1;
  for (;;) {
    const t0 = now();
    sink = (sink + run(n)) | 0;
    const dt = now() - t0;
    if (dt >= BATCH_MS / 4 || n >= 1 << 24)
      return Math.max(1, Math.round((n * BATCH_MS) / Math.max(dt, 1e-3)));
    n *= 2;
  }
}

/** Runs batches of `batch` ops for at least `ms` milliseconds; returns ops/s. */
function sample(run, batch, ms) {
  let ops = 0;
  const t0 = now();
  let t;
  do {
    sink = (sink + run(batch)) | 0;
    ops += batch;
    t = now();
  } while (t - t0 < ms);
  return (ops * 1000) / (t - t0);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures the impls of one case interleaved. `impls` is [{ impl, run }], where run(n) performs
 * n operations and returns a number derived from their results.
 */
function measureCase(name, impls) {
  for (const x of impls) {
    const t0 = now();
    while (now() - t0 < WARMUP_MS) sink = (sink + x.run(64)) | 0;
    x.batch = calibrate(x.run);
    x.samples = [];
  }
  for (let s = 0; s < SAMPLES; s++) {
    const order = s % 2 === 0 ? impls : [...impls].reverse();
    for (const x of order) x.samples.push(sample(x.run, x.batch, SAMPLE_MS));
  }
  return impls.map((x) => {
    const r = {
      case: name,
      impl: x.impl,
      opsPerSec: Math.round(median(x.samples)),
      samples: x.samples.length,
      minOpsPerSec: Math.round(Math.min(...x.samples)),
      maxOpsPerSec: Math.round(Math.max(...x.samples)),
      ...(x.extra ?? {}),
    };
    console.log(JSON.stringify(r));
    return r;
  });
}

console.error(
  `amqp-one telemetry message: ${ENCODED_BYTES.amqpOne} B, rhea: ${ENCODED_BYTES.rhea} B (rhea always adds an empty header section and writes list32/map32). ` +
    `Sanity checks passed. ${QUICK ? 'QUICK' : 'FULL'} run: ${SAMPLES} samples x ${SAMPLE_MS} ms, warm-up ${WARMUP_MS} ms per impl.`,
);

// ---------------------------------------------------------------- run

const load = () => loadavg().map((x) => Number(x.toFixed(2)));
const loadBefore = load();
const started = now();
const results = [];
const rows = [];
for (const c of CASES) {
  if (FILTER && !c.name.includes(FILTER)) continue;
  const rs = measureCase(c.name, c.impls);
  results.push(...rs);
  rows.push({ c, rs });
}
const elapsed = (now() - started) / 1000;

function fmt(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(1);
}
const table = [['case', 'subject', 'ops/s (median)', 'baseline', 'ops/s (median)', 'ratio', 'target']];
const ratios = [];
for (const { c, rs } of rows) {
  const [a, b] = rs;
  const ratio = b ? a.opsPerSec / b.opsPerSec : undefined;
  const status =
    c.target === undefined || ratio === undefined
      ? ''
      : `>= ${c.target}x ${ratio >= c.target ? 'MET' : 'MISSED'}`;
  if (ratio !== undefined)
    ratios.push({
      case: c.name,
      subject: a.impl,
      baseline: b.impl,
      ratio: Number(ratio.toFixed(2)),
      target: c.target ?? null,
      met: c.target === undefined ? null : ratio >= c.target,
    });
  table.push([
    c.name,
    a.impl,
    fmt(a.opsPerSec),
    b ? b.impl : '-',
    b ? fmt(b.opsPerSec) : '-',
    ratio === undefined ? '-' : `${ratio.toFixed(2)}x`,
    status,
  ]);
}
printTable(table, new Set([0, 1, 3, 6]));
for (const { c } of rows) console.log(`  ${c.name}: ${c.note}`);
const loadAfter = load();
console.log(
  `\n  ratio = subject / baseline (median ops/s); ${SAMPLES} interleaved samples of ${SAMPLE_MS} ms per impl; measured in ${elapsed.toFixed(1)} s; node ${process.version}; checksum ${sink}`,
);
console.log(machineLine(loadBefore, loadAfter));

mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, 'codec-latest.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      loadAverage1m: { before: loadBefore[0], after: loadAfter[0] },
      quick: QUICK,
      filter: FILTER || null,
      samplesPerImpl: SAMPLES,
      sampleMs: SAMPLE_MS,
      warmupMs: WARMUP_MS,
      encodedBytes: ENCODED_BYTES,
      results,
      ratios,
    },
    null,
    2,
  ) + '\n',
);
