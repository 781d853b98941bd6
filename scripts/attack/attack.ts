/** What an attack is, what it gets to work with, and what it reports. */
import type { ServerProcess, ServerInfo, ServerKind } from './server-process.js';

/**
 * HOLE: the server did what docs/security.md says it must not (let a peer in without credentials, took an
 * unbounded amount, dropped accepted messages, wrote secrets readable by others, hung).
 * held: it refused or bounded the attack. '-': a measurement with no verdict of its own (the RSS
 * and round-trip figures say how it went).
 */
export type Verdict = 'HOLE' | 'held' | '-';

export interface AttackOutcome {
  /** A short stable word for what happened ('accepted', 'refused', 'closed', 'timeout', ...). */
  code: string;
  /** What the server did, measured: counts, conditions, times. */
  text: string;
  verdict: Verdict;
}

export interface AttackContext {
  /** The server under attack (undefined for attacks on the client). */
  server: ServerProcess | undefined;
  info: ServerInfo;
  /** Aborted when the attack overruns its time or the server's memory passes the cap. */
  signal: AbortSignal;
  options: RunOptions;
  /** Setup is done (a queue filled, say): memory is measured from here. */
  baseline(): void;
  /** Runs after the server's memory was measured (so what the attack holds is counted). */
  onCleanup(fn: () => void | Promise<void>): void;
}

export interface Attack {
  /** Unique, for --only. */
  name: string;
  /** The attack family (auth, big-message, ...). */
  family: string;
  target: ServerKind | 'client' | 'disk';
  /** One line: what the attacker does. */
  title: string;
  /** Extra server arguments (e.g. --state DIR); given the run options. */
  serverArgs?: (o: RunOptions) => string[];
  /** Whether the honest probe client runs during the attack (default true for servers). */
  probe?: boolean;
  /** Hard cap on the attack's run (ms): the signal aborts after it. */
  timeoutMs: number;
  run(ctx: AttackContext): Promise<AttackOutcome>;
}

export interface RunOptions {
  /** Attack names (or families) to run; all when empty. */
  only: string[];
  /** Seconds the slow-handshake and idle attacks wait for the server to close (default 12). */
  waitSeconds: number;
  /** Size of the big message (MiB, default 256). */
  bigMessageMiB: number;
  /** Connections in the many-connections attack (default 2000). */
  connections: number;
  /** Events in the partition-fill attack (default 150 000). */
  events: number;
  /** Messages in the queue-fill attack (default 120 000). */
  queueMessages: number;
  /** The server's RSS (MiB) at which an attack is stopped (default 4096). */
  rssCapMiB: number;
  /** Progress lines go here (stderr in the CLI). */
  log: (line: string) => void;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  only: [],
  waitSeconds: 12,
  bigMessageMiB: 256,
  connections: 2000,
  events: 150_000,
  queueMessages: 120_000,
  rssCapMiB: 4096,
  log: () => {},
};

export const outcome = (code: string, verdict: Verdict, text: string): AttackOutcome => ({
  code,
  verdict,
  text,
});
