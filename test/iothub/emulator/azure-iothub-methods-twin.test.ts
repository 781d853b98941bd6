/**
 * azure-iothub 1.16.6, unchanged, calling direct methods and updating twins through the
 * emulator's REST API, with our own device and module clients on the other end (over AMQPS on
 * 5671): `Client.invokeDeviceMethod` on a device and a module, its errors for a device not online
 * (404103) and one that does not answer (504101), `Registry.getTwin` / `getModuleTwin` and
 * `Twin.update` with etags, and the desired patch it sends reaching our device with its version;
 * the twin's `modelId` as our device announced it.
 *
 * The official ports, as azure-iothub-registry.test.ts: its REST layer takes no port from the
 * HostName, so HTTPS is on 443 and the connection strings say `HostName=localhost`; binding 443
 * needs root or CI (skipped otherwise, with the reason printed). The hub runs on an injected
 * clock, so the method's response timeout passes when this test moves it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { serviceConnectionString } from '../../../src/iothub/hub/registry.js';
import {
  DeviceClient,
  ModuleClient,
  RegistryClient,
  type DesiredUpdate,
} from '../../../src/iothub/client/index.js';
import { runSdkScenario } from './sdk-support.js';
import { withoutMetadata } from '../../support/twin-metadata.js';

const canBind443 = process.getuid?.() === 0 || process.env.CI === 'true';
if (!canBind443)
  console.warn(
    'azure-iothub-methods-twin.test.ts skipped: binding port 443 needs root, and this is neither root nor CI',
  );

let hub: IotHubEmulator;
let now = Date.now();
const closers: (() => Promise<void> | void)[] = [];

describe.runIf(canBind443)("azure-iothub's Client and Twin against the emulator on port 443", () => {
  beforeAll(async () => {
    hub = await startHub({
      port: 0,
      tlsPort: 5671,
      httpsPort: 443,
      devices: ['sdk-m', 'sdk-offline', 'sdk-t'],
      clock: { now: () => now },
    });
  });

  afterAll(async () => {
    while (closers.length > 0) await closers.pop()!();
    await hub?.close();
  });

  it('invokeDeviceMethod on a device and a module answered by our clients; DeviceNotOnline; GatewayTimeout', async () => {
    const d = DeviceClient.fromConnectionString(hub.deviceConnectionString('sdk-m'), {
      tls: { ca: hub.caPem },
    });
    closers.push(() => d.close());
    d.onMethod('add', (req) => {
      const { a, b } = req.json<{ a: number; b: number }>();
      return { status: 200, payload: { sum: a + b } };
    });
    // Answers only after the hub's response timeout has passed: the caller gets 504.
    d.onMethod('slow', () => {
      now += 5_000;
      hub.tick(now);
      return { status: 200, payload: 'too late' };
    });
    await d.enableMethods();

    const registry = RegistryClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: hub.caPem },
      port: hub.httpsPort,
    });
    closers.push(() => registry.close());
    const m = await registry.createModule('sdk-m', 'mod');
    const mc = ModuleClient.fromConnectionString(registry.connectionStringOf(m), { tls: { ca: hub.caPem } });
    closers.push(() => mc.close());
    mc.onMethod('who', (req) => ({ status: 201, payload: { module: 'mod', got: req.json() } }));
    await mc.enableMethods();

    const { result } = await runSdkScenario<
      Record<string, any>
    > // eslint-disable-line @typescript-eslint/no-explicit-any
    (
      `
const { Client } = require('azure-iothub');
const client = Client.fromConnectionString(input.cs);
const failure = async (p) => {
  try { await p; return 'no error'; } catch (e) { return { name: e.name, status: e.response && e.response.statusCode, body: e.responseBody }; }
};
const out = {};
out.device = (await client.invokeDeviceMethod('sdk-m', { methodName: 'add', payload: { a: 2, b: 3 }, responseTimeoutInSeconds: 30 })).result;
out.module = (await client.invokeDeviceMethod('sdk-m', 'mod', { methodName: 'who', payload: 'hi' })).result;
out.offline = await failure(client.invokeDeviceMethod('sdk-offline', { methodName: 'add' }));
out.slow = await failure(client.invokeDeviceMethod('sdk-m', { methodName: 'slow', responseTimeoutInSeconds: 5 }));
done(out);
`,
      { cs: serviceConnectionString('localhost', hub.state.registry.getPolicy('iothubowner')!) },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result.device).toEqual({ status: 200, payload: { sum: 5 } });
    expect(result.module).toEqual({ status: 201, payload: { module: 'mod', got: 'hi' } });
    expect(result.offline).toMatchObject({ name: 'Error', status: 404 });
    expect(result.offline.body).toMatch(/^\{"Message":"ErrorCode:DeviceNotOnline;/);
    expect(result.slow).toMatchObject({ name: 'GatewayTimeoutError', status: 504 });
    expect(result.slow.body).toMatch(/^\{"Message":"ErrorCode:GatewayTimeout;/);
  });

  it('Registry.getTwin and Twin.update with etags; the desired patch reaches our device with its version', async () => {
    // Announces a Plug and Play model on its twin sender link: azure-iothub's Twin reads modelId.
    const d = DeviceClient.fromConnectionString(hub.deviceConnectionString('sdk-t'), {
      tls: { ca: hub.caPem },
      modelId: 'dtmi:com:example:Thermostat;1',
    });
    closers.push(() => d.close());
    const updates = d.desiredUpdates();
    await d.enableDesiredUpdates();
    await d.updateReported({ fw: '2.0' });
    hub.state.registry.addModule('sdk-t', 'tmod');

    const { result } = await runSdkScenario<
      Record<string, any>
    > // eslint-disable-line @typescript-eslint/no-explicit-any
    (
      `
const { Registry } = require('azure-iothub');
const registry = Registry.fromConnectionString(input.cs);
const plain = (t) => ({ deviceId: t.deviceId, moduleId: t.moduleId, modelId: t.modelId, etag: t.etag, tags: t.tags, properties: t.properties });
const out = {};
const twin = (await registry.getTwin('sdk-t')).responseBody;
out.read = plain(twin);
await twin.update({ tags: { floor: 3 }, properties: { desired: { fan: 'on', mode: 'eco' } } });
out.updated = plain(twin);
try { await registry.updateTwin('sdk-t', { tags: { floor: 4 } }, out.read.etag); out.stale = 'no error'; }
catch (e) { out.stale = e.name; }
await twin.update({ properties: { desired: { mode: null } } });
out.again = plain(twin);
const mt = (await registry.getModuleTwin('sdk-t', 'tmod')).responseBody;
await mt.update({ properties: { desired: { role: 'edge' } } });
out.module = plain(mt);
done(out);
`,
      { cs: serviceConnectionString('localhost', hub.state.registry.getPolicy('iothubowner')!) },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result.read).toMatchObject({
      deviceId: 'sdk-t',
      modelId: 'dtmi:com:example:Thermostat;1',
      tags: {},
      properties: { desired: { $version: 1 }, reported: { fw: '2.0', $version: 2 } },
    });
    expect(result.updated).toMatchObject({
      tags: { floor: 3 },
      properties: { desired: { fan: 'on', mode: 'eco', $version: 2 } },
    });
    expect(result.updated.etag).not.toBe(result.read.etag);
    expect(result.stale).toBe('InvalidEtagError');
    expect(withoutMetadata(result.again.properties.desired)).toEqual({ fan: 'on', $version: 3 });
    // azure-iothub's Twin keeps IoT Hub's $metadata as the hub sent it: fan was last set at version 2.
    const stamp = (v: number) => ({ $lastUpdated: expect.any(String), $lastUpdatedVersion: v });
    expect(result.again.properties.desired.$metadata).toEqual({ ...stamp(3), fan: stamp(2) });
    expect(result.module).toMatchObject({
      deviceId: 'sdk-t',
      moduleId: 'tmod',
      modelId: '', // the module announced none
      properties: { desired: { role: 'edge' } },
    });
    expect(hub.state.getTwin('sdk-t').tags).toEqual({ floor: 3 });

    const got: DesiredUpdate[] = [];
    for await (const u of updates) {
      got.push(u);
      if (got.length === 2) break;
    }
    expect(got).toEqual([
      { version: 2, patch: { fan: 'on', mode: 'eco' }, full: false },
      { version: 3, patch: { mode: null }, full: false },
    ]);
  });
});
