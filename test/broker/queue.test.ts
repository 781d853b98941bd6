// The broker's queue and message edits, without any network.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { deliveryCountOf, editMessage } from '../../src/broker/message-edit.js';
import { Queue, type QueueConsumer } from '../../src/broker/queue.js';
import { StoredMessage } from '../../src/broker/stored-message.js';
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

describe('Queue.modify', () => {
  test('a message of a queue that was cleared is not counted again', async () => {
    const shared = { bytes: 0, maxBytes: 1_000_000 };
    const q = new Queue('q', false, { shared });
    const c = new FakeConsumer(1);
    q.subscribe(c);
    q.enqueue(msg('x'));
    await flush();
    q.clear();
    q.modify(c.got[0]!, { annotations: { 'x-new': 'y'.repeat(100) } });
    expect(q.bytes).toBe(0);
    expect(shared.bytes).toBe(0);
  });
});

describe('Queue dispatch work', () => {
  /** A consumer that refuses every message (as one whose max-message-size nothing fits). */
  class Refuser implements QueueConsumer {
    credit = 1_000_000;
    constructor(private readonly q: Queue) {}
    deliver(m: StoredMessage): void {
      m.refuse(this);
      this.q.putBack(m);
    }
  }

  test('a consumer that refuses everything does not make dispatch rescan the queue', async () => {
    const depth = 5000;
    const q = new Queue('deep');
    for (let i = 0; i < depth; i++) q.enqueue(msg(i));
    q.subscribe(new Refuser(q));
    const reader = new FakeConsumer(0);
    q.subscribe(reader);
    // Counts the messages looked at (a counter, not a spy: a spy would keep every call).
    const original = StoredMessage.prototype.deliverableTo;
    let examined = 0;
    StoredMessage.prototype.deliverableTo = function (this: StoredMessage, c: object): boolean {
      examined++;
      return original.call(this, c);
    };
    try {
      await flush();
      // The reader takes the queue one message at a time, as a reader with credit 1 does.
      for (let i = 0; i < depth; i++) {
        reader.credit = 1;
        q.dispatch();
        q.settled(reader.got[i]!);
      }
      expect(reader.bodies()).toEqual(Array.from({ length: depth }, (_, i) => i));
      // Each message is looked at a few times in all, not once per dispatch.
      expect(examined).toBeLessThan(10 * depth);
    } finally {
      StoredMessage.prototype.deliverableTo = original;
    }
  });

  test("a message put back ahead of a consumer's search is offered to it again, in order", async () => {
    const q = new Queue('q');
    const c = new FakeConsumer(1);
    q.subscribe(c);
    for (const b of ['a', 'b', 'c', 'd']) q.enqueue(msg(b));
    await flush();
    const a = c.got[0]!;
    a.refuse(c);
    q.putBack(a);
    // Its search now passes over a: it gets b, then c.
    c.credit = 1;
    q.dispatch();
    c.credit = 1;
    q.dispatch();
    expect(c.bodies()).toEqual(['a', 'b', 'c']);
    // b is released: it goes back ahead of d and must come before it.
    q.putBack(c.got[1]!);
    c.credit = 1;
    q.dispatch();
    expect(c.bodies()).toEqual(['a', 'b', 'c', 'b']);
    expect(q.peek().map((p) => decodeMessage(p).body)).toEqual(['a', 'd']);
  });
});

describe('Queue limits', () => {
  test('refusal() counts waiting and unsettled messages and bytes; settling frees room', async () => {
    const shared = { bytes: 0, maxBytes: 1_000_000 };
    const q = new Queue('q', false, { maxMessages: 2, maxBytes: 100, shared });
    expect(q.refusal(60)).toBeUndefined();
    q.enqueue(Buffer.alloc(60));
    expect(q.refusal(60)).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    expect(q.refusal(40)).toBeUndefined();
    q.enqueue(Buffer.alloc(40));
    expect(q.refusal(1)).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    const c = new FakeConsumer(1);
    q.subscribe(c);
    await flush();
    expect(q.refusal(1)).toBeDefined(); // sent, not settled: still held
    q.settled(c.got[0]!);
    expect(q.bytes).toBe(40);
    expect(shared.bytes).toBe(40);
    expect(q.refusal(60)).toBeUndefined();
    const tight = new Queue('t', false, { shared: { bytes: 0, maxBytes: 10 } });
    expect(tight.refusal(11)).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
  });
});

describe('Queue dispatch equals the plain full scan', () => {
  /** The plain algorithm: each round, each consumer with credit takes the first message it has not refused. */
  class Model {
    waiting: number[] = [];
    got: number[][];
    credit: number[];
    refused: Set<number>[];
    turn = 0;
    next = 0;
    constructor(n: number) {
      this.got = Array.from({ length: n }, () => []);
      this.credit = new Array<number>(n).fill(0);
      this.refused = Array.from({ length: n }, () => new Set());
    }
    dispatch(): void {
      for (let progressed = true; progressed && this.waiting.length > 0;) {
        progressed = false;
        const n = this.got.length;
        const start = this.turn;
        for (let k = 0; k < n && this.waiting.length > 0; k++) {
          const idx = (start + k) % n;
          if (this.credit[idx]! <= 0) continue;
          const i = this.waiting.findIndex((s) => !this.refused[idx]!.has(s));
          if (i < 0) continue;
          const [s] = this.waiting.splice(i, 1);
          this.credit[idx]!--;
          this.got[idx]!.push(s!);
          this.turn = (idx + 1) % n;
          progressed = true;
        }
      }
    }
    putBack(s: number): void {
      this.waiting.push(s);
      this.waiting.sort((a, b) => a - b);
    }
  }

  type Op =
    | { kind: 'enqueue' }
    | { kind: 'credit'; c: number; n: number }
    | { kind: 'refuse' | 'release' | 'accept'; c: number; pick: number };

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant({ kind: 'enqueue' as const }),
    fc.record({ kind: fc.constant('credit' as const), c: fc.nat(2), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({
      kind: fc.constantFrom('refuse' as const, 'release' as const, 'accept' as const),
      c: fc.nat(2),
      pick: fc.nat(),
    }),
  );

  test('same messages to the same consumers, same order left waiting', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const q = new Queue('q');
        const cs = [new FakeConsumer(0), new FakeConsumer(0), new FakeConsumer(0)];
        for (const c of cs) q.subscribe(c);
        const model = new Model(3);
        const held: StoredMessage[][] = [[], [], []]; // delivered and not settled, per consumer
        const seen = [0, 0, 0];
        for (const o of ops) {
          if (o.kind === 'enqueue') {
            q.enqueue(msg(model.next));
            model.waiting.push(model.next++);
          } else if (o.kind === 'credit') {
            cs[o.c]!.credit += o.n;
            model.credit[o.c]! += o.n;
          } else {
            const list = held[o.c]!;
            if (list.length === 0) continue;
            const [m] = list.splice(o.pick % list.length, 1);
            if (o.kind === 'accept') q.settled(m!);
            else {
              if (o.kind === 'refuse') {
                m!.refuse(cs[o.c]!);
                model.refused[o.c]!.add(m!.seq);
              }
              q.putBack(m!);
              model.putBack(m!.seq);
            }
          }
          q.dispatch();
          model.dispatch();
          for (let i = 0; i < 3; i++) {
            held[i]!.push(...cs[i]!.got.slice(seen[i]));
            seen[i] = cs[i]!.got.length;
          }
        }
        expect(cs.map((c) => c.got.map((m) => m.seq))).toEqual(model.got);
        expect(q.peek().map((p) => decodeMessage(p).body)).toEqual(model.waiting);
      }),
      { numRuns: 3000 },
    );
  });
});
