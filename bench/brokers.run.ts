/**
 * Through each broker: amqp-one against rhea, `amqp-one bench URL --impl amqp-one|rhea` through
 * amqp-one's own broker, Qpid Proton's C and Python example brokers and RabbitMQ 3.10 (AMQP 1.0
 * plugin), one broker at a time, presettled and unsettled.
 *
 * A benchmark, not a test: it asserts nothing about speed. Vitest is only the TypeScript runner
 * that lets it reuse the interop peers harness (test/interop/support/peers.ts); its config is
 * bench/brokers.config.ts.
 *
 *   npm run bench:brokers                              all four brokers (~9 min on 2 cores)
 *   BENCH_BROKERS=proton-c,rabbitmq npm run bench:brokers
 *   BENCH_COUNT=5000 BENCH_REPS=1 npm run bench:brokers   a quick check
 *
 * Knobs: BENCH_BROKERS (amqp-one,proton-c,proton-python,rabbitmq), BENCH_MODES
 * (presettled,unsettled), BENCH_REPS (3 runs per impl, broker and mode, interleaved, the first impl
 * alternating), BENCH_COUNT and BENCH_WARMUP (measured and warm-up messages per run; defaults per
 * broker below, the Python broker being far slower), BENCH_CREDIT (--credit, receiver prefetch),
 * BENCH_BODY_SIZE (--body-size), BENCH_STALL_TIMEOUT (--stall-timeout, seconds, default 10),
 * BENCH_TIMEOUT_MS (hard limit per run, default 300000), BENCH_BROKER_CREDIT (the credit amqp-one's
 * broker gives each client sender, its default 100).
 *
 * Every run gets a fresh queue. A run that fails (non-zero exit: lost messages, a stall, a link
 * error such as our strict receiver detaching when RabbitMQ 3.10 overruns credit, rabbitmq-server
 * #2597) is recorded with its exit code and stderr tail and left out of the medians, never hidden.
 *
 * Output: one JSON line per run, then a table per broker and mode (median end-to-end msgs/s of
 * complete runs, amqp-one/rhea ratio, median sender and receiver CPU us/msg, median latency p50 and
 * p99); everything goes to bench/results/brokers-latest.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import type { BenchResult } from '../src/bench/report.js';
import { startBroker } from '../src/broker/index.js';
import {
  REPO_ROOT,
  runCommand,
  startProtonCBroker,
  startProtonPythonBroker,
  startRabbitMQ,
} from '../test/interop/support/peers.js';

const env = process.env;
const IMPLS = ['amqp-one', 'rhea'] as const;
const REPS = Number(env.BENCH_REPS ?? 3);
const MODES = (env.BENCH_MODES ?? 'presettled,unsettled').split(',');
const TIMEOUT_MS = Number(env.BENCH_TIMEOUT_MS ?? 300_000);
const flag = (name: string, value: string | undefined): string[] => (value ? [`--${name}`, value] : []);
const EXTRA = [
  ...flag('credit', env.BENCH_CREDIT),
  ...flag('body-size', env.BENCH_BODY_SIZE),
  ...flag('stall-timeout', env.BENCH_STALL_TIMEOUT),
];

interface Started {
  /** Prefix of every run's URL: the queue name is appended. */
  base: string;
  stop(): Promise<void>;
}
interface BrokerSpec {
  count: number;
  warmup: number;
  /** Debian package whose version is the broker's. */
  pkg?: string;
  start(): Promise<Started>;
}

const BROKERS: Record<string, BrokerSpec> = {
  'amqp-one': {
    count: 50_000,
    warmup: 5_000,
    async start() {
      const credit = env.BENCH_BROKER_CREDIT ? { credit: Number(env.BENCH_BROKER_CREDIT) } : {};
      const b = await startBroker({ port: 0, sasl: { anonymous: true }, ...credit });
      return { base: `amqp://127.0.0.1:${b.port}/`, stop: () => b.close() };
    },
  },
  'proton-c': {
    count: 50_000,
    warmup: 5_000,
    pkg: 'libqpid-proton11',
    async start() {
      const p = await startProtonCBroker();
      return { base: `${p.url}/`, stop: p.stop };
    },
  },
  'proton-python': {
    count: 20_000,
    warmup: 2_000,
    pkg: 'python3-qpid-proton',
    async start() {
      const p = await startProtonPythonBroker();
      return { base: `${p.url}/`, stop: p.stop };
    },
  },
  rabbitmq: {
    count: 50_000,
    warmup: 5_000,
    pkg: 'rabbitmq-server',
    async start() {
      const p = await startRabbitMQ();
      // RabbitMQ 3.10 addresses queues as /queue/NAME (declared on first use); SASL PLAIN only.
      return { base: `amqp://guest:guest@127.0.0.1:${p.port}//queue/`, stop: p.stop };
    },
  },
};
const SELECTED = (env.BENCH_BROKERS ?? Object.keys(BROKERS).join(',')).split(',');

interface Run {
  broker: string;
  mode: string;
  impl: string;
  rep: number;
  queue: string;
  ok: boolean;
  exitCode: number | null;
  wallMs: number;
  /** Why the run failed: exit code, timeout, incomplete result, the error lines of its stderr. */
  error?: string;
  stderrTail?: string;
  result?: BenchResult;
}

const startedAt = new Date();
const loadBefore = loadavg();
const runs: Run[] = [];
const brokers: Record<string, unknown>[] = [];

async function pkgVersion(pkg: string | undefined): Promise<string | undefined> {
  if (!pkg) return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
  const r = await runCommand('dpkg-query', ['-W', '-f=${Version}', pkg], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function benchOnce(broker: string, url: string, mode: string, impl: string, rep: number): Promise<Run> {
  const { count, warmup } = settings(broker);
  const queue = url.slice(url.lastIndexOf('/') + 1);
  // prettier-ignore
  const r = await runCommand(process.execPath, [
    join(REPO_ROOT, 'dist/cli/main.js'), 'bench', url, '--impl', impl, '--mode', mode,
    '--count', String(count), '--warmup', String(warmup), '--json', '--quiet', ...EXTRA,
  ], { timeoutMs: TIMEOUT_MS, cwd: REPO_ROOT });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  const result = line ? (JSON.parse(line) as BenchResult) : undefined;
  const ok = r.code === 0 && result?.complete === true;
  const run: Run = { broker, mode, impl, rep, queue, ok, exitCode: r.code, wallMs: Math.round(r.durationMs) };
  if (!ok) {
    const why = [`exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ', timed out' : ''}`];
    if (result) why.push(`received ${result.received}/${result.sent}, lost ${result.lost}`);
    // The error lines (e.g. "LinkError: ...", "amqp-one bench: ..."), without the stack traces.
    const errors = r.stderr.split('\n').filter((l) => /^\w*(Error|bench\b)[\w ]*:/.test(l));
    why.push(...new Set(errors.length ? errors : ['(no error line on stderr)']));
    run.error = why.join('; ');
    run.stderrTail = r.stderr.slice(-4000);
  }
  if (result) run.result = result;
  return run;
}

function settings(broker: string): { count: number; warmup: number } {
  const spec = BROKERS[broker]!;
  return { count: Number(env.BENCH_COUNT ?? spec.count), warmup: Number(env.BENCH_WARMUP ?? spec.warmup) };
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row {
  broker: string;
  mode: string;
  impl: string;
  ok: number;
  runs: number;
  rate: number;
  ratioVsRhea?: number;
  senderUsPerMsg: number;
  receiverUsPerMsg: number;
  p50Ms: number;
  p99Ms: number;
}

function summarize(broker: string, mode: string): Row[] {
  const rows = IMPLS.map((impl): Row => {
    const mine = runs.filter((r) => r.broker === broker && r.mode === mode && r.impl === impl);
    const good = mine.filter((r) => r.ok).map((r) => r.result!);
    const med = (f: (x: BenchResult) => number): number => median(good.map(f));
    return {
      broker,
      mode,
      impl,
      ok: good.length,
      runs: mine.length,
      rate: Math.round(med((x) => x.rate)),
      senderUsPerMsg: med((x) => x.sender.cpuUsPerMsg),
      receiverUsPerMsg: med((x) => x.receiver.cpuUsPerMsg),
      p50Ms: med((x) => x.latencyMs.p50),
      p99Ms: med((x) => x.latencyMs.p99),
    };
  });
  rows[0]!.ratioVsRhea = Math.round((rows[0]!.rate / rows[1]!.rate) * 100) / 100;
  return rows;
}

function table(rows: Row[]): string {
  const { broker, mode } = rows[0]!;
  const { count, warmup } = settings(broker);
  const fmt = (x: number | undefined, d = 0): string =>
    x === undefined
      ? ''
      : Number.isFinite(x)
        ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
        : '-';
  const cols = ['impl', 'ok', 'msgs/s', 'vs rhea', 'snd us/msg', 'rcv us/msg', 'p50 ms', 'p99 ms'];
  const cells = rows.map((r) => [
    r.impl,
    `${r.ok}/${r.runs}`,
    fmt(r.rate),
    r.ratioVsRhea === undefined ? '' : fmt(r.ratioVsRhea, 2) + (Number.isFinite(r.ratioVsRhea) ? 'x' : ''),
    fmt(r.senderUsPerMsg, 2),
    fmt(r.receiverUsPerMsg, 2),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
  ]);
  const w = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (xs: string[]): string =>
    xs.map((x, i) => (i ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join('  ');
  const title = `${broker} broker, ${mode}: ${fmt(count)} msgs + ${fmt(warmup)} warm-up, medians of complete runs`;
  return [title, line(cols), ...cells.map(line)].join('\n');
}

describe('amqp-one vs rhea through each broker', () => {
  for (const name of SELECTED) {
    it(name, async () => {
      const spec = BROKERS[name];
      if (!spec) throw new Error(`unknown broker ${name}; known: ${Object.keys(BROKERS).join(', ')}`);
      const t0 = Date.now();
      const entry: Record<string, unknown> = { name, version: await pkgVersion(spec.pkg), ...settings(name) };
      brokers.push(entry);
      let started: Started;
      try {
        started = await spec.start();
      } catch (err) {
        entry.startError = (err as Error).message.slice(0, 4000);
        throw err;
      }
      entry.startMs = Date.now() - t0;
      try {
        for (const mode of MODES) {
          for (let rep = 0; rep < REPS; rep++) {
            const order = rep % 2 ? [...IMPLS].reverse() : IMPLS;
            for (const impl of order) {
              const queue = `bench-${mode}-${impl}-${rep}-${randomBytes(3).toString('hex')}`;
              const run = await benchOnce(name, started.base + queue, mode, impl, rep);
              runs.push(run);
              console.log(JSON.stringify(run));
            }
          }
        }
      } finally {
        await started.stop();
        entry.wallS = Math.round((Date.now() - t0) / 1000);
      }
    });
  }

  afterAll(() => {
    const summary = brokers.flatMap((b) => MODES.map((m) => summarize(b.name as string, m)));
    console.log(`\n${summary.map(table).join('\n\n')}\n`);
    const failures = runs.filter((r) => !r.ok);
    if (failures.length) {
      console.log(`${failures.length} of ${runs.length} runs failed:`);
      for (const f of failures) console.log(`  ${f.broker} ${f.mode} ${f.impl} #${f.rep}: ${f.error}`);
    }
    const out = join(REPO_ROOT, 'bench/results/brokers-latest.json');
    mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
    const report = {
      startedAt: startedAt.toISOString(),
      wallS: Math.round((Date.now() - startedAt.getTime()) / 1000),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      loadAvgBefore: loadBefore,
      loadAvgAfter: loadavg(),
      settings: { reps: REPS, modes: MODES, extraArgs: EXTRA, timeoutMs: TIMEOUT_MS },
      brokers,
      summary: summary.flat(),
      runs,
    };
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written to ${out}`);
  });
});
