// Every comparison the project has, one after another, then ONE table (bench/all-table.js):
// measure, ours, theirs, ratio, issue 15's target where one exists, and whether it is met.
//
//   npm run bench:all                       quick runs (a few minutes on a 2-core machine)
//   npm run bench:all -- --full             each script's full run (capacity and large messages
//                                           at a small N and size; about ten minutes on a
//                                           2-core machine)
//   node bench/all.js --only codec,cli      only these steps (keys: see STEPS)
//
// The steps, each in its own process: codec (bench/codec.js), cli (`amqp-one bench --impl both`,
// presettled then unsettled), protonC (bench/proton-c.js; skipped with a line saying so when
// pkg-config finds no Qpid Proton C), websocket, iothub (round trips), registry, capacity, large,
// rss (bench/rss-broker.js: RSS through `amqp-one broker`, 10,000,000 messages per mode; full runs
// only, as in a short run the heap is still growing to its working size).
// Each step's figures are read from the JSON it records: its -latest.json, written into
// bench/results/all-quick/ or all-full/ (BENCH_RESULTS_DIR) so quick runs never overwrite the
// records docs/performance.md quotes, or its JSON lines on stdout. The table goes to stdout and,
// with the settings and the machine's load, to all-latest.json in the same directory.
//
// BENCH_PORT443_LOCK=<file>: run the registry step (which listens on port 443 as root) under
// `flock <file>`, where several checkouts share a machine. A step that fails or exceeds its
// deadline is a row saying so, and the exit code is 1.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildRows, formatTable } from './all-table.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const args = process.argv.slice(2);
const FULL = args.includes('--full');
const onlyAt = args.indexOf('--only');
const ONLY = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',')) : null;
const resultsDir = join(here, 'results', FULL ? 'all-full' : 'all-quick');
const STEP_DEADLINE_MS = (FULL ? 60 : 10) * 60_000;

const q = (quick, full) => (FULL ? full : quick);
const node = (script, env = {}) => ({ cmd: process.execPath, args: [join(here, script)], env });

/** Whether pkg-config finds Qpid Proton C (what bench/proton-c/build.sh compiles against). */
function protonC() {
  for (const lib of ['libqpid-proton-proactor', 'libqpid-proton']) {
    try {
      execFileSync('pkg-config', ['--exists', lib], { stdio: 'ignore' });
      return null;
    } catch {
      // try the next name; no pkg-config at all lands here too
    }
  }
  return 'Qpid Proton C is not installed (scripts/install-peers.sh installs it)';
}

/**
 * The amqp-one bench command for one mode, with the counts of bench-cli-latest.json in full runs.
 * Quick runs still send tens of thousands: with fewer, start-up and JIT warm-up set the rate.
 */
const cliRun = (mode) => ({
  cmd: process.execPath,
  args: [
    join(root, 'dist', 'cli', 'main.js'),
    'bench',
    '--impl',
    'both',
    '--mode',
    mode,
    '--json',
    '--quiet',
    '--count',
    String(q(50_000, 200_000)),
    '--warmup',
    String(q(10_000, 20_000)),
  ],
  env: {},
});

function withLock(run) {
  const lock = process.env.BENCH_PORT443_LOCK;
  return lock ? { ...run, cmd: 'flock', args: [lock, run.cmd, ...run.args] } : run;
}

/**
 * key: the table's step; runs: the processes; result: 'lines' (JSON lines on stdout) or the name
 * of the -latest.json it writes; skip: a reason not to run, or null.
 */
const STEPS = [
  {
    key: 'codec',
    runs: [node('codec.js', { BENCH_QUICK: q('1', '') })],
    result: 'codec-latest.json',
  },
  { key: 'cli', runs: [cliRun('presettled'), cliRun('unsettled')], result: 'lines' },
  {
    key: 'protonC',
    skip: protonC,
    runs: [node('proton-c.js', q({ BENCH_COUNT: '100000', BENCH_WARMUP: '20000', BENCH_REPS: '1' }, {}))],
    result: 'proton-c-latest.json',
  },
  {
    key: 'websocket',
    runs: [node('websocket.js', q({ BENCH_COUNT: '30000', BENCH_REPS: '1' }, {}))],
    result: 'websocket-latest.json',
  },
  { key: 'iothub', runs: [node('iothub-round-trips.js', q({ BENCH_COUNT: '200' }, {}))], result: 'lines' },
  {
    key: 'registry',
    runs: [withLock(node('registry-rest.js', q({ BENCH_COUNT: '50' }, {})))],
    result: 'registry-rest-latest.json',
  },
  {
    key: 'capacity',
    runs: [
      node('iothub-capacity.js', q({ BENCH_DEVICES: '20', BENCH_CLIENTS: '1' }, { BENCH_DEVICES: '100' })),
    ],
    result: 'lines',
  },
  {
    key: 'large',
    runs: [node('large-messages.js', q({ BENCH_SIZES: '1', BENCH_REPS: '1' }, { BENCH_SIZES: '1,16' }))],
    result: 'large-messages-latest.json',
  },
  {
    key: 'rss',
    // 500,000 messages through the broker still see its heap grow by a third: no verdict on flat.
    skip: () => (FULL ? null : 'full runs only (--full)'),
    runs: [node('rss-broker.js', { BENCH_COUNT: '10000000' })],
    result: 'rss-broker-latest.json',
  },
];

/** Runs one process, its stdout passed through and kept; rejects on a non-zero exit or the deadline. */
function runProcess({ cmd, args: argv, env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: root,
      env: { ...process.env, ...env, BENCH_RESULTS_DIR: resultsDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_DEADLINE_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            signal === 'SIGKILL'
              ? `no result within ${STEP_DEADLINE_MS / 60_000} min`
              : `exit ${code ?? signal}`,
          ),
        );
    });
  });
}

const jsonLines = (out) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

mkdirSync(resultsDir, { recursive: true });
const loadBefore = loadavg()[0];
const started = Date.now();
const recorded = {};
const steps = [];
let failed = false;
for (const step of STEPS) {
  if (ONLY && !ONLY.has(step.key)) continue;
  const reason = step.skip?.();
  if (reason) {
    console.log(`\n== ${step.key}: skipped: ${reason}`);
    recorded[step.key] = { skipped: reason };
    continue;
  }
  console.log(`\n== ${step.key} (${FULL ? 'full' : 'quick'}), load average ${loadavg()[0].toFixed(2)}`);
  const t0 = Date.now();
  try {
    let out = '';
    for (const run of step.runs) out += await runProcess(run);
    recorded[step.key] =
      step.result === 'lines'
        ? jsonLines(out)
        : JSON.parse(readFileSync(join(resultsDir, step.result), 'utf8'));
  } catch (err) {
    failed = true;
    console.log(`== ${step.key}: failed: ${err.message}`);
    recorded[step.key] = { failed: err.message };
  }
  steps.push({ key: step.key, seconds: Math.round((Date.now() - t0) / 1000), load1m: loadavg()[0] });
}

const rows = buildRows(recorded);
console.log(`\n${formatTable(rows)}`);
const loadAfter = loadavg()[0];
console.log(
  `\n  ${FULL ? 'full' : 'quick'} runs in ${Math.round((Date.now() - started) / 1000)} s; ratio = how many times faster ours is ` +
    `(above 1 is better); ${cpus().length} CPUs, load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after; ` +
    `records in ${resultsDir}`,
);
writeFileSync(
  join(resultsDir, 'all-latest.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      full: FULL,
      node: process.version,
      cpus: cpus().length,
      loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadAfter.toFixed(2)) },
      steps,
      rows,
    },
    null,
    2,
  ) + '\n',
);
if (failed) process.exitCode = 1;
