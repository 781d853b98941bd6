/** `amqp-one iothub ...` against the emulator over TLS, as a user runs it (built CLI, child processes). */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jsonLines, runCli, type CliRun } from './run-cli.js';
import { startHub, type IotHubEmulator } from '../../src/iothub/emulator/index.js';
import { DeviceClient } from '../../src/iothub/client/index.js';

let hub: IotHubEmulator;

const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
  runCli(['iothub', ...args, '--ca', hub.caFile!], env, 30_000);

const lines = jsonLines;

beforeAll(async () => {
  hub = await startHub({
    port: 0,
    tlsPort: 0,
    httpsPort: 0,
    devices: ['sim-1'],
    feedbackBatchDelayMs: 100,
    log: () => undefined,
  });
});
afterAll(async () => {
  await hub?.close();
});

describe('amqp-one iothub', () => {
  test('simulate-device sends N messages that monitor-events then shows with their properties', async () => {
    const sim = await run(['simulate-device', '--count', '5', '--rate', '0', '--json'], {
      IOTHUB_CONNECTION_STRING: hub.deviceConnectionString('sim-1'),
    });
    expect(sim.code).toBe(0);
    expect(lines(sim.stdout).at(-1)).toMatchObject({ sent: 5 });
    const mon = await run([
      'monitor-events',
      '--from',
      'earliest',
      '--count',
      '5',
      '--json',
      '--connection-string',
      hub.serviceConnectionString('service'),
    ]);
    expect(mon.code).toBe(0);
    const events = lines(mon.stdout).map(
      (l) => l.event as { origin: string; properties: { seq: string }; payload: string },
    );
    expect(events).toHaveLength(5);
    expect(events.every((e) => e.origin === 'sim-1')).toBe(true);
    expect(events.map((e) => e.properties.seq).sort()).toEqual(['0', '1', '2', '3', '4']);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({ device: 'sim-1' });
  });

  test('send-c2d with ack full; the device completes it; feedback shows Success with the message id', async () => {
    const service = hub.serviceConnectionString('iothubowner');
    const sent = await run([
      'send-c2d',
      '--device',
      'sim-1',
      '--body',
      'reboot',
      '--ack',
      'full',
      '--json',
      '--connection-string',
      service,
    ]);
    expect(sent.code).toBe(0);
    const { messageId } = lines(sent.stdout)[0] as { messageId: string };
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('sim-1'), {
      tls: { ca: hub.caPem },
    });
    try {
      for await (const m of device.messages()) {
        expect(m.body?.toString()).toBe('reboot');
        await m.complete();
        break;
      }
    } finally {
      await device.close();
    }
    const fb = await run(['feedback', '--count', '1', '--json', '--connection-string', service]);
    expect(fb.code).toBe(0);
    expect(lines(fb.stdout)[0]).toMatchObject({
      statusCode: 'Success',
      originalMessageId: messageId,
      deviceId: 'sim-1',
    });
  });

  test('a missing connection string is a usage error', async () => {
    const r = await run(['feedback'], { IOTHUB_CONNECTION_STRING: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/IOTHUB_CONNECTION_STRING/);
  });
  test('device create, list and delete over the REST API; the printed connection string works', async () => {
    const owner = [
      '--connection-string',
      hub.serviceConnectionString('iothubowner'),
      '--port',
      String(hub.httpsPort),
    ];
    const made = await run(['device', 'create', '--device', 'cli-dev', '--json', ...owner]);
    expect(made.code).toBe(0);
    const created = lines(made.stdout)[0] as { deviceId: string; connectionString: string; etag: string };
    expect(created).toMatchObject({
      deviceId: 'cli-dev',
      connectionString: expect.stringContaining('DeviceId=cli-dev;'),
    });
    const device = DeviceClient.fromConnectionString(created.connectionString, {
      tls: { ca: hub.caPem },
      reconnect: false,
    });
    try {
      await device.sendEvent('registered from the command line');
    } finally {
      await device.close();
    }
    const x509 = await run([
      'device',
      'create',
      '--device',
      'cli-dev',
      '--module',
      'm1',
      '--auth',
      'ca',
      ...owner,
    ]);
    expect(x509.code).toBe(0);
    expect(x509.stdout).toMatch(/^created cli-dev\/m1 certificateAuthority Disconnected etag \S+\n/);
    const listed = await run(['device', 'list', '--json', ...owner]);
    expect(lines(listed.stdout).map((d) => d.deviceId)).toContain('cli-dev');
    const modules = await run(['device', 'list', '--device', 'cli-dev', ...owner]);
    expect(modules.stdout).toMatch(/^cli-dev\/m1 certificateAuthority Disconnected etag /);
    const stale = await run(['device', 'delete', '--device', 'cli-dev', '--etag', 'c3RhbGU=', ...owner]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('IOTHUB_PRECONDITION_FAILED');
    const del = await run(['device', 'delete', '--device', 'cli-dev', ...owner]);
    expect([del.code, del.stdout]).toEqual([0, 'deleted cli-dev\n']);
    expect(hub.state.registry.getDevice('cli-dev')).toBeUndefined();
    const again = await run(['device', 'delete', '--device', 'cli-dev', ...owner]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('IOTHUB_DEVICE_NOT_FOUND');
    const service = [
      '--connection-string',
      hub.serviceConnectionString('service'),
      '--port',
      String(hub.httpsPort),
    ];
    const refused = await run(['device', 'list', ...service]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('IOTHUB_UNAUTHORIZED');
  });
});
