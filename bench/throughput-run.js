// Runs one end-to-end throughput case (bench/throughput.js, bench/throughput-compare.js): forks the
// receiver process, then the sender process, lets the sender go, and collects both reports.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;

/** Settings from the environment (see bench/throughput.js for what each does). */
export const settings = {
  count: Number(env.BENCH_COUNT ?? 200_000),
  reps: Number(env.BENCH_REPS ?? 3),
  warmup: Number(env.BENCH_WARMUP ?? 20_000),
  credit: Number(env.BENCH_CREDIT ?? 1000),
  window: Number(env.BENCH_WINDOW ?? 4096),
  maxQueued: Number(env.BENCH_MAX_QUEUED ?? 1024),
  decode: env.BENCH_DECODE === '1' || env.BENCH_DECODE === 'true',
  preencoded: env.BENCH_PREENCODED === '1' || env.BENCH_PREENCODED === 'true',
  /** How the amqp-one sender sends: 'post' (a callback per message) or 'promise' (send()). */
  sendApi: env.BENCH_SEND_API ?? 'post',
  ioStats: env.BENCH_IO_STATS === '1',
  gcStats: env.BENCH_GC_STATS === '1',
  dist: env.BENCH_DIST,
  timeoutMs: Number(env.BENCH_TIMEOUT_MS ?? 120_000),
  profileIntervalUs: Number(env.BENCH_PROF_INTERVAL_US ?? 250),
  /** Extra node flags for both children, e.g. "--max-semi-space-size=64" or "--trace-gc". */
  childArgs: (env.BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean),
};

/** Forks a child with its config; resolves with it once it says `readyType`. */
function start(script, config, childEnv, execArgv, readyType) {
  const child = fork(join(here, script), [], {
    env: { ...env, ...childEnv, THROUGHPUT_CONFIG: JSON.stringify(config) },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else messages.push(m);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const next = (type) => {
    const i = messages.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      waiters.push({ type, resolve });
      exited.then(({ code, signal }) =>
        reject(new Error(`${script} exited (${code ?? signal}) before '${type}'`)),
      );
    });
  };
  return next(readyType).then((first) => ({ child, first, next, exited }));
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

/** One run: fork the receiver, then the sender, send, collect both reports, stop both. */
export async function runOnce({ impl, mode }, o) {
  const s = { ...settings, ...o };
  const { count, warmup, rssEvery = 0, profileDir } = s;
  const common = { impl, mode, warmup, count, rssEvery };
  const childEnv = {
    BENCH_DIST: s.dist ?? '',
    BENCH_IO_STATS: s.ioStats ? '1' : '',
    BENCH_GC_STATS: s.gcStats ? '1' : '',
  };
  const execArgv = (role) => [...s.childArgs, ...profileArgs(role)];
  const profileArgs = (role) =>
    profileDir
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=${impl}-${mode}-${role}.cpuprofile`,
          `--cpu-prof-interval=${s.profileIntervalUs}`,
        ]
      : [];
  const rx = await start(
    'throughput-receiver.js',
    { ...common, credit: s.credit, decode: s.decode },
    childEnv,
    execArgv('receiver'),
    'ready',
  );
  let tx;
  try {
    tx = await start(
      'throughput-sender.js',
      {
        ...common,
        port: rx.first.port,
        window: s.window,
        maxQueued: s.maxQueued,
        preencoded: s.preencoded,
        sendApi: s.sendApi,
      },
      childEnv,
      execArgv('sender'),
      'attached',
    );
    const wall0 = Date.now();
    tx.child.send({ type: 'go' });
    const [receiver, sender] = await withTimeout(
      Promise.all([rx.next('done'), tx.next('done')]),
      s.timeoutMs,
      `${impl} ${mode}`,
    );
    const wallMs = Date.now() - wall0;
    return {
      ...summarizeRun({ impl, mode, count, warmup, wallMs, sender, receiver }),
      ...(s.ioStats ? { senderIo: perMsg(sender.io, count), receiverIo: perMsg(receiver.io, count) } : {}),
      ...(s.gcStats ? { senderGc: sender.gc, receiverGc: receiver.gc } : {}),
      senderRss: { start: sender.rssStart, end: sender.rssEnd, samples: sender.rss },
      receiverRss: { start: receiver.rssStart, end: receiver.rssEnd, samples: receiver.rss },
    };
  } finally {
    // Sender first (it closes its connection), then the receiver; kill whatever does not exit.
    for (const p of [tx, rx]) {
      if (!p) continue;
      if (p.child.connected) p.child.send({ type: 'exit' });
      const gone = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r(undefined), 3000))]);
      if (!gone) p.child.kill('SIGKILL');
    }
  }
}

/**
 * The figures of one run from the two processes' reports (also used for the Proton C programs,
 * whose reports have the same fields). Presettled runs are timed by the receiver's arrivals,
 * unsettled ones by the sender's accepted outcomes (a full round trip).
 */
export function summarizeRun({ impl, mode, count, warmup, wallMs, sender, receiver }) {
  const measured = mode === 'presettled' ? receiver : sender;
  return {
    impl,
    mode,
    count,
    warmup,
    msgsPerSec: Math.round(measured.rate),
    measuredMs: Math.round(measured.ms),
    wallMs,
    accepted: sender.accepted,
    otherOutcomes: sender.otherOutcomes,
    senderRate: Math.round(sender.rate),
    receiverRate: Math.round(receiver.rate),
    senderCpuPercent: round1(sender.cpuPercent),
    receiverCpuPercent: round1(receiver.cpuPercent),
    // CPU time per message over each process's measured interval: robust on a busy machine.
    senderUsPerMsg: round2(((sender.cpuUserMs + sender.cpuSystemMs) * 1000) / count),
    receiverUsPerMsg: round2(((receiver.cpuUserMs + receiver.cpuSystemMs) * 1000) / count),
    loadAvg1m: round2(loadavg()[0]),
  };
}

export const round1 = (x) => Math.round(x * 10) / 10;
export const round2 = (x) => Math.round(x * 100) / 100;
/** Socket calls per measured message, and average bytes per call. */
const perMsg = (io, count) => ({
  writesPerMsg: round2(io.writes / count),
  bytesPerWrite: Math.round(io.writeBytes / Math.max(1, io.writes)),
  readsPerMsg: round2(io.reads / count),
  bytesPerRead: Math.round(io.readBytes / Math.max(1, io.reads)),
});
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
