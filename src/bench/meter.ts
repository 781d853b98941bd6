/**
 * What a bench worker measures about itself: the running count, the measured interval (from the
 * end of the warm-up to the last message), CPU time and peak RSS over it, and, on the receiving
 * side, the end-to-end latency of every measured message.
 */
import { performance } from 'node:perf_hooks';
import { LatencyHistogram, type HistogramSnapshot } from './histogram.js';

/** Milliseconds on a clock the processes of one machine share (sub-millisecond resolution). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** CPU time of this process so far (ms). */
function cpuNowMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

export interface WorkerReport {
  role: 'sender' | 'receiver';
  /** Messages done in all (sent and written or settled, or received), warm-up included. */
  total: number;
  /** Messages in the measured interval. */
  measured: number;
  /** The measured interval on the shared clock (ms). */
  t0: number;
  t1: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  peakRssBytes: number;
  /** RSS and CPU time of the process when it reported (the last point of the report's series). */
  rssBytes: number;
  cpuMs: number;
  accepted: number;
  otherOutcomes: number;
  latencyUs?: HistogramSnapshot;
}

export interface Progress {
  role: 'sender' | 'receiver';
  n: number;
  at: number;
  /** CPU time of the process so far (ms) and its RSS now. */
  cpuMs: number;
  rssBytes: number;
}

export class Meter {
  n = 0;
  accepted = 0;
  otherOutcomes = 0;
  /** Expected total; unknown (Infinity) until a duration-mode sender stops. */
  total = Infinity;
  readonly latency = new LatencyHistogram();
  private t0: number | undefined;
  private cpu0: NodeJS.CpuUsage | undefined;
  private finished = false;

  constructor(
    readonly role: 'sender' | 'receiver',
    readonly warmup: number,
    private readonly onDone: (r: WorkerReport) => void,
  ) {}

  /** Starts the measured interval (at the warm-up's end, or at the first message without one). */
  begin(): void {
    if (this.t0 !== undefined) return;
    this.t0 = now();
    this.cpu0 = process.cpuUsage();
  }

  /** When the warm-up ended (the measured interval began), once it has. */
  get startedAt(): number | undefined {
    return this.t0;
  }

  /** One more message done. */
  tick(): void {
    const n = ++this.n;
    if (n === this.warmup) this.begin();
    if (n >= this.total) this.finish();
  }

  /** A receiver's message, sent at `sentAt` (ms on the shared clock). */
  arrived(sentAt: number): void {
    if (this.n >= this.warmup) {
      this.begin();
      this.latency.record((now() - sentAt) * 1000);
    }
    this.tick();
  }

  /** The total became known (or changed): finish if it is already reached. */
  expect(total: number): void {
    this.total = total;
    if (this.n >= total) this.finish();
  }

  /** Reports now, whatever the count (a stalled receiver, so the run can say what arrived). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const t1 = now();
    const t0 = this.t0 ?? t1;
    const cpu = process.cpuUsage(this.cpu0);
    this.onDone({
      role: this.role,
      total: this.n,
      measured: Math.max(0, this.n - this.warmup),
      t0,
      t1,
      cpuUserMs: this.cpu0 ? cpu.user / 1000 : 0,
      cpuSystemMs: this.cpu0 ? cpu.system / 1000 : 0,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      rssBytes: process.memoryUsage.rss(),
      cpuMs: cpuNowMs(),
      accepted: this.accepted,
      otherOutcomes: this.otherOutcomes,
      latencyUs: this.role === 'receiver' ? this.latency.snapshot() : undefined,
    });
  }

  get done(): boolean {
    return this.finished;
  }

  progress(): Progress {
    return {
      role: this.role,
      n: this.n,
      at: now(),
      cpuMs: cpuNowMs(),
      rssBytes: process.memoryUsage.rss(),
    };
  }
}
