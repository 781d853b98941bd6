/** The command line: --help, and the startup output (ports, CA, connection strings, memory notice). */
import { afterEach, expect, it } from 'vitest';
import { connect } from '../../../src/client/connect.js';
import { runHubCli, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';

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
