/**
 * Our client against Qpid Proton's Python example broker (/usr/share/proton/examples/python/broker.py,
 * Proton 0.37): the strictest peer we have, over plain AMQP with SASL ANONYMOUS.
 *
 * Scenarios: 1000 unsettled messages accepted in order; presettled sends; a 1 MiB multi-frame
 * message both ways; drain; rejected and released outcomes sent by us; close with an error
 * condition (the broker logs it); SASL ANONYMOUS.
 * What this peer cannot do, and so is not tested here:
 * - SASL PLAIN: Debian's Proton has no Cyrus SASL, so its servers offer ANONYMOUS only;
 * - TLS: broker.py listens on plain AMQP only;
 * - outcomes other than accepted from the broker, or redelivery: broker.py accepts every message,
 *   and settles (forgets) a delivery whatever our outcome is; it never closes a connection with an
 *   error of its own;
 * - presettled delivery to us: broker.py always sends unsettled (its attach answers mode mixed);
 * - drain with credit left over: broker.py never answers a drain (it never calls drained()), so
 *   only a drain that its messages use up completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { protonLoggingConfig, startProtonPythonBroker, type Peer } from './support/peers.js';
import { nextMessage, numbered, patterned, receiveBodies, waitFor } from './support/ours.js';

let broker: Peer;
let conn: AmqpConnection;

beforeAll(async () => {
  // With logging on, the broker prints the error conditions its peers close with.
  broker = await startProtonPythonBroker({ env: { PNPY_LOGGER_CONFIG: await protonLoggingConfig() } });
  conn = await connect({ host: '127.0.0.1', port: broker.port });
}, 30_000);

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await broker?.stop();
}, 20_000);

describe('our client against the Proton Python broker', () => {
  it('SASL ANONYMOUS is what we negotiated', { timeout: 5000 }, () => {
    expect(conn.engine.saslIdentity).toBe('ANONYMOUS');
    expect(conn.remoteOpen).toBeDefined();
  });

  it('1000 unsettled messages are accepted and come back in order', { timeout: 30_000 }, async () => {
    const s = await conn.openSender('q1000');
    const outcomes = await Promise.all(numbered(1000).map((b) => s.send({ body: b })));
    expect(outcomes.every((o) => o?.type === 'accepted')).toBe(true);
    const r = await conn.openReceiver({ address: 'q1000', credit: 100 });
    expect(await receiveBodies(r, 1000)).toEqual(numbered(1000));
    await r.close();
  });

  it('presettled sends arrive', { timeout: 15_000 }, async () => {
    const s = await conn.openSender({ address: 'pre', presettled: true });
    for (const b of numbered(5, 'p')) expect(await s.send({ body: b })).toBeUndefined();
    const r = await conn.openReceiver('pre');
    expect(await receiveBodies(r, 5)).toEqual(numbered(5, 'p'));
    await r.close();
  });

  it('a 1 MiB message crosses intact, both ways', { timeout: 15_000 }, async () => {
    const big = patterned(1024 * 1024);
    const s = await conn.openSender('big');
    expect((await s.send({ body: big }))?.type).toBe('accepted');
    const r = await conn.openReceiver('big');
    const m = await nextMessage(r);
    expect(Buffer.compare(m.message.body as Buffer, big)).toBe(0);
    m.accept();
    await r.close();
  });

  it("drain completes once the broker's messages use up the credit", { timeout: 15_000 }, async () => {
    const s = await conn.openSender('drainq');
    for (const b of ['d1', 'd2', 'd3']) await s.send({ body: b });
    const r = await conn.openReceiver({ address: 'drainq', credit: 'manual' });
    r.addCredit(2);
    await r.drain();
    expect(r.link.linkCredit).toBe(0);
    expect(await receiveBodies(r, 2)).toEqual(['d1', 'd2']);
    await r.close();
  });

  it(
    'our rejected and released outcomes are taken (broker.py settles them)',
    { timeout: 15_000 },
    async () => {
      const s = await conn.openSender('outcomes');
      for (const b of ['a', 'b', 'c']) await s.send({ body: b });
      const r = await conn.openReceiver({ address: 'outcomes', credit: 'manual' });
      r.addCredit(3);
      const [a, b, c] = [await nextMessage(r), await nextMessage(r), await nextMessage(r)];
      a.reject({ condition: 'amqp:precondition-failed', description: 'bad a' });
      b.release();
      c.modify({ deliveryFailed: true });
      // The broker answers nothing, but must not object either: the link and connection stay up.
      expect([a, b, c].every((m) => m.settled)).toBe(true);
      const probe = await conn.openSender('after-outcomes');
      expect((await probe.send({ body: 'still here' }))?.type).toBe('accepted');
      expect(r.link.isOpen).toBe(true);
      await r.close();
    },
  );

  it('close with an error condition: the broker reports ours', { timeout: 15_000 }, async () => {
    const c = await connect({ host: '127.0.0.1', port: broker.port });
    await c.close({ condition: 'amqp:internal-error', description: 'closing proton on purpose' });
    // MessagingHandler logs a peer's error condition (its description) on the broker's stderr.
    await waitFor(() => broker.logs().includes('closing proton on purpose'), 5000, 'broker log');
  });
});
