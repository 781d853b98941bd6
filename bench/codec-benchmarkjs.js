// Codec benchmark under benchmark.js: the cases of bench/codec.js (bench/codec-cases.js), one
// benchmark.js suite per case, reporting benchmark.js's own statistics.
//
//   npm run bench:codec:benchmarkjs                  full run (2 s per implementation and case)
//   BENCH_QUICK=1 npm run bench:codec:benchmarkjs    quick run (0.5 s each)
//   BENCH_FILTER=decode node bench/codec-benchmarkjs.js
//
// benchmark.js times one implementation to the end before it starts the next, so a burst of load
// from another process lands on one side of a ratio only; bench/codec.js interleaves its samples
// for that reason. docs/performance.md compares the two harnesses.
//
// Output: one JSON line per (case, impl) on stdout, then a human table; the same results are
// written to bench/results/codec-benchmarkjs-latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CASES, ENCODED_BYTES, machineLine, printTable } from './codec-cases.js';

const require = createRequire(import.meta.url);
const Benchmark = require('benchmark'); // CommonJS; needs lodash and platform beside it

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_RESULTS_DIR: where the -latest.json goes (npm run bench:all keeps quick runs apart).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const FILTER = process.env.BENCH_FILTER ?? '';
const MAX_TIME_S = Number(process.env.BENCH_MAX_TIME_S ?? (QUICK ? 0.5 : 2));
const MIN_SAMPLES = Number(process.env.BENCH_MIN_SAMPLES ?? 5);
// Each benchmark.js call runs this many operations, so the call itself (and the case's loop
// index) weighs little against a frame-header decode of a few nanoseconds.
const OPS_PER_CALL = 16;

/** Written by every call so that nothing is optimised away; printed at the end. */
let sink = 0;

function runCase(c) {
  const suite = new Benchmark.Suite(c.name);
  for (const x of c.impls) {
    const run = x.run;
    suite.add(
      x.impl,
      () => {
        sink = (sink + run(OPS_PER_CALL)) | 0;
      },
      { maxTime: MAX_TIME_S, minSamples: MIN_SAMPLES },
    );
  }
  suite.run({ async: false });
  return suite.map((b) => {
    if (b.error) throw b.error;
    const r = {
      case: c.name,
      impl: b.name,
      opsPerSec: Math.round(b.hz * OPS_PER_CALL),
      rmePercent: Number(b.stats.rme.toFixed(2)),
      samples: b.stats.sample.length,
    };
    console.log(JSON.stringify(r));
    return r;
  });
}

const load = () => loadavg().map((x) => Number(x.toFixed(2)));
const loadBefore = load();
console.error(
  `amqp-one telemetry message: ${ENCODED_BYTES.amqpOne} B, rhea: ${ENCODED_BYTES.rhea} B. Sanity checks passed. ` +
    `benchmark.js ${Benchmark.version}, ${QUICK ? 'QUICK' : 'FULL'} run: maxTime ${MAX_TIME_S} s, at least ${MIN_SAMPLES} samples per impl.`,
);
const started = process.hrtime.bigint();
const rows = [];
for (const c of CASES) {
  if (FILTER && !c.name.includes(FILTER)) continue;
  rows.push({ c, rs: runCase(c) });
}
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;

function fmt(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(1);
}
const table = [
  ['case', 'subject', 'ops/s', '±rme', 'n', 'baseline', 'ops/s', '±rme', 'n', 'ratio', 'target'],
];
const ratios = [];
for (const { c, rs } of rows) {
  const [a, b] = rs;
  const ratio = b ? a.opsPerSec / b.opsPerSec : undefined;
  // Relative errors of a quotient add in quadrature (independent samples).
  const ratioRme = b ? Math.hypot(a.rmePercent, b.rmePercent) : undefined;
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
      ratioRmePercent: Number(ratioRme.toFixed(2)),
      target: c.target ?? null,
      met: c.target === undefined ? null : ratio >= c.target,
    });
  const side = (r) =>
    r ? [r.impl, fmt(r.opsPerSec), `±${r.rmePercent.toFixed(1)}%`, String(r.samples)] : ['-', '-', '-', '-'];
  table.push([
    c.name,
    ...side(a).slice(0, 4),
    ...side(b),
    ratio === undefined ? '-' : `${ratio.toFixed(2)}x ±${ratioRme.toFixed(1)}%`,
    status,
  ]);
}
printTable(table, new Set([0, 1, 5, 10]));
for (const { c } of rows) console.log(`  ${c.name}: ${c.note}`);
const loadAfter = load();
console.log(
  `\n  ops/s = benchmark.js hz x ${OPS_PER_CALL} ops per call; ±rme = benchmark.js relative margin of error (95%); n = samples; ratio = subject / baseline; measured in ${elapsed.toFixed(1)} s; node ${process.version}; checksum ${sink}`,
);
console.log(machineLine(loadBefore, loadAfter));

mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, 'codec-benchmarkjs-latest.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      benchmarkjs: Benchmark.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      loadAverage1m: { before: loadBefore[0], after: loadAfter[0] },
      quick: QUICK,
      filter: FILTER || null,
      maxTimeS: MAX_TIME_S,
      minSamples: MIN_SAMPLES,
      opsPerCall: OPS_PER_CALL,
      encodedBytes: ENCODED_BYTES,
      results: rows.flatMap((r) => r.rs),
      ratios,
    },
    null,
    2,
  ) + '\n',
);
