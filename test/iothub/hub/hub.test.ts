import { appendFile, readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Message } from '../../../src/codec/message.js';
import { uuid } from '../../../src/codec/values.js';
import { ManualClock } from '../../../src/util/timers.js';
import { createHubState, type HubStateOptions } from '../../../src/iothub/hub/hub.js';
import { encodeRecord } from '../../../src/iothub/hub/store.js';
import { ann, c2dMessage, feedbackRecords, T0, tempDir } from './helpers.js';

const telemetry = (text: string): Message => ({ properties: { messageId: text }, body: Buffer.from(text) });

function hub(extra: Partial<HubStateOptions> = {}, clock = new ManualClock(T0)) {
  return createHubState({ hubName: 'myhub', clock, devices: ['d1', 'd2'], ...extra });
}

describe('hub state (in memory)', () => {
  test('telemetry: device checks, generation id, partition by device', async () => {
    const h = await hub();
    const e = await h.sendTelemetry('d1', telemetry('t1'));
    expect(e.partition).toBe(h.telemetry.partitionOf('d1'));
    expect(ann(e.message, 'iothub-connection-auth-generation-id')).toBe(
      h.registry.getDevice('d1')!.generationId,
    );
    await expect(h.sendTelemetry('ghost', telemetry('x'))).rejects.toMatchObject({
      condition: 'amqp:not-found',
    });
    h.registry.updateDevice('d2', { status: 'disabled' });
    await expect(h.sendTelemetry('d2', telemetry('x'))).rejects.toMatchObject({
      code: 'HUB_DEVICE_DISABLED',
      condition: 'amqp:unauthorized-access',
    });
    await expect(h.sendTelemetry('d1', telemetry('x'), { moduleId: 'nope' })).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_FOUND',
    });
    const m = h.registry.addModule('d1', 'm1');
    const em = await h.sendTelemetry('d1', telemetry('x'), { moduleId: 'm1' });
    expect(ann(em.message, 'iothub-connection-auth-generation-id')).toBe(m.generationId);
    expect(h.durable).toBe(false);
  });

  test('C2D routing by `to`: unknown device -> amqp:not-found, bad address -> argument error', async () => {
    const h = await hub();
    await expect(h.sendC2d(c2dMessage('d1', 'a'))).resolves.toMatchObject({ deviceId: 'd1' });
    await expect(
      h.sendC2d({
        ...c2dMessage('d1', 'b'),
        properties: { to: 'amqps://myhub.azure-devices.net/devices/d2/messages/deviceBound' },
      }),
    ).resolves.toMatchObject({ deviceId: 'd2' });
    await expect(h.sendC2d(c2dMessage('ghost', 'c'))).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_FOUND',
      condition: 'amqp:not-found',
    });
    await expect(
      h.sendC2d({ properties: { to: '/devices/d1/messages/events' }, body: 'x' }),
    ).rejects.toMatchObject({
      code: 'HUB_BAD_ADDRESS',
    });
    await expect(h.sendC2d({ body: 'no to' })).rejects.toMatchObject({ code: 'HUB_BAD_ADDRESS' });
  });

  test('end to end: C2D with ack full -> complete -> Success feedback with the original uuid id', async () => {
    const h = await hub();
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const m = c2dMessage('d1', 'x', 'full');
    m.properties!.messageId = uuid(id);
    await h.sendC2d(m);
    const d = h.receiveC2d('d1')!;
    h.settleC2d('d1', d.deliveryTag, 'complete');
    expect(h.nextDeadline()).toBe(T0 + 15_000);
    h.tick(T0 + 15_000);
    const fb = h.receiveFeedback()!;
    expect(feedbackRecords(fb.message)).toEqual([
      expect.objectContaining({
        originalMessageId: id,
        statusCode: 'Success',
        deviceId: 'd1',
        deviceGenerationId: h.registry.getDevice('d1')!.generationId,
      }),
    ]);
    h.settleFeedback(fb.lockToken, 'complete');
    expect(h.receiveFeedback()).toBeUndefined();
  });

  test('positive / negative / full / none: only the asked-for feedback is produced', async () => {
    const h = await hub({ feedback: { batchDelayMs: 0 } });
    for (const ack of ['positive', 'negative', 'full', 'none']) {
      await h.sendC2d(c2dMessage('d1', `${ack}-ok`, ack));
      h.settleC2d('d1', h.receiveC2d('d1')!.lockToken, 'complete');
      await h.sendC2d(c2dMessage('d1', `${ack}-rejected`, ack));
      h.settleC2d('d1', h.receiveC2d('d1')!.lockToken, 'reject');
    }
    h.tick();
    const records = feedbackRecords(h.receiveFeedback()!.message);
    expect(records.map((r) => `${r.originalMessageId}:${r.statusCode}`)).toEqual([
      'positive-ok:Success',
      'negative-rejected:Rejected',
      'full-ok:Success',
      'full-rejected:Rejected',
    ]);
  });

  test('TTL expiry -> Expired feedback; delivery count -> DeliveryCountExceeded; purge -> Purged', async () => {
    const clock = new ManualClock(T0);
    const h = await hub({}, clock);
    await h.sendC2d(
      c2dMessage('d1', 'expires', 'negative', { properties: { absoluteExpiryTime: new Date(T0 + 1000) } }),
    );
    await h.sendC2d(c2dMessage('d2', 'bounces', 'negative'));
    for (let i = 0; i < 10; i++) h.settleC2d('d2', h.receiveC2d('d2')!.lockToken, 'abandon');
    await h.sendC2d(c2dMessage('d2', 'purged', 'negative'));
    expect(h.purgeC2d('d2')).toBe(1);
    expect(h.nextDeadline()).toBe(T0 + 1000);
    clock.set(T0 + 1000);
    h.tick();
    clock.set(T0 + 15_000);
    h.tick();
    const records = feedbackRecords(h.receiveFeedback()!.message);
    expect(records.map((r) => `${r.originalMessageId}:${r.statusCode}`)).toEqual([
      'bounces:DeliveryCountExceeded',
      'purged:Purged',
      'expires:Expired',
    ]);
    expect(() => h.purgeC2d('ghost')).toThrow(expect.objectContaining({ code: 'HUB_DEVICE_NOT_FOUND' }));
  });

  test('lock timeout through the hub tick: redelivery and a deadline notification', async () => {
    const clock = new ManualClock(T0);
    const h = await hub({}, clock);
    let changes = 0;
    h.onDeadlineChange(() => changes++);
    await h.sendC2d(c2dMessage('d1', 'a'));
    const first = h.receiveC2d('d1')!;
    expect(changes).toBeGreaterThan(0);
    expect(h.nextDeadline()).toBe(T0 + 60_000);
    clock.set(T0 + 60_000);
    h.tick();
    const second = h.receiveC2d('d1')!;
    expect(second.message.properties?.messageId).toBe('a');
    expect(second.deliveryCount).toBe(1);
    expect(() => h.settleC2d('d1', first.lockToken, 'complete')).toThrow(
      expect.objectContaining({ condition: 'com.microsoft:message-lock-lost' }),
    );
  });

  test('removing a device drops its queue without feedback', async () => {
    const h = await hub({ feedback: { batchDelayMs: 0 } });
    await h.sendC2d(c2dMessage('d1', 'a', 'full'));
    expect(h.removeDevice('d1')).toBe(true);
    h.tick();
    expect(h.receiveFeedback()).toBeUndefined();
    expect(h.c2d.depth('d1')).toBe(0);
  });

  test('Event Hubs side: info, partitions, consumer groups, cursors', async () => {
    const h = await hub({ consumerGroups: ['cg1', '$default'], eventHubName: 'ehname' });
    expect(h.eventHubInfo()).toEqual({
      name: 'ehname',
      createdAt: new Date(T0),
      partitionIds: ['0', '1', '2', '3'],
    });
    expect(h.consumerGroups).toEqual(['$Default', 'cg1']);
    expect(h.consumerGroup('$DEFAULT')).toBe('$Default');
    expect(h.consumerGroup('CG1')).toBe('cg1');
    expect(h.consumerGroup('other')).toBeUndefined();
    const e = await h.sendTelemetry('d1', telemetry('a'));
    const c = h.openEventCursor(String(e.partition), { kind: 'earliest' });
    expect(c.next()!.sequenceNumber).toBe(0);
    expect(h.partitionInfo(String(e.partition)).lastEnqueuedSequenceNumber).toBe(0);
    for (const bad of ['4', '-1', 'x', '1.5'])
      expect(() => h.partitionInfo(bad)).toThrow(expect.objectContaining({ code: 'HUB_BAD_ARGUMENT' }));
  });
});

describe('hub state (durable)', () => {
  test('a restart keeps the registry, telemetry, queued C2D, delivery counts and feedback', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const h1 = await hub({ stateDir: dir }, clock);
    const keys = h1.registry.getDevice('d1')!.primaryKey;
    const owner = h1.registry.getPolicy('iothubowner')!.primaryKey;
    h1.registry.addModule('d1', 'm1');
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await h1.sendTelemetry('d1', telemetry(`t${i}`)));
    await h1.sendC2d(c2dMessage('d1', 'queued', 'full'));
    await h1.sendC2d(c2dMessage('d1', 'abandoned', 'full'));
    await h1.sendC2d(c2dMessage('d2', 'completed', 'full'));
    h1.receiveC2d('d1'); // locked at the "crash": available again after the restart
    h1.settleC2d('d1', h1.receiveC2d('d1')!.lockToken, 'abandon');
    h1.settleC2d('d2', h1.receiveC2d('d2')!.lockToken, 'complete');
    await h1.flush();
    // No close(): the process "dies" here.

    const h2 = await hub({ stateDir: dir }, clock);
    expect(h2.durable).toBe(true);
    expect(h2.registry.getDevice('d1')!.primaryKey).toBe(keys);
    expect(h2.registry.getPolicy('iothubowner')!.primaryKey).toBe(owner);
    expect(h2.registry.getModule('d1', 'm1')).toBeDefined();
    const p = events[0]!.partition;
    const c = h2.openEventCursor(p);
    const got = [c.next(), c.next(), c.next()];
    expect(got.map((e) => e!.sequenceNumber)).toEqual([0, 1, 2]);
    expect(got.map((e) => e!.bytes)).toEqual(events.map((e) => e.bytes));
    expect(c.next()).toBeUndefined();
    const next = await h2.sendTelemetry('d1', telemetry('after'));
    expect(next.sequenceNumber).toBe(3);
    expect(next.offset).toBe(events[2]!.offset + events[2]!.bytes.length);

    const d1 = h2.receiveC2d('d1')!;
    expect(d1.message.properties?.messageId).toBe('queued');
    expect(d1.deliveryCount).toBe(0);
    const d2 = h2.receiveC2d('d1')!;
    expect(d2.message.properties?.messageId).toBe('abandoned');
    expect(d2.deliveryCount).toBe(1);
    expect(h2.receiveC2d('d2')).toBeUndefined();
    // The Success record of 'completed' was pending: it survives and is batched after the restart.
    expect(h2.feedback.pendingCount).toBe(1);
    h2.tick(T0 + 15_000);
    // Durable: the batch is receivable once written (onFeedbackAvailable tells the AMQP layer).
    await h2.flush();
    expect(feedbackRecords(h2.receiveFeedback()!.message)[0]).toMatchObject({
      originalMessageId: 'completed',
      statusCode: 'Success',
    });
    await h2.close();
  });

  test('feedback messages and their delivery counts survive; completed ones do not come back', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const h1 = await hub({ stateDir: dir, feedback: { batchDelayMs: 0 } }, clock);
    for (const id of ['a', 'b']) {
      await h1.sendC2d(c2dMessage('d1', id, 'full'));
      h1.settleC2d('d1', h1.receiveC2d('d1')!.lockToken, 'complete');
      h1.tick();
      await h1.flush();
    }
    const fa = h1.receiveFeedback()!;
    h1.settleFeedback(fa.lockToken, 'complete');
    const fb = h1.receiveFeedback()!;
    h1.settleFeedback(fb.lockToken, 'abandon');
    await h1.flush();
    const h2 = await hub({ stateDir: dir }, clock);
    const again = h2.receiveFeedback()!;
    expect(feedbackRecords(again.message)[0]!.originalMessageId).toBe('b');
    expect(again.deliveryCount).toBe(1);
    expect(h2.receiveFeedback()).toBeUndefined();
    await h2.close();
  });

  test('C2D expiry and the 50-message limit still hold after a restart', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const h1 = await hub({ stateDir: dir, fsync: false }, clock);
    for (let i = 0; i < 50; i++) await h1.sendC2d(c2dMessage('d1', `m${i}`, 'negative'));
    await h1.close();
    clock.set(T0 + 3600_000);
    const h2 = await hub({ stateDir: dir, fsync: false }, clock);
    expect(h2.c2d.depth('d1')).toBe(50);
    await expect(h2.sendC2d(c2dMessage('d1', 'over'))).rejects.toMatchObject({ code: 'HUB_QUEUE_FULL' });
    expect(h2.nextDeadline()).toBe(T0 + 3600_000);
    h2.tick();
    expect(h2.c2d.depth('d1')).toBe(0);
    expect(h2.feedback.pendingCount).toBe(50);
    await h2.close();
  });

  test('a torn tail in every log is ignored; what was accepted before it is kept', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const h1 = await hub({ stateDir: dir }, clock);
    const e = await h1.sendTelemetry('d1', telemetry('kept'));
    await h1.sendC2d(c2dMessage('d1', 'kept', 'full'));
    await h1.close();
    const logs = [
      path.join(dir, 'telemetry', `partition-${e.partition}.log`),
      path.join(dir, 'c2d.log'),
      path.join(dir, 'feedback.log'),
    ];
    for (const f of logs)
      await appendFile(f, encodeRecord({ k: 'e', s: 99 }, Buffer.alloc(64, 1)).subarray(0, 40));
    const h2 = await hub({ stateDir: dir }, clock);
    expect(h2.telemetry.tornBytes[e.partition]).toBe(40);
    expect(h2.c2d.tornBytes).toBe(40);
    expect(h2.feedback.tornBytes).toBe(40);
    expect(h2.openEventCursor(e.partition).next()!.bytes).toEqual(e.bytes);
    expect(h2.receiveC2d('d1')!.message.properties?.messageId).toBe('kept');
    // Appends after the repaired tail are readable on the next start.
    const e2 = await h2.sendTelemetry('d1', telemetry('after'));
    expect(e2.sequenceNumber).toBe(1);
    await h2.close();
    const h3 = await hub({ stateDir: dir }, clock);
    const c = h3.openEventCursor(e.partition);
    expect([c.next()!.sequenceNumber, c.next()!.sequenceNumber]).toEqual([0, 1]);
    await h3.close();
  });

  test('retention is applied and the logs compacted at start-up; counters continue', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const h1 = await hub({ stateDir: dir, retentionMs: 60_000 }, clock);
    const e = await h1.sendTelemetry('d1', telemetry('old'));
    await h1.sendTelemetry('d1', telemetry('old2'));
    await h1.close();
    const file = path.join(dir, 'telemetry', `partition-${e.partition}.log`);
    const before = (await readFile(file)).length;
    clock.set(T0 + 120_000);
    const h2 = await hub({ stateDir: dir, retentionMs: 60_000 }, clock);
    expect((await readFile(file)).length).toBeLessThan(before);
    expect(h2.partitionInfo(e.partition)).toMatchObject({ isEmpty: true, lastEnqueuedSequenceNumber: 1 });
    expect((await h2.sendTelemetry('d1', telemetry('new'))).sequenceNumber).toBe(2);
    await h2.close();
    const h3 = await hub({ stateDir: dir, retentionMs: 60_000 }, clock);
    expect(h3.openEventCursor(e.partition).next()!.sequenceNumber).toBe(2);
    await h3.close();
  });

  test('C2D and feedback logs are compacted at start-up; sequence numbers are never reused', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const h1 = await hub({ stateDir: dir, feedback: { batchDelayMs: 0 } }, clock);
    for (let i = 0; i < 20; i++) {
      await h1.sendC2d(c2dMessage('d1', `m${i}`, 'positive'));
      h1.settleC2d('d1', h1.receiveC2d('d1')!.lockToken, 'complete');
      h1.tick();
      await h1.flush();
      h1.settleFeedback(h1.receiveFeedback()!.lockToken, 'complete');
    }
    const last = await h1.sendC2d(c2dMessage('d1', 'live'));
    await h1.close();
    const c2dLog = path.join(dir, 'c2d.log');
    const fbLog = path.join(dir, 'feedback.log');
    const sizes = [(await readFile(c2dLog)).length, (await readFile(fbLog)).length];
    const h2 = await hub({ stateDir: dir }, clock);
    expect((await readFile(c2dLog)).length).toBeLessThan(sizes[0]! / 5);
    expect((await readFile(fbLog)).length).toBeLessThan(sizes[1]! / 5);
    expect(h2.receiveC2d('d1')!.sequenceNumber).toBe(last.sequenceNumber);
    expect((await h2.sendC2d(c2dMessage('d1', 'next'))).sequenceNumber).toBe(last.sequenceNumber + 1);
    await h2.close();
    const h3 = await hub({ stateDir: dir }, clock);
    expect(h3.c2d.depth('d1')).toBe(2);
    expect((await h3.sendC2d(c2dMessage('d1', 'after'))).sequenceNumber).toBe(last.sequenceNumber + 2);
    await h3.close();
  });

  test('the partition count is fixed by the state directory', async () => {
    const dir = await tempDir();
    const h1 = await hub({ stateDir: dir, partitions: 8 });
    await h1.close();
    await expect(hub({ stateDir: dir, partitions: 4 })).rejects.toMatchObject({ code: 'HUB_STATE_MISMATCH' });
    const h2 = await hub({ stateDir: dir });
    expect(h2.eventHubInfo().partitionIds).toHaveLength(8);
    expect(h2.eventHubInfo().createdAt).toEqual(new Date(T0));
    await h2.close();
  });

  test('registry changes are saved; a --registry document merges into the stored one', async () => {
    const dir = await tempDir();
    const h1 = await hub({ stateDir: dir });
    h1.registry.addDevice('added');
    await h1.flush();
    const key = Buffer.alloc(32, 5).toString('base64');
    const h2 = await hub({
      stateDir: dir,
      registry: {
        devices: [{ deviceId: 'fromfile', authentication: { symmetricKey: { primaryKey: key } } }],
      },
    });
    expect(h2.registry.getDevice('added')).toBeDefined();
    expect(h2.registry.getDevice('fromfile')!.primaryKey).toBe(key);
    await h2.close();
    const saved = JSON.parse(await readFile(path.join(dir, 'registry.json'), 'utf8')) as {
      devices: { deviceId: string }[];
    };
    expect(saved.devices.map((d) => d.deviceId).sort()).toEqual(['added', 'd1', 'd2', 'fromfile']);
    expect((await readdir(dir)).sort()).toEqual([
      'c2d.log',
      'feedback.log',
      'hub.json',
      'module-inputs.log',
      'registry.json',
      'telemetry',
    ]);
  });

  test('the 50-message limit counts C2D messages still being written', async () => {
    const dir = await tempDir();
    const h = await hub({ stateDir: dir });
    const results = await Promise.allSettled(
      Array.from({ length: 55 }, (_, i) => h.sendC2d(c2dMessage('d1', `m${i}`))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(Array(5).fill('HUB_QUEUE_FULL'));
    expect(h.c2d.depth('d1')).toBe(50);
    await h.close();
  });

  test('telemetry accepted concurrently is all durable once each promise resolved', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const h1 = await hub({ stateDir: dir }, clock);
    const accepted = await Promise.all(
      Array.from({ length: 200 }, (_, i) => h1.sendTelemetry(`d${(i % 2) + 1}`, telemetry(`x${i}`))),
    );
    const h2 = await hub({ stateDir: dir }, clock);
    let n = 0;
    for (let p = 0; p < 4; p++) for (const c = h2.openEventCursor(p); c.next();) n++;
    expect(n).toBe(accepted.length);
    await h1.close();
    await h2.close();
  });
});
