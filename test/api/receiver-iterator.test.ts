/** The receiver's async iterator (no async generator): order, autoAccept, break, errors, the end. */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import type { MessageSender } from '../../src/client/sender.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { until } from './support.js';

let server: AmqpServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  await server?.close();
  server = undefined;
  conn = undefined;
});

async function sourceServer(): Promise<{ senders: MessageSender[] }> {
  const senders: MessageSender[] = [];
  server = await listen({ port: 0, onLink: (l) => void senders.push(l.acceptSender()) });
  return { senders };
}

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
