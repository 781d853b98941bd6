// RSS over a long run through amqp-one's own broker, in both modes: `amqp-one bench URL` against a
// fresh `amqp-one broker` per mode, with the broker's RSS sampled beside the sender's and
// receiver's. Memory that grows with the messages passed shows here as a line that keeps rising.
//
//   npm run bench:rss-broker                         10,000,000 messages per mode (~10 min)
//   BENCH_COUNT=1000000 node bench/rss-broker.js     fewer
//
// The broker's RSS is read from /proc/<pid>/status once a second (Linux only), and placed on the
// messages axis by the bench's own clock (its result's seriesOrigin) against the receiver's
// samples. Writes bench/results/rss-broker-latest.json; `npm run bench:plots` draws it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
const CLI = join(here, '..', 'dist', 'cli', 'main.js');
const COUNT = Number(process.env.BENCH_COUNT ?? 10_000_000);
const SAMPLE_MS = 1000;

function rssOf(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** A fresh broker on a free port; resolves once it listens. */
function startBroker() {
  const child = spawn(process.execPath, [CLI, 'broker', '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the broker exited (${code}) before it listened`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const e = JSON.parse(line);
      if (e.event === 'listening') resolve({ child, port: e.port });
    });
  });
}

/** The receiver's messages done at `ms` on the bench's clock, by linear interpolation. */
function messagesAt(series, ms) {
  if (ms <= series[0].ms) return series[0].n;
  for (let i = 1; i < series.length; i++) {
    const a = series[i - 1];
    const b = series[i];
    if (ms <= b.ms) return Math.round(a.n + ((b.n - a.n) * (ms - a.ms)) / (b.ms - a.ms));
  }
  return series[series.length - 1].n;
}

async function runMode(mode) {
  const { child, port } = await startBroker();
  const idleRssBytes = rssOf(child.pid);
  const samples = [];
  let brokerGone;
  child.once('exit', (code, signal) => (brokerGone = `the broker exited (${code ?? signal}) during the run`));
  const timer = setInterval(() => {
    if (brokerGone === undefined) samples.push({ at: Date.now(), rssBytes: rssOf(child.pid) });
  }, SAMPLE_MS);
  try {
    const args = [CLI, 'bench', `amqp://127.0.0.1:${port}/rss-${mode}`, '--count', String(COUNT)];
    args.push('--mode', mode, '--json', '--quiet');
    // Asynchronous, so that the sampling timer keeps running while the bench does.
    const out = await new Promise((resolve, reject) => {
      const b = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      b.stdout.on('data', (d) => (text += d));
      // 'close', not 'exit': the result is only whole once stdout has been read to its end.
      b.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`bench exited ${code}`))));
    });
    if (brokerGone) throw new Error(brokerGone);
    const result = JSON.parse(out.trim());
    if (!result.complete || result.lost) throw new Error(`${mode}: ${result.lost} messages lost`);
    const rx = result.series.receiver;
    const last = rx[rx.length - 1].ms;
    const broker = samples
      .map((s) => ({ ms: s.at - result.seriesOrigin, rssBytes: s.rssBytes }))
      .filter((s) => s.ms >= 0 && s.ms <= last)
      .map((s) => ({ ...s, n: messagesAt(rx, s.ms) }));
    return { mode, result, broker: { idleRssBytes, samples: broker } };
  } finally {
    clearInterval(timer);
    child.kill();
  }
}

const MiB = 1048576;
/** RSS (MiB) of a series at 10 %, 50 %, 90 % of the messages and at the end. */
function checkpoints(series) {
  const end = series[series.length - 1].n;
  const at = (f) => series.find((s) => s.n >= f * end) ?? series[series.length - 1];
  return [0.1, 0.5, 0.9, 1].map((f) => Math.round(at(f).rssBytes / MiB));
}

execFileSync('npm', ['run', '-s', 'build'], { cwd: join(here, '..'), stdio: 'inherit' });
const loadBefore = loadavg()[0];
const runs = [];
for (const mode of ['presettled', 'unsettled']) {
  const r = await runMode(mode);
  runs.push(r);
  const row = (name, s) => `  ${name.padEnd(9)} RSS at 10/50/90/100 %: ${checkpoints(s).join(' / ')} MiB`;
  console.log(
    `${mode}: ${r.result.rate.toLocaleString('en-US')} msg/s end to end, p99 ${r.result.latencyMs.p99} ms`,
  );
  console.log(row('sender', r.result.series.sender));
  console.log(row('receiver', r.result.series.receiver));
  console.log(row('broker', r.broker.samples));
}
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, 'rss-broker-latest.json');
writeFileSync(
  file,
  `${JSON.stringify({ count: COUNT, loadAvg1m: { before: loadBefore, after: loadavg()[0] }, runs }, null, 1)}\n`,
);
console.log(file);
