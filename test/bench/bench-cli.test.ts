/**
 * `amqp-one bench` as a user runs it: the built CLI (dist/) forking its two worker processes over
 * real loopback sockets, peer to peer and through brokers, with amqp-one and with rhea.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BenchResult } from '../../src/bench/report.js';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certificates.js';

const CLI = resolve(__dirname, '../../dist/cli/main.js');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [CLI, 'bench', ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 50_000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

const results = (stdout: string): BenchResult[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as BenchResult);

/** What every complete run must satisfy, whatever the scenario. */
function checkComplete(r: BenchResult, sent: number): void {
  expect(r.complete).toBe(true);
  expect(r.sent).toBe(sent);
  expect(r.received).toBe(sent);
  expect(r.lost).toBe(0);
  expect(r.rate).toBeGreaterThan(0);
  expect(r.sender.rate).toBeGreaterThan(0);
  expect(r.receiver.rate).toBeGreaterThan(0);
  expect(r.receiver.cpuUsPerMsg).toBeGreaterThan(0);
  expect(r.sender.peakRssBytes).toBeGreaterThan(10 << 20);
  expect(r.receiver.peakRssBytes).toBeGreaterThan(10 << 20);
  const l = r.latencyMs;
  expect(l.p50).toBeGreaterThan(0);
  expect(l.p50).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.p999);
  expect(l.p999).toBeLessThanOrEqual(l.max);
  expect(l.max).toBeLessThan(30_000);
  expect(r.mbPerSec).toBeCloseTo((r.rate * r.messageBytes) / 1e6, 0);
}

let broker: Broker;
let tlsBroker: Broker;
let caFile: string;
let blackHole: AmqpServer;
let failing: AmqpServer;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  broker = await startBroker({ host: '127.0.0.1', port: 0, sasl: { anonymous: true } });
  const ca = createCertificateAuthority({ commonName: 'bench test CA', validDays: 1 });
  const server = issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validDays: 1,
    usage: 'server',
  });
  caFile = join(mkdtempSync(join(tmpdir(), 'amqp-one-bench-')), 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  tlsBroker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: server.certPem, key: server.keyPem },
    users: { bench: 's3cret' },
  });
  // Takes every message it is sent and delivers none: a run through it must fail, not hang.
  blackHole = await listen({
    host: '127.0.0.1',
    port: 0,
    sasl: { anonymous: true },
    onLink(l) {
      if (l.role === 'receiver')
        void (async () => {
          for await (const m of l.acceptReceiver({ credit: 500 })) if (!m.settled) m.accept();
        })();
      else l.acceptSender();
    },
  });
});

beforeAll(async () => {
  // Sends a receiver 20 messages, then closes the connection with an error while they are
  // still being read: the run must fail with that error, not die on a message it cannot settle.
  failing = await listen({
    host: '127.0.0.1',
    port: 0,
    sasl: { anonymous: true },
    onLink(l) {
      if (l.role === 'receiver') {
        l.acceptReceiver({ credit: 100 });
        return;
      }
      const s = l.acceptSender();
      s.once('credit', () => {
        for (let i = 0; i < 20; i++) {
          void s
            .send({ messageAnnotations: { 'x-opt-bench-sent': Date.now() }, body: 'x' })
            .catch(() => undefined);
        }
        setTimeout(
          () =>
            void l.connection.close({ condition: 'amqp:internal-error', description: 'test: going away' }),
          50,
        );
      });
    },
  });
});

afterAll(async () => {
  await failing?.close();
  await broker?.close();
  await tlsBroker?.close();
  await blackHole?.close();
});

describe('amqp-one bench', () => {
  test('peer to peer, presettled, with a warm-up: every message arrives and is measured', async () => {
    const r = await run(['--count', '3000', '--warmup', '500', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const [res] = results(r.stdout);
    expect(res!.impl).toBe('amqp-one');
    expect(res!.url).toBeNull();
    checkComplete(res!, 3500);
    expect(res!.receiver.measured).toBe(3000);
    expect(res!.sender.measured).toBe(3000);
    expect(res!.bodyBytes).toBe(256);
  });

  test('peer to peer, unsettled, eager decoding, 2 connections x 2 links: every message is accepted', async () => {
    const r = await run([
      '--count',
      '2001',
      '--mode',
      'unsettled',
      '--decode',
      'eager',
      '--connections',
      '2',
      '--links',
      '2',
      '--json',
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [res] = results(r.stdout);
    checkComplete(res!, 2001);
    expect(res!.sender.accepted).toBe(2001);
    expect(res!.decode).toBe('eager');
    expect(res!.links).toBe(2);
    expect(res!.connections).toBe(2);
  });

  test('through a broker URL, by duration, with a body size, printing progress', async () => {
    const url = `amqp://127.0.0.1:${broker.port}/bench-duration`;
    const r = await run([url, '--duration', '3', '--body-size', '1000', '--mode', 'unsettled', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [res] = results(r.stdout);
    checkComplete(res!, res!.sent);
    expect(res!.url).toBe(url);
    expect(res!.bodyBytes).toBe(1000);
    expect(res!.messageBytes).toBeGreaterThan(1000);
    expect(res!.sent).toBeGreaterThan(100);
    // Measured over about the duration asked for.
    expect(res!.sender.ms).toBeGreaterThan(1500);
    expect(res!.sender.ms).toBeLessThan(10_000);
    // Progress lines on stderr (not a TTY: one per second), with rates, CPU and RSS.
    expect(r.stderr).toMatch(/\d+\.\d s {2}sender [\d,]+ msg\/s {2}cpu \d+% {2}rss [\d.]+ MiB \| receiver/);
  });

  test('--impl both: amqp-one then rhea on the same scenario, side by side', async () => {
    const url = `amqp://127.0.0.1:${broker.port}/bench-both`;
    const r = await run([url, '--count', '2000', '--impl', 'both', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^amqp-one, presettled, lazy decoding, through amqp:\/\/127\.0\.0\.1:\d+\/bench-both/m,
    );
    expect(r.stdout).toMatch(/^rhea, presettled, through/m);
    expect(r.stdout).toMatch(/Messages +2,000 sent, 2,000 received/);
    expect(r.stdout).toMatch(/end-to-end msg\/s +[\d,]+ +[\d,]+ +[\d.]+x/);
    expect(r.stdout).toMatch(/Latency \(ms\) +p50 [\d.]+ +p99 [\d.]+ +p99\.9 [\d.]+ +max [\d.]+/);
  });

  test('through a TLS broker with SASL PLAIN, both libraries: credentials and --ca are used', async () => {
    const url = `amqps://bench:s3cret@localhost:${tlsBroker.port}/bench-tls`;
    const r = await run([
      url,
      '--count',
      '1000',
      '--impl',
      'both',
      '--mode',
      'unsettled',
      '--ca',
      caFile,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [ours, theirs] = results(r.stdout);
    expect(ours!.impl).toBe('amqp-one');
    expect(theirs!.impl).toBe('rhea');
    for (const res of [ours!, theirs!]) {
      checkComplete(res, 1000);
      expect(res.url).toBe(`amqps://localhost:${tlsBroker.port}/bench-tls`); // no credentials
    }
    // A wrong password fails the run with the typed error, for amqp-one.
    const bad = await run([url.replace('s3cret', 'wrong'), '--count', '10', '--ca', caFile, '--quiet']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/AMQP_SASL|auth/i);
  });

  test('--impl rhea, peer to peer, unsettled: rhea on both sides', async () => {
    const r = await run(['--count', '1500', '--impl', 'rhea', '--mode', 'unsettled', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const [res] = results(r.stdout);
    expect(res!.impl).toBe('rhea');
    checkComplete(res!, 1500);
    expect(res!.sender.accepted).toBe(1500);
  });

  test('a broker that delivers nothing: the run stalls, reports the loss and exits 1', async () => {
    const url = `amqp://127.0.0.1:${blackHole.port}/nowhere`;
    const r = await run([url, '--count', '300', '--stall-timeout', '1', '--json', '--quiet']);
    expect(r.code).toBe(1);
    const [res] = results(r.stdout);
    expect(res!.complete).toBe(false);
    expect(res!.sent).toBe(300);
    expect(res!.received).toBe(0);
    expect(res!.lost).toBe(300);
  });

  test('a broker that fails the receiver mid-run: the run fails with the broker error', async () => {
    const url = `amqp://127.0.0.1:${failing.port}/failing`;
    const r = await run([url, '--count', '1000', '--mode', 'unsettled', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bench receiver: the connection failed: \[AMQP_[A-Z_]+\].*going away/);
    expect(r.stderr).not.toMatch(/cannot settle/);
  });

  test('usage errors exit 2 with the help', async () => {
    for (const args of [
      ['--mode', 'bogus'],
      ['--count', '10', '--duration', '1'],
      ['--impl', 'qpid'],
      ['--decode', 'none'],
      ['--credit', '0'],
      ['amqp://127.0.0.1:1'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('amqp-one bench [URL');
    }
  });
});
