/**
 * rhea 3.0.5 clients against our broker (src/broker): one broker on plain TCP with SASL PLAIN
 * (guest/guest) and ANONYMOUS, one on TLS with the test certificate.
 *
 * Scenarios: 1000 unsettled messages accepted in order; presettled both ways; a 1 MiB multi-frame
 * message both ways; drain (empty queue: the credit comes back); rejected, released and modified
 * outcomes (redelivery, delivery-count); close with an error condition both ways; SASL PLAIN (good
 * and bad password) and ANONYMOUS; TLS with the test CA.
 * Not covered here: rcv-settle-mode second with rhea (test/broker covers it with our client).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { ConnectionError } from '../../src/protocol/errors.js';
import { makeTestCertificates, type TestCertificates } from './support/peers.js';
import { numbered, patterned, waitFor } from './support/ours.js';

// rhea is CommonJS; typed loosely here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');

let broker: Broker;
let tlsBroker: Broker;
let certs: TestCertificates;
const connections: Any[] = [];

/** Rejects after ms with what was being waited for. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`rhea: no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A rhea connection, once open; rejects with the SASL or connection error otherwise. */
function rheaConnect(options: Record<string, unknown> = {}): Promise<Any> {
  const container = rhea.create_container({ id: `rhea-client-${connections.length}` });
  const conn = container.connect({ host: '127.0.0.1', port: broker.port, reconnect: false, ...options });
  connections.push(conn);
  return within(
    5000,
    'connection_open',
    new Promise((resolve, reject) => {
      conn.once('connection_open', () => resolve(conn));
      conn.once('connection_error', (ctx: Any) => reject(ctx.connection.get_error()));
      conn.once('disconnected', (ctx: Any) => reject(ctx.error ?? new Error('disconnected')));
    }),
  );
}

/** Sends the messages as credit allows; resolves with each outcome ('settled' when presettled). */
function rheaSend(conn: Any, address: string, messages: Any[], presettled = false): Promise<string[]> {
  const sender = conn.open_sender({ target: { address }, snd_settle_mode: presettled ? 1 : 0 });
  const outcomes: string[] = [];
  let next = 0;
  return within(
    20_000,
    `outcomes for ${address}`,
    new Promise((resolve, reject) => {
      const done = (): void => {
        if (outcomes.length === messages.length) {
          sender.close();
          resolve(outcomes);
        }
      };
      sender.on('sendable', () => {
        while (next < messages.length && sender.sendable()) {
          const d = sender.send(messages[next++]);
          if (presettled) {
            d.settled = true;
            outcomes.push('settled');
          }
        }
        if (presettled) done();
      });
      for (const outcome of ['accepted', 'rejected', 'released']) {
        sender.on(outcome, () => {
          outcomes.push(outcome);
          done();
        });
      }
      sender.on('sender_error', (ctx: Any) => reject(ctx.sender.error));
    }),
  );
}

interface Received {
  message: Any;
  delivery: Any;
}

/**
 * Receives `count` messages (credit window `credit`); `settle` decides each one's fate (accept by
 * default), and the receiver stays open for the caller, who closes it.
 */
function rheaReceive(
  conn: Any,
  address: string,
  count: number,
  o: { credit?: number; presettled?: boolean; settle?: (r: Received, i: number) => void } = {},
): { receiver: Any; done: Promise<Received[]> } {
  const receiver = conn.open_receiver({
    source: { address },
    credit_window: o.credit ?? 100,
    autoaccept: false,
    snd_settle_mode: o.presettled ? 1 : 0,
  });
  const got: Received[] = [];
  const done = within(
    20_000,
    `${count} messages from ${address}`,
    new Promise<Received[]>((resolve, reject) => {
      receiver.on('message', (ctx: Any) => {
        const r = { message: ctx.message, delivery: ctx.delivery };
        got.push(r);
        if (o.settle) o.settle(r, got.length - 1);
        else if (!ctx.delivery.remote_settled) ctx.delivery.accept();
        if (got.length === count) resolve(got);
      });
      receiver.on('receiver_error', (ctx: Any) => reject(ctx.receiver.error));
    }),
  );
  return { receiver, done };
}

beforeAll(async () => {
  certs = await makeTestCertificates();
  // rhea connects without SASL unless given credentials: this broker takes the bare header explicitly.
  broker = await startBroker({
    port: 0,
    users: { guest: 'guest' },
    sasl: { anonymous: true, required: false },
  });
  tlsBroker = await startBroker({
    port: 0,
    sasl: { anonymous: true },
    tls: { cert: certs.serverCert, key: certs.serverKey },
  });
}, 60_000);

afterAll(async () => {
  for (const c of connections) if (!c.is_closed()) c.close();
  await broker?.close();
  await tlsBroker?.close();
}, 20_000);

describe('rhea clients against our broker', () => {
  it('1000 unsettled messages are accepted and delivered in order', { timeout: 30_000 }, async () => {
    const conn = await rheaConnect();
    const outcomes = await rheaSend(
      conn,
      'q1000',
      numbered(1000).map((b) => ({ body: b })),
    );
    expect(outcomes).toEqual(Array(1000).fill('accepted'));
    expect(broker.queues.get('q1000')!.depth).toBe(1000);
    const { receiver, done } = rheaReceive(conn, 'q1000', 1000, { credit: 100 });
    const got = await done;
    expect(got.map((r) => r.message.body)).toEqual(numbered(1000));
    receiver.close();
    const q = broker.queues.get('q1000')!;
    await waitFor(() => q.unsettled === 0 && q.depth === 0, 5000, 'queue empty');
  });

  it('presettled both ways', { timeout: 15_000 }, async () => {
    const conn = await rheaConnect();
    const outcomes = await rheaSend(
      conn,
      'pre',
      numbered(5, 'p').map((b) => ({ body: b })),
      true,
    );
    expect(outcomes).toEqual(Array(5).fill('settled'));
    await waitFor(() => broker.queues.get('pre')?.depth === 5, 5000, 'presettled messages on the queue');
    const { receiver, done } = rheaReceive(conn, 'pre', 5, { presettled: true });
    const got = await done;
    expect(got.map((r) => r.message.body)).toEqual(numbered(5, 'p'));
    expect(got.every((r) => r.delivery.remote_settled)).toBe(true);
    expect(receiver.remote.attach.snd_settle_mode).toBe(1);
    await waitFor(() => broker.queues.get('pre')!.unsettled === 0, 5000, 'nothing unsettled');
    receiver.close();
  });

  it('a 1 MiB message crosses intact, both ways', { timeout: 15_000 }, async () => {
    const conn = await rheaConnect();
    const big = patterned(1024 * 1024, 11);
    const outcomes = await rheaSend(conn, 'big', [{ body: rhea.message.data_section(big) }]);
    expect(outcomes).toEqual(['accepted']);
    const { receiver, done } = rheaReceive(conn, 'big', 1);
    const [r] = await done;
    expect(Buffer.compare(r!.message.body.content, big)).toBe(0);
    receiver.close();
  });

  it('drain on an empty queue gives the credit back', { timeout: 15_000 }, async () => {
    const conn = await rheaConnect();
    const receiver = conn.open_receiver({ source: { address: 'empty' }, credit_window: 0 });
    await within(5000, 'receiver_open', new Promise((resolve) => receiver.once('receiver_open', resolve)));
    receiver.add_credit(7);
    receiver.drain_credit();
    await within(
      5000,
      'receiver_drained',
      new Promise((resolve) => receiver.once('receiver_drained', resolve)),
    );
    expect(receiver.credit).toBe(0);
    expect(receiver.delivery_count).toBe(7);
    receiver.close();
  });

  it('rejected, released and modified outcomes', { timeout: 15_000 }, async () => {
    const conn = await rheaConnect();
    await rheaSend(
      conn,
      'outcomes',
      ['a', 'b', 'c'].map((b) => ({ body: b })),
    );
    const fates = ['release', 'reject', 'modify', 'accept', 'accept', 'accept'];
    const { receiver, done } = rheaReceive(conn, 'outcomes', 5, {
      credit: 10,
      // One outcome per turn: rhea 3.0.5 merges a disposition into the one before it whatever
      // the outcomes when that one covers a single delivery (write_dispositions compares states
      // only from the second delivery of a range on), so a release then a reject in one batch
      // would go out as one 'released' range.
      settle: (r, i) => {
        const fate = fates[i];
        setTimeout(() => {
          if (fate === 'release') r.delivery.release();
          else if (fate === 'reject')
            r.delivery.reject({ condition: 'amqp:precondition-failed', description: 'no b' });
          else if (fate === 'modify') r.delivery.modified({ delivery_failed: true });
          else r.delivery.accept();
        }, i * 30);
      },
    });
    const got = await done;
    // a released (back at the front), b rejected (gone), c modified (back, delivery-count 1)
    expect(got.map((r) => r.message.body)).toEqual(['a', 'b', 'c', 'a', 'c']);
    expect(got[3]!.message.delivery_count ?? 0).toBe(0);
    expect(got[4]!.message.delivery_count).toBe(1);
    const q = broker.queues.get('outcomes')!;
    await waitFor(() => q.unsettled === 0 && q.depth === 0, 5000, 'queue empty');
    receiver.close();
  });

  it("close with an error condition: both sides see the other's", { timeout: 15_000 }, async () => {
    // Ours: the broker closes a rhea connection with an error.
    const conn = await rheaConnect({ container_id: 'to-be-closed' });
    const seen = within(
      5000,
      'connection_error',
      new Promise<Any>((resolve) =>
        conn.once('connection_error', (ctx: Any) => resolve(ctx.connection.error)),
      ),
    );
    const server = [...broker.connections].find((c) => c.remoteContainerId === 'to-be-closed')!;
    await server.close({ condition: 'amqp:resource-limit-exceeded', description: 'the broker had enough' });
    expect(await seen).toMatchObject({
      condition: 'amqp:resource-limit-exceeded',
      description: 'the broker had enough',
    });
    // Theirs: rhea closes with an error; the broker reports it.
    const conn2 = await rheaConnect();
    const reported = new Promise<unknown>((resolve) => broker.once('disconnect', (_c, err) => resolve(err)));
    conn2.close({ condition: 'amqp:internal-error', description: 'rhea gives up' });
    const err = await within(5000, 'disconnect', reported);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ condition: 'amqp:internal-error', remote: true });
    expect((err as ConnectionError).description).toBe('rhea gives up');
  });

  it('SASL PLAIN with a good and a bad password, and ANONYMOUS', { timeout: 15_000 }, async () => {
    const good = await rheaConnect({ username: 'guest', password: 'guest' });
    expect(good.is_open()).toBe(true);
    await waitFor(() => [...broker.connections].some((c) => c.identity === 'guest'), 5000, 'PLAIN identity');
    const bad = await rheaConnect({ username: 'guest', password: 'wrong' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ condition: 'amqp:unauthorized-access' });
    const anonymous = await rheaConnect({ username: 'anonymous' }); // no password: rhea says ANONYMOUS
    expect(anonymous.is_open()).toBe(true);
    await waitFor(
      () => [...broker.connections].some((c) => c.identity === 'anonymous'),
      5000,
      'ANONYMOUS identity',
    );
  });

  it('TLS with the test CA', { timeout: 15_000 }, async () => {
    const conn = await rheaConnect({
      port: tlsBroker.port,
      host: 'localhost',
      transport: 'tls',
      ca: certs.ca,
      servername: 'localhost',
    });
    expect(await rheaSend(conn, 'tlsq', [{ body: 'secure' }])).toEqual(['accepted']);
    const { receiver, done } = rheaReceive(conn, 'tlsq', 1);
    expect((await done)[0]!.message.body).toBe('secure');
    receiver.close();
    expect(tlsBroker.queues.get('tlsq')).toBeDefined();
  });
});
