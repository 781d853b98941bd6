import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import type { MessageSender } from '../../src/api/sender.js';
import { RequestResponseLink } from '../../src/client/request-response.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { ulong } from '../../src/codec/values.js';
import { ConnectionError, RedirectError } from '../../src/protocol/errors.js';
import { until } from './support.js';

let server: AmqpServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  await server?.close();
  server = undefined;
  conn = undefined;
});

/** A server that hands every client receiver a sender, for the test to drive. */
async function sourceServer(): Promise<{ senders: MessageSender[] }> {
  const senders: MessageSender[] = [];
  server = await listen({
    port: 0,
    sasl: { anonymous: true },
    onLink: (l) => void senders.push(l.acceptSender()),
  });
  return { senders };
}

describe('MessageReceiver', () => {
  test('for await gets messages in order; settling each gives the sender its outcome', async () => {
    const src = await sourceServer();
    conn = await connect({ host: '127.0.0.1', port: server!.port });
    const r = await conn.openReceiver({ address: 'src', credit: 10 });
    await until(() => src.senders.length === 1 && src.senders[0]!.sendable > 0);
    const outcomes = Array.from({ length: 50 }, (_, i) => src.senders[0]!.send({ body: `v${i}` }));
    const seen: unknown[] = [];
    for await (const m of r) {
      seen.push(m.message.body);
      if (seen.length % 2 === 0) m.accept();
      else m.release();
      if (seen.length === 50) break;
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    const results = await Promise.all(outcomes);
    expect(results.filter((o) => o?.type === 'accepted')).toHaveLength(25);
    expect(results.filter((o) => o?.type === 'released')).toHaveLength(25);
  });

  test('the prefetch window bounds what a slow consumer buffers', async () => {
    const src = await sourceServer();
    conn = await connect({ host: '127.0.0.1', port: server!.port });
    const r = await conn.openReceiver({ address: 'src', credit: 8 });
    await until(() => src.senders.length === 1 && src.senders[0]!.sendable > 0);
    const s = src.senders[0]!;
    for (let i = 0; i < 100; i++) void s.send({ body: i }).catch(() => undefined);
    await until(() => r.buffered === 8);
    expect(r.link.linkCredit).toBe(0);
    expect(s.link.queued).toBe(92);
    for (let i = 0; i < 100; i++) (await r.receive())!.accept();
    expect(s.link.queued).toBe(0);
  });

  test('manual credit and drain: the sender with nothing to send gives the credit back', async () => {
    const src = await sourceServer();
    conn = await connect({ host: '127.0.0.1', port: server!.port });
    const r = await conn.openReceiver({ address: 'src', credit: 'manual' });
    await until(() => src.senders.length === 1);
    const s = src.senders[0]!;
    void s.send({ body: 'one' });
    r.addCredit(5);
    const m = await r.receive();
    expect(m!.message.body).toBe('one');
    m!.accept();
    expect(r.link.linkCredit).toBe(4);
    await r.drain();
    expect(r.link.linkCredit).toBe(0);
    expect(s.link.linkCredit).toBe(0);
    expect(s.link.deliveryCount).toBe(r.link.deliveryCount);
  });

  test('a message settled in a later macrotask has its disposition written without other traffic', async () => {
    // Settling only queues the disposition in the engine: the receiver must ask for a write, or
    // it waits for unrelated output. One message in a window of 10 tops up no credit either.
    const src = await sourceServer();
    conn = await connect({ host: '127.0.0.1', port: server!.port });
    const r = await conn.openReceiver({ address: 'src', credit: 10 });
    await until(() => src.senders.length === 1 && src.senders[0]!.sendable > 0);
    const outcome = src.senders[0]!.send({ body: 'late' });
    const m = (await r.receive())!;
    await new Promise((next) => setImmediate(next));
    m.accept();
    await expect(outcome).resolves.toMatchObject({ type: 'accepted' });
  });

  test('a receiver the peer detaches in the same write as its attach reply: the open rejects with the peer error', async () => {
    // As a hub redirects an Event Hubs receiver: attach, then detach with amqp:link:redirect.
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink: (l) => {
        l.acceptSender();
        l.engineLink.detach({
          closed: true,
          error: { condition: 'amqp:link:redirect', info: { hostname: 'elsewhere', port: 5671 } },
        });
        l.connection.schedule();
      },
    });
    conn = await connect({ host: '127.0.0.1', port: server.port });
    const err = await conn.openReceiver({ address: 'q' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedirectError);
    expect(err).toMatchObject({ condition: 'amqp:link:redirect', hostname: 'elsewhere', port: 5671 });
  });

  test('request/response correlates by message id with its AMQP type', async () => {
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink(l) {
        if (l.role === 'sender') {
          replyLinks.set(l.address!, l.acceptSender());
          return;
        }
        const r = l.acceptReceiver();
        void (async () => {
          for await (const m of r) {
            m.accept();
            const p = m.message.properties!;
            await replyLinks.get(String(p.replyTo))!.send({
              properties: { correlationId: p.messageId },
              applicationProperties: { 'status-code': 200 },
              body: `echo ${String(m.message.body)}`,
            });
          }
        })().catch(() => undefined);
      },
    });
    const replyLinks = new Map<string, MessageSender>();
    conn = await connect({ host: '127.0.0.1', port: server.port });
    const rr = await RequestResponseLink.open(conn, { address: '$cbs', replyTo: 'cbs-reply' });
    const a = await rr.request({ body: 'hello' });
    expect(a.body).toBe('echo hello');
    const b = await rr.request({ properties: { messageId: ulong(7) }, body: 'typed' });
    expect(b.body).toBe('echo typed');
    expect(b.properties?.correlationId).toEqual(ulong(7));
    await rr.close();
  });

  test('a close with an error reaches the other side as a ConnectionError', async () => {
    let serverSide: import('../../src/server/index.js').ServerConnection | undefined;
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onConnection: (c) => void (serverSide = c),
      onLink: (l) => void l.acceptReceiver(),
    });
    conn = await connect({ host: '127.0.0.1', port: server.port });
    const s = await conn.openSender('q');
    await until(() => serverSide !== undefined);
    const disconnected = new Promise<unknown>((res) => conn!.once('disconnected', res));
    await serverSide!.close({ condition: 'amqp:connection:forced', description: 'maintenance' });
    const err = await disconnected;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({
      condition: 'amqp:connection:forced',
      description: 'maintenance',
      code: 'AMQP_CONNECTION_FORCED',
    });
    await expect(s.send({ body: 'late' })).rejects.toBeInstanceOf(ConnectionError);
  });

  test('the client closing with an error is seen by the server', async () => {
    let closedWith: unknown;
    server = await listen({ port: 0, sasl: { anonymous: true } });
    server.on('connection', (c: import('../../src/server/index.js').ServerConnection) =>
      c.on('close', () => (closedWith = c.engine.error)),
    );
    conn = await connect({ host: '127.0.0.1', port: server.port });
    await conn.close({ condition: 'amqp:internal-error', description: 'client bug' });
    await until(() => closedWith !== undefined);
    expect(closedWith).toMatchObject({
      condition: 'amqp:internal-error',
      description: 'client bug',
      remote: true,
    });
    conn = undefined;
  });
});

// The iterator is hand-written (no async generator): order, autoAccept, break, errors, the end.
describe('MessageReceiver iterator', () => {
  test('autoAccept settles each message as the iterator moves past it; break leaves the last one', async () => {
    const src = await sourceServer();
    conn = await connect({ host: '127.0.0.1', port: server!.port });
    const r = await conn.openReceiver({ address: 'src', credit: 5, autoAccept: true });
    await until(() => src.senders.length === 1 && src.senders[0]!.sendable > 0);
    const outcomes = Array.from({ length: 20 }, (_, i) => src.senders[0]!.send({ body: i }));
    const seen: unknown[] = [];
    let lastMsg;
    for await (const m of r) {
      seen.push(m.message.body);
      lastMsg = m;
      if (seen.length === 20) break;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect((await Promise.all(outcomes.slice(0, 19))).every((o) => o?.type === 'accepted')).toBe(true);
    expect(lastMsg!.settled).toBe(false);
    lastMsg!.release();
    expect((await outcomes[19])?.type).toBe('released');
  });

  test('two iterators at once share the messages in order; both end when the link closes', async () => {
    const src = await sourceServer();
    conn = await connect({ host: '127.0.0.1', port: server!.port });
    const r = await conn.openReceiver({ address: 'src', credit: 3 });
    await until(() => src.senders.length === 1 && src.senders[0]!.sendable > 0);
    const a = r[Symbol.asyncIterator]();
    const b = r[Symbol.asyncIterator]();
    const pa = a.next();
    const pb = b.next();
    void src.senders[0]!.send({ body: 'x' }).catch(() => undefined);
    void src.senders[0]!.send({ body: 'y' }).catch(() => undefined);
    const [ra, rb] = await Promise.all([pa, pb]);
    expect([ra.value!.message.body, rb.value!.message.body]).toEqual(['x', 'y']);
    const pa2 = a.next();
    await r.close();
    expect(await pa2).toEqual({ done: true, value: undefined });
    expect(await a.next()).toEqual({ done: true, value: undefined });
    expect(await b.next()).toEqual({ done: true, value: undefined });
  });

  test('return() ends the iterator without touching the receiver', async () => {
    const src = await sourceServer();
    conn = await connect({ host: '127.0.0.1', port: server!.port });
    const r = await conn.openReceiver({ address: 'src', credit: 3 });
    await until(() => src.senders.length === 1 && src.senders[0]!.sendable > 0);
    const it = r[Symbol.asyncIterator]();
    expect(await it.return!()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    void src.senders[0]!.send({ body: 'z' }).catch(() => undefined);
    const m = await r.receive();
    expect(m!.message.body).toBe('z');
  });
});
