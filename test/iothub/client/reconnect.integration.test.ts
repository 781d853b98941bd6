/**
 * Faults: the emulator (with a state directory) is stopped and started again on the same ports in
 * the middle of the traffic. The clients reconnect by themselves (CBS first, then the links): every
 * telemetry message is accepted and read exactly once by sequence number; a completed C2D message is
 * not delivered again.
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ServiceClient,
  eventText,
  type IotHubEvent,
} from '../../../src/iothub/client/index.js';
import { cleanup, hubForTest, onCleanup, tempDir } from './hub-fixture.js';
import { collect, nextWithin, tick, until } from './support.js';

afterEach(cleanup);

describe('reconnect after the hub restarts', () => {
  test('telemetry: nothing lost, nothing read twice; C2D: completed stays completed', async () => {
    const stateDir = await tempDir();
    const hub1 = await hubForTest({ stateDir, devices: ['d1'], fsync: false });
    const { port, tlsPort } = hub1;
    const ca = hub1.caPem;
    const reconnect = { initialDelayMs: 50, maxDelayMs: 400 };
    const device = DeviceClient.fromConnectionString(hub1.deviceConnectionString('d1'), {
      tls: { ca },
      reconnect,
    });
    const service = ServiceClient.fromConnectionString(hub1.serviceConnectionString(), {
      tls: { ca },
      reconnect,
    });
    onCleanup(() => device.close());
    onCleanup(() => service.close());
    const deviceDrops: unknown[] = [];
    device.on('disconnected', (e) => deviceDrops.push(e));

    // a reader from the start, running all along
    const events = service.events({ from: 'earliest' });
    const seen: IotHubEvent[] = [];
    const reading = (async () => {
      for await (const e of events) seen.push(e);
    })();

    // C2D completed before the restart
    const c2d = device.messages();
    const first = await service.send('d1', 'c2d-before', { ack: 'full' });
    const [m1] = await collect(c2d, (xs) => xs.length >= 1);
    expect(m1!.messageIdText).toBe(first.messageId);
    await m1!.complete();
    await tick(50);

    const total = 60;
    let restarted: Promise<void> | undefined;
    const sent: string[] = [];
    for (let i = 0; i < total; i++) {
      if (i === 20) {
        restarted = (async () => {
          await hub1.close();
          await tick(100);
          await hubForTest({ stateDir, port, tlsPort, fsync: false });
        })();
      }
      await device.sendEvent(`n=${i}`); // resolves only once the (possibly restarted) hub accepted it
      sent.push(`n=${i}`);
    }
    await restarted;
    expect(deviceDrops.length).toBeGreaterThanOrEqual(1);

    await until(() => new Set(seen.map(eventText)).size >= total, 20_000, 'all telemetry read');
    const bodies = seen.map(eventText);
    expect(new Set(bodies)).toEqual(new Set(sent));
    const keys = seen.map((e) => `${e.partitionId}/${e.systemProperties.sequenceNumber}`);
    expect(new Set(keys).size).toBe(keys.length); // exactly once by sequence number
    const byPartition = new Map<string, bigint[]>();
    for (const e of seen)
      byPartition.set(e.partitionId, [
        ...(byPartition.get(e.partitionId) ?? []),
        e.systemProperties.sequenceNumber,
      ]);
    for (const seqs of byPartition.values())
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]! > seqs[i - 1]!).toBe(true);

    // C2D after the restart: the new message arrives, the completed one does not come back
    const second = await service.send('d1', 'c2d-after');
    const [m2] = await collect(c2d, (xs) => xs.length >= 1, 20_000);
    expect(m2!.messageIdText).toBe(second.messageId);
    await m2!.complete();
    expect(await nextWithin(c2d, 500)).toBe('nothing');

    await events.close();
    await reading;
  });

  test('sends made while the hub is down wait for it, then resolve', async () => {
    const stateDir = await tempDir();
    const hub1 = await hubForTest({ stateDir, devices: ['d1'], fsync: false });
    const { port, tlsPort } = hub1;
    const device = DeviceClient.fromConnectionString(hub1.deviceConnectionString('d1'), {
      tls: { ca: hub1.caPem },
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    onCleanup(() => device.close());
    await device.sendEvent('up');
    await hub1.close();
    await until(() => !device.connected);
    const pending = Array.from({ length: 5 }, (_, i) => device.sendEvent(`while down ${i}`));
    await tick(300);
    const hub2 = await hubForTest({ stateDir, port, tlsPort, fsync: false });
    await Promise.all(pending);
    const service = ServiceClient.fromConnectionString(hub2.serviceConnectionString(), {
      tls: { ca: hub2.caPem },
    });
    onCleanup(() => service.close());
    const got = await collect(service.events({ from: 'earliest' }), (xs) => xs.length >= 6);
    expect(got.map(eventText)).toEqual(['up', ...[0, 1, 2, 3, 4].map((i) => `while down ${i}`)]);
  });
});
