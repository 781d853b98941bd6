/**
 * Qpid Proton Python 0.37 clients against our broker (src/broker): Proton's own examples
 * (simple_send.py, simple_recv.py), the harness client scripts/proton_client.py (SASL PLAIN, TLS),
 * and small Proton programs written here for what those do not do (presettled, 1 MiB, drain,
 * outcomes, closing with an error). One broker on plain TCP (PLAIN guest/guest and ANONYMOUS),
 * one on TLS.
 *
 * Scenarios: 1000 unsettled messages accepted in order; presettled both ways; a 1 MiB multi-frame
 * message both ways; drain (empty queue: the credit comes back); rejected, released and modified
 * outcomes; close with an error condition both ways; SASL PLAIN (good and bad password) and
 * ANONYMOUS; TLS with the test CA (Proton checks the certificate and host name).
 * Not covered here: rcv-settle-mode second (Proton's examples do not ask for it; test/broker does).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect } from '../../src/client/index.js';
import { ConnectionError } from '../../src/protocol/errors.js';
import {
  makeTestCertificates,
  runProtonClient,
  runProtonSimpleRecv,
  runProtonSimpleSend,
  runUamqp,
  type RunResult,
  type TestCertificates,
} from './support/peers.js';
import { nextMessage, patterned, waitFor } from './support/ours.js';

/**
 * Proton programs, one per mode: python3 - MODE URL ADDRESS. Each prints what it saw and exits 0,
 * or 1 on an AMQP error; it gives up after 10 s (exit 2).
 */
const PROTON_PROGRAM = `
import hashlib, sys
from proton import Condition, Delivery, Message
from proton.handlers import MessagingHandler
from proton.reactor import AtMostOnce, Container

mode, url, address = sys.argv[1], sys.argv[2], sys.argv[3]
MIB = 1024 * 1024

def pattern(n, seed):
    return bytes(((i * 31 + seed + (i >> 16)) & 0xff) for i in range(n))

class Program(MessagingHandler):
    def __init__(self):
        manual = mode in ('drain', 'outcomes')
        super(Program, self).__init__(prefetch=0 if manual else 10, auto_accept=False)
        self.seen = {}
        self.count = 0
        self.code = None

    def done(self, code=0):
        if self.code is None:
            self.code = code
        self.timer.cancel()
        self.conn.close()

    def on_start(self, event):
        c = event.container
        self.conn = c.connect(url, reconnect=False, allowed_mechs='ANONYMOUS')
        self.timer = c.schedule(10, self)
        if mode in ('send-presettled', 'send-big'):
            c.create_sender(self.conn, address, options=AtMostOnce() if mode == 'send-presettled' else None)
        elif mode in ('recv-presettled', 'recv-big', 'drain', 'outcomes'):
            c.create_receiver(self.conn, address, options=AtMostOnce() if mode == 'recv-presettled' else None)

    def on_timer_task(self, event):
        print('timed out', flush=True)
        self.code = 2
        self.conn.close()

    def on_connection_opened(self, event):
        if mode == 'close-with-error':
            event.connection.condition = Condition('amqp:internal-error', 'proton gives up')
            self.done()

    def on_link_opened(self, event):
        if mode == 'drain':
            event.receiver.drain(10)
        elif mode == 'outcomes':
            event.receiver.flow(10)

    def on_link_flow(self, event):
        if mode == 'drain' and event.receiver.credit == 0 and not event.receiver.draining():
            print('drained credit=%d' % event.receiver.credit, flush=True)
            self.done()

    def on_sendable(self, event):
        if mode == 'send-presettled':
            while event.sender.credit and self.count < 5:
                self.count += 1
                dlv = event.sender.send(Message(body='p%d' % self.count))
                dlv.settle()  # at-most-once: settled before its transfer goes out
                print('sent p%d' % self.count, flush=True)
            if self.count == 5:
                print('remote snd-settle-mode=%d' % event.sender.remote_snd_settle_mode, flush=True)
                self.done()
        elif mode == 'send-big' and self.count == 0:
            self.count = 1
            event.sender.send(Message(body=pattern(MIB, 9)))

    def on_accepted(self, event):
        print('accepted', flush=True)
        self.done()

    def on_message(self, event):
        body, dlv = event.message.body, event.delivery
        if mode == 'recv-presettled':
            print('%s settled=%s' % (body, dlv.settled), flush=True)
            self.count += 1
            if self.count == 5:
                self.done()
        elif mode == 'recv-big':
            print('got %d bytes sha256=%s' % (len(body), hashlib.sha256(body).hexdigest()), flush=True)
            self.accept(dlv)
            self.done()
        elif mode == 'outcomes':
            n = self.seen.get(body, 0)
            self.seen[body] = n + 1
            action = {('a', 0): 'release', ('b', 0): 'modify', ('c', 0): 'reject'}.get((body, n), 'accept')
            print('%s delivery-count=%d %s' % (body, event.message.delivery_count, action), flush=True)
            if action == 'release':
                self.release(dlv, delivered=False)
            elif action == 'modify':
                dlv.local.failed = True
                self.settle(dlv, Delivery.MODIFIED)
            elif action == 'reject':
                self.reject(dlv)
            else:
                self.accept(dlv)
            self.count += 1
            if self.count == 5:
                self.done()

    def on_transport_error(self, event):
        print('transport error: %s' % event.transport.condition, flush=True)
        self.code = 1

    def on_connection_error(self, event):
        print('connection error: %s' % event.connection.remote_condition, flush=True)
        self.code = 1

    def on_link_error(self, event):
        print('link error: %s' % event.link.remote_condition, flush=True)
        self.code = 1

program = Program()
Container(program).run()
sys.exit(program.code if program.code is not None else 1)
`;

function proton(mode: string, port: number, address = 'q'): Promise<RunResult> {
  return runUamqp(PROTON_PROGRAM, { timeoutMs: 20_000, args: [mode, `amqp://127.0.0.1:${port}`, address] });
}

let broker: Broker;
let tlsBroker: Broker;
let certs: TestCertificates;

beforeAll(async () => {
  certs = await makeTestCertificates();
  broker = await startBroker({ port: 0, users: { guest: 'guest' }, sasl: { anonymous: true } });
  tlsBroker = await startBroker({
    port: 0,
    sasl: { anonymous: true },
    tls: { cert: certs.serverCert, key: certs.serverKey },
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await tlsBroker?.close();
}, 20_000);

describe('Proton Python clients against our broker', () => {
  it(
    'simple_send.py: 1000 unsettled messages accepted; simple_recv.py gets them in order',
    { timeout: 60_000 },
    async () => {
      const address = `127.0.0.1:${broker.port}/q1000`;
      const sent = await runProtonSimpleSend(address, 1000, { timeoutMs: 30_000 });
      expect(sent.code, sent.output).toBe(0);
      expect(sent.stdout).toContain('all messages confirmed');
      // Held now: an emptied queue with no link on it is freed.
      const q = broker.queues.get('q1000')!;
      expect(q.depth).toBe(1000);
      const got = await runProtonSimpleRecv(address, 1000, { timeoutMs: 30_000 });
      expect(got.code, got.output).toBe(0);
      expect(got.stdout.trim().split('\n')).toEqual(
        Array.from({ length: 1000 }, (_, i) => `{'sequence': ${i + 1}}`),
      );
      await waitFor(() => q.depth === 0 && q.unsettled === 0, 5000, 'queue empty');
    },
  );

  it('presettled both ways', { timeout: 30_000 }, async () => {
    const sent = await proton('send-presettled', broker.port, 'pre');
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain('sent p5\nremote snd-settle-mode=1');
    await waitFor(() => broker.queues.get('pre')?.depth === 5, 5000, 'presettled messages on the queue');
    const q = broker.queues.get('pre')!;
    const got = await proton('recv-presettled', broker.port, 'pre');
    expect(got.code, got.output).toBe(0);
    expect(got.stdout.trim().split('\n')).toEqual([1, 2, 3, 4, 5].map((i) => `p${i} settled=True`));
    expect(q.unsettled).toBe(0);
  });

  it('a 1 MiB message crosses intact, both ways', { timeout: 30_000 }, async () => {
    // Proton to the broker, then to our client:
    const sent = await proton('send-big', broker.port, 'big-in');
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain('accepted');
    const c = await connect({ host: '127.0.0.1', port: broker.port });
    try {
      const r = await c.openReceiver('big-in');
      const m = await nextMessage(r);
      expect(Buffer.compare(m.message.body as Buffer, patterned(1024 * 1024, 9))).toBe(0);
      m.accept();
      // Our client to the broker, then to Proton:
      const big = patterned(1024 * 1024, 13);
      const s = await c.openSender('big-out');
      expect((await s.send({ body: big }))?.type).toBe('accepted');
    } finally {
      await c.close();
    }
    const got = await proton('recv-big', broker.port, 'big-out');
    expect(got.code, got.output).toBe(0);
    const sha = createHash('sha256')
      .update(patterned(1024 * 1024, 13))
      .digest('hex');
    expect(got.stdout).toContain(`got 1048576 bytes sha256=${sha}`);
  });

  it('drain on an empty queue gives the credit back', { timeout: 30_000 }, async () => {
    const r = await proton('drain', broker.port, 'empty');
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('drained credit=0');
  });

  it('rejected, released and modified outcomes', { timeout: 30_000 }, async () => {
    const c = await connect({ host: '127.0.0.1', port: broker.port });
    const s = await c.openSender('outcomes');
    for (const b of ['a', 'b', 'c']) await s.send({ body: b });
    await c.close();
    const q = broker.queues.get('outcomes')!;
    const r = await proton('outcomes', broker.port, 'outcomes');
    expect(r.code, r.output).toBe(0);
    // Arrival order depends on when each outcome reaches the broker; what each saw does not.
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      'a delivery-count=0 accept', // released: not a failed delivery
      'a delivery-count=0 release',
      'b delivery-count=0 modify',
      'b delivery-count=1 accept', // modified with delivery-failed
      'c delivery-count=0 reject',
    ]);
    await waitFor(() => q.depth === 0 && q.unsettled === 0, 5000, 'queue empty');
  });

  it("close with an error condition: both sides see the other's", { timeout: 30_000 }, async () => {
    // The broker closes a waiting Proton receiver's connection with an error.
    const waiting = runProtonClient('recv', {
      url: `amqp://127.0.0.1:${broker.port}`,
      address: 'nothing',
      count: 1,
    });
    await waitFor(() => broker.queues.get('nothing')?.consumers === 1, 10_000, 'Proton receiver attached');
    const server = [...broker.connections].find((c) => c.remoteContainerId !== undefined && c.engine.isOpen)!;
    await server.close({ condition: 'amqp:resource-limit-exceeded', description: 'the broker had enough' });
    const r = await waiting;
    expect(r.code, r.output).toBe(1);
    expect(r.stderr).toMatch(
      /connection error: Condition\('amqp:resource-limit-exceeded', 'the broker had enough'\)/,
    );
    // Proton closes with an error; the broker reports it.
    const reported = new Promise<unknown>((resolve) => broker.once('disconnect', (_c, err) => resolve(err)));
    const closing = await proton('close-with-error', broker.port);
    expect(closing.code, closing.output).toBe(0);
    const err = await reported;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ condition: 'amqp:internal-error', description: 'proton gives up' });
  });

  it('SASL PLAIN with a good and a bad password, and ANONYMOUS', { timeout: 30_000 }, async () => {
    const url = `amqp://127.0.0.1:${broker.port}`;
    const good = await runProtonClient('send', {
      url,
      address: 'sasl',
      count: 2,
      user: 'guest',
      password: 'guest',
    });
    expect(good.code, good.output).toBe(0);
    expect(good.stdout).toContain('sent 2 accepted 2');
    const bad = await runProtonClient('probe', { url, address: 'sasl', user: 'guest', password: 'wrong' });
    expect(bad.code, bad.output).toBe(1);
    expect(bad.stderr).toMatch(/unauthorized|auth/i);
    const anonymous = await runProtonClient('recv', { url, address: 'sasl', count: 2, mechs: 'ANONYMOUS' });
    expect(anonymous.code, anonymous.output).toBe(0);
    expect(anonymous.stdout).toBe('message-1\nmessage-2\nreceived 2\n');
  });

  it('TLS with the test CA (Proton checks certificate and host name)', { timeout: 30_000 }, async () => {
    const tls = { url: `amqps://localhost:${tlsBroker.port}`, address: 'tlsq', ca: certs.caCertFile };
    const sent = await runProtonClient('send', { ...tls, count: 3 });
    expect(sent.code, sent.output).toBe(0);
    const got = await runProtonClient('recv', { ...tls, count: 3 });
    expect(got.code, got.output).toBe(0);
    expect(got.stdout).toBe('message-1\nmessage-2\nmessage-3\nreceived 3\n');
  });
});
