/**
 * The simulated device of `amqp-one iothub simulate-device` (src/cli/device-simulator.ts) on our
 * DeviceClient against the emulator, its interval and clock on manual timers: the built-in methods
 * invoked over REST, desired properties acknowledged as IoT Plug and Play writable properties (at
 * start and on update), the counter and uptime reported, the run ended by its signal or its count.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../src/iothub/emulator/index.js';
import { DeviceClient, RegistryClient } from '../../src/iothub/client/index.js';
import { runDeviceSimulator, type SimulatorEvent } from '../../src/cli/device-simulator.js';
import { ManualTimers } from '../support/manual-timers.js';
import { until } from '../iothub/client/support.js';

let hub: IotHubEmulator;
let registry: RegistryClient;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, devices: ['sim-a', 'sim-b'] });
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

function device(id: string): DeviceClient {
  const d = DeviceClient.fromConnectionString(hub.deviceConnectionString(id), { tls: { ca: hub.caPem } });
  closers.push(() => d.close());
  return d;
}

const sentCount = (events: SimulatorEvent[]): number => events.filter((e) => e.event === 'sent').length;

describe('runDeviceSimulator', () => {
  it('answers echo, status and reboot; acknowledges a desired update; sends on the interval until aborted', async () => {
    const clock = new ManualTimers();
    const stop = new AbortController();
    const events: SimulatorEvent[] = [];
    const run = runDeviceSimulator(device('sim-a'), {
      intervalMs: 1000,
      timers: clock,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    await until(() => sentCount(events) === 1, 10_000, 'the first message');
    expect(events[0]).toEqual({
      event: 'ready',
      deviceId: 'sim-a',
      methods: ['echo', 'reboot', 'status'],
      desiredVersion: 1,
    });

    expect(
      await registry.invokeDeviceMethod('sim-a', { methodName: 'echo', payload: { a: [1, 'x'] } }),
    ).toEqual({ status: 200, payload: { a: [1, 'x'] } });
    expect((await registry.invokeDeviceMethod('sim-a', { methodName: 'nope' })).status).toBe(501);

    // The next message waits for the interval: only the manual clock sends it.
    await until(() => clock.timers === 1, 10_000, 'the pause');
    expect(sentCount(events)).toBe(1);
    clock.advance(1000);
    await until(() => sentCount(events) === 2, 10_000, 'the second message');
    expect(await registry.invokeDeviceMethod('sim-a', { methodName: 'status' })).toEqual({
      status: 200,
      payload: { sent: 2, uptimeSeconds: 1, reboots: 0, desiredVersion: 1 },
    });

    await registry.updateTwin('sim-a', { properties: { desired: { fan: 'on', target: { t: 21 } } } }, '*');
    await until(() => events.some((e) => e.event === 'desired'), 10_000, 'the desired update');
    expect(events.find((e) => e.event === 'desired')).toEqual({
      event: 'desired',
      version: 2,
      full: false,
      acknowledged: ['fan', 'target'],
    });
    expect((await registry.invokeDeviceMethod('sim-a', { methodName: 'reboot' })).payload).toEqual({
      rebooting: true,
    });
    await until(
      () => hub.state.getTwin('sim-a').properties.reported.reboots === 1,
      10_000,
      'the reboot report',
    );

    stop.abort();
    expect(await run).toEqual({ sent: 2, seconds: 1, methods: 3, desiredUpdates: 1 }); // 'nope' has no handler
    // The run took its handlers along: the device, still connected, has none.
    expect((await registry.invokeDeviceMethod('sim-a', { methodName: 'echo' })).status).toBe(501);
    const reported = (await registry.getTwin('sim-a')).properties.reported;
    expect(reported).toMatchObject({
      fan: { value: 'on', ac: 200, av: 2, ad: 'applied' },
      target: { value: { t: 21 }, ac: 200, av: 2, ad: 'applied' },
      sent: 2,
      uptimeSeconds: 1,
      reboots: 1,
      intervalMs: 1000,
    });
    expect(events.filter((e) => e.event === 'method').map((e) => e.event === 'method' && e.name)).toEqual([
      'echo',
      'status',
      'reboot',
    ]);
  });

  it('acknowledges what was desired before it started, and ends by itself after --count messages', async () => {
    await registry.updateTwin('sim-b', { properties: { desired: { mode: 'eco' } } }, '*');
    await registry.updateTwin('sim-b', { properties: { desired: { level: 3 } } }, '*');
    const clock = new ManualTimers();
    const summary = await runDeviceSimulator(device('sim-b'), { count: 3, intervalMs: 0, timers: clock });
    expect(summary).toEqual({ sent: 3, seconds: 0, methods: 0, desiredUpdates: 0 });
    expect((await registry.getTwin('sim-b')).properties.reported).toMatchObject({
      mode: { value: 'eco', ac: 200, av: 3, ad: 'applied' },
      level: { value: 3, ac: 200, av: 3, ad: 'applied' },
      sent: 3,
    });
  });
});
