/**
 * The IoT Plug and Play model id over AMQP: our clients announce `com.microsoft:model-id` on the
 * links they send on (as the C# and Java SDKs do), and the emulator shows it as the twin's
 * `modelId` over REST, for a device and for a module; a client that only receives announces
 * nothing, and a bad model id is refused before anything is sent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { DeviceClient, ModuleClient, RegistryClient } from '../../../src/iothub/client/index.js';
import { until } from './support.js';

const THERMOSTAT = 'dtmi:com:example:Thermostat;1';

let hub: IotHubEmulator;
let registry: RegistryClient;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, devices: ['pnp-1', 'pnp-2', 'pnp-3'] });
  registry = RegistryClient.fromConnectionString(hub.serviceConnectionString('iothubowner'), {
    tls: { ca: hub.caPem },
    port: hub.httpsPort,
  });
});
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});
afterAll(async () => {
  registry?.close();
  await hub?.close();
});

function device(cs: string, modelId?: string): DeviceClient {
  const d = DeviceClient.fromConnectionString(cs, {
    tls: { ca: hub.caPem },
    ...(modelId === undefined ? {} : { modelId }),
  });
  closers.push(() => d.close());
  return d;
}

describe('the model id (com.microsoft:model-id)', () => {
  it('a device that sends telemetry with modelId: its twin shows it; one without shows ""', async () => {
    expect((await registry.getTwin('pnp-1')).modelId).toBe('');
    await device(hub.deviceConnectionString('pnp-1'), THERMOSTAT).sendEvent('21.5');
    expect((await registry.getTwin('pnp-1')).modelId).toBe(THERMOSTAT);
    await device(hub.deviceConnectionString('pnp-2')).sendEvent('no model');
    expect((await registry.getTwin('pnp-2')).modelId).toBe('');
  });

  it('only the links the device sends on carry it: a C2D receiver alone announces nothing', async () => {
    const d = device(hub.deviceConnectionString('pnp-3'), THERMOSTAT);
    const c2d = d.messages();
    await d.open();
    // The receiver is attached once the hub counts the device connected.
    await until(() => hub.state.registry.getDevice('pnp-3')!.connectionState === 'Connected');
    expect((await registry.getTwin('pnp-3')).modelId).toBe('');
    await d.enableMethods(); // the methods response link is a sender
    expect((await registry.getTwin('pnp-3')).modelId).toBe(THERMOSTAT);
    await c2d.return();
  });

  it("a module's model id is on the module's twin, not on its device's", async () => {
    const m = await registry.createModule('pnp-2', 'thermo');
    const mc = ModuleClient.fromConnectionString(registry.connectionStringOf(m), {
      tls: { ca: hub.caPem },
      modelId: THERMOSTAT,
    });
    closers.push(() => mc.close());
    await mc.sendOutputEvent('out', '{"t":20}');
    expect((await registry.getTwin('pnp-2', { moduleId: 'thermo' })).modelId).toBe(THERMOSTAT);
    expect((await registry.getTwin('pnp-2')).modelId).toBe('');
  });

  it('an empty or over-long model id is refused when the client is made', () => {
    for (const modelId of ['', `dtmi:${'x'.repeat(4096)};1`])
      expect(() => device(hub.deviceConnectionString('pnp-1'), modelId)).toThrow(
        expect.objectContaining({ code: 'AMQP_INVALID_ARGUMENT' }),
      );
  });
});
