/**
 * Durability (issue 4): with a state directory, everything accepted (telemetry, queued C2D
 * messages, feedback, the registry and its keys, the CA) survives a restart of the emulator.
 */
import { afterEach, expect, it } from 'vitest';
import { ManualClock } from '../../../src/util/timers.js';
import { ann, c2d, cleanup, connectDevice, connectService, next, tempDir, testHub, text } from './helpers.js';

afterEach(cleanup);

it('a restart with stateDir keeps telemetry, C2D queues, feedback, devices and the CA', async () => {
  const stateDir = await tempDir();
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const first = await testHub({ stateDir, clock, tlsPort: 0, devices: ['d1'] });
  const deviceCs = first.hub.deviceConnectionString('d1');
  const ownerCs = first.hub.serviceConnectionString('iothubowner');
  const caPem = first.hub.caPem;
  const dev = await connectDevice(first, 'd1');
  const tel = await dev.openSender('/devices/d1/messages/events');
  for (let i = 0; i < 3; i++) expect((await tel.send({ body: Buffer.from(`t${i}`) }))?.type).toBe('accepted');
  const svc = await connectService(first);
  const s = await svc.openSender('/messages/devicebound');
  for (const id of ['k1', 'k2', 'k3']) expect((await s.send(c2d('d1', id, 'full')))?.type).toBe('accepted');
  // k1 is completed: its Success feedback is pending (not yet batched) at the restart.
  const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 1 });
  const m = await next(r);
  expect(m.message.properties?.messageId).toBe('k1');
  m.accept();
  const { until } = await import('./helpers.js');
  await until(() => first.hub.state.c2d.depth('d1') === 2);
  await first.hub.state.flush();
  await first.close();

  const second = await testHub({ stateDir, clock, tlsPort: 0 });
  expect(second.hub.deviceConnectionString('d1').replace(/:\d+;/, ':P;')).toBe(
    deviceCs.replace(/:\d+;/, ':P;'),
  );
  expect(second.hub.serviceConnectionString('iothubowner').replace(/:\d+;/, ':P;')).toBe(
    ownerCs.replace(/:\d+;/, ':P;'),
  );
  expect(second.hub.caPem).toBe(caPem);
  expect(second.hub.durable).toBe(true);

  const svc2 = await connectService(second);
  const p = second.hub.state.telemetry.partitionOf('d1');
  const events = await svc2.openReceiver({
    address: `${second.hub.eventHubName}/ConsumerGroups/$Default/Partitions/${p}`,
    credit: 10,
  });
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await next(events));
  expect(got.map((e) => text(e.message))).toEqual(['t0', 't1', 't2']);
  expect(got.map((e) => ann(e.message, 'x-opt-sequence-number'))).toEqual([0n, 1n, 2n]);

  const dev2 = await connectDevice(second, 'd1');
  const r2 = await dev2.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 5 });
  const k2 = await next(r2);
  const k3 = await next(r2);
  expect([k2.message.properties?.messageId, k3.message.properties?.messageId]).toEqual(['k2', 'k3']);
  k2.accept();
  k3.accept();

  second.advance(1000);
  const fb = await svc2.openReceiver({ address: '/messages/serviceBound/feedback', credit: 5 });
  const records: { originalMessageId: string; statusCode: string }[] = [];
  while (records.length < 3) {
    const f = await next(fb);
    records.push(...(JSON.parse(text(f.message)) as typeof records));
    f.accept();
    if (records.length < 3) second.advance(1000);
  }
  expect(records.map((x) => x.originalMessageId).sort()).toEqual(['k1', 'k2', 'k3']);
  expect(records.every((x) => x.statusCode === 'Success')).toBe(true);
});
