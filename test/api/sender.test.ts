import { afterEach, describe, expect, test } from 'vitest';
import {
  connect,
  type AmqpConnection,
  type MessageReceiver,
  type ReceivedMessage,
} from '../../src/client/index.js';
import type { AmqpServer } from '../../src/server/index.js';
import { AbortError, TimeoutError } from '../../src/api/errors.js';
import { LinkError } from '../../src/protocol/errors.js';
import { ManualTimers } from '../support/manual-timers.js';
import { sinkServer, until, type SinkServer } from './support.js';

let sink: SinkServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  await sink?.server.close();
  sink = undefined;
  conn = undefined;
});

const body = (s: string) => ({ body: Buffer.from(s) });

/**
 * A server whose receiver grants credit only when the test says (`grant`), keeps what arrives and
 * accepts each unsettled message; it becomes the `sink` that afterEach closes.
 */
async function manualCreditServer(): Promise<{
  server: AmqpServer;
  received: ReceivedMessage[];
  grant: (n: number) => void;
}> {
  const { listen } = await import('../../src/server/index.js');
  const received: ReceivedMessage[] = [];
  const receivers: MessageReceiver[] = [];
  const server = await listen({
    port: 0,
    sasl: { anonymous: true },
    onLink(l) {
      const r = l.acceptReceiver({ credit: 'manual' });
      receivers.push(r);
      void (async () => {
        for await (const m of r) {
          received.push(m);
          if (!m.settled) m.accept();
        }
      })().catch(() => undefined);
    },
  });
  sink = { server, received: [], receivers: [] };
  const grant = (n: number): void => {
    for (const r of receivers) r.addCredit(n);
  };
  return { server, received, grant };
}

describe('MessageSender', () => {
  test('resolves with each outcome the peer chose', async () => {
    let n = 0;
    const plan = ['accept', 'reject', 'release'] as const;
    sink = await sinkServer({}, () => plan[n++ % 3]!);
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender('q');
    const a = await s.send(body('a'));
    const r = await s.send(body('b'));
    const rel = await s.send(body('c'));
    expect(a).toEqual({ type: 'accepted' });
    expect(r).toMatchObject({
      type: 'rejected',
      error: { condition: 'amqp:precondition-failed', description: 'no thanks' },
    });
    expect(rel).toEqual({ type: 'released' });
  });

  test('presettled sends resolve once written and arrive settled', async () => {
    sink = await sinkServer({}, () => 'hold');
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender({ address: 'q', presettled: true });
    const results = await Promise.all([1, 2, 3].map((i) => s.send(body(`p${i}`))));
    expect(results).toEqual([undefined, undefined, undefined]);
    await until(() => sink!.received.length === 3);
    expect(sink.received.every((m) => m.settled)).toBe(true);
  });

  test('send waits for credit; the queue in the engine stays within maxQueued', async () => {
    sink = await sinkServer({}, () => 'accept', 1);
    sink.server.options.onLink = undefined;
    let grant: ((n: number) => void) | undefined;
    const { listen } = await import('../../src/server/index.js');
    await sink.server.close();
    const received: string[] = [];
    const server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink(l) {
        const r = l.acceptReceiver({ credit: 'manual' });
        grant = (n) => r.addCredit(n);
        void (async () => {
          for await (const m of r) {
            received.push((m.message.body as Buffer).toString());
            m.accept();
          }
        })().catch(() => undefined);
      },
    });
    sink = { server, received: [], receivers: [] };
    conn = await connect({ host: '127.0.0.1', port: server.port });
    const s = await conn.openSender({ address: 'q', maxQueued: 5 });
    const sends = Array.from({ length: 20 }, (_, i) => s.send(body(`m${i}`)));
    await until(() => s.link.queued === 5);
    expect(s.pending).toBe(20);
    let roomy = false;
    void s.ready().then(() => (roomy = true));
    await new Promise((r) => setImmediate(r));
    expect(roomy).toBe(false);
    grant!(20);
    const outcomes = await Promise.all(sends);
    expect(outcomes.every((o) => o?.type === 'accepted')).toBe(true);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(roomy).toBe(true);
  });

  test('a send that times out is taken back and never delivered', async () => {
    const timers = new ManualTimers();
    const { received, grant, server } = await manualCreditServer();
    conn = await connect({ host: '127.0.0.1', port: server.port, timers });
    const s = await conn.openSender('q');
    const p = s.send(body('late'), { timeoutMs: 500 });
    timers.advance(499);
    await new Promise((r) => setImmediate(r));
    timers.advance(1);
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    await expect(p).rejects.toMatchObject({ code: 'AMQP_TIMEOUT' });
    grant(5);
    const ok = await s.send(body('next'));
    expect(ok).toEqual({ type: 'accepted' });
    expect(received).toHaveLength(1);
  });

  test('a presettled send that timed out unsent does not hold back the ones after it', async () => {
    const timers = new ManualTimers();
    const { received, grant, server } = await manualCreditServer();
    conn = await connect({ host: '127.0.0.1', port: server.port, timers });
    const s = await conn.openSender({ address: 'q', presettled: true });
    const late = s.send(body('late'), { timeoutMs: 500 });
    timers.advance(500);
    await expect(late).rejects.toBeInstanceOf(TimeoutError);
    grant(5);
    // Written: resolves (before the fix it waited for ever behind the taken-back one).
    await expect(s.send(body('next'))).resolves.toBeUndefined();
    await until(() => received.length === 1);
    expect(s.pending).toBe(0);
  });

  test('an AbortSignal fails the send with AbortError', async () => {
    const { listen } = await import('../../src/server/index.js');
    const server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink: (l) => void l.acceptReceiver({ credit: 'manual' }),
    });
    sink = { server, received: [], receivers: [] };
    conn = await connect({ host: '127.0.0.1', port: server.port });
    const s = await conn.openSender('q');
    const ac = new AbortController();
    const p = s.send(body('x'), { signal: ac.signal });
    ac.abort(new Error('user gave up'));
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await expect(s.send(body('y'), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'AMQP_ABORTED',
    });
  });

  test('a refused attach rejects with the peer LinkError', async () => {
    const { listen } = await import('../../src/server/index.js');
    const server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink: (l) => l.refuse({ condition: 'amqp:not-found', description: `no node ${l.address}` }),
    });
    sink = { server, received: [], receivers: [] };
    conn = await connect({ host: '127.0.0.1', port: server.port });
    const err = await conn.openSender('nowhere').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect(err).toMatchObject({
      code: 'AMQP_NOT_FOUND',
      condition: 'amqp:not-found',
      description: 'no node nowhere',
    });
  });

  test('a sender the peer detaches in the same write as its attach reply: the open rejects with the peer error', async () => {
    const { listen } = await import('../../src/server/index.js');
    const server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink: (l) => {
        l.acceptReceiver();
        l.engineLink.detach({ closed: true, error: { condition: 'amqp:link:stolen', description: 'taken' } });
        l.connection.schedule();
      },
    });
    sink = { server, received: [], receivers: [] };
    conn = await connect({ host: '127.0.0.1', port: server.port });
    const err = await conn.openSender('q').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect(err).toMatchObject({ condition: 'amqp:link:stolen', description: 'taken', remote: true });
  });

  test('a message over the peer max-message-size fails at once with a typed error', async () => {
    sink = await sinkServer({ limits: { maxMessageSize: 1000 } });
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender('q');
    await expect(s.send({ body: Buffer.alloc(2000) })).rejects.toMatchObject({
      code: 'AMQP_MESSAGE_TOO_LARGE',
      condition: 'amqp:link:message-size-exceeded',
    });
    expect(await s.send({ body: Buffer.alloc(100) })).toEqual({ type: 'accepted' });
  });

  test('a 1 MiB message crosses intact in many frames', async () => {
    // A 1 MiB body plus its encoding is over listen()'s default max-message-size (1 MiB).
    sink = await sinkServer({ maxFrameSize: 4096, limits: { maxMessageSize: 2 * 1024 * 1024 } });
    conn = await connect({ host: '127.0.0.1', port: sink.server.port, maxFrameSize: 8192 });
    const s = await conn.openSender('q');
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    expect(await s.send({ body: big })).toEqual({ type: 'accepted' });
    expect((sink.received[0]!.message.body as Buffer).equals(big)).toBe(true);
  });
});
