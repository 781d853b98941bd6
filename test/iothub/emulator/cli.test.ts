/** The command line: --help, the startup output (ports, CA, connection strings, memory notice), --x509-ca. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { connect } from '../../../src/client/connect.js';
import { UNAUTHORIZED_LINK } from '../../../src/iothub/emulator/auth.js';
import { runHubCli, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/pki/certificates.js';

let hub: IotHubEmulator | null = null;
afterEach(async () => {
  await hub?.close();
  hub = null;
});

function io(): { out: string[]; err: string[]; io: { out(l: string): void; err(l: string): void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

it('--help states the options and the feedback batching delay', async () => {
  const c = io();
  expect(await runHubCli(['--help'], c.io)).toBeNull();
  const text = c.out.join('\n');
  for (const opt of [
    '--port',
    '--tls-port',
    '--hub-name',
    '--partitions',
    '--state',
    '--cert',
    '--device',
    '--feedback-delay-ms',
    '--grant-timeout-ms',
    '--max-connections',
    '--fault',
  ])
    expect(text).toContain(opt);
  expect(text).toMatch(/default 1000 ms/);
});

it('prints the ports, the CA file, the service, Event Hubs and device connection strings', async () => {
  const c = io();
  hub = await runHubCli(
    ['--port', '0', '--tls-port', '0', '--device', 'cli-dev', '--hub-name', 'clihub'],
    c.io,
  );
  const text = c.out.join('\n');
  expect(text).toContain(`127.0.0.1:${hub!.port}`);
  expect(text).toContain(`127.0.0.1:${hub!.tlsPort}`);
  expect(text).toContain(hub!.caFile!);
  expect(text).toContain(`iothubowner: HostName=localhost:${hub!.tlsPort};SharedAccessKeyName=iothubowner;`);
  expect(text).toContain('service: HostName=');
  expect(text).toContain(`Endpoint=sb://localhost:${hub!.tlsPort}/;`);
  expect(text).toContain(`cli-dev: HostName=localhost:${hub!.tlsPort};DeviceId=cli-dev;SharedAccessKey=`);
  expect(text).toContain('IN MEMORY');
});

it('refuses bad arguments', async () => {
  await expect(runHubCli(['--port', 'x'], io().io)).rejects.toThrow(/--port/);
  await expect(runHubCli(['--cert', 'a.pem'], io().io)).rejects.toThrow(/--cert and --key/);
  await expect(runHubCli(['--bogus'], io().io)).rejects.toThrow();
  // 0 would close every connection before its token could come.
  await expect(runHubCli(['--grant-timeout-ms', '0'], io().io)).rejects.toThrow(/--grant-timeout-ms/);
  await expect(runHubCli(['--max-connections', '0'], io().io)).rejects.toThrow(/--max-connections/);
});

it('--max-connections bounds the connections at once: one more is refused', async () => {
  hub = await runHubCli(['--port', '0', '--no-tls', '--max-connections', '1'], io().io);
  const first = await connect({ host: '127.0.0.1', port: hub!.port, sasl: 'none', hostname: 'localhost' });
  const second = connect({ host: '127.0.0.1', port: hub!.port, sasl: 'none', hostname: 'localhost' });
  await expect(second).rejects.toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
  await first.close();
});

it('--grant-timeout-ms closes a connection that never authenticates, on the real clock', async () => {
  const c = io();
  hub = await runHubCli(['--port', '0', '--no-tls', '--grant-timeout-ms', '50'], c.io);
  const conn = await connect({ host: '127.0.0.1', port: hub!.port, sasl: 'none', hostname: 'localhost' });
  const err = await new Promise((resolve) => conn.once('close', resolve));
  expect(err).toMatchObject({ condition: 'amqp:unauthorized-access' });
});

it('--max-partition-events, --max-partition-bytes and --max-telemetry-bytes set the telemetry limits', async () => {
  hub = await runHubCli(
    [
      '--port',
      '0',
      '--no-tls',
      '--max-partition-events',
      '7',
      '--max-partition-bytes',
      '4096',
      '--max-telemetry-bytes',
      '8192',
    ],
    io().io,
  );
  const t = hub!.state.telemetry;
  expect([t.maxEventsPerPartition, t.maxPartitionBytes, t.maxTotalBytes]).toEqual([7, 4096, 8192]);
  await expect(runHubCli(['--max-partition-bytes', '0'], io().io)).rejects.toThrow(/--max-partition-bytes/);
  const c = io();
  await runHubCli(['--help'], c.io);
  for (const opt of ['--max-partition-events', '--max-partition-bytes', '--max-telemetry-bytes'])
    expect(c.out.join('\n')).toContain(opt);
  expect(c.out.join('\n')).toContain('(default 134217728)');
});

it('--https-port serves WebSockets and prints the WSS endpoint, in text and in --json', async () => {
  const c = io();
  hub = await runHubCli(['--port', '0', '--tls-port', '0', '--https-port', '0', '--json'], c.io);
  const s = JSON.parse(c.out.join('\n')) as Record<string, unknown>;
  expect(s.httpsPort).toBe(hub!.httpsPort);
  expect(s.webSocketUrl).toBe(`wss://localhost:${hub!.httpsPort}/$iothub/websocket`);
  expect(s.webSocketPaths).toEqual(['/$iothub/websocket', '/$servicebus/websocket']);
  expect(s.restUrl).toBe(`https://localhost:${hub!.httpsPort}`);
  // Not the official ports: HostName keeps the TLS port.
  expect(s.hostName).toBe(`localhost:${hub!.tlsPort}`);
  const text = hub!.describe().join('\n');
  expect(text).toContain(`WSS      127.0.0.1:${hub!.httpsPort}`);
  expect(text).toContain(`wss://localhost:${hub!.httpsPort}/$iothub/websocket`);
  expect(text).toContain(`REST     https://localhost:${hub!.httpsPort}/devices?api-version=2021-04-12`);
  await expect(runHubCli(['--https-port', '70000'], io().io)).rejects.toThrow(/--https-port/);
  const h = io();
  await runHubCli(['--help'], h.io);
  expect(h.out.join('\n')).toContain('--https-port 443');
});

it('without --https-port there is no HTTPS port, and --json says so', async () => {
  const c = io();
  hub = await runHubCli(['--port', '0', '--tls-port', '0', '--json'], c.io);
  const s = JSON.parse(c.out.join('\n')) as Record<string, unknown>;
  expect([s.httpsPort, s.webSocketUrl, s.restUrl]).toEqual([null, null, null]);
  expect(hub!.describe().join('\n')).not.toContain('WSS ');
});

it('--x509-ca (repeatable) trusts each CA for certificateAuthority devices; others stay untrusted', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amqp-one-cli-x509-'));
  try {
    const cas = [1, 2, 3].map((n) => createCertificateAuthority({ commonName: `CA ${n}`, validDays: 1 }));
    await writeFile(path.join(dir, 'ca1.pem'), cas[0]!.certPem);
    await writeFile(path.join(dir, 'ca2.pem'), cas[1]!.certPem);
    await writeFile(
      path.join(dir, 'registry.json'),
      JSON.stringify({ devices: [{ deviceId: 'c1', authentication: { type: 'certificateAuthority' } }] }),
    );
    const c = io();
    hub = await runHubCli(
      ['--port', '0', '--tls-port', '0', '--registry', path.join(dir, 'registry.json')].concat(
        ['ca1.pem', 'ca2.pem'].flatMap((f) => ['--x509-ca', path.join(dir, f)]),
      ),
      c.io,
    );
    expect(c.out.join('\n')).toContain(`c1: HostName=${hub!.hostName};DeviceId=c1;x509=true`);
    const attach = async (ca: (typeof cas)[number]) => {
      const cert = issueCertificate(ca, { commonName: 'c1', validDays: 1, usage: 'client' });
      const conn = await connect({
        host: 'localhost',
        port: hub!.tlsPort!,
        sasl: 'none',
        tls: { ca: hub!.caPem!, cert: cert.certPem, key: cert.keyPem },
      });
      try {
        await conn.openSender('/devices/c1/messages/events');
        return 'attached';
      } catch (e) {
        return (e as { description?: string }).description;
      } finally {
        await conn.close();
      }
    };
    expect(await attach(cas[0]!)).toBe('attached');
    expect(await attach(cas[1]!)).toBe('attached');
    expect(await attach(cas[2]!)).toBe(UNAUTHORIZED_LINK);
    await expect(runHubCli(['--x509-ca', path.join(dir, 'missing.pem')], io().io)).rejects.toThrow(/ENOENT/);
    const h = io();
    await runHubCli(['--help'], h.io);
    expect(h.out.join('\n')).toContain('--x509-ca FILE');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
