/**
 * The official azure-iot-device 1.18.4 (azure-iot-device-amqp) against the emulator's direct
 * methods and twin (contract section 12), over `Amqp` (TLS on a free port) and `AmqpWs` (the
 * official ports 443 and 5671, as azure-sdks-websocket.test.ts: root or CI only), for a device
 * (`Client.onDeviceMethod`) and for a module (`ModuleClient.onMethod`): the handler answers a call
 * the hub makes (through the hub state's API; azure-iothub over REST in
 * azure-iothub-methods-twin.test.ts), `getTwin` with a reported update and desired-property
 * events. The scenario runs in a child process (sdk-support.ts); this process watches the hub state
 * to know when to call and update.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { runSdkScenario } from './sdk-support.js';
import { until } from './helpers.js';
import { withoutMetadata } from '../../support/twin-metadata.js';

let hub: IotHubEmulator | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const canBind443 = process.getuid?.() === 0 || process.env.CI === 'true';

const SCENARIO = `
const { Client, ModuleClient } = require('azure-iot-device');
const transports = require('azure-iot-device-amqp');
const fs = require('node:fs');

const module = input.module;
const device = (module ? ModuleClient : Client).fromConnectionString(input.cs, transports[input.transport]);
await device.setOptions({ ca: fs.readFileSync(input.caFile, 'utf8') });
await device.open();

let methodCall;
const answered = new Promise((resolve) => {
  device[module ? 'onMethod' : 'onDeviceMethod']('reboot', (request, response) => {
    methodCall = { name: request.methodName, payload: request.payload };
    response.send(200, { rebooted: true, delay: request.payload.delay }, (err) => resolve(err ? String(err) : 'sent'));
  });
});

const twin = await device.getTwin();
const initial = JSON.parse(JSON.stringify({ desired: twin.properties.desired, reported: twin.properties.reported }));
await new Promise((resolve, reject) =>
  twin.properties.reported.update({ fw: '1.2.3', net: { rssi: -40 } }, (err) => (err ? reject(err) : resolve())),
);
const desiredEvents = [];
const gotDesired = new Promise((resolve) => {
  twin.on('properties.desired', (delta) => {
    desiredEvents.push(JSON.parse(JSON.stringify(delta)));
    if (delta.setpoint === 22) resolve();
  });
});
const sent = await answered;
await gotDesired;
const merged = JSON.parse(JSON.stringify(twin.properties.desired));
await device.close();
done({ methodCall, sent, initial, desiredEvents, merged });
`;

interface Result {
  methodCall: { name: string; payload: unknown };
  sent: string;
  initial: { desired: Record<string, unknown>; reported: Record<string, unknown> };
  desiredEvents: Record<string, unknown>[];
  merged: Record<string, unknown>;
}

/** Runs the scenario as the device `sdk-dev`, or as its module `sdk-mod` when `module` is set. */
async function run(h: IotHubEmulator, transport: 'Amqp' | 'AmqpWs', module = false): Promise<void> {
  const moduleId = module ? 'sdk-mod' : undefined;
  const key = module ? 'sdk-dev/sdk-mod' : 'sdk-dev';
  const cs = module
    ? `HostName=${h.hostName};DeviceId=sdk-dev;ModuleId=sdk-mod;SharedAccessKey=${
        h.state.registry.getModule('sdk-dev', 'sdk-mod')!.primaryKey
      }`
    : h.deviceConnectionString('sdk-dev');
  const scenario = runSdkScenario<Result>(
    SCENARIO,
    { cs, module, caFile: h.caFile, transport },
    { caFile: h.caFile!, timeoutMs: 45_000 },
  );
  const failed = scenario.then(
    () => false,
    () => true,
  );
  // The client subscribes to methods and to desired updates; then the hub calls and updates.
  await until(() => h.state.methods.isSubscribed(key), 30_000);
  const r = await h.state.invokeMethod('sdk-dev', moduleId, 'reboot', Buffer.from('{"delay":3}'));
  expect({ status: r.status, payload: JSON.parse(Buffer.from(r.payload).toString()) }).toEqual({
    status: 200,
    payload: { rebooted: true, delay: 3 },
  });
  await until(() => h.state.twins.subscriberCount(key) > 0, 30_000);
  await h.state.updateTwin('sdk-dev', moduleId, { desired: { setpoint: 22, mode: 'eco' } });
  expect(await failed).toBe(false);
  const { result } = await scenario;
  expect(result.methodCall).toEqual({ name: 'reboot', payload: { delay: 3 } });
  expect(result.sent).toBe('sent');
  expect(withoutMetadata(result.initial)).toEqual({ desired: { $version: 1 }, reported: { $version: 1 } });
  // azure-iot-device's Twin takes IoT Hub's $metadata from the GET as it is.
  expect(result.initial.desired.$metadata).toEqual({
    $lastUpdated: expect.any(String),
    $lastUpdatedVersion: 1,
  });
  expect(withoutMetadata(h.state.getTwin('sdk-dev', moduleId).properties.reported)).toEqual({
    fw: '1.2.3',
    net: { rssi: -40 },
    $version: 2,
  });
  expect(result.desiredEvents.at(-1)).toEqual({ setpoint: 22, mode: 'eco', $version: 2 });
  expect(withoutMetadata(result.merged)).toEqual({ setpoint: 22, mode: 'eco', $version: 2 });
  // The other identity's twin is untouched: the module's twin is its own.
  expect(
    withoutMetadata(h.state.getTwin('sdk-dev', module ? undefined : 'sdk-mod').properties.reported),
  ).toEqual({
    $version: 1,
  });
}

const registry = { devices: [{ deviceId: 'sdk-dev', modules: [{ moduleId: 'sdk-mod' }] }] };

describe('azure-iot-device 1.18.4: direct methods and the twin', () => {
  it('Amqp: onDeviceMethod answers a call; getTwin, a reported update and a desired event', async () => {
    hub = await startHub({ tlsPort: 0, registry });
    await run(hub, 'Amqp');
  });

  it('Amqp, ModuleClient: onMethod answers a call; the module twin the same', async () => {
    hub = await startHub({ tlsPort: 0, registry });
    await run(hub, 'Amqp', true);
  });

  it.runIf(canBind443)('AmqpWs on ports 443 and 5671: the same', async () => {
    hub = await startHub({ port: 0, tlsPort: 5671, httpsPort: 443, registry });
    await run(hub, 'AmqpWs');
  });

  it.runIf(canBind443)('AmqpWs on ports 443 and 5671, ModuleClient: the same', async () => {
    hub = await startHub({ port: 0, tlsPort: 5671, httpsPort: 443, registry });
    await run(hub, 'AmqpWs', true);
  });
});
