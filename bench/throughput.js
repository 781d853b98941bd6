// End-to-end throughput benchmark: amqp-one -> amqp-one and rhea -> rhea over loopback TCP, in two
// processes (a receiver/server and a sender/client, each forked, so each has its own core), with
// the typical IoT telemetry message (bench/throughput-common.js).
//
//   npm run bench:throughput                    the comparison (~1-2 min)
//   BENCH_COUNT=50000 node bench/throughput.js  fewer messages per run (default 200000)
//   BENCH_RSS=1 npm run bench:throughput        also the 1,000,000-message RSS run (amqp-one, presettled)
//   BENCH_RSS=only node bench/throughput.js     only that RSS run
//   BENCH_PROFILE=/tmp/prof node bench/throughput.js
//                                               one amqp-one run per mode with `node --cpu-prof` on
//                                               both children; profiles go to that directory
//                                               (summarise with bench/cpuprofile-summary.js)
//
// Other knobs: BENCH_REPS (3), BENCH_WARMUP (messages before the measured interval, default 20000),
// BENCH_CREDIT (receiver prefetch window, both libraries, default 1000), BENCH_WINDOW (amqp-one
// sender's outstanding sends, default 4096), BENCH_MAX_QUEUED (amqp-one maxQueued, default 1024),
// BENCH_DECODE=1 (receivers decode every message: rhea always does, amqp-one only when asked),
// BENCH_FILTER=rhea (only cases whose name contains it), BENCH_RSS_COUNT (1000000), BENCH_IO_STATS=1
// (count socket writes/reads per message in both children; adds a little overhead),
// BENCH_CHILD_ARGS="--max-semi-space-size=64" (node flags for both children),
// BENCH_ALLOC_PROFILE=<dir> (sampling heap profile of all allocations over the measured interval,
// per child; summarise with bench/throughput-allocs.js),
// BENCH_GC_STATS=1 (GC pauses by kind in both children, over the measured interval),
// BENCH_PREENCODED=1 (senders send the encoded bytes: the engine and transport without the codec),
// BENCH_SEND_API=promise (the amqp-one sender awaits send()'s promises instead of post()'s callbacks),
// BENCH_DIST=<dir> (amqp-one from another build, e.g. a copy of dist/ with a change, to compare).
//
// Measured interval: from the moment the warm-up messages are done to the moment all are. For
// presettled runs "done" is the receiver's arrival count; for unsettled runs it is the sender's
// count of accepted outcomes (a full round trip). Each case runs BENCH_REPS times, interleaved
// with the other cases, and the MEDIAN msgs/s is reported.
//
// Output: one JSON line per run and per case on stdout, then a table; everything is also written
// to bench/results/throughput-latest.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, round1, round2, runOnce, settings } from './throughput-run.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const {
  count: COUNT,
  reps: REPS,
  warmup: WARMUP,
  credit: CREDIT,
  window: WINDOW,
  maxQueued: MAX_QUEUED,
} = settings;
const { preencoded: PREENCODED, decode: DECODE } = settings;
const FILTER = env.BENCH_FILTER ?? '';
const RSS_ONLY = env.BENCH_RSS === 'only';
const RSS = RSS_ONLY || env.BENCH_RSS === '1' || env.BENCH_RSS === 'true';
const RSS_COUNT = Number(env.BENCH_RSS_COUNT ?? 1_000_000);
const PROFILE = env.BENCH_PROFILE;

const CASES = [
  { impl: 'amqp-one', mode: 'presettled' },
  { impl: 'rhea', mode: 'presettled' },
  { impl: 'amqp-one', mode: 'unsettled' },
  { impl: 'rhea', mode: 'unsettled' },
].map((c) => ({ ...c, name: `${c.impl} ${c.mode}` }));

const mb = (b) => (b / 1048576).toFixed(1);
const fmt = (n) => Math.round(n).toLocaleString('en-US');

async function comparison() {
  const cases = CASES.filter((c) => c.name.includes(FILTER));
  const runs = new Map(cases.map((c) => [c.name, []]));
  for (let rep = 1; rep <= REPS; rep++) {
    // Interleaved, and in alternating order, so drift of the machine hits every case alike.
    const order = rep % 2 ? cases : [...cases].reverse();
    for (const c of order) {
      const r = await runOnce(c, { count: COUNT, warmup: WARMUP });
      runs.get(c.name).push(r);
      console.log(JSON.stringify({ kind: 'run', rep, ...r, senderRss: undefined, receiverRss: undefined }));
    }
  }
  const summary = cases.map((c) => {
    const rs = runs.get(c.name);
    return {
      impl: c.impl,
      mode: c.mode,
      msgsPerSec: Math.round(median(rs.map((r) => r.msgsPerSec))),
      runs: rs.map((r) => r.msgsPerSec),
      senderCpuPercent: round1(median(rs.map((r) => r.senderCpuPercent))),
      receiverCpuPercent: round1(median(rs.map((r) => r.receiverCpuPercent))),
      senderUsPerMsg: round2(median(rs.map((r) => r.senderUsPerMsg))),
      receiverUsPerMsg: round2(median(rs.map((r) => r.receiverUsPerMsg))),
      // What one core per process would allow if the busier side were the only limit.
      cpuBoundMsgsPerSec: Math.round(
        median(rs.map((r) => 1e6 / Math.max(r.senderUsPerMsg, r.receiverUsPerMsg))),
      ),
      loadAvg1m: round2(median(rs.map((r) => r.loadAvg1m))),
      senderRssEndMB: Number(mb(median(rs.map((r) => r.senderRss.end)))),
      receiverRssEndMB: Number(mb(median(rs.map((r) => r.receiverRss.end)))),
    };
  });
  for (const s of summary) console.log(JSON.stringify({ kind: 'case', count: COUNT, reps: REPS, ...s }));
  const ratios = {};
  const cpuRatios = {};
  for (const mode of ['presettled', 'unsettled']) {
    const a = summary.find((s) => s.impl === 'amqp-one' && s.mode === mode);
    const b = summary.find((s) => s.impl === 'rhea' && s.mode === mode);
    if (a && b) {
      ratios[mode] = round2(a.msgsPerSec / b.msgsPerSec);
      cpuRatios[mode] = round2(a.cpuBoundMsgsPerSec / b.cpuBoundMsgsPerSec);
    }
  }
  if (Object.keys(ratios).length)
    console.log(JSON.stringify({ kind: 'ratio', target: 5, msgsPerSec: ratios, cpuBound: cpuRatios }));
  return { summary, ratios, cpuRatios, runs: Object.fromEntries(runs) };
}

async function rssRun() {
  const every = 100_000;
  const r = await runOnce(
    { impl: 'amqp-one', mode: 'presettled' },
    { count: RSS_COUNT, warmup: 0, rssEvery: every },
  );
  const growth = (samples) => {
    // Start: the first sample (after the first 100k, the warm-up); end: the last one.
    const first = samples[0];
    const last = samples[samples.length - 1];
    const mid = samples[Math.floor((samples.length - 1) / 2)];
    return {
      startAt: first.at,
      endAt: last.at,
      startMB: Number(mb(first.rss)),
      endMB: Number(mb(last.rss)),
      peakMB: Number(mb(Math.max(...samples.map((s) => s.rss)))),
      growthPercent: round1(((last.rss - first.rss) / first.rss) * 100),
      // A leak keeps growing; a one-off step (heap or allocator sizing) does not: the second half tells.
      secondHalfGrowthPercent: round1(((last.rss - mid.rss) / mid.rss) * 100),
      samplesMB: samples.map((s) => Number(mb(s.rss))),
      heapTotalMB: samples.map((s) => Number(mb(s.heapTotal))),
      heapUsedMB: samples.map((s) => Number(mb(s.heapUsed))),
      externalMB: samples.map((s) => Number(mb(s.external))),
    };
  };
  const out = {
    kind: 'rss',
    impl: 'amqp-one',
    mode: 'presettled',
    count: RSS_COUNT,
    msgsPerSec: r.msgsPerSec,
    targetGrowthPercent: 10,
    sender: growth(r.senderRss.samples),
    receiver: growth(r.receiverRss.samples),
  };
  console.log(JSON.stringify(out));
  return out;
}

async function profile(dir) {
  mkdirSync(dir, { recursive: true });
  for (const mode of ['presettled', 'unsettled']) {
    const r = await runOnce({ impl: 'amqp-one', mode }, { count: COUNT, warmup: WARMUP, profileDir: dir });
    console.log(JSON.stringify({ kind: 'profile-run', ...r, senderRss: undefined, receiverRss: undefined }));
  }
  console.log(`profiles in ${dir}: amqp-one-<mode>-<sender|receiver>.cpuprofile`);
  console.log(`summarise: node bench/cpuprofile-summary.js ${dir}/amqp-one-presettled-sender.cpuprofile`);
}

const t0 = Date.now();
const loadAvgStart = loadavg()[0];
const machine = {
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  platform: process.platform,
};
console.error(
  `throughput: ${COUNT} msgs x ${REPS} reps per case, warm-up ${WARMUP}, credit ${CREDIT}, window ${WINDOW}, ` +
    `maxQueued ${MAX_QUEUED}${DECODE ? ', receivers decode' : ''}${PREENCODED ? ', pre-encoded messages' : ''}` +
    `, amqp-one sends with ${settings.sendApi === 'promise' ? 'send()' : 'post()'}` +
    `${env.BENCH_DIST ? `, amqp-one from ${env.BENCH_DIST}` : ''} (${machine.cpus} CPUs, Node ${machine.node})`,
);

if (env.BENCH_ALLOC_PROFILE) mkdirSync(env.BENCH_ALLOC_PROFILE, { recursive: true });
if (PROFILE) {
  await profile(PROFILE);
  process.exit(0);
}

const result = RSS_ONLY ? { summary: [], ratios: {}, cpuRatios: {}, runs: {} } : await comparison();
const rss = RSS ? await rssRun() : undefined;

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log('');
console.log(
  `${pad('case', 22)}${lpad('median msgs/s', 14)}${lpad('runs (msgs/s)', 28)}${lpad('snd CPU', 9)}${lpad('rcv CPU', 9)}` +
    `${lpad('snd us/msg', 11)}${lpad('rcv us/msg', 11)}${lpad('CPU-bound/s', 12)}${lpad('snd RSS', 9)}${lpad('rcv RSS', 9)}${lpad('load', 6)}`,
);
for (const s of result.summary) {
  console.log(
    `${pad(`${s.impl} ${s.mode}`, 22)}${lpad(fmt(s.msgsPerSec), 14)}${lpad(s.runs.map(fmt).join(' / '), 28)}` +
      `${lpad(`${s.senderCpuPercent}%`, 9)}${lpad(`${s.receiverCpuPercent}%`, 9)}` +
      `${lpad(s.senderUsPerMsg.toFixed(2), 11)}${lpad(s.receiverUsPerMsg.toFixed(2), 11)}${lpad(fmt(s.cpuBoundMsgsPerSec), 12)}` +
      `${lpad(`${s.senderRssEndMB}M`, 9)}${lpad(`${s.receiverRssEndMB}M`, 9)}${lpad(s.loadAvg1m.toFixed(1), 6)}`,
  );
}
for (const [mode, x] of Object.entries(result.ratios)) {
  const c = result.cpuRatios[mode];
  console.log(
    `${pad(`amqp-one/rhea ${mode}`, 22)}${lpad(`${x.toFixed(2)}x`, 14)}   (target >= 5x: ${x >= 5 ? 'met' : 'NOT met'}; ` +
      `CPU-bound ratio ${c.toFixed(2)}x)`,
  );
}
if (rss) {
  for (const role of ['sender', 'receiver']) {
    const g = rss[role];
    console.log(
      `RSS ${role} over ${fmt(rss.count)} presettled: ${g.startMB} MB at ${fmt(g.startAt)} -> ${g.endMB} MB at ${fmt(g.endAt)} ` +
        `(${g.growthPercent >= 0 ? '+' : ''}${g.growthPercent}%, target < 10%: ${g.growthPercent < 10 ? 'met' : 'NOT met'}; ` +
        `second half ${g.secondHalfGrowthPercent >= 0 ? '+' : ''}${g.secondHalfGrowthPercent}%; peak ${g.peakMB} MB)`,
    );
  }
}
const totalMs = Date.now() - t0;
const loads = result.summary.map((x) => x.loadAvg1m);
const busiest = Math.max(loadAvgStart, loadavg()[0], ...loads);
if (busiest > machine.cpus * 0.75) {
  console.log(
    `NOTE: the machine was busy (1-min load average up to ${busiest.toFixed(1)} on ${machine.cpus} CPUs): absolute msgs/s ` +
      'are depressed and noisy; the CPU us/msg columns and ratios are steadier.',
  );
}
console.log(`total ${(totalMs / 1000).toFixed(1)} s`);

const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, 'throughput-latest.json');
let previous;
try {
  previous = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  previous = undefined;
}
const record = {
  date: new Date().toISOString(),
  machine: { ...machine, loadAvg1mStart: round2(loadAvgStart), loadAvg1mEnd: round2(loadavg()[0]) },
  settings: {
    count: COUNT,
    reps: REPS,
    warmup: WARMUP,
    credit: CREDIT,
    window: WINDOW,
    maxQueued: MAX_QUEUED,
    decode: DECODE,
    preencoded: PREENCODED,
    sendApi: settings.sendApi,
    dist: env.BENCH_DIST,
  },
  summary: result.summary,
  ratios: result.ratios,
  cpuBoundRatios: result.cpuRatios,
  rss,
  runs: result.runs,
  totalMs,
};
// BENCH_RSS=only refreshes the RSS part of the last full run's results and keeps the rest;
// Without BENCH_RSS, the last RSS run (with its own date) is kept.
const out =
  RSS_ONLY && previous
    ? { ...previous, rss, rssDate: record.date }
    : { ...record, rss: rss ?? previous?.rss, rssDate: rss ? record.date : previous?.rssDate };
let json = `${JSON.stringify(out, null, 2)}\n`;
// Formatted the way the repository's prettier check wants it, when prettier is installed.
try {
  const prettier = await import('prettier');
  json = await prettier.format(json, { ...(await prettier.resolveConfig(file)), filepath: file });
} catch {
  // prettier is a dev dependency: without it the JSON is still valid, just laid out differently
}
writeFileSync(file, json);
