/**
 * Every example in examples/ runs as a user would run it: `node examples/<name>.mjs` in a child
 * process, importing 'amqp-one' by name (the package's self-reference, so dist/ must be built),
 * against a broker or an IoT hub emulator started here from dist/. Each test checks what the
 * example prints.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = path.join(ROOT, 'examples');
const run = promisify(execFile);

/** Runs one example to its end; rejects with its stderr if it exits non-zero. */
async function example(name: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(EXAMPLES, name), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  return stdout;
}

// Imported from dist/, as the examples import the package: the same build is under test.
const dist = (p: string): Promise<any> => import(path.join(ROOT, 'dist', p));

test('every example has a test here and a line in examples/README.md', async () => {
  const { readFileSync } = await import('node:fs');
  const self = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const readme = readFileSync(path.join(EXAMPLES, 'README.md'), 'utf8');
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.mjs'));
  expect(files.length).toBe(7);
  for (const f of files) {
    expect(self, f).toContain(`'${f}'`);
    expect(readme, f).toContain(`(${f})`);
  }
});

test('codec.mjs encodes and decodes a value and a message', async () => {
  const out = await example('codec.mjs');
  expect(out).toContain('decoded: ["reading",7,21.5,"sensor-1","1970-01-01T00:00:00.000Z"]');
  expect(out).toContain('messageId ulong 42, durable true');
  expect(out).toContain('body {"t":21.5}');
});

test('server.mjs serves its two nodes and refuses a third', async () => {
  const out = await example('server.mjs');
  expect(out).toMatch(/server: listening on port \d+/);
  expect(out).toContain('server: example-client connected as anonymous');
  expect(out).toContain('server: log "hello server"');
  expect(out).toContain('client: log outcome accepted');
  expect(out).toContain('client: clock says 1970-01-01T00:00:00.000Z');
  expect(out).toContain('client: refused with AMQP_NOT_FOUND');
});

describe('against a broker', () => {
  let broker: { port: number; close(): Promise<void> };
  beforeAll(async () => {
    const { startBroker } = await dist('broker/broker.js');
    broker = await startBroker({ port: 0, sasl: { anonymous: true } });
  });
  afterAll(() => broker?.close());

  test('send-receive.mjs sends three messages and receives them in order', async () => {
    const out = await example('send-receive.mjs', [`amqp://localhost:${broker.port}`]);
    expect(out.trim().split('\n')).toEqual([
      'sent order-1: accepted',
      'sent order-2: accepted',
      'sent order-3: accepted',
      'received order-1 (high): 2 widgets',
      'received order-2 (normal): 4 widgets',
      'received order-3 (normal): 6 widgets',
    ]);
  });

  test('request-response.mjs gets each answer back, matched to its request', async () => {
    const out = await example('request-response.mjs', [], { AMQP_URL: `amqp://localhost:${broker.port}` });
    expect(out.trim().split('\n')).toEqual(['reply to hello: HELLO', 'reply to amqp: AMQP']);
  });
});

describe('against the IoT hub emulator over TLS', () => {
  let hub: any;
  let env: Record<string, string>;
  beforeAll(async () => {
    const { startHub } = await dist('iothub/emulator/index.js');
    hub = await startHub({ port: 0, tlsPort: 0, feedbackBatchDelayMs: 50, log: () => undefined });
    env = { NODE_EXTRA_CA_CERTS: hub.caFile };
  });
  afterAll(() => hub?.close());

  test('iot-device.mjs sends telemetry and completes a C2D message waiting for it', async () => {
    const { ServiceClient } = await dist('iothub/index.js');
    hub.addDevice('device-a');
    const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: hub.caPem },
    });
    try {
      await service.send('device-a', { body: 'reboot', messageId: 'c2d-1' });
    } finally {
      await service.close();
    }
    const out = await example('iot-device.mjs', [hub.deviceConnectionString('device-a')], env);
    expect(out.trim().split('\n')).toEqual([
      'device device-a: sent reading 1',
      'device device-a: sent reading 2',
      'device device-a: sent reading 3',
      'device device-a: C2D c2d-1: reboot',
    ]);
  });

  test('iot-service-feedback.mjs gets Success once iot-device.mjs completes its message', async () => {
    const deviceCs = hub.deviceConnectionString('device-b'); // registers the device first
    const [service, device] = await Promise.all([
      example('iot-service-feedback.mjs', [hub.serviceConnectionString(), 'device-b'], env),
      example('iot-device.mjs', [deviceCs], env),
    ]);
    const id = /service: sent (\S+) to device-b/.exec(service)?.[1];
    expect(id).toBeDefined();
    expect(device).toContain(`device device-b: C2D ${id}: {"command":"set-interval","seconds":30}`);
    expect(service).toContain(`service: feedback Success for ${id} from device-b`);
  });
});

test('read-events.mjs reads telemetry through the Event Hubs-compatible endpoint', async () => {
  const { startHub } = await dist('iothub/emulator/index.js');
  const { DeviceClient } = await dist('iothub/index.js');
  const hub = await startHub({ port: 0, tlsPort: 0, partitions: 2, log: () => undefined });
  try {
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('device-c'), {
      tls: { ca: hub.caPem },
    });
    try {
      for (const t of [1, 2, 3]) await device.sendEvent(JSON.stringify({ t }));
    } finally {
      await device.close();
    }
    const out = await example('read-events.mjs', [hub.serviceConnectionString(), '3'], {
      NODE_EXTRA_CA_CERTS: hub.caFile,
    });
    const lines = out.trim().split('\n');
    expect(lines.map((l) => l.replace(/ at \S+:/, ':'))).toEqual(
      [0, 1, 2].map((n) =>
        expect.stringMatching(new RegExp(`^event from device-c on partition \\d #${n}: \\{"t":${n + 1}\\}$`)),
      ),
    );
  } finally {
    await hub.close();
  }
});
