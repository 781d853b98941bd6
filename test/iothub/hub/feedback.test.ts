import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../../src/util/timers.js';
import {
  FEEDBACK_CONTENT_TYPE,
  FeedbackStore,
  wantsFeedback,
  type FeedbackOutcome,
  type FeedbackStatusCode,
} from '../../../src/iothub/hub/feedback.js';
import type { AckMode } from '../../../src/iothub/hub/message-utils.js';
import { ann, feedbackRecords, T0 } from './helpers.js';

const ALL: FeedbackStatusCode[] = ['Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged'];

function outcome(
  i: number,
  statusCode: FeedbackStatusCode = 'Success',
  ack: AckMode = 'full',
  at = T0,
): FeedbackOutcome {
  return {
    statusCode,
    ack,
    originalMessageId: `m${i}`,
    deviceId: 'd1',
    deviceGenerationId: '637000000000000001',
    at,
  };
}

async function open(extra = {}) {
  const clock = new ManualClock(T0);
  const fb = await FeedbackStore.open({ hubName: 'myhub', clock, ...extra });
  return { clock, fb };
}

describe('feedback', () => {
  test('which outcomes each iothub-ack keeps', () => {
    const table = (ack: AckMode) => ALL.filter((s) => wantsFeedback(ack, s));
    expect(table('none')).toEqual([]);
    expect(table('positive')).toEqual(['Success']);
    expect(table('negative')).toEqual(['Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged']);
    expect(table('full')).toEqual(ALL);
  });

  test('record() filters by ack', async () => {
    const { fb } = await open();
    expect(fb.record(outcome(1, 'Success', 'none'))).toBe(false);
    expect(fb.record(outcome(2, 'Rejected', 'positive'))).toBe(false);
    expect(fb.record(outcome(3, 'Success', 'negative'))).toBe(false);
    expect(fb.record(outcome(4, 'Success', 'positive'))).toBe(true);
    expect(fb.record(outcome(5, 'Expired', 'negative'))).toBe(true);
    expect(fb.record(outcome(6, 'DeliveryCountExceeded', 'full'))).toBe(true);
    expect(fb.pendingCount).toBe(3);
  });

  test('a batch is cut 15 s after the first pending record, with the contract format', async () => {
    const { fb, clock } = await open();
    fb.record(outcome(1, 'Success'));
    clock.advance(5000);
    fb.record(outcome(2, 'Rejected', 'full', clock.now()));
    expect(fb.nextDeadline()).toBe(T0 + 15_000);
    clock.advance(9999);
    fb.tick(clock.now());
    expect(fb.receive()).toBeUndefined();
    clock.advance(1);
    fb.tick(clock.now());
    expect(fb.pendingCount).toBe(0);
    const d = fb.receive()!;
    expect(d.deliveryTag).toHaveLength(16);
    const m = d.message;
    expect(m.properties?.contentType).toBe(FEEDBACK_CONTENT_TYPE);
    expect(m.properties?.userId).toEqual(Buffer.from('myhub'));
    expect(typeof m.properties?.messageId).toBe('string');
    expect(ann(m, 'iothub-enqueuedtime')).toEqual(new Date(T0 + 15_000));
    expect(m.bodyType).toBe('data');
    expect(feedbackRecords(m)).toEqual([
      {
        originalMessageId: 'm1',
        enqueuedTimeUtc: new Date(T0).toISOString(),
        statusCode: 'Success',
        description: 'Success',
        deviceId: 'd1',
        deviceGenerationId: '637000000000000001',
      },
      {
        originalMessageId: 'm2',
        enqueuedTimeUtc: new Date(T0 + 5000).toISOString(),
        statusCode: 'Rejected',
        description: 'Message Rejected',
        deviceId: 'd1',
        deviceGenerationId: '637000000000000001',
      },
    ]);
    // The JSON keys come in the documented order.
    expect(Buffer.from(m.body as Buffer).toString()).toMatch(
      /^\[\{"originalMessageId":"m1","enqueuedTimeUtc":"[^"]+","statusCode":"Success","description":"Success","deviceId":"d1","deviceGenerationId":"637000000000000001"\}/,
    );
  });

  test('64 pending records are batched at once; the 65th starts a new batch', async () => {
    const { fb, clock } = await open();
    for (let i = 0; i < 63; i++) fb.record(outcome(i));
    expect(fb.receive()).toBeUndefined();
    fb.record(outcome(63));
    expect(fb.pendingCount).toBe(0);
    const d = fb.receive()!;
    expect(feedbackRecords(d.message)).toHaveLength(64);
    expect(feedbackRecords(d.message)[63]!.originalMessageId).toBe('m63');
    clock.advance(1000);
    fb.record(outcome(64, 'Success', 'full', clock.now()));
    expect(fb.nextDeadline()).toBe(T0 + 1000 + 15_000);
    clock.advance(15_000);
    fb.tick(clock.now());
    expect(feedbackRecords(fb.receive()!.message).map((r) => r.originalMessageId)).toEqual(['m64']);
  });

  test('flushPending() cuts batches regardless of the delay', async () => {
    const { fb } = await open();
    for (let i = 0; i < 130; i++) fb.record(outcome(i));
    // 128 went out as two full batches when they filled up; 2 wait.
    expect(fb.depth).toBe(2);
    expect(fb.pendingCount).toBe(2);
    fb.flushPending();
    expect(fb.depth).toBe(3);
  });

  test('the feedback queue: complete removes, abandon redelivers, lock timeout redelivers', async () => {
    const { fb, clock } = await open({ batchDelayMs: 0 });
    fb.record(outcome(1));
    fb.tick(clock.now());
    const d = fb.receive()!;
    fb.abandon(d.deliveryTag);
    const again = fb.receive()!;
    expect(again.deliveryCount).toBe(1);
    clock.advance(60_000);
    fb.tick(clock.now());
    const third = fb.receive()!;
    expect(third.deliveryCount).toBe(2);
    expect(() => fb.complete(again.lockToken)).toThrow(expect.objectContaining({ code: 'HUB_LOCK_LOST' }));
    fb.complete(third.lockToken);
    expect(fb.depth).toBe(0);
  });

  test('feedback messages expire after 1 h and die after 10 deliveries', async () => {
    const { fb, clock } = await open({ batchDelayMs: 0 });
    fb.record(outcome(1));
    fb.record(outcome(2, 'Success', 'full', T0 + 1));
    fb.tick(clock.now());
    expect(fb.depth).toBe(1);
    for (let i = 0; i < 10; i++) fb.abandon(fb.receive()!.lockToken);
    expect(fb.depth).toBe(0);
    fb.record(outcome(3));
    fb.tick(clock.now());
    expect(fb.depth).toBe(1);
    clock.advance(3600_000);
    fb.tick(clock.now());
    expect(fb.depth).toBe(0);
  });

  test('onAvailable fires when a batch is queued', async () => {
    const { fb, clock } = await open();
    let n = 0;
    fb.onAvailable(() => n++);
    fb.record(outcome(1));
    expect(n).toBe(0);
    clock.advance(15_000);
    fb.tick(clock.now());
    expect(n).toBe(1);
  });
});
