/**
 * Token renewal against the emulator with an injected clock (no real waiting): the hub and both
 * clients read the same manual clock; the hub detaches links whose token expired, so a connection
 * that lives through many lifetimes proves the renewals.
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ServiceClient,
  eventText,
  sasKeyTokenProvider,
} from '../../../src/iothub/client/index.js';
import { DeviceConnectionString } from '../../../src/iothub/connection-string.js';
import { UnauthorizedError } from '../../../src/iothub/errors.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { collect, tick, until } from './support.js';
import type { HubConnection } from '../../../src/iothub/client/hub-connection.js';

afterEach(async () => {
  watched.length = 0;
  await cleanup();
});

const LIFETIME_S = 60;

/** Connections whose renewals must finish before the clock moves on (as fast as real time would let them). */
const watched: HubConnection[] = [];

/** Moves the shared clock in 2 s steps (I/O runs between them), ticking the hub. */
async function pass(clock: ManualTimers, hub: IotHubEmulator, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 2000) {
    clock.advance(2000);
    await tick(2);
    await until(() => watched.every((h) => !h.tokenRenewer?.renewing), 10_000, 'renewals in flight');
    hub.tick(clock.now());
  }
}

describe('token renewal over many lifetimes (injected clock)', () => {
  test('device (CBS) and service (CBS, and PLAIN on the Event Hubs side) stay connected for 20 lifetimes', async () => {
    const clock = new ManualTimers();
    const hub = await hubForTest({
      devices: ['d1'],
      clock: { now: () => clock.now() },
      feedbackBatchDelayMs: 1000,
    });
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
      tls: { ca: hub.caPem },
      timers: clock,
      tokenLifetimeSeconds: LIFETIME_S,
    });
    const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: hub.caPem },
      timers: clock,
      tokenLifetimeSeconds: LIFETIME_S,
    });
    onCleanup(() => device.close());
    onCleanup(() => service.close());
    watched.push(device.hub, service.hub);
    const drops: string[] = [];
    device.on('disconnected', (e) => drops.push(`device: ${String(e)}`));
    service.on('disconnected', (e) => drops.push(`service: ${String(e)}`));
    let deviceRenewals = 0;
    let serviceRenewals = 0;
    device.on('token-renewed', () => deviceRenewals++);
    service.on('token-renewed', () => serviceRenewals++);

    const events = service.events({ from: 'earliest' });
    await device.sendEvent('t=0');
    expect((await collect(events, (xs) => xs.length >= 1)).map(eventText)).toEqual(['t=0']);
    const eh = events.connection!;
    watched.push(eh);
    let ehRenewals = 0;
    eh.on('token-renewed', () => ehRenewals++);
    eh.on('disconnected', (e) => drops.push(`event hub: ${String(e)}`));

    for (let i = 1; i <= 20; i++) {
      await pass(clock, hub, LIFETIME_S * 1000);
      await device.sendEvent(`t=${i}`);
      const [e] = await collect(events, (xs) => xs.length >= 1);
      expect(eventText(e!)).toBe(`t=${i}`);
    }
    // C2D and feedback after all that, on the same connections
    const feedback = service.feedback();
    const { messageId } = await service.send('d1', 'still here', { ack: 'positive' });
    const [m] = await collect(device.messages(), (xs) => xs.length >= 1);
    await m!.complete();
    await tick(20);
    await pass(clock, hub, 2000); // the feedback batch delay, on the hub's clock
    const [batch] = await collect(feedback, (xs) => xs.length >= 1);
    expect(batch!.records[0]).toMatchObject({ originalMessageId: messageId, statusCode: 'Success' });

    expect(drops).toEqual([]);
    expect(device.hub.generation).toBe(1);
    expect(service.hub.generation).toBe(1);
    expect(eh.generation).toBe(1);
    // 20 lifetimes of 60 s, renewed every 45 s: 26 renewals each
    expect(deviceRenewals).toBeGreaterThanOrEqual(26);
    expect(serviceRenewals).toBeGreaterThanOrEqual(26);
    expect(ehRenewals).toBeGreaterThanOrEqual(26);
  });

  test('the token provider is asked again for every renewal', async () => {
    const clock = new ManualTimers();
    const hub = await hubForTest({ devices: ['d1'], clock: { now: () => clock.now() } });
    const cs = DeviceConnectionString.parse(hub.deviceConnectionString('d1'));
    const signer = sasKeyTokenProvider({
      key: cs.sharedAccessKey!,
      lifetimeSeconds: 30,
      now: () => clock.now(),
    });
    let calls = 0;
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
      tls: { ca: hub.caPem },
      timers: clock,
      tokenProvider: (audience) => {
        calls++;
        return signer(audience);
      },
    });
    onCleanup(() => device.close());
    watched.push(device.hub);
    await device.sendEvent('a');
    await pass(clock, hub, 10 * 30_000);
    await device.sendEvent('b');
    expect(calls).toBeGreaterThanOrEqual(13); // 1 + every 22.5 s over 300 s
    expect(device.hub.generation).toBe(1);
  });

  test('control: without renewal the hub detaches the links at expiry and the next send is refused', async () => {
    const clock = new ManualTimers();
    const hub = await hubForTest({ devices: ['d1'], clock: { now: () => clock.now() } });
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
      tls: { ca: hub.caPem },
      timers: clock,
      tokenLifetimeSeconds: LIFETIME_S,
      renewal: { enabled: false },
    });
    onCleanup(() => device.close());
    await device.sendEvent('before expiry');
    await pass(clock, hub, (LIFETIME_S + 4) * 1000);
    const err = await device.sendEvent('after expiry').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
  });
});
