/**
 * The official azure-iot-device 1.18.4 ModuleClient against the emulator's module routing (contract
 * section 12), over azure-iot-device-amqp's `Amqp` (TLS on a free port) and `AmqpWs` (the official
 * ports 443 and 5671, as azure-sdks-websocket.test.ts: root or CI only): one module's
 * `sendOutputEvent` (application property `iothub-outputname`) goes through a route in the
 * registry to another module's `on('inputMessage')`, which gets the input name from
 * `x-opt-input-name`; an abandoned message comes back, a completed one leaves the queue. The
 * scenario runs in a child process (sdk-support.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { runSdkScenario } from './sdk-support.js';

let hub: IotHubEmulator | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const SCENARIO = `
const { ModuleClient, Message } = require('azure-iot-device');
const transports = require('azure-iot-device-amqp');
const Transport = transports[input.transport];
const fs = require('node:fs');
const ca = fs.readFileSync(input.caFile, 'utf8');
const call = (f) => new Promise((resolve, reject) => f((err, r) => (err ? reject(err) : resolve(r))));

const filter = ModuleClient.fromConnectionString(input.filterCs, Transport);
await filter.setOptions({ ca });
await filter.open();
const received = [];
const finished = new Promise((resolve) => {
  filter.on('inputMessage', (inputName, msg) => {
    const body = msg.getData().toString();
    received.push({ inputName, body, outputName: msg.properties.getValue('iothub-outputname') });
    // The first delivery of 'second' is abandoned: it must come back.
    const abandon = body === 'second' && received.filter((r) => r.body === 'second').length === 1;
    const settle = abandon ? filter.abandon.bind(filter) : filter.complete.bind(filter);
    settle(msg, () => {
      if (received.filter((r) => r.body === 'second').length === 2) resolve();
    });
  });
});

const sensor = ModuleClient.fromConnectionString(input.sensorCs, Transport);
await sensor.setOptions({ ca });
await sensor.open();
await call((cb) => sensor.sendOutputEvent('temperature', new Message('first'), cb));
await call((cb) => sensor.sendOutputEvent('humidity', new Message('unrouted'), cb));
await call((cb) => sensor.sendOutputEvent('temperature', new Message('second'), cb));
await finished;
await sensor.close();
await filter.close();
done({ received });
`;

const registry = {
  devices: [{ deviceId: 'edge1', modules: [{ moduleId: 'sensor' }, { moduleId: 'filter' }] }],
  routes: [
    {
      from: { deviceId: 'edge1', moduleId: 'sensor', output: 'temperature' },
      to: { deviceId: 'edge1', moduleId: 'filter', input: 'readings' },
    },
  ],
};

const canBind443 = process.getuid?.() === 0 || process.env.CI === 'true';

async function run(h: IotHubEmulator, transport: 'Amqp' | 'AmqpWs'): Promise<void> {
  const cs = (moduleId: string) =>
    `HostName=${h.hostName};DeviceId=edge1;ModuleId=${moduleId};SharedAccessKey=${
      h.state.registry.getModule('edge1', moduleId)!.primaryKey
    }`;
  const { result } = await runSdkScenario<{ received: unknown[] }>(
    SCENARIO,
    { sensorCs: cs('sensor'), filterCs: cs('filter'), caFile: h.caFile, transport },
    { caFile: h.caFile!, timeoutMs: 45_000 },
  );
  const msg = (body: string) => ({ inputName: 'readings', body, outputName: 'temperature' });
  expect(result.received).toEqual([msg('first'), msg('second'), msg('second')]);
  expect(h.state.inputs.depth('edge1', 'filter')).toBe(0);
  // Every output also reached the events endpoint, routed or not.
  const cursor = h.state.openEventCursor(h.state.telemetry.partitionOf('edge1'));
  const bodies: string[] = [];
  for (let e = cursor.next(); e; e = cursor.next())
    bodies.push(Buffer.from(e.message.body as Uint8Array).toString());
  expect(bodies).toEqual(['first', 'unrouted', 'second']);
}

describe('azure-iot-device 1.18.4: module routing', () => {
  it('Amqp: sendOutputEvent through a route to on("inputMessage"); abandon, complete', async () => {
    hub = await startHub({ tlsPort: 0, registry });
    await run(hub, 'Amqp');
  });

  it.runIf(canBind443)('AmqpWs on ports 443 and 5671: the same', async () => {
    hub = await startHub({ port: 0, tlsPort: 5671, httpsPort: 443, registry });
    await run(hub, 'AmqpWs');
  });
});
