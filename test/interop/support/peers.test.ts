// Proves the interop harness with the real peers alone (no amqp-one code): each peer starts on a free
// loopback port, talks AMQP 1.0 with another real peer, and is gone after stop().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canConnect,
  freePort,
  leftoverPeerPids,
  makeTestCertificates,
  runCommand,
  runProtonClient,
  runProtonCReceive,
  runProtonCSend,
  runProtonSimpleRecv,
  runProtonSimpleSend,
  runUamqp,
  startProtonCBroker,
  startProtonCDirect,
  startProtonPythonBroker,
  startRabbitMQ,
  waitForPort,
  type ProtonCBrokerPeer,
  type RabbitMQPeer,
  type Peer,
  type TestCertificates,
} from './peers.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectStopped(peer: Peer): Promise<void> {
  await peer.stop();
  expect(peer.running()).toBe(false);
  expect(isAlive(peer.pid)).toBe(false);
  expect(await canConnect(peer.port)).toBe(false);
}

describe('ports and readiness', () => {
  it('hands out distinct free ports and bounds waitForPort', { timeout: 10_000 }, async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    expect(new Set(ports).size).toBe(3);
    const started = Date.now();
    await expect(waitForPort(ports[0]!, { timeoutMs: 300 })).rejects.toThrow(/not accepting connections/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('kills a command at its hard timeout, with its process group', { timeout: 10_000 }, async () => {
    const r = await runCommand('sh', ['-c', 'sleep 30 & sleep 30; echo never'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBeNull();
    expect(r.stdout).not.toContain('never');
    expect(r.durationMs).toBeLessThan(3000);
    expect(leftoverPeerPids()).toEqual([]);
  });
});

describe('test certificates', () => {
  it('makes a CA, a localhost server certificate and a client certificate', { timeout: 60_000 }, async () => {
    const certs = await makeTestCertificates();
    expect(await makeTestCertificates()).toBe(certs); // cached per process
    for (const file of [certs.serverCertFile, certs.clientCertFile]) {
      const v = await runCommand('openssl', ['verify', '-CAfile', certs.caCertFile, file]);
      expect(v.code, v.output).toBe(0);
      expect(v.stdout).toContain(`${file}: OK`);
    }
    const san = await runCommand('openssl', [
      'x509',
      '-in',
      certs.serverCertFile,
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    expect(san.stdout).toMatch(/DNS:localhost/);
    expect(san.stdout).toMatch(/IP Address:127\.0\.0\.1/);
    const subject = await runCommand('openssl', ['x509', '-in', certs.clientCertFile, '-noout', '-subject']);
    expect(subject.stdout).toMatch(/CN\s*=\s*test-client/);
    expect(certs.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(certs.serverKey).toMatch(/-----BEGIN (RSA )?PRIVATE KEY-----/);
    expect(certs.clientCert).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });
});

describe('Qpid Proton Python broker', () => {
  let broker: Peer;
  beforeAll(async () => {
    broker = await startProtonPythonBroker();
  }, 30_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('carries 10 messages from simple_send.py to simple_recv.py', { timeout: 60_000 }, async () => {
    const address = `127.0.0.1:${broker.port}/q1`;
    const sent = await runProtonSimpleSend(address, 10);
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain('all messages confirmed');
    const got = await runProtonSimpleRecv(address, 10);
    expect(got.code, got.output).toBe(0);
    const lines = got.stdout.trim().split('\n');
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `{'sequence': ${i + 1}}`));
  });

  it('stops: process group gone, port closed', { timeout: 20_000 }, async () => {
    await expectStopped(broker);
    expect(broker.logs()).not.toMatch(/Traceback/);
  });
});

describe('Qpid Proton C examples', () => {
  let broker: ProtonCBrokerPeer;
  beforeAll(async () => {
    broker = await startProtonCBroker();
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('carries 100 messages from C send to C receive through the C broker', { timeout: 60_000 }, async () => {
    const sent = await runProtonCSend(`${broker.url}/q1`, 100);
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain('100 messages sent and acknowledged');
    const got = await runProtonCReceive(`${broker.url}/q1`, 100);
    expect(got.code, got.output).toBe(0);
    expect(got.stdout).toContain('{"sequence"=1}\n');
    expect(got.stdout).toContain('{"sequence"=100}\n');
    expect(got.stdout).toContain('100 messages received');
  });

  it('C direct receives 10 messages straight from C send', { timeout: 60_000 }, async () => {
    const direct = await startProtonCDirect({ address: 'd1', count: 10 });
    try {
      const sent = await runProtonCSend(`${direct.url}/d1`, 10);
      expect(sent.code, sent.output).toBe(0);
      const r = await direct.result(20_000);
      expect(r.timedOut).toBe(false);
      expect(r.code, r.output).toBe(0);
      expect(r.stdout).toContain('10 messages received');
    } finally {
      await direct.stop();
    }
  });

  it('stops: process group gone, port closed', { timeout: 20_000 }, async () => {
    await expectStopped(broker);
  });
});

describe('Proton C broker with TLS, uAMQP and Proton over amqps', () => {
  let broker: ProtonCBrokerPeer;
  let certs: TestCertificates;
  beforeAll(async () => {
    certs = await makeTestCertificates();
    broker = await startProtonCBroker({ tls: certs });
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('uAMQP imports', { timeout: 30_000 }, async () => {
    const r = await runUamqp('import uamqp\nprint("uamqp", uamqp.__version__)\n', { timeoutMs: 20_000 });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/^uamqp 1\.\d+\.\d+/);
  });

  it('uAMQP sends and receives 5 messages over TLS (SASL ANONYMOUS)', { timeout: 60_000 }, async () => {
    const source = `
import sys, uamqp
from uamqp import authentication, Message
port, ca = int(sys.argv[1]), sys.argv[2]
target = 'amqps://localhost:%d/tlsq' % port
send = uamqp.SendClient(target, auth=authentication.SASLAnonymous('localhost', port=port, verify=ca))
send.queue_message(*[Message(body='uamqp %d' % i) for i in range(5)])
print('send', [s.name for s in send.send_all_messages()])
send.close()
recv = uamqp.ReceiveClient(target, auth=authentication.SASLAnonymous('localhost', port=port, verify=ca), timeout=5000)
print('recv', [str(m) for m in recv.receive_message_batch(max_batch_size=5, timeout=5000)])
recv.close()
`;
    const r = await runUamqp(source, { timeoutMs: 30_000, args: [String(broker.port), certs.caCertFile] });
    expect(r.timedOut, r.output).toBe(false);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain(
      "send ['SendComplete', 'SendComplete', 'SendComplete', 'SendComplete', 'SendComplete']",
    );
    expect(r.stdout).toContain("recv ['uamqp 0', 'uamqp 1', 'uamqp 2', 'uamqp 3', 'uamqp 4']");
  });

  it('Proton Python client checks the certificate over amqps', { timeout: 60_000 }, async () => {
    const url = `amqps://localhost:${broker.port}`;
    const sent = await runProtonClient('send', { url, address: 'tlsp', count: 3, ca: certs.caCertFile });
    expect(sent.code, sent.output).toBe(0);
    const got = await runProtonClient('recv', { url, address: 'tlsp', count: 3, ca: certs.caCertFile });
    expect(got.code, got.output).toBe(0);
    expect(got.stdout).toBe('message-1\nmessage-2\nmessage-3\nreceived 3\n');
    // Same port, plain AMQP still works (broker.c does not require encryption).
    const plain = await runProtonClient('probe', { url: broker.url });
    expect(plain.code, plain.output).toBe(0);
  });

  it(
    'uAMQP on a plain (non-TLS) port hangs and is killed cleanly at the timeout',
    { timeout: 30_000 },
    async () => {
      const plain = await startProtonPythonBroker();
      try {
        const source = `
import uamqp, sys
from uamqp import authentication, Message
port = int(sys.argv[1])
c = uamqp.SendClient('amqps://localhost:%d/q1' % port, auth=authentication.SASLAnonymous('localhost', port=port))
c.queue_message(Message(body='x'))
c.send_all_messages()
print('unexpected: sent')
`;
        const r = await runUamqp(source, { timeoutMs: 3000, args: [String(plain.port)] });
        expect(r.timedOut).toBe(true);
        expect(r.stdout).not.toContain('unexpected');
        expect(r.durationMs).toBeLessThan(8000);
        expect(isAlive(r.pid)).toBe(false);
      } finally {
        await plain.stop();
      }
    },
  );
});

describe('RabbitMQ with rabbitmq_amqp1_0', () => {
  let rabbit: RabbitMQPeer;
  beforeAll(async () => {
    rabbit = await startRabbitMQ({ tls: true });
    console.log(`RabbitMQ ready in ${rabbit.startMs} ms on port ${rabbit.port} (TLS ${rabbit.tlsPort})`);
  }, 90_000);
  afterAll(async () => {
    await rabbit?.stop();
  });

  const plain = (extra: { address?: string; count?: number; password?: string } = {}) => ({
    url: rabbit.url,
    address: 'q1',
    user: rabbit.user,
    password: rabbit.password,
    ...extra,
  });

  it('carries 10 messages to q1 and back with SASL PLAIN guest/guest', { timeout: 60_000 }, async () => {
    const sent = await runProtonClient('send', plain({ count: 10 }));
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain('sent 10 accepted 10');
    const got = await runProtonClient('recv', plain({ count: 10 }));
    expect(got.code, got.output).toBe(0);
    expect(got.stdout.trim().split('\n')).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `message-${i + 1}`),
      'received 10',
    ]);
  });

  it('refuses a wrong password and ANONYMOUS', { timeout: 90_000 }, async () => {
    // RabbitMQ delays an authentication failure by a few seconds: give the probes room.
    const wrong = await runProtonClient('probe', { ...plain({ password: 'wrong' }), timeoutMs: 20_000 });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/unauthorized|auth/i);
    const anonymous = await runProtonClient('probe', { url: rabbit.url, address: 'q1', timeoutMs: 20_000 });
    expect(anonymous.code).not.toBe(0);
  });

  it('answers rabbitmqctl with its private environment', { timeout: 60_000 }, async () => {
    const r = await rabbit.ctl(['list_queues', 'name', 'messages', '--quiet']);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/^q1\s+0$/m);
  });

  it(
    'speaks amqps with SASL PLAIN on its TLS port (Proton client checks the certificate)',
    { timeout: 60_000 },
    async () => {
      const tls = {
        url: rabbit.tlsUrl!,
        address: 'q2',
        ca: rabbit.certs!.caCertFile,
        user: 'guest',
        password: 'guest',
      };
      const sent = await runProtonClient('send', { ...tls, count: 3 });
      expect(sent.code, sent.output).toBe(0);
      const got = await runProtonClient('recv', { ...tls, count: 3 });
      expect(got.code, got.output).toBe(0);
      expect(got.stdout).toBe('message-1\nmessage-2\nmessage-3\nreceived 3\n');
    },
  );

  it('stops: node, epmd and helpers gone, port closed', { timeout: 60_000 }, async () => {
    await expectStopped(rabbit);
    expect(rabbit.logs()).toContain('Starting broker');
    expect(leftoverPeerPids()).toEqual([]);
  });
});
