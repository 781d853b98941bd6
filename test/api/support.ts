/** Helpers for API tests: a server with queues per address, and the typed error a promise fails with. */
import { expect } from 'vitest';
import { AmqpOneError } from '../../src/codec/errors.js';
import { listen, type AmqpServer, type ServerOptions } from '../../src/server/index.js';
import type { MessageReceiver } from '../../src/api/receiver.js';
import type { ReceivedMessage } from '../../src/api/received-message.js';

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

/** The error `p` rejects with, which must be an AmqpOneError (a fulfilled promise fails the test). */
export async function failure(p: Promise<unknown>): Promise<AmqpOneError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AmqpOneError);
  return e as AmqpOneError;
}
