/**
 * What the official azure-iot-device 1.18.4 does with a model id over AMQP. Its `modelId` option
 * (set with `setOptions`, as its DeviceClientOptions documents: "used in MQTT username") is read
 * by azure-iot-device-mqtt only: azure-iot-device-amqp 1.14.4 sends it on no link, so a device of
 * that SDK that announces a model over `Amqp` shows none in its twin. Our DeviceClient announces
 * it (model-id.integration.test.ts), as the C# and Java SDKs do. A free TLS port: no port 443.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { RegistryClient } from '../../../src/iothub/client/index.js';
import { runSdkScenario } from './sdk-support.js';

let hub: IotHubEmulator;

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, devices: ['sdk-pnp'] });
});
afterAll(async () => {
  await hub?.close();
});

const SCENARIO = `
const { Client, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const fs = require('node:fs');
const device = Client.fromConnectionString(input.deviceCs, Amqp);
await device.setOptions({ ca: fs.readFileSync(input.caFile, 'utf8'), modelId: input.modelId });
await device.open();
await device.sendEvent(new Message('21.5'));
device.onDeviceMethod('noop', (_req, res) => res.send(200));
await device.getTwin();
await device.close();
done({ ok: true });
`;

describe('azure-iot-device 1.18.4 over Amqp with setOptions({ modelId })', () => {
  it('telemetry, methods and twin links carry no model id: the twin shows modelId ""', async () => {
    const { result } = await runSdkScenario<{ ok: boolean }>(
      SCENARIO,
      {
        deviceCs: hub.deviceConnectionString('sdk-pnp'),
        caFile: hub.caFile,
        modelId: 'dtmi:com:example:Thermostat;1',
      },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result).toEqual({ ok: true });
    // The device did open telemetry, methods and twin links: the hub saw it, with no model.
    expect(hub.state.registry.getDevice('sdk-pnp')!.lastActivityTime).toBeDefined();
    const registry = RegistryClient.fromConnectionString(hub.serviceConnectionString('iothubowner'), {
      tls: { ca: hub.caPem },
      port: hub.httpsPort,
    });
    try {
      const twin = await registry.getTwin('sdk-pnp');
      expect(twin.modelId).toBe('');
      expect(twin.properties.reported.$version).toBe(1);
    } finally {
      registry.close();
    }
  });
});
