/** ServiceClient.events() against the emulator: redirect, $management, filters, resume, auth on the Event Hubs side. */
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ServiceClient,
  eventText,
  type IotHubEvent,
} from '../../../src/iothub/client/index.js';
import { UnauthorizedError } from '../../../src/iothub/errors.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { collect } from './support.js';

afterEach(cleanup);

function service(
  hub: IotHubEmulator,
  options: Parameters<typeof ServiceClient.fromConnectionString>[1] = {},
) {
  const s = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
    tls: { ca: hub.caPem },
    ...options,
  });
  onCleanup(() => s.close());
  return s;
}

/** One device sends `n` numbered messages: they all land in the device's partition, in order. */
async function sendNumbered(hub: IotHubEmulator, deviceId: string, from: number, n: number): Promise<void> {
  const d = DeviceClient.fromConnectionString(hub.deviceConnectionString(deviceId), {
    tls: { ca: hub.caPem },
  });
  onCleanup(() => d.close());
  for (let i = from; i < from + n; i++) await d.sendEvent(`${deviceId}:${i}`);
}

const bodies = (es: IotHubEvent[]) => es.map(eventText);

describe('events through the redirect', () => {
  test('start positions: sequence number (exclusive, inclusive), offset, enqueued time, earliest, latest', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    await sendNumbered(hub, 'd1', 0, 6);
    const s = service(hub);
    const all = await collect(s.events({ from: 'earliest' }), (xs) => xs.length >= 6);
    expect(bodies(all)).toEqual(['d1:0', 'd1:1', 'd1:2', 'd1:3', 'd1:4', 'd1:5']);
    const p = all[0]!.partitionId;
    const seq = all.map((e) => e.systemProperties.sequenceNumber);
    expect(seq).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);

    const after2 = await collect(s.events({ from: { [p]: { sequenceNumber: 2n } } }), (xs) => xs.length >= 3);
    expect(bodies(after2)).toEqual(['d1:3', 'd1:4', 'd1:5']);
    const from2 = await collect(
      s.events({ from: { sequenceNumber: 2, inclusive: true } }),
      (xs) => xs.length >= 4,
    );
    expect(bodies(from2)).toEqual(['d1:2', 'd1:3', 'd1:4', 'd1:5']);

    const off = all[3]!.systemProperties.offset;
    const afterOffset = await collect(s.events({ from: { offset: off } }), (xs) => xs.length >= 2);
    expect(bodies(afterOffset)).toEqual(['d1:4', 'd1:5']);
    const atOffset = await collect(
      s.events({ from: { offset: off, inclusive: true } }),
      (xs) => xs.length >= 3,
    );
    expect(bodies(atOffset)).toEqual(['d1:3', 'd1:4', 'd1:5']);

    const t = all[4]!.systemProperties.enqueuedTime;
    const byTime = await collect(s.events({ from: { enqueuedTime: t, inclusive: true } }), (xs) =>
      xs.some((e) => eventText(e) === 'd1:5'),
    );
    expect(bodies(byTime)).toContain('d1:4');
    expect(bodies(byTime)).not.toContain('d1:0');

    // 'latest' skips what is already there: the first event it gives is one sent after it started.
    const latest = s.events();
    await latest.start(); // every partition attached
    const pending = latest.next();
    await sendNumbered(hub, 'd1', 6, 1);
    const fresh = (await pending).value as IotHubEvent;
    expect(eventText(fresh)).toBe('d1:6');
    expect(fresh.systemProperties.sequenceNumber).toBe(6n);
  });

  test('resume from positions(): nothing read twice, nothing skipped', async () => {
    const hub = await hubForTest({ partitions: 4 });
    const devices = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const d of devices) await sendNumbered(hub, d, 0, 3);
    const s = service(hub);
    const first = s.events({ from: 'earliest' });
    const part1 = await collect(first, (xs) => xs.length >= 10);
    const positions = first.positions();
    await first.close();
    for (const d of devices) await sendNumbered(hub, d, 3, 2);
    const from = Object.fromEntries([...positions].map(([p, n]) => [p, { sequenceNumber: n }]));
    // partitions without a position start at the beginning
    const rest: Record<string, { sequenceNumber: bigint } | 'earliest'> = { ...from };
    for (const p of first.partitionIds ?? []) rest[p] ??= 'earliest';
    const part2 = await collect(
      s.events({ from: rest }),
      (xs) => part1.length + xs.length >= devices.length * 5,
    );
    const keys = [...part1, ...part2].map((e) => `${e.partitionId}/${e.systemProperties.sequenceNumber}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set([...part1, ...part2].map(eventText))).toEqual(
      new Set(devices.flatMap((d) => [0, 1, 2, 3, 4].map((i) => `${d}:${i}`))),
    );
  });

  test('only the partitions asked for; another consumer group', async () => {
    const hub = await hubForTest({ partitions: 4, consumerGroups: ['cg1'] });
    for (const d of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) await sendNumbered(hub, d, 0, 1);
    const s = service(hub);
    const everything = await collect(
      s.events({ from: 'earliest', consumerGroup: 'cg1' }),
      (xs) => xs.length >= 8,
    );
    const p = everything[0]!.partitionId;
    const inP = everything.filter((e) => e.partitionId === p).length;
    const only = s.events({ from: 'earliest', partitions: [p] });
    const got = await collect(only, (xs) => xs.length >= inP);
    expect(got.every((e) => e.partitionId === p)).toBe(true);
    expect(only.partitionIds).toEqual([p]);
    // Nothing more was waiting in p: the next event is a marker sent now to p.
    const device = eventText(everything.find((e) => e.partitionId === p)!).split(':')[0]!;
    await sendNumbered(hub, device, 1, 1);
    const [marker] = await collect(only, (xs) => xs.length >= 1);
    expect(eventText(marker!)).toBe(`${device}:1`);
    expect(marker!.partitionId).toBe(p);
  });

  test.each([0, 10, 200])('the redirect detach %i ms after the attach reply is followed', async (delay) => {
    const hub = await hubForTest({ devices: ['d1'], redirectDelayMs: delay });
    await sendNumbered(hub, 'd1', 0, 1);
    const stream = service(hub).events({ from: 'earliest' });
    expect(bodies(await collect(stream, (xs) => xs.length >= 1))).toEqual(['d1:0']);
    expect(stream.endpoint?.port).toBe(hub.tlsPort);
  });

  test('Event Hubs side with CBS (SASL ANONYMOUS, sb:// audience, UTF-8 key) as the event-hubs SDK does', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    await sendNumbered(hub, 'd1', 0, 2);
    const s = service(hub, { eventHubAuth: 'cbs' });
    const got = await collect(s.events({ from: 'earliest' }), (xs) => xs.length >= 2);
    expect(bodies(got)).toEqual(['d1:0', 'd1:1']);
  });

  test('the service policy works; a device key does not give events', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    await sendNumbered(hub, 'd1', 0, 1);
    const svc = ServiceClient.fromConnectionString(hub.serviceConnectionString('service'), {
      tls: { ca: hub.caPem },
    });
    onCleanup(() => svc.close());
    expect(bodies(await collect(svc.events({ from: 'earliest' }), (xs) => xs.length >= 1))).toEqual(['d1:0']);
    const key = /SharedAccessKey=([^;]+)/.exec(hub.deviceConnectionString('d1'))![1]!;
    const bad = ServiceClient.fromConnectionString(
      `HostName=${hub.hostName};SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
      { tls: { ca: hub.caPem }, reconnect: false },
    );
    onCleanup(() => bad.close());
    const stream = bad.events({ from: 'earliest' });
    await expect(stream.next()).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
