// The broker's bounds: per-queue message and byte limits, a broker-wide byte budget, a bound on
// the number of queues, and unused queues freed. Real sockets, our own client.
import { afterEach, describe, expect, test } from 'vitest';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker/index.js';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { LinkError } from '../../src/protocol/errors.js';
import { until } from '../api/support.js';

const open: (AmqpConnection | Broker)[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close().catch(() => undefined);
});

async function setup(options: BrokerOptions): Promise<{ broker: Broker; conn: AmqpConnection }> {
  const broker = await startBroker({ port: 0, sasl: { anonymous: true }, ...options });
  open.push(broker);
  const conn = await connect({ host: '127.0.0.1', port: broker.port });
  open.push(conn);
  return { broker, conn };
}

/** Sends each body; returns the bodies accepted, and the conditions of the ones rejected. */
async function sendEach(conn: AmqpConnection, address: string, bodies: string[]) {
  const s = await conn.openSender(address);
  const accepted: string[] = [];
  const refused: unknown[] = [];
  for (const b of bodies) {
    const o = await s.send({ body: b });
    if (o?.type === 'accepted') accepted.push(b);
    else if (o?.type === 'rejected') refused.push(o.error?.condition);
    else throw new Error(`unexpected outcome ${o?.type}`);
  }
  await s.close();
  return { accepted, refused };
}

const bodies = (n: number, p = 'm'): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`);

describe('queue limits', () => {
  test(
    'past the message limit sends are rejected with amqp:resource-limit-exceeded; reading frees room',
    { timeout: 10_000 },
    async () => {
      const { broker, conn } = await setup({ maxQueueMessages: 3 });
      const sent = bodies(5);
      const { accepted, refused } = await sendEach(conn, 'q', sent);
      expect(accepted.length + refused.length).toBe(sent.length);
      expect(accepted).toEqual(bodies(3));
      expect(refused).toEqual(['amqp:resource-limit-exceeded', 'amqp:resource-limit-exceeded']);
      const r = await conn.openReceiver({ address: 'q', credit: 'manual' });
      r.addCredit(3);
      const got: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const m = (await r.receive({ timeoutMs: 3000 }))!;
        got.push(m.message.body);
        m.accept();
      }
      expect(got).toEqual(accepted);
      await until(() => broker.queues.get('q')!.unsettled === 0);
      expect((await sendEach(conn, 'q', ['again'])).accepted).toEqual(['again']);
    },
  );

  test('the byte limit, per queue and for all queues together', { timeout: 10_000 }, async () => {
    const { broker, conn } = await setup({ maxQueueBytes: 2000, maxTotalBytes: 3000 });
    const big = 'x'.repeat(900);
    const a = await sendEach(conn, 'a', [big, big, big]);
    expect(a.accepted).toHaveLength(2);
    expect(a.refused).toEqual(['amqp:resource-limit-exceeded']);
    expect(broker.queues.get('a')!.bytes).toBeLessThanOrEqual(2000);
    const b = await sendEach(conn, 'b', [big, big]);
    expect(b.accepted).toHaveLength(1);
    expect(b.refused).toEqual(['amqp:resource-limit-exceeded']);
    expect(broker.bytes).toBeLessThanOrEqual(3000);
  });

  test(
    'modified with new annotations again and again: the bytes counted are the bytes held, within the limit',
    { timeout: 20_000 },
    async () => {
      const { broker, conn } = await setup({ maxQueueBytes: 1500 });
      await sendEach(conn, 'mod', ['x'.repeat(200)]);
      const q = broker.queues.get('mod')!;
      const r = await conn.openReceiver('mod');
      const rounds = 30;
      let last;
      for (let i = 0; i < rounds; i++) {
        last = (await r.receive({ timeoutMs: 3000 }))!;
        expect(q.bytes).toBeLessThanOrEqual(1500);
        expect(broker.bytes).toBe(q.bytes);
        if (i < rounds - 1)
          last.modify({ deliveryFailed: true, messageAnnotations: { [`x-k${i}`]: 'v'.repeat(100) } });
      }
      // Annotations were merged while they fitted, then no more; the delivery-count still counts.
      expect(Object.keys(last!.message.messageAnnotations ?? {}).length).toBeGreaterThan(3);
      expect(Object.keys(last!.message.messageAnnotations ?? {}).length).toBeLessThan(rounds - 1);
      expect(last!.message.header?.deliveryCount).toBe(rounds - 1);
      await r.close(); // its unsettled message goes back to the queue
      await until(() => q.depth === 1);
      const held = q.peek()[0]!.length;
      expect(q.bytes).toBe(held);
      expect(broker.bytes).toBe(held);
      expect(held).toBeLessThanOrEqual(1500);
    },
  );

  test(
    'a presettled send that does not fit ends its link with amqp:resource-limit-exceeded',
    { timeout: 10_000 },
    async () => {
      const { broker, conn } = await setup({ maxQueueMessages: 1 });
      const s = await conn.openSender({ address: 'pre', presettled: true });
      await s.send({ body: 'fits' });
      await s.send({ body: 'does not' });
      await until(() => s.link.remote === 'detached');
      expect(s.link.error).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
      expect(broker.queues.get('pre')!.depth).toBe(1);
    },
  );
});

describe('queue count', () => {
  test('queues nobody uses any more are freed', { timeout: 20_000 }, async () => {
    const { broker, conn } = await setup({});
    for (let i = 0; i < 50; i++) {
      const r = await conn.openReceiver(`random-${i}`);
      const s = await conn.openSender(`random-${i}`);
      await s.close();
      await r.close();
    }
    await until(() => broker.queues.size === 0);
    // A queue that still holds a message stays, with no link on it.
    await sendEach(conn, 'kept', ['x']);
    await until(() => broker.queues.get('kept')?.depth === 1);
    const r = await conn.openReceiver('kept');
    const m = (await r.receive({ timeoutMs: 3000 }))!;
    expect(m.message.body).toBe('x');
    m.accept();
    await r.close();
    await until(() => broker.queues.size === 0);
  });

  test(
    'past maxQueues an attach that would create a queue is refused; a relayed message too',
    { timeout: 10_000 },
    async () => {
      const { broker, conn } = await setup({ maxQueues: 2 });
      await conn.openReceiver('one');
      await conn.openSender('two');
      const err = await conn.openReceiver('three').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LinkError);
      expect((err as LinkError).condition).toBe('amqp:resource-limit-exceeded');
      const dyn = await conn.openReceiver({ source: { dynamic: true } }).catch((e: unknown) => e);
      expect((dyn as LinkError).condition).toBe('amqp:resource-limit-exceeded');
      // Existing queues are still reachable.
      expect((await sendEach(conn, 'one', ['ok'])).accepted).toEqual(['ok']);
      const relay = await conn.openSender({ target: {} });
      const o = await relay.send({ properties: { to: 'four' }, body: 'x' });
      expect(o?.type === 'rejected' && o.error?.condition).toBe('amqp:resource-limit-exceeded');
      expect(broker.queues.size).toBe(2);
    },
  );

  test(
    'a relayed message too large for a new queue leaves no queue behind',
    { timeout: 10_000 },
    async () => {
      const { broker, conn } = await setup({ maxQueueBytes: 100 });
      const relay = await conn.openSender({ target: {} });
      for (let i = 0; i < 5; i++) {
        const o = await relay.send({ properties: { to: `nowhere-${i}` }, body: 'x'.repeat(200) });
        expect(o?.type === 'rejected' && o.error?.condition).toBe('amqp:resource-limit-exceeded');
      }
      expect(broker.queues.size).toBe(0);
    },
  );
});
