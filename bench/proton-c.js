// Throughput side by side with Qpid Proton C 0.37: Proton C sender -> Proton C receiver
// (bench/proton-c/sender.c, receiver.c: proactor programs, gcc -O2) and amqp-one -> amqp-one (the
// forked processes of bench/throughput.js, through its runOnce), peer to peer over loopback TCP,
// presettled and unsettled, with the same telemetry message (src/bench/telemetry.ts; see
// bench/proton-c/common.h for the AMQP types, and for the 16 bytes by which Proton's encoding of
// it differs: an empty header section and map32 where amqp-one writes map8).
//
//   npm run bench:proton-c                          the comparison
//   BENCH_COUNT=100000 node bench/proton-c.js       fewer messages per run (default 200000)
//   BENCH_RHEA=1 node bench/proton-c.js             rhea -> rhea as well
//
// Knobs shared with bench/throughput.js: BENCH_REPS (3), BENCH_WARMUP (20000), BENCH_CREDIT
// (receiver prefetch window, 1000, all receivers), BENCH_DECODE=1 (receivers decode every message:
// the C receiver with pn_message_decode), BENCH_FILTER (only cases whose name contains it),
// BENCH_TIMEOUT_MS (per run, 120000); BENCH_WINDOW, BENCH_MAX_QUEUED, BENCH_DIST, BENCH_SEND_API
// (post, the default, or promise) apply to amqp-one.
//
// Measured interval as in bench/throughput.js: presettled runs are timed by the receiver's arrivals,
// unsettled runs by the sender's accepted outcomes; CPU us/msg is each process's user + system CPU
// time over its measured interval divided by the count. The Proton C sender starts sending as soon
// as it is attached (the warm-up messages cover the start). Each case runs BENCH_REPS times,
// interleaved with the other cases in alternating order, and the MEDIAN is reported.
//
// Output: one JSON line per run and per case on stdout, then a table; everything is also written to
// bench/results/proton-c-latest.json.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, round1, round2, runOnce, settings, summarizeRun } from './throughput-run.js';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_RESULTS_DIR: where the -latest.json goes (npm run bench:all keeps quick runs apart).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
const env = process.env;
const {
  count: COUNT,
  reps: REPS,
  warmup: WARMUP,
  credit: CREDIT,
  decode: DECODE,
  timeoutMs: TIMEOUT_MS,
} = settings;
const FILTER = env.BENCH_FILTER ?? '';
const RHEA = env.BENCH_RHEA === '1' || env.BENCH_RHEA === 'true';
const IMPLS = ['proton-c', 'amqp-one', ...(RHEA ? ['rhea'] : [])];
const MODES = ['presettled', 'unsettled'];

/** Compiles the C programs (bench/proton-c/build.sh); resolves with their paths. */
export async function buildProtonC() {
  const { stdout } = await promisify(execFile)('bash', [join(here, 'proton-c', 'build.sh')], {
    timeout: 120_000,
  });
  const dir = stdout.trim().split('\n').pop();
  return { sender: join(dir, 'sender'), receiver: join(dir, 'receiver') };
}

/** Starts a C program; `reports` collects its JSON stdout lines, `exited` its exit. */
function startC(file, args) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const reports = [];
  const waiters = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    reports.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const name = file.split('/').pop();
  /** Resolves with the report of `type`; rejects if the program exits without one. */
  const next = (type) =>
    new Promise((resolve, reject) => {
      const look = () => {
        const m = reports.find((r) => r.type === type);
        if (m) resolve(m);
        else waiters.push(look);
      };
      look();
      exited.then(({ code, signal }) => {
        // 'close' comes after stdout has ended: every line has been seen by now.
        const m = reports.find((r) => r.type === type);
        if (m && code === 0) resolve(m);
        else
          reject(
            new Error(
              `${name} exited (${code ?? signal}) ${m ? 'with an error' : `before '${type}'`}: ${stderr.trim()}`,
            ),
          );
      });
    });
  return { child, next, exited, stderr: () => stderr };
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** One Proton C run: receiver first (port 0), then the sender; both report and exit on their own. */
export async function runProtonCOnce(
  bin,
  mode,
  { count, warmup, credit = CREDIT, decode = DECODE, timeoutMs = TIMEOUT_MS },
) {
  const rx = startC(bin.receiver, [
    '0',
    String(warmup),
    String(count),
    mode,
    String(credit),
    ...(decode ? ['decode'] : []),
  ]);
  let tx;
  try {
    const { port } = await withTimeout(rx.next('ready'), 10_000, 'proton-c receiver ready');
    const wall0 = Date.now();
    tx = startC(bin.sender, ['127.0.0.1', String(port), String(warmup), String(count), mode]);
    const [receiver, sender] = await withTimeout(
      Promise.all([rx.next('done'), tx.next('done')]),
      timeoutMs,
      `proton-c ${mode}`,
    );
    // Both close the connection once done: wait for the exits, which say whether that went cleanly.
    const exits = await withTimeout(Promise.all([rx.exited, tx.exited]), 10_000, 'proton-c exit');
    if (exits.some((e) => e.code !== 0))
      throw new Error(
        `proton-c ${mode}: exit codes ${exits.map((e) => e.code ?? e.signal)}: ${rx.stderr()}${tx.stderr()}`,
      );
    const wallMs = Date.now() - wall0;
    if (receiver.received !== warmup + count || receiver.modeMismatches !== 0)
      throw new Error(`proton-c ${mode}: receiver report ${JSON.stringify(receiver)}`);
    return {
      ...summarizeRun({ impl: 'proton-c', mode, count, warmup, wallMs, sender, receiver }),
      senderRss: { start: sender.rssStart, end: sender.rssEnd, maxKb: sender.maxRssKb },
      receiverRss: { start: receiver.rssStart, end: receiver.rssEnd, maxKb: receiver.maxRssKb },
    };
  } finally {
    for (const p of [tx, rx]) {
      if (!p || p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
}

const mb = (b) => Math.round((b / 1048576) * 10) / 10;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

async function main() {
  const t0 = Date.now();
  const loadAvgStart = loadavg()[0];
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    platform: process.platform,
  };
  const bin = await buildProtonC();
  console.error(
    `proton-c: ${COUNT} msgs x ${REPS} reps per case, warm-up ${WARMUP}, credit ${CREDIT}` +
      `${DECODE ? ', receivers decode' : ''} (${machine.cpus} CPUs, Node ${machine.node}, load ${loadAvgStart.toFixed(2)})`,
  );
  const cases = MODES.flatMap((mode) =>
    IMPLS.map((impl) => ({ impl, mode, name: `${impl} ${mode}` })),
  ).filter((c) => c.name.includes(FILTER));
  const runs = new Map(cases.map((c) => [c.name, []]));
  for (let rep = 1; rep <= REPS; rep++) {
    // Interleaved, in alternating order, so drift of the machine hits every case alike.
    const order = rep % 2 ? cases : [...cases].reverse();
    for (const c of order) {
      const r =
        c.impl === 'proton-c'
          ? await runProtonCOnce(bin, c.mode, { count: COUNT, warmup: WARMUP })
          : await runOnce(c, { count: COUNT, warmup: WARMUP });
      runs.get(c.name).push(r);
      console.log(
        JSON.stringify({
          kind: 'run',
          rep,
          ...r,
          senderRss: r.senderRss.end,
          receiverRss: r.receiverRss.end,
        }),
      );
    }
  }
  const summary = cases.map((c) => {
    const rs = runs.get(c.name);
    const med = (f) => median(rs.map(f));
    return {
      impl: c.impl,
      mode: c.mode,
      msgsPerSec: Math.round(med((r) => r.msgsPerSec)),
      runs: rs.map((r) => r.msgsPerSec),
      senderCpuPercent: round1(med((r) => r.senderCpuPercent)),
      receiverCpuPercent: round1(med((r) => r.receiverCpuPercent)),
      senderUsPerMsg: round2(med((r) => r.senderUsPerMsg)),
      receiverUsPerMsg: round2(med((r) => r.receiverUsPerMsg)),
      cpuBoundMsgsPerSec: Math.round(med((r) => 1e6 / Math.max(r.senderUsPerMsg, r.receiverUsPerMsg))),
      loadAvg1m: round2(med((r) => r.loadAvg1m)),
      senderRssEndMB: mb(med((r) => r.senderRss.end)),
      receiverRssEndMB: mb(med((r) => r.receiverRss.end)),
    };
  });
  for (const s of summary) console.log(JSON.stringify({ kind: 'case', count: COUNT, reps: REPS, ...s }));
  // amqp-one (and rhea) against Proton C: > 1 means faster, or (us/msg) more CPU per message.
  const ratios = {};
  for (const mode of MODES) {
    const p = summary.find((s) => s.impl === 'proton-c' && s.mode === mode);
    for (const s of summary.filter((x) => x.mode === mode && x.impl !== 'proton-c')) {
      if (!p) continue;
      ratios[`${s.impl}/proton-c ${mode}`] = {
        msgsPerSec: round2(s.msgsPerSec / p.msgsPerSec),
        senderUsPerMsg: round2(s.senderUsPerMsg / p.senderUsPerMsg),
        receiverUsPerMsg: round2(s.receiverUsPerMsg / p.receiverUsPerMsg),
        cpuBound: round2(s.cpuBoundMsgsPerSec / p.cpuBoundMsgsPerSec),
      };
    }
  }
  console.log(JSON.stringify({ kind: 'ratio', ratios }));

  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  console.log('');
  console.log(
    `${pad('case', 22)}${lpad('median msgs/s', 14)}${lpad('runs (msgs/s)', 30)}${lpad('snd CPU', 9)}${lpad('rcv CPU', 9)}` +
      `${lpad('snd us/msg', 11)}${lpad('rcv us/msg', 11)}${lpad('CPU-bound/s', 12)}${lpad('snd RSS', 9)}${lpad('rcv RSS', 9)}${lpad('load', 6)}`,
  );
  for (const s of summary) {
    console.log(
      `${pad(`${s.impl} ${s.mode}`, 22)}${lpad(fmt(s.msgsPerSec), 14)}${lpad(s.runs.map(fmt).join(' / '), 30)}` +
        `${lpad(`${s.senderCpuPercent}%`, 9)}${lpad(`${s.receiverCpuPercent}%`, 9)}` +
        `${lpad(s.senderUsPerMsg.toFixed(2), 11)}${lpad(s.receiverUsPerMsg.toFixed(2), 11)}${lpad(fmt(s.cpuBoundMsgsPerSec), 12)}` +
        `${lpad(`${s.senderRssEndMB}M`, 9)}${lpad(`${s.receiverRssEndMB}M`, 9)}${lpad(s.loadAvg1m.toFixed(1), 6)}`,
    );
  }
  for (const [name, r] of Object.entries(ratios)) {
    console.log(
      `${pad(name, 32)} msgs/s ${r.msgsPerSec.toFixed(2)}x   snd us/msg ${r.senderUsPerMsg.toFixed(2)}x   ` +
        `rcv us/msg ${r.receiverUsPerMsg.toFixed(2)}x   CPU-bound ${r.cpuBound.toFixed(2)}x`,
    );
  }
  const busiest = Math.max(loadAvgStart, loadavg()[0], ...summary.map((s) => s.loadAvg1m));
  console.log(
    `load average (1 min): ${loadAvgStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end, up to ${busiest.toFixed(2)} ` +
      `on ${machine.cpus} CPUs${busiest > machine.cpus * 0.75 ? ': busy machine, msgs/s depressed and noisy; us/msg steadier' : ''}`,
  );
  const totalMs = Date.now() - t0;
  console.log(`total ${(totalMs / 1000).toFixed(1)} s`);

  const dir = resultsDir;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'proton-c-latest.json');
  const record = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAvg1mStart: round2(loadAvgStart), loadAvg1mEnd: round2(loadavg()[0]) },
    settings: {
      count: COUNT,
      reps: REPS,
      warmup: WARMUP,
      credit: CREDIT,
      decode: DECODE,
      sendApi: settings.sendApi,
      impls: IMPLS,
    },
    summary,
    ratios,
    runs: Object.fromEntries(runs),
    totalMs,
  };
  let json = `${JSON.stringify(record, null, 2)}\n`;
  // Laid out the way the repository's prettier check wants it, when prettier is installed.
  try {
    const prettier = await import('prettier');
    json = await prettier.format(json, { ...(await prettier.resolveConfig(file)), filepath: file });
  } catch {
    // prettier is a dev dependency: without it the JSON is still valid
  }
  writeFileSync(file, json);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
