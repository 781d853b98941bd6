/** Helpers for API tests: a server with queues per address, and a controllable clock. */
import type { Timers } from '../../src/util/timers.js';
import { listen, type AmqpServer, type ServerOptions } from '../../src/server/index.js';
import type { MessageReceiver } from '../../src/api/receiver.js';
import type { ReceivedMessage } from '../../src/api/received-message.js';

/** A clock whose timers fire only when the test advances it. */
export class ManualTimers implements Timers {
  private t = 1_000_000;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, p] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (p.at <= this.t) {
        this.pending.delete(id);
        p.fn();
      }
    }
  }
}

export interface SinkServer {
  server: AmqpServer;
  received: ReceivedMessage[];
  receivers: MessageReceiver[];
}

/**
 * A server whose receivers collect every message; `decide` picks each message's outcome
 * (accept by default; 'hold' leaves it unsettled).
 */
export async function sinkServer(
  options: Partial<ServerOptions> = {},
  decide: (m: ReceivedMessage) => 'accept' | 'reject' | 'release' | 'hold' = () => 'accept',
  credit = 100,
): Promise<SinkServer> {
  const received: ReceivedMessage[] = [];
  const receivers: MessageReceiver[] = [];
  const server = await listen({
    port: 0,
    sasl: { anonymous: true },
    ...options,
    onLink(l) {
      if (l.role !== 'receiver') return l.refuse({ condition: 'amqp:not-found', description: 'sink only' });
      const r = l.acceptReceiver({ credit });
      receivers.push(r);
      void (async () => {
        try {
          for await (const m of r) {
            received.push(m);
            const d = decide(m);
            if (d === 'accept') m.accept();
            else if (d === 'reject')
              m.reject({ condition: 'amqp:precondition-failed', description: 'no thanks' });
            else if (d === 'release') m.release();
          }
        } catch {
          /* the link closed */
        }
      })();
    },
  });
  return { server, received, receivers };
}

export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}
