/**
 * Our client against Qpid Proton's C example broker (broker.c, Proton 0.37, 4 threads), started
 * with the test server certificate: one port takes both TLS (amqps) and plain AMQP.
 *
 * Scenarios: 1000 unsettled messages accepted in order; presettled both ways; a 1 MiB multi-frame
 * message both ways; drain; close with an error condition (the broker prints it); SASL ANONYMOUS
 * (and PLAIN refused, as the broker offers ANONYMOUS only); TLS with the test CA, and certificate
 * verification failing with a typed error without it.
 * What this peer cannot do, and so is not tested here:
 * - rejected and released outcomes: broker.c accepts every message, and sends every message
 *   presettled, so there is no delivery of its to reject or release;
 * - SASL PLAIN: broker.c allows ANONYMOUS only (and Debian's Proton has no Cyrus SASL);
 * - drain with credit left over: broker.c never answers a drain (it never calls pn_link_drained),
 *   so only a drain that its messages use up completes;
 * - an error condition of its own: broker.c only closes in answer to its peers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { AmqpOneError } from '../../src/codec/errors.js';
import { AuthenticationError } from '../../src/protocol/errors.js';
import {
  makeTestCertificates,
  startProtonCBroker,
  type ProtonCBrokerPeer,
  type TestCertificates,
} from './support/peers.js';
import { nextMessage, numbered, patterned, receiveBodies, waitFor } from './support/ours.js';

let broker: ProtonCBrokerPeer;
let certs: TestCertificates;
let conn: AmqpConnection;

beforeAll(async () => {
  certs = await makeTestCertificates();
  broker = await startProtonCBroker({ tls: certs });
  conn = await connect({ host: '127.0.0.1', port: broker.port });
}, 120_000);

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await broker?.stop();
}, 20_000);

describe('our client against the Proton C broker', () => {
  it('1000 unsettled messages are accepted and come back in order', { timeout: 30_000 }, async () => {
    const s = await conn.openSender('q1000');
    const outcomes = await Promise.all(numbered(1000).map((b) => s.send({ body: b })));
    expect(outcomes.every((o) => o?.type === 'accepted')).toBe(true);
    const r = await conn.openReceiver({ address: 'q1000', credit: 100 });
    expect(await receiveBodies(r, 1000)).toEqual(numbered(1000));
    await r.close();
  });

  it('presettled both ways (broker.c sends everything presettled)', { timeout: 15_000 }, async () => {
    const s = await conn.openSender({ address: 'pre', presettled: true });
    for (const b of numbered(5, 'p')) expect(await s.send({ body: b })).toBeUndefined();
    const r = await conn.openReceiver({ address: 'pre', presettled: true });
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await nextMessage(r));
    expect(got.map((m) => m.message.body)).toEqual(numbered(5, 'p'));
    expect(got.every((m) => m.delivery.remoteSettled)).toBe(true);
    await r.close();
  });

  it('a 1 MiB message crosses intact, both ways', { timeout: 15_000 }, async () => {
    const big = patterned(1024 * 1024, 3);
    const s = await conn.openSender('big');
    expect((await s.send({ body: big }))?.type).toBe('accepted');
    const r = await conn.openReceiver('big');
    const m = await nextMessage(r);
    expect(Buffer.compare(m.message.body as Buffer, big)).toBe(0);
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

  it('close with an error condition: the broker prints ours', { timeout: 15_000 }, async () => {
    const c = await connect({ host: '127.0.0.1', port: broker.port });
    await c.close({ condition: 'amqp:internal-error', description: 'closing proton-c on purpose' });
    await waitFor(
      () =>
        broker
          .logs()
          .includes('PN_CONNECTION_REMOTE_CLOSE: amqp:internal-error: closing proton-c on purpose'),
      5000,
      'broker output',
    );
  });

  it(
    'SASL ANONYMOUS works; PLAIN is refused with a typed error (not offered)',
    { timeout: 15_000 },
    async () => {
      expect(conn.engine.saslIdentity).toBe('ANONYMOUS');
      const plain = connect({ host: '127.0.0.1', port: broker.port, username: 'guest', password: 'guest' });
      await expect(plain).rejects.toBeInstanceOf(AuthenticationError);
      await expect(plain).rejects.toMatchObject({ code: 'AMQP_SASL_NO_MECHANISM' });
    },
  );

  it(
    'TLS: with the test CA it works; without it verification fails with a typed error',
    { timeout: 15_000 },
    async () => {
      const c = await connect({ url: broker.tlsUrl!, tls: { ca: certs.ca } });
      try {
        expect(c.driver.socket.constructor.name).toBe('TLSSocket');
        const s = await c.openSender('tlsq');
        expect((await s.send({ body: 'over tls' }))?.type).toBe('accepted');
        const r = await c.openReceiver('tlsq');
        expect((await nextMessage(r)).message.body).toBe('over tls');
      } finally {
        await c.close();
      }
      const untrusted = await connect({ url: broker.tlsUrl! }).catch((e: unknown) => e);
      expect(untrusted).toBeInstanceOf(AmqpOneError);
      expect(untrusted).toMatchObject({ code: 'AMQP_CONNECT_FAILED' });
      expect(((untrusted as Error).cause as { code?: string }).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    },
  );
});
