// AMQP over WebSockets against TCP: `amqp-one bench` peer to peer, once over TCP and once with
// --websocket, for amqp-one and rhea (whose WebSockets run on the ws package), in both modes. The
// runs of each transport are interleaved, and each figure is the median of BENCH_REPS runs.
//
//   npm run bench:websocket                      the comparison (~3-5 min)
//   BENCH_COUNT=50000 node bench/websocket.js    fewer messages per run (default 100000)
//
// Output: a table of medians (WebSocket/TCP ratio per implementation and mode), and everything in
// bench/results/websocket-latest.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_RESULTS_DIR: where the -latest.json goes (npm run bench:all keeps quick runs apart).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
const CLI = join(here, '..', 'dist', 'cli', 'main.js');
const COUNT = Number(process.env.BENCH_COUNT ?? 100_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const WARMUP = Math.round(COUNT / 10);

/** One `amqp-one bench --impl both` run: its two results (amqp-one, rhea). */
function run(mode, websocket) {
  const args = [CLI, 'bench', '--count', String(COUNT), '--warmup', String(WARMUP), '--mode', mode];
  args.push('--impl', 'both', '--json', '--quiet');
  if (websocket) args.push('--websocket');
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const started = new Date().toISOString();
const loadBefore = loadavg();
const runs = [];
for (const mode of ['presettled', 'unsettled']) {
  for (let rep = 0; rep < REPS; rep++) {
    for (const websocket of [false, true]) {
      for (const r of run(mode, websocket)) {
        const row = { mode, transport: websocket ? 'websocket' : 'tcp', rep, ...r };
        runs.push(row);
        console.error(`${mode} ${row.transport} ${r.impl}: ${r.rate} msg/s`);
      }
    }
  }
}

const rate = (r) => r.rate;
const rows = [];
for (const mode of ['presettled', 'unsettled'])
  for (const impl of ['amqp-one', 'rhea']) {
    const pick = (transport) =>
      median(runs.filter((r) => r.mode === mode && r.impl === impl && r.transport === transport).map(rate));
    const tcp = pick('tcp');
    const ws = pick('websocket');
    rows.push({ mode, impl, tcp: Math.round(tcp), websocket: Math.round(ws), ratio: +(ws / tcp).toFixed(2) });
  }

console.log('| mode | implementation | TCP msg/s | WebSocket msg/s | WebSocket/TCP |');
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.mode} | ${r.impl} | ${r.tcp.toLocaleString('en-US')} | ${r.websocket.toLocaleString('en-US')} | ${r.ratio}x |`,
  );

mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, 'websocket-latest.json'),
  JSON.stringify(
    { started, count: COUNT, reps: REPS, loadBefore, loadAfter: loadavg(), rows, runs },
    null,
    2,
  ),
);
