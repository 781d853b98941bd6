/**
 * The emulator's fault injection (faults.ts) at its edges: what a fault message means, what is
 * ignored and logged, the bounds (one pending fault per connection, clamped delay and duration, a
 * resent fault message), the scheduled faults of startHub and `--fault`, and their typed errors.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { Message } from '../../../src/codec/message.js';
import { DeviceClient } from '../../../src/iothub/client/index.js';
import {
  faultOf,
  MAX_FAULT_DELAY_S,
  MAX_FAULT_DURATION_S,
  parseFaultSchedule,
} from '../../../src/iothub/emulator/faults.js';
import { runHubCli, startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { until } from '../client/support.js';
import { cleanup, connectBare, connectDevice, testHub } from './helpers.js';

const hubs: IotHubEmulator[] = [];
const devices: DeviceClient[] = [];
afterEach(async () => {
  for (const d of devices.splice(0)) await d.close();
  for (const h of hubs.splice(0)) await h.close();
  await cleanup();
});

const msg = (props: Record<string, string | number>): Message => ({
  applicationProperties: props,
  body: 'x',
});

describe('what a fault message asks for', () => {
  test.each([
    [{}, undefined],
    [{ other: 'KillTcp' }, undefined],
    [
      { AzIoTHub_FaultOperationType: 'KillTcp', AzIoTHub_FaultOperationCloseReason: 'boom' },
      { operation: 'KillTcp', reason: 'boom', delayMs: 0, durationMs: 0 },
    ],
    [
      // The C# SDK writes TimeSpan.TotalSeconds, the Node SDK may pass numbers.
      {
        AzIoTHub_FaultOperationType: 'KillAmqpC2DLink',
        AzIoTHub_FaultOperationDelayInSecs: '1.5',
        AzIoTHub_FaultOperationDurationInSecs: 20,
      },
      { operation: 'KillAmqpC2DLink', reason: 'KillAmqpC2DLink', delayMs: 1500, durationMs: 20_000 },
    ],
    [
      {
        AzIoTHub_FaultOperationType: 'ShutDownAmqp',
        AzIoTHub_FaultOperationDelayInSecs: '100000',
        AzIoTHub_FaultOperationDurationInSecs: '100000',
      },
      {
        operation: 'ShutDownAmqp',
        reason: 'ShutDownAmqp',
        delayMs: MAX_FAULT_DELAY_S * 1000,
        durationMs: MAX_FAULT_DURATION_S * 1000,
      },
    ],
    [{ AzIoTHub_FaultOperationType: 'KillEverything' }, 'unknown fault operation "KillEverything"'],
    [{ AzIoTHub_FaultOperationType: 'InvokeThrottling' }, 'fault operation InvokeThrottling is not emulated'],
    [
      { AzIoTHub_FaultOperationType: 'KillTcp', AzIoTHub_FaultOperationDelayInSecs: '-1' },
      'fault KillTcp: delay and duration must be non-negative numbers of seconds',
    ],
    [
      { AzIoTHub_FaultOperationType: 'KillTcp', AzIoTHub_FaultOperationDurationInSecs: 'soon' },
      'fault KillTcp: delay and duration must be non-negative numbers of seconds',
    ],
  ])('%j', (props, expected) => {
    expect(faultOf(msg(props))).toEqual(expected);
  });
});

describe('scheduled faults: syntax', () => {
  test.each([
    ['KillTcp:every=30s', { operation: 'KillTcp', everyMs: 30_000 }],
    [
      'KillAmqpC2DLink:every=1m,device=d1,duration=500ms,reason=soak',
      { operation: 'KillAmqpC2DLink', everyMs: 60_000, deviceId: 'd1', durationMs: 500, reason: 'soak' },
    ],
    ['ShutDownAmqp:every=2.5', { operation: 'ShutDownAmqp', everyMs: 2500 }],
  ])('%s', (spec, expected) => {
    expect(parseFaultSchedule(spec)).toEqual(expected);
  });

  test.each([
    ['KillEverything:every=1s', /unknown fault operation "KillEverything"/],
    ['KillTcp', /needs every=DURATION/],
    ['KillTcp:every=soon', /every=soon is not a duration/],
    ['KillTcp:every=10ms', /everyMs must be at least 1000/],
    ['KillTcp:every=1s,duration=10m', /durationMs must be from 0 to 300000/],
    ['KillTcp:every=1s,colour=red', /unknown fault setting "colour=red"/],
  ])('%s is refused', (spec, message) => {
    expect(() => parseFaultSchedule(spec)).toThrow(message);
    expect(() => parseFaultSchedule(spec)).toThrow(
      expect.objectContaining({ code: 'AMQP_INVALID_ARGUMENT' }),
    );
  });

  test('--fault: a bad one is a usage error, a good one is scheduled', async () => {
    const io = { out: () => undefined, err: () => undefined };
    await expect(
      runHubCli(['--port', '0', '--no-tls', '--fault', 'KillTcp:every=0s'], io),
    ).rejects.toMatchObject({
      code: 'AMQP_CLI_USAGE',
      message: expect.stringMatching(/^--fault KillTcp:every=0s: /),
    });
    // The CLI hub runs on the system clock: its first fault is due one period after it started,
    // which lies between the two readings (bounds, not a duration: load cannot break them).
    const before = Date.now();
    const hub = await runHubCli(['--port', '0', '--no-tls', '--fault', 'KillTcp:every=30s'], io);
    hubs.push(hub!);
    const after = hub!.clock.now();
    const due = hub!.faults!.nextDeadline()!;
    expect(due).toBeGreaterThanOrEqual(before + 30_000);
    expect(due).toBeLessThanOrEqual(after + 30_000);
  });

  test('startHub refuses a bad faults entry with a typed error', async () => {
    await expect(
      startHub({ port: 0, faults: [{ operation: 'KillTcp' as const, everyMs: 5 }] }),
    ).rejects.toMatchObject({ code: 'AMQP_INVALID_ARGUMENT', option: 'faults[0].everyMs' });
    await expect(
      startHub({ port: 0, faults: [{ operation: 'Nope' as 'KillTcp', everyMs: 5000 }] }),
    ).rejects.toMatchObject({ code: 'AMQP_INVALID_ARGUMENT', option: 'faults[0].operation' });
  });
});

/** A hub on a manual clock with device d1 connected through our client. */
async function setup(extra: Parameters<typeof startHub>[0] = {}) {
  let now = Date.now();
  const log: string[] = [];
  const hub = await startHub({
    port: 0,
    tlsPort: 0,
    devices: ['d1'],
    clock: { now: () => now },
    log: (l) => log.push(l),
    ...extra,
  });
  hubs.push(hub);
  const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
    tls: { ca: hub.caPem },
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
  });
  devices.push(device);
  const drops: Error[] = [];
  device.on('disconnected', (e) => drops.push(e));
  await device.open();
  const advance = (ms: number): void => {
    now += ms;
    hub.tick(now);
  };
  return { hub, device, drops, log, advance };
}

const fault = (operation: string, id: string, delayS = 10) => ({
  body: 'fault',
  messageId: id,
  properties: {
    AzIoTHub_FaultOperationType: operation,
    AzIoTHub_FaultOperationDelayInSecs: String(delayS),
  },
});

describe('fault messages: bounds and what is ignored', () => {
  test('one pending fault per connection: a newer one replaces it', async () => {
    const { hub, device, drops, advance } = await setup();
    await device.sendEvent(fault('KillTcp', 'f1', 10));
    await device.sendEvent(fault('KillAmqpConnection', 'f2', 20));
    expect(hub.faults!.pendingCount).toBe(1);
    advance(10_000);
    expect(hub.faults!.history).toEqual([]);
    advance(10_000);
    expect(hub.faults!.history.map((r) => r.operation)).toEqual(['KillAmqpConnection']);
    await until(() => drops.length === 1);
    expect(drops[0]).toMatchObject({ condition: 'amqp:connection:forced' });
  });

  test('a resent fault message (same message-id) does not fault again; unknown ones are logged and stored', async () => {
    const { hub, device, log } = await setup();
    await device.sendEvent(fault('KillAmqpD2CLink', 'same', 1));
    await device.sendEvent(fault('KillAmqpD2CLink', 'same', 1));
    await device.sendEvent(fault('KillEverything', 'other', 1));
    expect(hub.faults!.pendingCount).toBe(1);
    expect(log.filter((l) => l.includes('fault injection'))).toEqual([
      'fault injection from d1: KillAmqpD2CLink in 1000 ms for 0 ms (KillAmqpD2CLink)',
      'fault injection from d1: message same again (a resend); ignored',
      'fault injection from d1: unknown fault operation "KillEverything"; ignored',
    ]);
    // Every one of them is telemetry all the same.
    const t = hub.state.telemetry;
    expect(t.size(t.partitionOf('d1'))).toBe(3);
  });

  test('a connection gone before its delay takes its pending fault with it', async () => {
    const { hub, device, advance } = await setup();
    await device.sendEvent(fault('KillTcp', 'f1', 5));
    expect(hub.faults!.pendingCount).toBe(1);
    await device.close();
    await until(() => hub.faults!.pendingCount === 0);
    advance(5000);
    expect(hub.faults!.history).toEqual([]);
  });
});

describe('scheduled faults', () => {
  test('KillAmqpConnection every 10 s hits the connected device each period', async () => {
    const { hub, device, drops, advance } = await setup({
      faults: [{ operation: 'KillAmqpConnection', everyMs: 10_000, reason: 'soak' }],
    });
    advance(9_999);
    expect(drops).toEqual([]);
    advance(1);
    await until(() => drops.length === 1 && device.connected);
    expect(drops[0]).toMatchObject({ condition: 'amqp:connection:forced' });
    expect(drops[0]!.message).toContain('soak');
    advance(10_000);
    await until(() => drops.length === 2 && device.connected);
    expect(hub.faults!.history).toEqual([
      { operation: 'KillAmqpConnection', identity: 'd1', killed: 1, again: false },
      { operation: 'KillAmqpConnection', identity: 'd1', killed: 1, again: false },
    ]);
  });

  test('device= picks one device; the others are left alone', async () => {
    const { hub, drops, advance } = await setup({
      faults: [{ operation: 'KillTcp', everyMs: 5000, deviceId: 'someone-else' }],
    });
    advance(5000);
    expect(hub.faults!.history).toEqual([]);
    expect(drops).toEqual([]);
  });
});

describe('a fault window is shown to the faulted device only', () => {
  test('others attaching its links get amqp:unauthorized-access; its own re-attach gets the fault', async () => {
    const t = await testHub();
    const d1 = await connectDevice(t, 'd1');
    const events = await d1.openSender('/devices/d1/messages/events');
    await events.send({
      body: 'fault',
      applicationProperties: {
        AzIoTHub_FaultOperationType: 'KillAmqpD2CLink',
        AzIoTHub_FaultOperationCloseReason: 'd1 is faulted',
        AzIoTHub_FaultOperationDelayInSecs: '0',
        AzIoTHub_FaultOperationDurationInSecs: '60',
      },
    });
    t.advance(0);
    expect(t.hub.faults!.history).toEqual([
      { operation: 'KillAmqpD2CLink', identity: 'd1', killed: 1, again: false },
    ]);
    const refusal = (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        () => 'attached',
        (e: unknown) => e,
      );
    // No credential at all, or one for another device: the answer of any device it may not use.
    const bare = await connectBare(t);
    const d2 = await connectDevice(t, 'd2');
    for (const conn of [bare, d2]) {
      const e = await refusal(conn.openSender('/devices/d1/messages/events'));
      expect(e).toMatchObject({ condition: 'amqp:unauthorized-access' });
      expect(String((e as Error).message)).not.toContain('d1 is faulted');
    }
    expect(t.hub.faults!.history).toHaveLength(1);
    // The device itself is still refused with the fault's close reason until the window ends.
    expect(await refusal(d1.openSender('/devices/d1/messages/events'))).toMatchObject({
      condition: 'amqp:link:detach-forced',
      message: expect.stringContaining('d1 is faulted'),
    });
    expect(t.hub.faults!.history[1]).toEqual({
      operation: 'KillAmqpD2CLink',
      identity: 'd1',
      killed: 1,
      again: true,
    });
    t.advance(60_000);
    expect(await refusal(d1.openSender('/devices/d1/messages/events'))).not.toBeInstanceOf(Error);
  });
});
