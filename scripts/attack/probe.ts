/**
 * The parent side of the honest second client (probe-child.js): forks it against a server, and
 * summarises the round trips it measured during one attack.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BROKER_USER, HUB_DEVICES, repoRoot, type ServerInfo } from './server-process.js';

export interface ProbeSummary {
  /** Round trips completed during the attack. */
  count: number;
  p50Ms: number | undefined;
  maxMs: number | undefined;
  /** Failed round trips (and reconnects) during the attack; the first error's text. */
  errors: number;
  firstError?: string;
  /** A round trip still in flight when the attack ended, and for how long (a stall in progress). */
  pendingMs?: number;
}

export class Probe {
  private samples: number[] = [];
  private errors: string[] = [];
  private lastEventAt = performance.now();
  private readyWaiters: (() => void)[] = [];
  private ready = false;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: { type: string; ms?: number; message?: string }) => {
      this.lastEventAt = performance.now();
      if (m.type === 'ready') {
        this.ready = true;
        for (const w of this.readyWaiters.splice(0)) w();
      } else if (m.type === 'rtt') this.samples.push(m.ms!);
      else if (m.type === 'error') this.errors.push(m.message!);
    });
  }

  static start(info: ServerInfo): Probe {
    const cfg =
      info.kind === 'broker'
        ? {
            kind: 'broker',
            host: info.host,
            port: info.port,
            username: BROKER_USER.name,
            password: BROKER_USER.password,
          }
        : { kind: 'hub', connectionString: info.devices[HUB_DEVICES[1]] };
    const child = fork(join(repoRoot(), 'scripts', 'attack', 'probe-child.js'), [JSON.stringify(cfg)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child.stderr!.resume();
    return new Probe(child);
  }

  /** Resolves once connected and `warmup` round trips are done; false after `timeoutMs`. */
  async warm(warmup: number, timeoutMs: number): Promise<boolean> {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      if (this.ready && this.samples.length >= warmup) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** Forgets what was measured so far: the attack's window starts now. */
  reset(): void {
    this.samples = [];
    this.errors = [];
    this.lastEventAt = performance.now();
  }

  summary(): ProbeSummary {
    const s = [...this.samples].sort((a, b) => a - b);
    const sinceLast = performance.now() - this.lastEventAt;
    const out: ProbeSummary = {
      count: s.length,
      p50Ms: s.length ? s[Math.floor(s.length / 2)] : undefined,
      maxMs: s.length ? s[s.length - 1] : undefined,
      errors: this.errors.length,
    };
    if (this.errors.length) out.firstError = this.errors[0];
    // The probe pauses 20 ms between round trips: a silence well beyond that is one in flight.
    if (sinceLast > 250) out.pendingMs = sinceLast;
    return out;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      this.child.send('stop');
    } catch {
      this.child.kill('SIGKILL');
    }
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}
