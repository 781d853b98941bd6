/**
 * Runs one `amqp-one bench` scenario: forks the receiver (peer to peer it listens; through a
 * broker it attaches first), then the sender, lets the sender go, relays progress, and collects
 * both reports into one result. A run that stops making progress is finished early and reported
 * as incomplete with the count that was lost, never as a success.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AmqpOneError } from '../codec/errors.js';
import { now, type Progress, type WorkerReport } from './meter.js';
import type { BenchOptions, WorkerConfig } from './options.js';
import { summarize, type BenchResult, type Sample } from './report.js';

/**
 * The most samples kept per process: past it, every other one is dropped (a day-long --duration
 * run still makes a result of a few hundred kilobytes, at half the time resolution per halving).
 */
export const MAX_SAMPLES = 2000;

/** Appends a sample, thinning the series to half when it is full. */
function keep(samples: Sample[], s: Sample): void {
  samples.push(s);
  if (samples.length <= MAX_SAMPLES) return;
  let j = 0;
  for (let i = 0; i < samples.length; i += 2) samples[j++] = samples[i]!;
  samples.length = j;
}

export interface RunHooks {
  /** Called every progressMs with the latest figures of both processes. */
  onProgress?(p: { sender?: Progress; receiver?: Progress; startedAt: number }): void;
}

interface Worker {
  child: ChildProcess;
  /** Sends to the worker if it is still there (a dead one is reported by its exit instead). */
  tell(m: object): void;
  next<T extends object>(type: string): Promise<T>;
  latest?: Progress;
  /** Every progress report, as ms since the run started. */
  samples: Sample[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

function startWorker(cfg: WorkerConfig, origin: number, onProgress: () => void): Worker {
  const child = fork(WORKER, [], {
    env: { ...process.env, AMQP_ONE_BENCH_WORKER: JSON.stringify(cfg) },
    // Not the parent's flags; AMQP_ONE_BENCH_NODE_ARGS adds some (e.g. --cpu-prof to profile a run).
    execArgv: (process.env.AMQP_ONE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queued: { type: string }[] = [];
  const waiters: { type: string; resolve(m: object): void; reject(e: Error): void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // Sending to a worker that just died fails asynchronously too: its exit is what gets reported.
  child.on('error', () => undefined);
  const w: Worker = {
    child,
    exited,
    samples: [],
    tell(m: object): void {
      if (child.connected) child.send(m);
    },
    next<T extends object>(type: string): Promise<T> {
      const i = queued.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(queued.splice(i, 1)[0] as T);
      // Gone already (it may die while the parent waits on the other worker): nothing will come.
      if (died) return Promise.reject(died);
      return new Promise<T>((resolve, reject) =>
        waiters.push({ type, resolve: resolve as (m: object) => void, reject }),
      );
    },
  };
  child.on('message', (m: { type: string; progress?: Progress }) => {
    if (m.type === 'progress') {
      const p = (w.latest = m.progress!);
      keep(w.samples, { ms: round(p.at - origin), n: p.n, cpuMs: round(p.cpuMs), rssBytes: p.rssBytes });
      return onProgress();
    }
    const i = waiters.findIndex((x) => x.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
    else queued.push(m);
  });
  let died: Error | undefined;
  void exited.then(({ code, signal }) => {
    died = new AmqpOneError(
      'AMQP_BENCH_WORKER_EXITED',
      `the bench ${cfg.role} exited (${code ?? signal}) before it reported`,
    );
    for (const x of waiters.splice(0)) x.reject(died);
  });
  return w;
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** A process's samples, ending with the instant it reported (so a short run has two points). */
function seriesOf(w: Worker, r: WorkerReport, origin: number): Sample[] {
  const last: Sample = { ms: round(r.t1 - origin), n: r.total, cpuMs: round(r.cpuMs), rssBytes: r.rssBytes };
  return [...w.samples.filter((s) => s.ms < last.ms), last];
}

async function stop(w: Worker | undefined): Promise<void> {
  if (!w) return;
  w.tell({ type: 'exit' });
  const gone = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r(undefined), 3000))]);
  if (!gone) w.child.kill('SIGKILL');
}

export async function runBench(o: BenchOptions, hooks: RunHooks = {}): Promise<BenchResult> {
  if (o.count === undefined && o.durationS === undefined)
    throw new Error('runBench needs count or durationS');
  const startedAt = Date.now();
  const origin = now();
  let rx: Worker | undefined;
  let tx: Worker | undefined;
  const progress = (): void => hooks.onProgress?.({ sender: tx?.latest, receiver: rx?.latest, startedAt });
  try {
    const expect = o.count !== undefined ? o.count + o.warmup : undefined;
    rx = startWorker({ ...o, role: 'receiver', expect }, origin, progress);
    const ready = await rx.next<{ port?: number }>('ready');
    tx = startWorker({ ...o, role: 'sender', port: ready.port }, origin, progress);
    await tx.next('attached');
    tx.tell({ type: 'go' });
    const senderDone = tx.next<{ report: WorkerReport }>('done');
    const receiverDone = rx.next<{ report: WorkerReport }>('done');
    let sentTotal: number | undefined;
    void tx.next<{ total: number }>('sent').then(
      (m) => {
        sentTotal = m.total;
        rx!.tell({ type: 'expect', total: m.total });
      },
      () => undefined, // the sender died: its 'done' rejects too, and that is what is reported
    );
    // Stall detection: if neither process counts anything new for stallTimeoutMs, both report now.
    let lastN = -1;
    let lastChange = Date.now();
    let stalled = false;
    const watch = setInterval(
      () => {
        const n = (tx?.latest?.n ?? 0) + (rx?.latest?.n ?? 0);
        if (n !== lastN) {
          lastN = n;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > o.stallTimeoutMs && !stalled) {
          stalled = true;
          tx?.tell({ type: 'finish' });
          rx?.tell({ type: 'finish' });
        }
      },
      Math.min(250, o.progressMs),
    );
    try {
      const [s, r] = await Promise.all([senderDone, receiverDone]);
      // 'sent' comes before 'done' on the same channel; without it (a stalled sender), what it did.
      const series = { sender: seriesOf(tx, s.report, origin), receiver: seriesOf(rx, r.report, origin) };
      const result = summarize(o, s.report, r.report, sentTotal ?? s.report.total, stalled, series);
      return { ...result, seriesOrigin: Math.round(origin) };
    } finally {
      clearInterval(watch);
    }
  } finally {
    await stop(tx);
    await stop(rx);
  }
}
