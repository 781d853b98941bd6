import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../../src/util/timers.js';
import { MethodDispatcher, type MethodRequest } from '../../../src/iothub/hub/methods.js';
import { createHubState } from '../../../src/iothub/hub/hub.js';
import { T0 } from './helpers.js';

const bytes = (s: string): Uint8Array => Buffer.from(s);

function dispatcher(extra: { maxPendingPerIdentity?: number } = {}) {
  const clock = new ManualClock(T0);
  let n = 0;
  const m = new MethodDispatcher({ clock, newRequestId: () => `req-${++n}`, ...extra });
  const advance = (ms: number): void => m.tick(clock.advance(ms));
  return { m, clock, advance };
}

describe('direct methods dispatcher', () => {
  test('a subscribed device gets the request and its answer resolves the call', async () => {
    const { m } = dispatcher();
    const seen: MethodRequest[] = [];
    m.subscribe('d1', (r) => seen.push(r));
    const call = m.invoke('d1', 'reboot', bytes('{"delay":1}'));
    expect(seen).toEqual([{ requestId: 'req-1', methodName: 'reboot', payload: bytes('{"delay":1}') }]);
    expect(m.pending('d1')).toBe(1);
    // Another identity cannot answer it.
    expect(m.respond('d2', 'req-1', { status: 200, payload: bytes('{}') })).toBe(false);
    expect(m.respond('d1', 'req-1', { status: 201, payload: bytes('"ok"') })).toBe(true);
    await expect(call).resolves.toEqual({ status: 201, payload: bytes('"ok"') });
    expect(m.pending('d1')).toBe(0);
    // A second answer is late.
    expect(m.respond('d1', 'req-1', { status: 200, payload: bytes('{}') })).toBe(false);
  });

  test('a subscriber whose link is no longer live is passed over: the older one, or DeviceNotOnline', async () => {
    const { m } = dispatcher();
    const older: MethodRequest[] = [];
    const newer: MethodRequest[] = [];
    let newerLive = true;
    m.subscribe('d1', (r) => older.push(r));
    m.subscribe(
      'd1',
      (r) => newer.push(r),
      () => newerLive,
    );
    void m.invoke('d1', 'a', bytes('1'));
    newerLive = false; // the hub detached its link; the device has not answered yet
    void m.invoke('d1', 'b', bytes('2'));
    expect([older.map((r) => r.methodName), newer.map((r) => r.methodName)]).toEqual([['b'], ['a']]);
    const { m: alone } = dispatcher();
    alone.subscribe(
      'd1',
      () => undefined,
      () => false,
    );
    expect(alone.isSubscribed('d1')).toBe(false);
    await expect(alone.invoke('d1', 'x', bytes('null'))).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_ONLINE',
    });
  });

  test('not subscribed: DeviceNotOnline at once, or after the connect timeout', async () => {
    const { m, advance } = dispatcher();
    await expect(m.invoke('d1', 'x', bytes('null'))).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_ONLINE',
    });
    const waiting = m.invoke('d1', 'x', bytes('null'), { connectTimeoutMs: 10_000 });
    advance(9_999);
    expect(m.pending('d1')).toBe(1);
    advance(1);
    await expect(waiting).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_ONLINE',
      condition: 'amqp:not-found',
    });
  });

  test('a subscription within the connect timeout gets the waiting call; the response timeout starts then', async () => {
    const { m, advance, clock } = dispatcher();
    const call = m.invoke('d1/m1', 'x', bytes('1'), { connectTimeoutMs: 10_000, responseTimeoutMs: 5_000 });
    advance(4_000);
    const seen: string[] = [];
    m.subscribe('d1/m1', (r) => seen.push(r.requestId));
    expect(seen).toEqual(['req-1']);
    expect(m.nextDeadline()).toBe(clock.now() + 5_000);
    advance(4_999);
    expect(m.pending('d1/m1')).toBe(1);
    advance(1);
    await expect(call).rejects.toMatchObject({
      code: 'HUB_METHOD_TIMEOUT',
      condition: 'com.microsoft:timeout',
    });
  });

  test('the newest subscriber gets requests; an unsubscribed one leaves the call answerable', async () => {
    const { m } = dispatcher();
    const a: string[] = [];
    const b: string[] = [];
    m.subscribe('d1', (r) => a.push(r.requestId));
    const stopB = m.subscribe('d1', (r) => b.push(r.requestId));
    const call = m.invoke('d1', 'x', bytes('1'));
    expect([a, b]).toEqual([[], ['req-1']]);
    stopB();
    expect(m.isSubscribed('d1')).toBe(true);
    expect(m.respond('d1', 'req-1', { status: 200, payload: bytes('2') })).toBe(true);
    await expect(call).resolves.toMatchObject({ status: 200 });
  });

  test('pending calls per identity are bounded', async () => {
    const { m } = dispatcher({ maxPendingPerIdentity: 2 });
    m.subscribe('d1', () => undefined);
    const calls = [m.invoke('d1', 'x', bytes('1')), m.invoke('d1', 'x', bytes('1'))];
    await expect(m.invoke('d1', 'x', bytes('1'))).rejects.toMatchObject({ code: 'HUB_TOO_MANY_REQUESTS' });
    m.respond('d1', 'req-1', { status: 200, payload: bytes('1') });
    await calls[0];
    const third = m.invoke('d1', 'x', bytes('1'));
    expect(m.pending('d1')).toBe(2);
    m.close();
    await expect(third).rejects.toMatchObject({ code: 'HUB_CLOSED' });
    await expect(calls[1]).rejects.toMatchObject({ code: 'HUB_CLOSED' });
  });

  test('bad arguments are refused before anything is sent', async () => {
    const { m } = dispatcher();
    const seen: unknown[] = [];
    m.subscribe('d1', (r) => seen.push(r));
    for (const [name, payload, o] of [
      ['', bytes('1'), {}],
      ['x'.repeat(101), bytes('1'), {}],
      ['x', new Uint8Array(128 * 1024 + 1), {}],
      ['x', bytes('1'), { responseTimeoutMs: 4_999 }],
      ['x', bytes('1'), { responseTimeoutMs: 300_001 }],
      ['x', bytes('1'), { connectTimeoutMs: -1 }],
    ] as const)
      await expect(m.invoke('d1', name, payload, o)).rejects.toMatchObject({ code: 'HUB_BAD_ARGUMENT' });
    expect(seen).toEqual([]);
  });

  test('through the hub state: unknown identities, and the hub ticks method deadlines', async () => {
    const clock = new ManualClock(T0);
    const hub = await createHubState({ hubName: 'h', clock, devices: ['d1'] });
    await expect(hub.invokeMethod('ghost', undefined, 'x', bytes('1'))).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_FOUND',
    });
    await expect(hub.invokeMethod('d1', 'm9', 'x', bytes('1'))).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_FOUND',
    });
    hub.methods.subscribe('d1', () => undefined);
    const call = hub.invokeMethod('d1', undefined, 'x', bytes('1'), { responseTimeoutMs: 5_000 });
    expect(hub.nextDeadline()).toBe(T0 + 5_000);
    hub.tick(clock.advance(5_000));
    await expect(call).rejects.toMatchObject({ code: 'HUB_METHOD_TIMEOUT' });
    await hub.close();
  });
});
