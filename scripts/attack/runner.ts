/**
 * Runs attacks one after another, each against a fresh server child process: start the server and
 * the honest probe, measure the server's memory, run the attack (bounded in time, and stopped if
 * the server's RSS passes the cap), measure again, stop everything. One row per attack.
 */
import { performance } from 'node:perf_hooks';
import { ALL_ATTACKS } from './attacks/index.js';
import { DEFAULT_RUN_OPTIONS, type Attack, type AttackOutcome, type RunOptions } from './attack.js';
import { Probe, type ProbeSummary } from './probe.js';
import { ServerProcess, type Memory, type ServerInfo } from './server-process.js';

const GRACE_MS = 5000;

export interface AttackRow extends AttackOutcome {
  attack: string;
  family: string;
  target: string;
  title: string;
  /** Server memory (MiB) when the attack started, when it ended, and its peak (VmHWM). */
  rssBeforeMiB?: number;
  rssAfterMiB?: number;
  peakMiB?: number;
  /** The honest client's round trips during the attack. */
  probe?: ProbeSummary;
  /** The server process exited during the attack (a crash). */
  serverExit?: string;
  seconds: number;
}

/** The attacks `only` selects (by name or family); all when it is empty. Throws on an unknown name. */
export function selectAttacks(only: string[]): Attack[] {
  if (only.length === 0) return ALL_ATTACKS;
  const picked = ALL_ATTACKS.filter((a) => only.includes(a.name) || only.includes(a.family));
  const unknown = only.filter((n) => !ALL_ATTACKS.some((a) => a.name === n || a.family === n));
  if (unknown.length > 0)
    throw new Error(
      `unknown attack ${unknown.join(', ')}; known: ${ALL_ATTACKS.map((a) => a.name).join(', ')}`,
    );
  return picked;
}

export async function runAttacks(options: Partial<RunOptions> = {}): Promise<AttackRow[]> {
  const o: RunOptions = { ...DEFAULT_RUN_OPTIONS, ...options };
  const rows: AttackRow[] = [];
  for (const a of selectAttacks(o.only)) {
    o.log(`attack ${a.name} (${a.target}): ${a.title}`);
    const row = await runOne(a, o);
    o.log(`  -> ${row.verdict} ${row.text}`);
    rows.push(row);
  }
  return rows;
}

const round1 = (n: number | undefined): number | undefined =>
  n === undefined ? undefined : Math.round(n * 10) / 10;

async function runOne(a: Attack, o: RunOptions): Promise<AttackRow> {
  const t0 = performance.now();
  const row: AttackRow = {
    attack: a.name,
    family: a.family,
    target: a.target,
    title: a.title,
    code: 'error',
    verdict: '-',
    text: '',
    seconds: 0,
  };
  const serverKind = a.target === 'broker' || a.target === 'hub' ? a.target : undefined;
  let server: ServerProcess | undefined;
  let probe: Probe | undefined;
  const abort = new AbortController();
  let watchdog: NodeJS.Timeout | undefined;
  let overrun: NodeJS.Timeout | undefined;
  const cleanups: (() => void | Promise<void>)[] = [];
  let giveUp: NodeJS.Timeout | undefined;
  try {
    let info: ServerInfo = { kind: 'broker', host: '127.0.0.1', port: 0, devices: {}, policies: {} };
    if (serverKind) {
      server = await ServerProcess.start(serverKind, a.serverArgs?.(o) ?? []);
      info = server.info;
    }
    if (server && a.probe !== false) {
      probe = Probe.start(info);
      if (!(await probe.warm(5, 20_000))) o.log('  (the probe client did not get going within 20 s)');
    }
    let before: Memory | undefined = server?.memory();
    probe?.reset();
    const s = server;
    if (s) {
      watchdog = setInterval(() => {
        const m = s.memory();
        if (m && m.rssMiB > o.rssCapMiB && !abort.signal.aborted) {
          o.log(`  server RSS ${m.rssMiB.toFixed(0)} MiB passed the cap ${o.rssCapMiB} MiB: stopping`);
          abort.abort(new Error('rss cap'));
        }
      }, 100);
    }
    overrun = setTimeout(() => abort.abort(new Error('time cap')), a.timeoutMs);
    // An attack that does not stop by itself within a few seconds of its cap is given up on.
    const givenUp = new Promise<never>((_, reject) =>
      abort.signal.addEventListener('abort', () => {
        giveUp = setTimeout(
          () => reject(new Error(`did not stop within ${GRACE_MS} ms of its cap`)),
          GRACE_MS,
        );
      }),
    );
    givenUp.catch(() => {});
    const run = a.run({
      server,
      info,
      signal: abort.signal,
      options: o,
      baseline: () => {
        before = server?.memory();
        probe?.reset();
      },
      onCleanup: (fn) => cleanups.push(fn),
    });
    const result = await Promise.race([run, givenUp]);
    Object.assign(row, result);
    if (abort.signal.aborted)
      row.text += ` [stopped at the ${String((abort.signal.reason as Error).message)}]`;
    const after = server?.memory();
    row.rssBeforeMiB = round1(before?.rssMiB);
    row.rssAfterMiB = round1(after?.rssMiB);
    row.peakMiB = round1(after?.hwmMiB);
    if (probe) row.probe = probe.summary();
    if (server?.exit) row.serverExit = `exited (code ${server.exit.code}, signal ${server.exit.signal})`;
  } catch (e) {
    row.code = 'error';
    row.text = `the attack failed: ${(e as Error).message}`;
  } finally {
    clearInterval(watchdog);
    clearTimeout(overrun);
    clearTimeout(giveUp);
    for (const fn of cleanups) await Promise.resolve(fn()).catch(() => {});
    await probe?.stop();
    await server?.stop();
  }
  row.seconds = round1((performance.now() - t0) / 1000)!;
  return row;
}
