import { describe, expect, test } from 'vitest';
import { Typed, uuid, ulong } from '../../../src/codec/values.js';
import { C2dStore } from '../../../src/iothub/hub/c2d.js';
import { ManualClock } from '../../../src/util/timers.js';
import type { FeedbackOutcome } from '../../../src/iothub/hub/feedback.js';
import { lockTagFromToken, lockTokenFromTag } from '../../../src/iothub/hub/lock-token.js';
import { ann, c2dMessage, T0 } from './helpers.js';

async function open(extra = {}) {
  const clock = new ManualClock(T0);
  const outcomes: FeedbackOutcome[] = [];
  const c2d = await C2dStore.open({
    clock,
    onFeedback: (o) => {
      outcomes.push(o);
    },
    ...extra,
  });
  return { clock, c2d, outcomes, statuses: () => outcomes.map((o) => o.statusCode) };
}

describe('C2D queues', () => {
  test('delivery: lock token, 16-byte tag, annotations, iothub-ack passed through', async () => {
    const { c2d } = await open();
    const r = await c2d.enqueue('d1', c2dMessage('d1', 'm1', 'full'), { generationId: '123' });
    expect(r).toMatchObject({ deviceId: 'd1', sequenceNumber: 1, expiresAt: T0 + 3600_000 });
    const d = c2d.receive('d1')!;
    expect(d.deliveryTag).toHaveLength(16);
    expect(lockTokenFromTag(d.deliveryTag)).toBe(d.lockToken);
    expect(lockTagFromToken(d.lockToken)).toEqual(d.deliveryTag);
    expect(ann(d.message, 'x-opt-lock-token')).toBe(d.lockToken);
    const seq = ann(d.message, 'x-opt-sequence-number') as Typed;
    expect(seq).toEqual(ulong(1));
    expect(ann(d.message, 'iothub-enqueuedtime')).toEqual(new Date(T0));
    expect(ann(d.message, 'iothub-deliverycount')).toEqual(new Typed('ubyte', 0));
    expect(d.message.applicationProperties).toEqual({ 'iothub-ack': 'full' });
    expect(d.message.properties?.messageId).toBe('m1');
    expect(d.message.body).toEqual(Buffer.from('payload m1'));
    // Locked: invisible until settled.
    expect(c2d.receive('d1')).toBeUndefined();
    expect(c2d.depth('d1')).toBe(1);
  });

  test('the delivery tag is the lock token in .NET Guid byte order', () => {
    const tag = lockTagFromToken('00112233-4455-6677-8899-aabbccddeeff');
    expect(tag.toString('hex')).toBe('33221100554477668899aabbccddeeff');
  });

  test('FIFO per device; devices are independent', async () => {
    const { c2d } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a'));
    await c2d.enqueue('d2', c2dMessage('d2', 'x'));
    await c2d.enqueue('d1', c2dMessage('d1', 'b'));
    expect(c2d.receive('d1')!.message.properties?.messageId).toBe('a');
    expect(c2d.receive('d1')!.message.properties?.messageId).toBe('b');
    expect(c2d.receive('d2')!.message.properties?.messageId).toBe('x');
    expect(c2d.receive('d3')).toBeUndefined();
  });

  test('complete -> Success; reject -> Rejected; both remove the message', async () => {
    const { c2d, outcomes, statuses } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a', 'full'), { generationId: 'g' });
    await c2d.enqueue('d1', c2dMessage('d1', 'b', 'full'), { generationId: 'g' });
    c2d.complete('d1', c2d.receive('d1')!.deliveryTag);
    c2d.reject('d1', c2d.receive('d1')!.lockToken);
    expect(statuses()).toEqual(['Success', 'Rejected']);
    expect(outcomes[0]).toEqual({
      statusCode: 'Success',
      ack: 'full',
      originalMessageId: 'a',
      deviceId: 'd1',
      deviceGenerationId: 'g',
      at: T0,
    });
    expect(c2d.depth('d1')).toBe(0);
    expect(c2d.receive('d1')).toBeUndefined();
  });

  test('abandon redelivers in order and counts the delivery', async () => {
    const { c2d } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a'));
    await c2d.enqueue('d1', c2dMessage('d1', 'b'));
    const a = c2d.receive('d1')!;
    const b = c2d.receive('d1')!;
    c2d.abandon('d1', a.lockToken);
    const again = c2d.receive('d1')!;
    expect(again.message.properties?.messageId).toBe('a');
    expect(again.deliveryCount).toBe(1);
    expect(ann(again.message, 'iothub-deliverycount')).toEqual(new Typed('ubyte', 1));
    expect(again.lockToken).not.toBe(a.lockToken);
    c2d.complete('d1', b.lockToken);
  });

  test('more than 50 queued: amqp:resource-limit-exceeded; locked messages count', async () => {
    const { c2d } = await open();
    for (let i = 0; i < 50; i++) await c2d.enqueue('d1', c2dMessage('d1', `m${i}`));
    c2d.receive('d1');
    await expect(c2d.enqueue('d1', c2dMessage('d1', 'one too many'))).rejects.toMatchObject({
      code: 'HUB_QUEUE_FULL',
      condition: 'amqp:resource-limit-exceeded',
    });
    expect(c2d.depth('d1')).toBe(50);
    await expect(c2d.enqueue('d2', c2dMessage('d2', 'other device'))).resolves.toBeDefined();
    c2d.complete('d1', c2d.receive('d1')!.lockToken);
    await expect(c2d.enqueue('d1', c2dMessage('d1', 'room again'))).resolves.toBeDefined();
  });

  test('lock timeout after 60 s: redelivered with a new lock; the old token is lock-lost', async () => {
    const { c2d, clock } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a'));
    const d = c2d.receive('d1')!;
    expect(d.lockedUntil).toBe(T0 + 60_000);
    expect(c2d.nextDeadline()).toBe(T0 + 60_000);
    clock.advance(59_999);
    c2d.tick(clock.now());
    expect(c2d.receive('d1')).toBeUndefined();
    clock.advance(1);
    let notified = 0;
    c2d.onAvailable('d1', () => notified++);
    c2d.tick(clock.now());
    expect(notified).toBe(1);
    const again = c2d.receive('d1')!;
    expect(again.deliveryCount).toBe(1);
    expect(() => c2d.complete('d1', d.lockToken)).toThrow(
      expect.objectContaining({ code: 'HUB_LOCK_LOST', condition: 'com.microsoft:message-lock-lost' }),
    );
    c2d.complete('d1', again.lockToken);
  });

  test('a disposition after the lock ran out but before tick(): lock lost, message requeued', async () => {
    const { c2d, clock } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a'));
    const d = c2d.receive('d1')!;
    clock.advance(60_000);
    expect(() => c2d.complete('d1', d.lockToken)).toThrow(expect.objectContaining({ code: 'HUB_LOCK_LOST' }));
    expect(c2d.receive('d1')!.deliveryCount).toBe(1);
  });

  test('unknown lock tokens: amqp:not-found; settled twice: not-found', async () => {
    const { c2d } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a'));
    const d = c2d.receive('d1')!;
    expect(() => c2d.complete('d2', d.lockToken)).toThrow(
      expect.objectContaining({ code: 'HUB_LOCK_NOT_FOUND', condition: 'amqp:not-found' }),
    );
    expect(() => c2d.complete('d1', '00000000-0000-0000-0000-000000000000')).toThrow(
      expect.objectContaining({ code: 'HUB_LOCK_NOT_FOUND' }),
    );
    expect(() => c2d.complete('d1', 'garbage')).toThrow(
      expect.objectContaining({ code: 'HUB_LOCK_NOT_FOUND' }),
    );
    expect(() => c2d.complete('d1', Buffer.alloc(3))).toThrow(
      expect.objectContaining({ code: 'HUB_LOCK_NOT_FOUND' }),
    );
    c2d.complete('d1', d.lockToken.toUpperCase());
    expect(() => c2d.complete('d1', d.lockToken)).toThrow(
      expect.objectContaining({ code: 'HUB_LOCK_NOT_FOUND' }),
    );
  });

  test('delivery-count limit: the 10th abandon gives DeliveryCountExceeded', async () => {
    const { c2d, statuses } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a', 'negative'));
    for (let i = 0; i < 9; i++) {
      const d = c2d.receive('d1')!;
      expect(d.deliveryCount).toBe(i);
      c2d.abandon('d1', d.lockToken);
    }
    expect(statuses()).toEqual([]);
    c2d.abandon('d1', c2d.receive('d1')!.lockToken);
    expect(statuses()).toEqual(['DeliveryCountExceeded']);
    expect(c2d.receive('d1')).toBeUndefined();
    expect(c2d.depth('d1')).toBe(0);
  });

  test('lock timeouts count towards the delivery-count limit too', async () => {
    const { c2d, clock, statuses } = await open({ maxDeliveryCount: 2 });
    await c2d.enqueue('d1', c2dMessage('d1', 'a', 'negative'));
    c2d.receive('d1');
    clock.advance(60_000);
    c2d.tick(clock.now());
    c2d.receive('d1');
    clock.advance(60_000);
    c2d.tick(clock.now());
    expect(statuses()).toEqual(['DeliveryCountExceeded']);
  });

  test('TTL: default 1 h; expiry -> Expired; expired messages are never delivered', async () => {
    const { c2d, clock, statuses } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a', 'full'));
    expect(c2d.nextDeadline()).toBe(T0 + 3600_000);
    clock.advance(3600_000);
    expect(c2d.receive('d1')).toBeUndefined();
    expect(statuses()).toEqual(['Expired']);
    await c2d.enqueue('d1', c2dMessage('d1', 'b', 'full'));
    clock.advance(3600_000);
    c2d.tick(clock.now());
    expect(statuses()).toEqual(['Expired', 'Expired']);
    expect(c2d.depth('d1')).toBe(0);
    expect(c2d.nextDeadline()).toBeUndefined();
  });

  test('absoluteExpiryTime is honoured, header ttl too, both capped at 2 days', async () => {
    const { c2d } = await open();
    const at = (ms: number) => ({ properties: { absoluteExpiryTime: new Date(T0 + ms) } });
    expect((await c2d.enqueue('d1', c2dMessage('d1', 'a', undefined, at(5000)))).expiresAt).toBe(T0 + 5000);
    expect((await c2d.enqueue('d1', c2dMessage('d1', 'b', undefined, at(30 * 86400_000)))).expiresAt).toBe(
      T0 + 2 * 86400_000,
    );
    expect(
      (await c2d.enqueue('d1', c2dMessage('d1', 'c', undefined, { header: { ttl: 7000 } }))).expiresAt,
    ).toBe(T0 + 7000);
  });

  test('a message whose TTL passes while locked can still be completed, else it expires on release', async () => {
    const { c2d, clock, statuses } = await open();
    const at = { properties: { absoluteExpiryTime: new Date(T0 + 10_000) } };
    await c2d.enqueue('d1', c2dMessage('d1', 'a', 'full', at));
    await c2d.enqueue('d1', c2dMessage('d1', 'b', 'full', at));
    const a = c2d.receive('d1')!;
    const b = c2d.receive('d1')!;
    clock.advance(20_000);
    c2d.tick(clock.now());
    expect(statuses()).toEqual([]);
    c2d.complete('d1', a.lockToken);
    c2d.abandon('d1', b.lockToken);
    expect(statuses()).toEqual(['Success', 'Expired']);
  });

  test('purge removes queued and locked messages with Purged; the locked token is then lock-lost', async () => {
    const { c2d, statuses } = await open();
    await c2d.enqueue('d1', c2dMessage('d1', 'a', 'full'));
    await c2d.enqueue('d1', c2dMessage('d1', 'b', 'full'));
    const d = c2d.receive('d1')!;
    expect(c2d.purge('d1')).toBe(2);
    expect(statuses()).toEqual(['Purged', 'Purged']);
    expect(c2d.depth('d1')).toBe(0);
    expect(() => c2d.complete('d1', d.lockToken)).toThrow(expect.objectContaining({ code: 'HUB_LOCK_LOST' }));
    expect(c2d.purge('nobody')).toBe(0);
  });

  test('feedback carries the original message id in text form, whatever its AMQP type', async () => {
    const { c2d, outcomes } = await open();
    const ids = [uuid('0f8fad5b-d9cb-469f-a165-70867728950e'), ulong(42), 'plain', undefined];
    for (const [i, id] of ids.entries()) {
      const m = c2dMessage('d1', `x${i}`, 'positive');
      m.properties!.messageId = id;
      await c2d.enqueue('d1', m);
      c2d.complete('d1', c2d.receive('d1')!.lockToken);
    }
    expect(outcomes.map((o) => o.originalMessageId)).toEqual([
      '0f8fad5b-d9cb-469f-a165-70867728950e',
      '42',
      'plain',
      '',
    ]);
    // Ack modes are reported as the message said, case-insensitively.
    const m = c2dMessage('d1', 'y', 'FULL');
    await c2d.enqueue('d1', m);
    c2d.reject('d1', c2d.receive('d1')!.lockToken);
    expect(outcomes.at(-1)!.ack).toBe('full');
  });

  test('onAvailable fires on enqueue and on redelivery; unsubscribe works', async () => {
    const { c2d } = await open();
    let n = 0;
    const off = c2d.onAvailable('d1', () => n++);
    await c2d.enqueue('d1', c2dMessage('d1', 'a'));
    expect(n).toBe(1);
    c2d.abandon('d1', c2d.receive('d1')!.lockToken);
    expect(n).toBe(2);
    off();
    await c2d.enqueue('d1', c2dMessage('d1', 'b'));
    expect(n).toBe(2);
  });

  test('onDeadline is called when an earlier deadline appears', async () => {
    let calls = 0;
    const { c2d } = await open({ onDeadline: () => calls++ });
    await c2d.enqueue('d1', c2dMessage('d1', 'a'));
    expect(calls).toBe(1);
    await c2d.enqueue('d1', c2dMessage('d1', 'b'));
    expect(calls).toBe(1);
    c2d.receive('d1');
    expect(calls).toBe(2);
  });
});
