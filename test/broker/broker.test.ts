// The in-memory broker (src/broker) driven by our own client over loopback TCP.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { deliveryCountOf } from '../../src/broker/message-edit.js';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import type { MessageReceiver } from '../../src/api/receiver.js';
import type { ReceivedMessage } from '../../src/api/received-message.js';
import type { Receiver } from '../../src/link/receiver.js';
import type { Target } from '../../src/codec/spec/records.js';
import type { AmqpValue } from '../../src/codec/values.js';
import { ConnectionError, DisconnectedError, LinkError } from '../../src/protocol/errors.js';
import { until } from '../api/support.js';

let broker: Broker;
let conn: AmqpConnection;
const extra: AmqpConnection[] = [];

beforeEach(async () => {
  broker = await startBroker({ port: 0, sasl: { anonymous: true } });
  conn = await connect({ host: '127.0.0.1', port: broker.port });
});

afterEach(async () => {
  for (const c of [conn, ...extra.splice(0)]) await c.close().catch(() => undefined);
  await broker.close();
});

async function another(): Promise<AmqpConnection> {
  const c = await connect({ host: '127.0.0.1', port: broker.port });
  extra.push(c);
  return c;
}

async function next(r: MessageReceiver, timeoutMs = 3000): Promise<ReceivedMessage> {
  const m = await r.receive({ timeoutMs });
  if (!m) throw new Error('the receiver closed');
  return m;
}

const body = (m: ReceivedMessage): unknown => m.message.body;

async function sendAll(address: string, bodies: AmqpValue[]): Promise<void> {
  const s = await conn.openSender(address);
  const outcomes = await Promise.all(bodies.map((b) => s.send({ body: b })));
  expect(outcomes.map((o) => o?.type)).toEqual(bodies.map(() => 'accepted'));
  await s.close();
}

describe('queues', () => {
  test(
    '1000 unsettled messages go through in order, each accepted once enqueued',
    { timeout: 20_000 },
    async () => {
      const s = await conn.openSender('q1');
      const outcomes = await Promise.all(Array.from({ length: 1000 }, (_, i) => s.send({ body: `m${i}` })));
      expect(outcomes.every((o) => o?.type === 'accepted')).toBe(true);
      expect(broker.queues.get('q1')!.depth).toBe(1000);
      const r = await conn.openReceiver({ address: 'q1', credit: 50 });
      const got: unknown[] = [];
      for (let i = 0; i < 1000; i++) {
        const m = await next(r);
        got.push(body(m));
        m.accept();
      }
      expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
      await until(() => broker.queues.get('q1')!.unsettled === 0);
      expect(broker.queues.get('q1')!.depth).toBe(0);
    },
  );

  test('a queue is created on first use and can be inspected', { timeout: 10_000 }, async () => {
    expect(broker.queues.has('fresh')).toBe(false);
    await sendAll('fresh', ['a', 'b']);
    const q = broker.queues.get('fresh')!;
    expect(q.depth).toBe(2);
    expect(q.consumers).toBe(0);
    expect(q.peek()).toHaveLength(2);
    const r = await conn.openReceiver({ address: 'fresh', credit: 'manual' });
    await until(() => q.consumers === 1);
    expect(q.depth).toBe(2); // no credit, nothing sent
    r.addCredit(1);
    expect(body(await next(r))).toBe('a');
    expect(q.depth).toBe(1);
    expect(q.unsettled).toBe(1);
  });

  test('a 1 MiB message crosses as several frames and arrives intact', { timeout: 10_000 }, async () => {
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const s = await conn.openSender('big');
    expect((await s.send({ body: big }))?.type).toBe('accepted');
    const r = await conn.openReceiver('big');
    const m = await next(r);
    expect(Buffer.compare(m.message.body as Buffer, big)).toBe(0);
    m.accept();
  });

  test('messages that do not decode are rejected with amqp:decode-error', { timeout: 10_000 }, async () => {
    const s = await conn.openSender('bad');
    const outcome = await s.send(Buffer.from([0x00, 0x53, 0x77, 0xa1, 0x09, 0x41]));
    expect(outcome?.type).toBe('rejected');
    expect(outcome?.type === 'rejected' && outcome.error?.condition).toBe('amqp:decode-error');
    expect(broker.queues.get('bad')!.depth).toBe(0);
  });
});

describe('settlement', () => {
  test(
    'presettled delivery (snd-settle-mode settled): messages leave the queue when sent',
    { timeout: 10_000 },
    async () => {
      await sendAll('pre', ['a', 'b', 'c']);
      const r = await conn.openReceiver({ address: 'pre', presettled: true });
      expect(r.link.remoteAttach!.sndSettleMode).toBe(1);
      const got = [await next(r), await next(r), await next(r)];
      expect(got.map(body)).toEqual(['a', 'b', 'c']);
      expect(got.every((m) => m.settled)).toBe(true);
      const q = broker.queues.get('pre')!;
      await until(() => q.unsettled === 0);
      expect(q.depth).toBe(0);
    },
  );

  test('presettled sends from a client are enqueued', { timeout: 10_000 }, async () => {
    const s = await conn.openSender({ address: 'pre-in', presettled: true });
    for (const b of ['x', 'y']) expect(await s.send({ body: b })).toBeUndefined();
    await until(() => broker.queues.get('pre-in')?.depth === 2);
    const r = await conn.openReceiver('pre-in');
    expect([body(await next(r)), body(await next(r))]).toEqual(['x', 'y']);
  });

  test(
    'released messages go back to the front and are redelivered in order',
    { timeout: 10_000 },
    async () => {
      await sendAll('rel', ['a', 'b', 'c', 'd']);
      const r = await conn.openReceiver({ address: 'rel', credit: 'manual' });
      r.addCredit(2);
      const a = await next(r);
      const b = await next(r);
      b.release(); // released out of order: they still come back as a, b
      a.release();
      r.addCredit(4);
      const again = [await next(r), await next(r), await next(r), await next(r)];
      expect(again.map(body)).toEqual(['a', 'b', 'c', 'd']);
      // released: not a failed delivery, the header's delivery-count stays
      expect(deliveryCountOf(again[0]!.payload)).toBe(0);
      for (const m of again) m.accept();
      await until(() => broker.queues.get('rel')!.unsettled === 0);
      expect(broker.queues.get('rel')!.depth).toBe(0);
    },
  );

  test(
    'modified with delivery-failed: redelivered with header delivery-count + 1',
    { timeout: 10_000 },
    async () => {
      await sendAll('mod', ['a']);
      const r = await conn.openReceiver('mod');
      const first = await next(r);
      expect(first.message.header?.deliveryCount ?? 0).toBe(0);
      first.modify({ deliveryFailed: true, messageAnnotations: { 'x-tried': 'once' } });
      const second = await next(r);
      expect(body(second)).toBe('a');
      expect(second.message.header?.deliveryCount).toBe(1);
      expect(second.message.messageAnnotations).toEqual({ 'x-tried': 'once' });
      second.modify({ deliveryFailed: true });
      const third = await next(r);
      expect(third.message.header?.deliveryCount).toBe(2);
      third.accept();
    },
  );

  test('modified without delivery-failed keeps the delivery-count', { timeout: 10_000 }, async () => {
    await sendAll('mod0', ['a']);
    const r = await conn.openReceiver('mod0');
    (await next(r)).modify({});
    expect((await next(r)).message.header?.deliveryCount ?? 0).toBe(0);
  });

  test('undeliverable-here: never again to that link, but to another one', { timeout: 10_000 }, async () => {
    await sendAll('udh', ['a', 'b']);
    const r1 = await conn.openReceiver({ address: 'udh', credit: 'manual' });
    r1.addCredit(1);
    (await next(r1)).modify({ undeliverableHere: true });
    r1.addCredit(5);
    expect(body(await next(r1))).toBe('b');
    await expect(r1.receive({ timeoutMs: 300 })).rejects.toThrow(/no message/);
    expect(broker.queues.get('udh')!.depth).toBe(1);
    const r2 = await (await another()).openReceiver('udh');
    const m = await next(r2);
    expect(body(m)).toBe('a');
    m.accept();
  });

  test(
    "a message over a receiver's max-message-size waits for another receiver",
    { timeout: 10_000 },
    async () => {
      const s = await conn.openSender('sized');
      expect((await s.send({ body: Buffer.alloc(5000, 1) }))?.type).toBe('accepted');
      expect((await s.send({ body: 'small' }))?.type).toBe('accepted');
      const small = await conn.openReceiver({ address: 'sized', maxMessageSize: 1000 });
      expect(body(await next(small))).toBe('small');
      const q = broker.queues.get('sized')!;
      await until(() => q.depth === 1 && q.unsettled === 1);
      const big = await (await another()).openReceiver('sized');
      const m = await next(big);
      expect((m.message.body as Buffer).length).toBe(5000);
    },
  );

  test('rejected messages are gone', { timeout: 10_000 }, async () => {
    await sendAll('rej', ['a', 'b']);
    const r = await conn.openReceiver('rej');
    (await next(r)).reject({ condition: 'amqp:precondition-failed', description: 'no' });
    const b = await next(r);
    expect(body(b)).toBe('b');
    b.accept();
    const q = broker.queues.get('rej')!;
    await until(() => q.unsettled === 0);
    expect(q.depth).toBe(0);
  });

  test('rcv-settle-mode second when asked, on both sides of the broker', { timeout: 10_000 }, async () => {
    const s = await conn.openSender({ address: 'second', rcvSettleMode: 1 });
    expect(s.link.remoteAttach!.rcvSettleMode).toBe(1);
    expect((await s.send({ body: 'x' }))?.type).toBe('accepted');
    const r = await conn.openReceiver({ address: 'second', rcvSettleMode: 1 });
    expect(r.link.remoteAttach!.rcvSettleMode).toBe(1);
    const m = await next(r);
    m.accept();
    // Mode second: we settle only after the broker settled; then the message is gone.
    await until(() => m.delivery.remoteSettled && m.delivery.settled);
    const q = broker.queues.get('second')!;
    await until(() => q.unsettled === 0);
    expect(q.depth).toBe(0);
  });

  test(
    'a settlement without an outcome counts as released (no default-outcome)',
    { timeout: 10_000 },
    async () => {
      await sendAll('noout', ['a']);
      const r = await conn.openReceiver('noout');
      const m = await next(r);
      // Settled with no state at all (our API always gives one: go to the engine).
      (m.delivery.link as Receiver).disposition(m.delivery, undefined as never, true);
      conn.schedule();
      const again = await next(r);
      expect(body(again)).toBe('a');
    },
  );
});

describe('credit and consumers', () => {
  test('drain with an empty queue gives the credit back', { timeout: 10_000 }, async () => {
    const r = await conn.openReceiver({ address: 'empty', credit: 'manual' });
    r.addCredit(10);
    await until(() => broker.queues.get('empty')?.consumers === 1);
    await r.drain();
    expect(r.link.linkCredit).toBe(0);
    expect(r.link.deliveryCount).toBe(10);
  });

  test(
    'drain with some messages: they come, then the rest of the credit comes back',
    { timeout: 10_000 },
    async () => {
      await sendAll('some', ['a', 'b']);
      const r = await conn.openReceiver({ address: 'some', credit: 'manual' });
      r.addCredit(5);
      await r.drain();
      expect(r.link.linkCredit).toBe(0);
      expect(r.buffered).toBe(2);
      expect([body(await next(r)), body(await next(r))]).toEqual(['a', 'b']);
    },
  );

  test(
    'a large credit takes no more than the credit (beyond the sender queue bound)',
    { timeout: 20_000 },
    async () => {
      const s = await conn.openSender('wide');
      await Promise.all(Array.from({ length: 3000 }, (_, i) => s.send({ body: i })));
      const r = await conn.openReceiver({ address: 'wide', credit: 'manual' });
      r.addCredit(2000);
      await until(() => r.buffered === 2000);
      const q = broker.queues.get('wide')!;
      expect(q.depth).toBe(1000);
      expect(q.unsettled).toBe(2000);
    },
  );

  test('several consumers get messages round-robin', { timeout: 10_000 }, async () => {
    const rs = [await conn.openReceiver('rr'), await conn.openReceiver('rr'), await conn.openReceiver('rr')];
    await until(() => broker.queues.get('rr')?.consumers === 3 && rs.every((r) => r.link.linkCredit > 0));
    await sendAll(
      'rr',
      Array.from({ length: 9 }, (_, i) => i),
    );
    const per = await Promise.all(
      rs.map(async (r) => {
        const got: unknown[] = [];
        for (let i = 0; i < 3; i++) got.push(body(await next(r)));
        return got;
      }),
    );
    expect(per).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ]);
  });

  test(
    'a consumer that detaches gives back its unsettled messages, in order',
    { timeout: 10_000 },
    async () => {
      await sendAll('back', ['a', 'b', 'c']);
      const r1 = await conn.openReceiver('back');
      const a = await next(r1);
      await next(r1);
      await next(r1);
      a.accept();
      await r1.close();
      const q = broker.queues.get('back')!;
      await until(() => q.depth === 2 && q.consumers === 0);
      const r2 = await conn.openReceiver('back');
      expect([body(await next(r2)), body(await next(r2))]).toEqual(['b', 'c']);
    },
  );

  test('a lost connection gives back its unsettled messages', { timeout: 10_000 }, async () => {
    await sendAll('lost', ['a', 'b']);
    const c2 = await another();
    const r1 = await c2.openReceiver('lost');
    await next(r1);
    await next(r1);
    c2.driver.destroy();
    const q = broker.queues.get('lost')!;
    await until(() => q.depth === 2 && q.consumers === 0);
    const r2 = await conn.openReceiver('lost');
    expect([body(await next(r2)), body(await next(r2))]).toEqual(['a', 'b']);
  });
});

describe('nodes', () => {
  test(
    'dynamic source: a generated address, a queue that ends with the link',
    { timeout: 10_000 },
    async () => {
      const r = await conn.openReceiver({ source: { dynamic: true } });
      const source = r.link.remoteAttach!.source!;
      expect(source.dynamic).toBe(true);
      const address = String(source.address);
      expect(address).toMatch(/^dynamic\//);
      expect(broker.queues.get(address)!.dynamic).toBe(true);
      const s = await conn.openSender(address);
      expect((await s.send({ body: 'reply' }))?.type).toBe('accepted');
      expect(body(await next(r))).toBe('reply');
      await r.close();
      await until(() => !broker.queues.has(address));
      // The other link on the deleted node is detached with amqp:resource-deleted.
      await expect(s.send({ body: 'late' })).rejects.toMatchObject({ condition: 'amqp:resource-deleted' });
    },
  );

  test('dynamic target: the sender learns the address it sends to', { timeout: 10_000 }, async () => {
    const s = await conn.openSender({ target: { dynamic: true } });
    const address = String((s.link.remoteAttach!.target as Target).address);
    expect(address).toMatch(/^dynamic\//);
    expect((await s.send({ body: 'x' }))?.type).toBe('accepted');
    expect(broker.queues.get(address)!.depth).toBe(1);
  });

  test('anonymous relay: a sender without address routes by properties.to', { timeout: 10_000 }, async () => {
    const s = await conn.openSender({ target: {} });
    expect((await s.send({ properties: { to: 'relayed' }, body: 'x' }))?.type).toBe('accepted');
    const lost = await s.send({ body: 'nowhere' });
    expect(lost?.type === 'rejected' && lost.error?.condition).toBe('amqp:not-found');
    expect(broker.queues.get('relayed')!.depth).toBe(1);
  });

  test(
    'a receiver without a source address is refused with amqp:invalid-field',
    { timeout: 10_000 },
    async () => {
      const err = await conn.openReceiver({ source: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LinkError);
      expect((err as LinkError).condition).toBe('amqp:invalid-field');
    },
  );

  test('a transaction coordinator is refused with amqp:not-implemented', { timeout: 10_000 }, async () => {
    const err = await conn
      .openSender({ target: { type: 'coordinator', capabilities: ['amqp:local-transactions'] } as never })
      .catch((e: unknown) => e);
    expect((err as LinkError).condition).toBe('amqp:not-implemented');
  });
});

describe('connections', () => {
  test('close() closes clients with amqp:connection:forced', { timeout: 10_000 }, async () => {
    const c2 = await another();
    const closed = new Promise<unknown>((resolve) => c2.once('close', resolve));
    await broker.close();
    const err = await closed;
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).condition).toBe('amqp:connection:forced');
    broker = await startBroker({ port: 0, sasl: { anonymous: true } }); // for afterEach
  });

  test(
    'after its connection is lost, opening a link fails at once (client fix)',
    { timeout: 10_000 },
    async () => {
      const c2 = await another();
      const closed = new Promise<unknown>((resolve) => c2.once('close', resolve));
      for (const sc of broker.connections)
        if (sc.remoteContainerId === c2.engine.containerId) sc.driver.destroy();
      expect(await closed).toBeInstanceOf(DisconnectedError);
      await expect(c2.openSender('q')).rejects.toBeInstanceOf(DisconnectedError);
      await expect(c2.openReceiver('q')).rejects.toBeInstanceOf(DisconnectedError);
    },
  );

  test('the error a client closes with is reported by "disconnect"', { timeout: 10_000 }, async () => {
    const seen = new Promise<unknown>((resolve) => broker.once('disconnect', (_c, err) => resolve(err)));
    await conn.close({ condition: 'amqp:internal-error', description: 'client gives up' });
    const err = await seen;
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).description).toBe('client gives up');
  });
});

describe('SASL', () => {
  let secured: Broker;
  beforeEach(async () => {
    secured = await startBroker({ port: 0, users: { alice: 's3cret' } }); // users alone require SASL
  });
  afterEach(async () => {
    await secured.close();
  });

  test('PLAIN with a good password gets in', { timeout: 10_000 }, async () => {
    const c = await connect({ host: '127.0.0.1', port: secured.port, username: 'alice', password: 's3cret' });
    extra.push(c);
    const s = await c.openSender('q');
    expect((await s.send({ body: 1 }))?.type).toBe('accepted');
    expect([...secured.connections][0]!.identity).toBe('alice');
  });

  test('PLAIN with a bad password, and ANONYMOUS, are refused', { timeout: 10_000 }, async () => {
    const bad = connect({ host: '127.0.0.1', port: secured.port, username: 'alice', password: 'nope' });
    await expect(bad).rejects.toMatchObject({ code: 'AMQP_SASL_AUTH_FAILED' });
    const anon = connect({ host: '127.0.0.1', port: secured.port });
    await expect(anon).rejects.toMatchObject({ code: 'AMQP_SASL_NO_MECHANISM' });
  });

  test('a client that skips SASL is refused, and the broker reports why', { timeout: 10_000 }, async () => {
    const reported = new Promise<unknown>((resolve) => secured.once('disconnect', (_c, err) => resolve(err)));
    const bare = connect({ host: '127.0.0.1', port: secured.port, sasl: 'none' });
    await expect(bare).rejects.toMatchObject({ code: 'AMQP_SASL_REQUIRED' });
    expect(await reported).toMatchObject({ code: 'AMQP_SASL_REQUIRED' });
    expect(secured.queues.size).toBe(0);
  });

  test('startBroker() must say who may connect: users, sasl: { anonymous: true } or sasl: false', async () => {
    await expect(startBroker({ port: 0 })).rejects.toMatchObject({ code: 'AMQP_SERVER_OPTIONS' });
  });
});
