// The broker's queue and message edits, without any network.
import { describe, expect, test } from 'vitest';
import { deliveryCountOf, editMessage } from '../../src/broker/message-edit.js';
import { Queue, type QueueConsumer } from '../../src/broker/queue.js';
import type { StoredMessage } from '../../src/broker/stored-message.js';
import { decodeMessage, encodeMessage } from '../../src/codec/message.js';
import type { AmqpValue } from '../../src/codec/values.js';

class FakeConsumer implements QueueConsumer {
  got: StoredMessage[] = [];
  constructor(public credit = 0) {}
  deliver(m: StoredMessage): void {
    this.credit--;
    this.got.push(m);
  }
  bodies(): unknown[] {
    return this.got.map((m) => decodeMessage(m.payload).body);
  }
}

const msg = (b: AmqpValue): Buffer => encodeMessage({ body: b });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Queue', () => {
  test('hands messages round-robin, only as credit allows', { timeout: 5000 }, async () => {
    const q = new Queue('q');
    const a = new FakeConsumer(2);
    const b = new FakeConsumer(1);
    q.subscribe(a);
    q.subscribe(b);
    for (let i = 0; i < 5; i++) q.enqueue(msg(i));
    await flush();
    expect(a.bodies()).toEqual([0, 2]);
    expect(b.bodies()).toEqual([1]);
    expect(q.depth).toBe(2);
    expect(q.unsettled).toBe(3);
    b.credit = 5;
    q.dispatch();
    expect(b.bodies()).toEqual([1, 3, 4]);
  });

  test('a message put back returns to its place in the order', { timeout: 5000 }, async () => {
    const q = new Queue('q');
    const c = new FakeConsumer(2);
    q.subscribe(c);
    for (let i = 0; i < 4; i++) q.enqueue(msg(i));
    await flush();
    const [m0, m1] = c.got;
    q.putBack(m1!);
    q.putBack(m0!);
    expect(q.peek().map((p) => decodeMessage(p).body)).toEqual([0, 1, 2, 3]);
    q.settled(m0!); // not outstanding any more: no effect
    q.putBack(m0!); // a second put-back of the same message is ignored
    expect(q.depth).toBe(4);
  });

  test('a message refused by a consumer skips it and waits for another', { timeout: 5000 }, async () => {
    const q = new Queue('q');
    const c = new FakeConsumer(1);
    q.subscribe(c);
    q.enqueue(msg('x'));
    q.enqueue(msg('y'));
    await flush();
    const x = c.got[0]!;
    x.refuse(c);
    q.putBack(x);
    c.credit = 5;
    await flush();
    expect(c.bodies()).toEqual(['x', 'y']);
    expect(q.depth).toBe(1);
    const other = new FakeConsumer(1);
    q.subscribe(other);
    await flush();
    expect(other.bodies()).toEqual(['x']);
  });

  test('unsubscribing keeps the round-robin turn on the right consumer', { timeout: 5000 }, async () => {
    const q = new Queue('q');
    const cs = [new FakeConsumer(9), new FakeConsumer(9), new FakeConsumer(9)];
    for (const c of cs) q.subscribe(c);
    q.enqueue(msg(0));
    q.enqueue(msg(1));
    await flush();
    q.unsubscribe(cs[0]!); // the turn was on cs[2]
    q.enqueue(msg(2));
    q.enqueue(msg(3));
    await flush();
    expect(cs[2]!.bodies()).toEqual([2]);
    expect(cs[1]!.bodies()).toEqual([1, 3]);
  });
});

describe('editMessage', () => {
  const original = encodeMessage({
    header: { durable: true, deliveryCount: 3 },
    messageAnnotations: { 'x-a': 1 },
    properties: { messageId: 'id-1' },
    applicationProperties: { k: 'v' },
    body: Buffer.from('payload'),
  });

  test('delivery-failed bumps the header delivery-count, and leaves the rest byte for byte', () => {
    const edited = editMessage(original, { failedDelivery: true });
    const m = decodeMessage(edited);
    expect(m.header).toMatchObject({ durable: true, deliveryCount: 4 });
    expect(deliveryCountOf(edited)).toBe(4);
    const tail = encodeMessage({
      properties: { messageId: 'id-1' },
      applicationProperties: { k: 'v' },
      body: Buffer.from('payload'),
    });
    expect(edited.subarray(edited.length - tail.length).equals(tail)).toBe(true);
  });

  test('a message without a header gets one', () => {
    const edited = editMessage(encodeMessage({ body: 'x' }), { failedDelivery: true });
    expect(decodeMessage(edited)).toMatchObject({ header: { deliveryCount: 1 }, body: 'x' });
  });

  test('modified annotations are merged into message-annotations', () => {
    const edited = editMessage(original, { annotations: { 'x-b': 'two', 'x-a': 9 } });
    expect(decodeMessage(edited).messageAnnotations).toEqual({ 'x-a': 9, 'x-b': 'two' });
    const fresh = editMessage(encodeMessage({ body: 1 }), { annotations: { 'x-c': true } });
    expect(decodeMessage(fresh)).toMatchObject({ messageAnnotations: { 'x-c': true }, body: 1 });
  });

  test('bytes that do not decode are left alone', () => {
    const junk = Buffer.from([0x00, 0x53, 0x70, 0xff]);
    expect(editMessage(junk, { failedDelivery: true })).toBe(junk);
  });
});
