/** What each implementation under test provides to the bench worker: a receiver and a sender. */
import { now, type Meter } from './meter.js';
import type { WorkerConfig } from './options.js';

export interface BenchPeer {
  /** Peer to peer: listens on a free port (returned); through a broker: attaches receivers. */
  receiver(
    cfg: WorkerConfig,
    address: string,
    meter: Meter,
  ): Promise<{ port?: number; close(): Promise<void> }>;
  /** Connects and attaches one sender per budget; `go` resolves once every budget is spent. */
  sender(
    cfg: WorkerConfig,
    address: string,
    meter: Meter,
    budgets: LinkBudget[],
  ): Promise<{ go(): Promise<void>; close(): Promise<void> }>;
}

/** When a duration-mode run stops sending: `durationMs` after the warm-up ends. */
export class Deadline {
  private endAt: number | undefined;

  constructor(
    private readonly meter: Meter,
    private readonly durationMs: number | undefined,
  ) {}

  passed(): boolean {
    if (this.durationMs === undefined) return false;
    if (this.endAt === undefined) {
      const t0 = this.meter.startedAt;
      if (t0 === undefined) return false;
      this.endAt = t0 + this.durationMs;
    }
    return now() >= this.endAt;
  }
}

/** One link's share of the messages: a count, a deadline, or both. */
export class LinkBudget {
  sent = 0;

  constructor(
    private readonly quota: number,
    private readonly deadline: Deadline,
  ) {}

  more(): boolean {
    return this.sent < this.quota && !this.deadline.passed();
  }

  /** Counts one message as sent and gives its send time. */
  stamp(): number {
    this.sent++;
    return now();
  }
}
