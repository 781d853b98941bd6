/**
 * Our client against a rhea 3.0.5 server: a rhea container listening on loopback, with a small
 * queue handler of its own (below; rhea has no broker). Plain AMQP with SASL ANONYMOUS and PLAIN
 * (guest/guest) on one port, TLS on another.
 *
 * Scenarios: 1000 unsettled messages accepted in order; presettled both ways; a 1 MiB multi-frame
 * message; drain; rejected and released outcomes both ways; close with an error condition both
 * ways; SASL PLAIN (good and bad password) and ANONYMOUS; TLS with the test CA, and certificate
 * verification failing with a typed error without it.
 * Not covered here: rcv-settle-mode second (rhea's server links always answer with mode first).
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { AmqpOneError } from '../../src/codec/errors.js';
import { AuthenticationError, ConnectionError } from '../../src/protocol/errors.js';
import { makeTestCertificates, type TestCertificates } from './support/peers.js';
import { nextMessage, numbered, patterned, receiveBodies, waitFor } from './support/ours.js';

// rhea is CommonJS; its typings do not cover the server side we use: typed loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');

/**
 * The rhea side: one queue (an array of rhea messages) per address. Special addresses make it
 * answer differently: 'reject-me' rejects, 'release-me' releases, 'close-me' closes the
 * connection with an error when a link attaches there.
 */
class RheaQueueServer {
  readonly container: Any;
  readonly queues = new Map<string, Any[]>();
  /** What our client settled the server's deliveries with, by body. */
  readonly outcomes: { body: unknown; outcome: string; error?: Any }[] = [];
  /** Errors our client closed connections with. */
  readonly connectionErrors: Any[] = [];
  private readonly senders = new Set<Any>();
  private servers: Any[] = [];

  constructor() {
    this.container = rhea.create_container({ id: 'rhea-queue-server', autoaccept: false });
    const mechs = this.container.sasl_server_mechanisms;
    mechs.enable_anonymous();
    mechs.enable_plain((user: string, password: string) => user === 'guest' && password === 'guest');
    this.wire();
  }

  private queue(address: string): Any[] {
    let q = this.queues.get(address);
    if (!q) this.queues.set(address, (q = []));
    return q;
  }

  private wire(): void {
    const c = this.container;
    c.on('sender_open', (ctx: Any) => {
      const address = ctx.sender.remote.attach.source?.address;
      if (address === 'close-me') {
        ctx.connection.close({ condition: 'amqp:resource-limit-exceeded', description: 'closed by rhea' });
        return;
      }
      ctx.sender.set_source({ address });
      // Answer with the mode the client asked for, so that presettled delivery is presettled.
      ctx.sender.local.attach.snd_settle_mode = ctx.sender.remote.attach.snd_settle_mode;
      this.senders.add(ctx.sender);
    });
    c.on('sendable', (ctx: Any) => this.pump(ctx.sender));
    c.on('sender_draining', (ctx: Any) => {
      this.pump(ctx.sender);
      if (this.queue(this.addressOf(ctx.sender)).length === 0) ctx.sender.set_drained(true);
    });
    c.on('sender_close', (ctx: Any) => this.senders.delete(ctx.sender));
    c.on('receiver_open', (ctx: Any) => {
      ctx.receiver.set_target({ address: ctx.receiver.remote.attach.target?.address });
    });
    c.on('message', (ctx: Any) => {
      const address = ctx.receiver.remote.attach.target?.address;
      if (address === 'reject-me') {
        ctx.delivery.reject({ condition: 'amqp:precondition-failed', description: 'rejected by rhea' });
      } else if (address === 'release-me') {
        ctx.delivery.release();
      } else {
        this.queue(address).push(ctx.message);
        if (!ctx.delivery.remote_settled) ctx.delivery.accept();
        for (const s of this.senders) if (this.addressOf(s) === address) this.pump(s);
      }
    });
    const record = (outcome: string) => (ctx: Any) => {
      const entry = { body: ctx.delivery.context?.body, outcome, error: ctx.delivery.remote_state?.error };
      this.outcomes.push(entry);
      // Released: back to the front of the queue, as a broker would.
      if (outcome === 'released') {
        this.queue(ctx.delivery.context.address).unshift(ctx.delivery.context.message);
        // rhea reports the outcome after the flow that came with it: send from here too.
        this.pump(ctx.sender);
      }
    };
    c.on('accepted', record('accepted'));
    c.on('rejected', record('rejected'));
    c.on('released', record('released'));
    c.on('connection_error', (ctx: Any) => this.connectionErrors.push(ctx.connection.error));
    c.on('disconnected', () => undefined); // expected when a client fails SASL or goes away
    c.on('error', () => undefined);
  }

  private addressOf(sender: Any): string {
    return sender.remote.attach.source?.address;
  }

  private pump(sender: Any): void {
    const address = this.addressOf(sender);
    const q = this.queue(address);
    while (q.length > 0 && sender.sendable()) {
      const message = q.shift();
      const d = sender.send(message);
      d.context = { body: message.body, message, address };
    }
  }

  async listen(options: Record<string, unknown> = {}): Promise<number> {
    const server = this.container.listen({ port: 0, host: '127.0.0.1', ...options });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.servers) {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}

let rheaServer: RheaQueueServer;
let port: number;
let tlsPort: number;
let certs: TestCertificates;
const open: AmqpConnection[] = [];

async function client(options: Parameters<typeof connect>[0] = {}): Promise<AmqpConnection> {
  const c = await connect({ host: '127.0.0.1', port, ...(options as object) });
  open.push(c);
  return c;
}

beforeAll(async () => {
  certs = await makeTestCertificates();
  rheaServer = new RheaQueueServer();
  port = await rheaServer.listen();
  tlsPort = await rheaServer.listen({ transport: 'tls', key: certs.serverKey, cert: certs.serverCert });
}, 60_000);

afterAll(async () => {
  for (const c of open) await c.close().catch(() => undefined);
  // Connections closed by the peer are gone already; close() just stops listening.
  for (const c of open) c.driver.destroy();
  await rheaServer?.close();
}, 20_000);

describe('our client against a rhea server', () => {
  it('1000 unsettled messages are accepted and come back in order', { timeout: 30_000 }, async () => {
    const c = await client();
    const s = await c.openSender('q1000');
    const outcomes = await Promise.all(numbered(1000).map((b) => s.send({ body: b })));
    expect(outcomes.every((o) => o?.type === 'accepted')).toBe(true);
    expect(rheaServer.queues.get('q1000')).toHaveLength(1000);
    const r = await c.openReceiver({ address: 'q1000', credit: 100 });
    expect(await receiveBodies(r, 1000)).toEqual(numbered(1000));
    await waitFor(() => rheaServer.outcomes.filter((o) => o.outcome === 'accepted').length >= 1000);
  });

  it('presettled messages both ways', { timeout: 15_000 }, async () => {
    const c = await client();
    const s = await c.openSender({ address: 'pre', presettled: true });
    for (const b of numbered(5, 'p')) expect(await s.send({ body: b })).toBeUndefined();
    await waitFor(() => rheaServer.queues.get('pre')?.length === 5, 5000, 'rhea got the presettled messages');
    const r = await c.openReceiver({ address: 'pre', presettled: true });
    expect(r.link.remoteAttach!.sndSettleMode).toBe(1);
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await nextMessage(r));
    expect(got.map((m) => m.message.body)).toEqual(numbered(5, 'p'));
    expect(got.every((m) => m.delivery.remoteSettled)).toBe(true);
  });

  it('a 1 MiB message crosses intact, both ways', { timeout: 15_000 }, async () => {
    const c = await client();
    const big = patterned(1024 * 1024);
    const s = await c.openSender('big');
    expect((await s.send({ body: big }))?.type).toBe('accepted');
    const stored = rheaServer.queues.get('big')![0];
    expect(Buffer.compare(stored.body.content, big)).toBe(0);
    const r = await c.openReceiver('big');
    const m = await nextMessage(r);
    expect(Buffer.compare(m.message.body as Buffer, big)).toBe(0);
    m.accept();
  });

  it('drain: rhea uses up or gives back the credit', { timeout: 15_000 }, async () => {
    const c = await client();
    const s = await c.openSender('drainq');
    await s.send({ body: 'only' });
    const r = await c.openReceiver({ address: 'drainq', credit: 'manual' });
    r.addCredit(5);
    await r.drain();
    expect(r.link.linkCredit).toBe(0);
    expect(r.buffered).toBe(1);
    (await nextMessage(r)).accept();
    r.addCredit(3);
    await r.drain(); // empty now: all 3 come back
    expect(r.link.linkCredit).toBe(0);
    expect(r.buffered).toBe(0);
  });

  it('rejected and released outcomes, both ways', { timeout: 15_000 }, async () => {
    const c = await client();
    // rhea settles our sends:
    const rej = await (await c.openSender('reject-me')).send({ body: 'x' });
    expect(rej).toMatchObject({ type: 'rejected', error: { condition: 'amqp:precondition-failed' } });
    expect(rej?.type === 'rejected' && rej.error?.description).toBe('rejected by rhea');
    const rel = await (await c.openSender('release-me')).send({ body: 'y' });
    expect(rel?.type).toBe('released');
    // We settle rhea's deliveries:
    const s = await c.openSender('outcomes');
    await s.send({ body: 'to-reject' });
    await s.send({ body: 'to-release' });
    const r = await c.openReceiver({ address: 'outcomes', credit: 'manual' });
    r.addCredit(2);
    (await nextMessage(r)).reject({ condition: 'amqp:not-allowed', description: 'we do not like it' });
    (await nextMessage(r)).release();
    r.addCredit(1);
    const again = await nextMessage(r); // rhea's handler put the released message back
    expect(again.message.body).toBe('to-release');
    again.accept();
    await waitFor(() => rheaServer.outcomes.some((o) => o.body === 'to-release' && o.outcome === 'accepted'));
    const seen = rheaServer.outcomes.filter((o) => String(o.body).startsWith('to-'));
    expect(seen.map((o) => `${o.body}:${o.outcome}`)).toEqual([
      'to-reject:rejected',
      'to-release:released',
      'to-release:accepted',
    ]);
    expect(seen[0]!.error).toMatchObject({ condition: 'amqp:not-allowed', description: 'we do not like it' });
  });

  it("close with an error condition: rhea sees ours, we see rhea's", { timeout: 15_000 }, async () => {
    const c = await client();
    await c.close({ condition: 'amqp:internal-error', description: 'client closing on purpose' });
    await waitFor(() => rheaServer.connectionErrors.length > 0, 5000, 'rhea saw the error');
    expect(rheaServer.connectionErrors.at(-1)).toMatchObject({
      condition: 'amqp:internal-error',
      description: 'client closing on purpose',
    });
    const c2 = await client();
    const closed = new Promise<unknown>((resolve) => c2.once('close', resolve));
    await expect(c2.openReceiver('close-me')).rejects.toBeInstanceOf(ConnectionError);
    const err = (await closed) as ConnectionError;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.condition).toBe('amqp:resource-limit-exceeded');
    expect(err.description).toBe('closed by rhea');
    expect(err.remote).toBe(true);
  });

  it('SASL PLAIN with a good and a bad password, and ANONYMOUS', { timeout: 15_000 }, async () => {
    const good = await client({ username: 'guest', password: 'guest' });
    expect(good.engine.saslIdentity).toBe('PLAIN');
    expect((await (await good.openSender('sasl')).send({ body: 1 }))?.type).toBe('accepted');
    const bad = connect({ host: '127.0.0.1', port, username: 'guest', password: 'wrong' });
    await expect(bad).rejects.toBeInstanceOf(AuthenticationError);
    await expect(bad).rejects.toMatchObject({ code: 'AMQP_SASL_AUTH_FAILED', saslCode: 1 });
    const anon = await client({ sasl: 'ANONYMOUS' });
    expect(anon.engine.saslIdentity).toBe('ANONYMOUS');
  });

  it(
    'TLS: with the test CA it works; without it verification fails with a typed error',
    { timeout: 15_000 },
    async () => {
      const c = await connect({ host: 'localhost', port: tlsPort, tls: { ca: certs.ca } });
      open.push(c);
      expect(c.driver.socket.constructor.name).toBe('TLSSocket');
      expect((await (await c.openSender('tlsq')).send({ body: 'secure' }))?.type).toBe('accepted');
      const untrusted = await connect({ host: 'localhost', port: tlsPort, tls: true }).catch(
        (e: unknown) => e,
      );
      expect(untrusted).toBeInstanceOf(AmqpOneError);
      expect(untrusted).toMatchObject({ code: 'AMQP_CONNECT_FAILED' });
      expect(((untrusted as Error).cause as { code?: string }).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
      const wrongName = await connect({
        host: '127.0.0.1',
        port: tlsPort,
        tls: { ca: certs.ca, servername: 'not-this-host.example' },
      }).catch((e: unknown) => e);
      expect(wrongName).toMatchObject({ code: 'AMQP_CONNECT_FAILED' });
      expect(((wrongName as Error).cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    },
  );
});
