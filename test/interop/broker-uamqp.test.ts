/**
 * uAMQP 1.5.3 (Azure's C library, Python binding) against our broker (src/broker) over TLS: uAMQP
 * speaks amqps only. The broker listens with the test certificate, max-frame-size 64 KiB (see
 * below), SASL PLAIN (guest/guest) and ANONYMOUS. uAMQP sends the whole URL, without the port, as
 * the address ('amqps://localhost/NAME'): the broker takes it as an opaque queue name. Every uAMQP
 * run has a hard timeout (uAMQP hangs rather than fails on some errors).
 *
 * Scenarios: 1000 unsettled messages accepted in order (received in uAMQP's default PeekLock mode,
 * i.e. rcv-settle-mode second); presettled both ways; a 1 MiB multi-frame message both ways;
 * rejected, released and modified outcomes; close with an error condition seen by uAMQP; SASL
 * PLAIN (good and bad password) and ANONYMOUS; TLS with the test CA (uAMQP verifies it).
 * What this peer cannot do (uAMQP 1.5.3), and so is not tested here:
 * - drain: its API has no drain;
 * - close with an error condition of its own: close() takes no error;
 * - an untrusted certificate or a wrong host name: it hangs instead of failing;
 * - sending with rcv-settle-mode second, which SendClient asks for by default (PeekLock): it never
 *   settles a delivery on an unsettled outcome, so against a receiver that grants mode second (as
 *   our broker does) every send ends 'SendFailed' at msg_timeout although the message is enqueued;
 *   the senders here ask for mode first (ReceiveAndDelete);
 * - messages over 64 KiB to a peer whose max-frame-size is larger than its own 64 KiB: it splits
 *   transfers at the peer's limit but encodes frames against its own ("Encoded frame size exceeds
 *   the maximum allowed frame size"); hence the broker's 64 KiB max-frame-size here (Azure's too);
 * - messages of 1 MiB and more with its default max-message-size (1 MiB): raised to 4 MiB here.
 * Note: uAMQP's Message.modify(failed, deliverable) sends its second argument as undeliverable-here
 * (the opposite of what its documentation says); the outcomes test relies on what goes on the wire.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect } from '../../src/client/index.js';
import { makeTestCertificates, runUamqp, type RunResult, type TestCertificates } from './support/peers.js';
import { nextMessage, numbered, patterned, waitFor } from './support/ours.js';

/** python3 - MODE PORT CA NAME [COUNT [USER PASSWORD]]: one uAMQP client run per mode. */
const UAMQP_PROGRAM = `
import hashlib, sys, time
import uamqp
from uamqp import authentication, constants, errors, Message

mode, port, ca, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
count = int(sys.argv[5]) if len(sys.argv) > 5 else 1
user = sys.argv[6] if len(sys.argv) > 6 else None
password = sys.argv[7] if len(sys.argv) > 7 else None
target = 'amqps://localhost:%d/%s' % (port, name)
MIB = 1024 * 1024

def pattern(n, seed):
    return bytes(((i * 31 + seed + (i >> 16)) & 0xff) for i in range(n))

def auth():
    if user:
        return authentication.SASLPlain('localhost', user, password, port=port, verify=ca)
    return authentication.SASLAnonymous('localhost', port=port, verify=ca)

def send(messages, **kw):
    # rcv-settle-mode first: uAMQP cannot send in mode second (see the test file).
    kw.setdefault('receive_settle_mode', constants.ReceiverSettleMode.ReceiveAndDelete)
    client = uamqp.SendClient(target, auth=auth(), msg_timeout=10000, **kw)
    try:
        client.queue_message(*messages)
        results = client.send_all_messages(close_on_done=False)
        print('results', ','.join(sorted(set(r.name for r in results))), len(results), flush=True)
    finally:
        client.close()

def receive(n, **kw):
    client = uamqp.ReceiveClient(target, auth=auth(), timeout=5000, **kw)
    got = []
    while len(got) < n:
        batch = client.receive_message_batch(max_batch_size=min(300, n - len(got)), timeout=5000)
        if not batch:
            break
        got.extend(batch)
    return client, got

if mode == 'send':
    send([Message(body='u%d' % i) for i in range(count)])
elif mode == 'send-presettled':
    send([Message(body='p%d' % i) for i in range(count)], send_settle_mode=constants.SenderSettleMode.Settled)
elif mode == 'send-big':
    send([Message(body=pattern(MIB, 17))], max_message_size=4 * MIB)
elif mode == 'recv':
    client, got = receive(count)
    print('\\n'.join(str(m) for m in got), flush=True)
    client.close()
elif mode == 'recv-presettled':
    client, got = receive(count, send_settle_mode=constants.SenderSettleMode.Settled,
                          receive_settle_mode=constants.ReceiverSettleMode.ReceiveAndDelete)
    print('\\n'.join('%s settled=%s' % (m, m.settled) for m in got), flush=True)
    client.close()
elif mode == 'recv-big':
    client, got = receive(1, max_message_size=4 * MIB)
    data = b''.join(got[0].get_data())
    print('got %d bytes sha256=%s' % (len(data), hashlib.sha256(data).hexdigest()), flush=True)
    client.close()
elif mode == 'outcomes':
    client, got = receive(4, auto_complete=False, prefetch=4)
    for m in got:
        body = str(m)
        if body == 'a':
            m.release()
        elif body == 'b':
            m.modify(True, False)  # delivery-failed (the 2nd argument is undeliverable-here)
        elif body == 'c':
            m.reject(condition='amqp:precondition-failed', description='no c')
        else:
            m.modify(True, True)  # delivery-failed and undeliverable-here
        print('%s delivery-count=%s first' % (body, m.header.delivery_count if m.header else 0), flush=True)
    more = []
    deadline = time.time() + 5
    while len(more) < 2 and time.time() < deadline:
        more.extend(client.receive_message_batch(max_batch_size=2 - len(more), timeout=1000))
    for m in more:
        print('%s delivery-count=%s again' % (m, m.header.delivery_count if m.header else 0), flush=True)
        m.accept()
    extra = client.receive_message_batch(max_batch_size=1, timeout=1000)
    print('then %s' % (', '.join(str(m) for m in extra) or 'nothing'), flush=True)
    client.close()
elif mode == 'wait':
    try:
        client, got = receive(1)
        print('unexpected: %d messages' % len(got), flush=True)
    except errors.ConnectionClose as e:
        print('ConnectionClose %s %s' % (e.condition, e.description), flush=True)
        sys.exit(1)
`;

let broker: Broker;
let certs: TestCertificates;

/** The queue uAMQP's 'amqps://localhost:PORT/NAME' ends up at. */
const queueOf = (name: string): string => `amqps://localhost/${name}`;

function uamqp(mode: string, name: string, ...rest: (string | number)[]): Promise<RunResult> {
  return runUamqp(UAMQP_PROGRAM, {
    timeoutMs: 40_000,
    args: [mode, String(broker.port), certs.caCertFile, name, ...rest.map(String)],
  });
}

beforeAll(async () => {
  certs = await makeTestCertificates();
  broker = await startBroker({
    port: 0,
    tls: { cert: certs.serverCert, key: certs.serverKey },
    users: { guest: 'guest' },
    sasl: { anonymous: true },
    maxFrameSize: 64 * 1024,
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
}, 20_000);

describe('uAMQP against our broker (TLS)', () => {
  it(
    '1000 unsettled messages accepted; received in order in PeekLock (rcv-settle-mode second)',
    { timeout: 60_000 },
    async () => {
      const sent = await uamqp('send', 'q1000', 1000);
      expect(sent.code, sent.output).toBe(0);
      expect(sent.stdout).toContain('results SendComplete 1000');
      const q = broker.queues.get(queueOf('q1000'))!;
      expect(q.depth).toBe(1000);
      const got = await uamqp('recv', 'q1000', 1000);
      expect(got.code, got.output).toBe(0);
      expect(got.stdout.trim().split('\n')).toEqual(numbered(1000, 'u'));
      await waitFor(() => q.depth === 0 && q.unsettled === 0, 5000, 'queue empty');
    },
  );

  it('presettled both ways', { timeout: 60_000 }, async () => {
    const sent = await uamqp('send-presettled', 'pre', 3);
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain('results SendComplete 3');
    await waitFor(
      () => broker.queues.get(queueOf('pre'))?.depth === 3,
      5000,
      'presettled messages on the queue',
    );
    const q = broker.queues.get(queueOf('pre'))!;
    const got = await uamqp('recv-presettled', 'pre', 3);
    expect(got.code, got.output).toBe(0);
    expect(got.stdout.trim().split('\n')).toEqual(['p0 settled=True', 'p1 settled=True', 'p2 settled=True']);
    expect(q.unsettled).toBe(0);
  });

  it('a 1 MiB message crosses intact, both ways (17 frames of 64 KiB)', { timeout: 60_000 }, async () => {
    const sent = await uamqp('send-big', 'big-in');
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain('results SendComplete 1');
    const c = await connect({ host: 'localhost', port: broker.port, tls: { ca: certs.ca } });
    try {
      const r = await c.openReceiver(queueOf('big-in'));
      const m = await nextMessage(r);
      expect(Buffer.compare(m.message.body as Buffer, patterned(1024 * 1024, 17))).toBe(0);
      m.accept();
      const s = await c.openSender(queueOf('big-out'));
      expect((await s.send({ body: patterned(1024 * 1024, 19) }))?.type).toBe('accepted');
    } finally {
      await c.close();
    }
    const got = await uamqp('recv-big', 'big-out');
    expect(got.code, got.output).toBe(0);
    const sha = createHash('sha256')
      .update(patterned(1024 * 1024, 19))
      .digest('hex');
    expect(got.stdout).toContain(`got 1048576 bytes sha256=${sha}`);
  });

  it('rejected, released and modified outcomes', { timeout: 60_000 }, async () => {
    const c = await connect({ host: 'localhost', port: broker.port, tls: { ca: certs.ca } });
    try {
      const s = await c.openSender(queueOf('outcomes'));
      for (const b of ['a', 'b', 'c', 'd']) expect((await s.send({ body: b }))?.type).toBe('accepted');
      const r = await uamqp('outcomes', 'outcomes');
      expect(r.code, r.output).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([
        'a delivery-count=0 first',
        'b delivery-count=0 first',
        'c delivery-count=0 first',
        'd delivery-count=0 first',
        'a delivery-count=0 again', // released: redelivered first, not counted as a failure
        'b delivery-count=1 again', // modified with delivery-failed
        'then nothing', // d: undeliverable-here, so not again to this link
      ]);
      // c was rejected (gone); d, undeliverable-here, waited for another link: ours.
      const q = broker.queues.get(queueOf('outcomes'))!;
      await waitFor(() => q.depth === 1 && q.unsettled === 0, 5000, 'only d left');
      const rcv = await c.openReceiver(queueOf('outcomes'));
      const d = await nextMessage(rcv);
      expect(d.message.body).toBe('d');
      expect(d.message.header?.deliveryCount).toBe(1);
      d.accept();
      await waitFor(() => q.depth === 0 && q.unsettled === 0, 5000, 'queue empty');
    } finally {
      await c.close();
    }
  });

  it("close with an error condition: uAMQP reports the broker's", { timeout: 60_000 }, async () => {
    const waiting = uamqp('wait', 'nothing');
    await waitFor(
      () => broker.queues.get(queueOf('nothing'))?.consumers === 1,
      20_000,
      'uAMQP receiver attached',
    );
    const server = [...broker.connections].find((c) => c.engine.isOpen)!;
    await server.close({ condition: 'amqp:resource-limit-exceeded', description: 'the broker had enough' });
    const r = await waiting;
    expect(r.code, r.output).toBe(1);
    expect(r.stdout).toMatch(/ConnectionClose ErrorCodes\.ResourceLimitExceeded b?'?the broker had enough/);
  });

  it('SASL PLAIN with a good and a bad password, and ANONYMOUS', { timeout: 60_000 }, async () => {
    const identities: (string | undefined)[] = [];
    const record = (c: { identity?: string }): void => void identities.push(c.identity);
    broker.on('disconnect', record);
    try {
      const good = await uamqp('send', 'sasl', 1, 'guest', 'guest');
      expect(good.code, good.output).toBe(0);
      expect(good.stdout).toContain('results SendComplete 1');
      const bad = await uamqp('send', 'sasl', 1, 'guest', 'wrong');
      expect(bad.timedOut, bad.output).toBe(false);
      expect(bad.code, bad.output).toBe(1);
      expect(bad.stderr).toMatch(/ConnectionClose/);
      const anonymous = await uamqp('recv', 'sasl', 1);
      expect(anonymous.code, anonymous.output).toBe(0);
      expect(anonymous.stdout.trim()).toBe('u0');
      await waitFor(() => identities.length >= 3, 5000, 'three connections ended');
      expect(identities).toEqual(['guest', undefined, 'anonymous']);
    } finally {
      broker.off('disconnect', record);
    }
  });
});
