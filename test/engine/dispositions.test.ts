/** Dispositions (spec 2.7.6): batching into ranges, huge ranges, and every outcome. */
import { describe, expect, test } from 'vitest';
import type { DeliveryState } from '../../src/codec/spec/records.js';
import type { Delivery } from '../../src/link/delivery.js';
import { Role } from '../../src/link/link.js';
import type { Sender } from '../../src/link/sender.js';
import { deliveries, eventsOf, linkedPair } from './pair.js';
import { openServer } from './scripted-peer.js';
import { DeliveryIdMap } from '../../src/session/delivery-map.js';
import { WorkMeter } from '../support/work-meter.js';

function hundred(order: (ds: Delivery[]) => Delivery[]) {
  const p = linkedPair('sender', { target: { address: 'q' } });
  p.peer.setCredit(100);
  p.pump();
  const sent = Array.from({ length: 100 }, (_, i) => p.link.send(Buffer.from([i])));
  p.pump();
  for (const d of order(deliveries(p.serverEvents))) p.peer.settle(d);
  p.pump();
  return { p, sent };
}

describe('batched dispositions', () => {
  test('settling 100 deliveries sends one disposition with first/last', () => {
    const { p, sent } = hundred((ds) => ds);
    expect(p.toClient.records('disposition')).toEqual([
      {
        type: 'disposition',
        role: Role.Receiver,
        first: 0,
        last: 99,
        settled: true,
        state: { type: 'accepted' },
      },
    ]);
    expect(sent.every((d) => d.remoteSettled && d.remoteState?.type === 'accepted')).toBe(true);
    expect([...p.session.unsettledOutgoing]).toHaveLength(0);
    expect(eventsOf(p.clientEvents, 'delivery-updated')).toHaveLength(100);
  });

  test('settled in shuffled order, they still coalesce', () => {
    const { p } = hundred((ds) => [...ds].sort(() => Math.random() - 0.5));
    expect(p.toClient.records('disposition')).toHaveLength(1);
  });

  test('different outcomes split the ranges', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.peer.setCredit(10);
    p.pump();
    for (let i = 0; i < 10; i++) p.link.send(Buffer.from([i]));
    p.pump();
    deliveries(p.serverEvents).forEach((d, i) =>
      p.peer.settle(d, i < 5 ? { type: 'accepted' } : { type: 'released' }),
    );
    p.pump();
    expect(p.toClient.records('disposition').map((d) => [d.first, d.last, d.state!.type])).toEqual([
      [0, 4, 'accepted'],
      [5, 9, 'released'],
    ]);
  });

  test('received ranges, including first=0 last=0xffffffff, are applied with work bounded by the deliveries held', () => {
    const lookups = new WorkMeter([DeliveryIdMap.prototype, ['get', 'has', 'entries']]);
    const peer = openServer();
    const snd = peer.engine.allSessions[0]!.openSender({ name: 'out', target: { address: 'q' } }) as Sender;
    peer.output();
    const flow = {
      type: 'flow' as const,
      nextIncomingId: 0,
      incomingWindow: 1000,
      nextOutgoingId: 0,
      outgoingWindow: 10,
    };
    peer
      .frame(0, { type: 'attach', name: 'out', handle: 0, role: Role.Receiver, target: { type: 'target' } })
      .frame(0, { ...flow, handle: 0, deliveryCount: 0, linkCredit: 200 })
      .send();
    const sent = Array.from({ length: 200 }, (_, i) => snd.send(Buffer.from([i])));
    peer.output();
    peer
      .frame(0, {
        type: 'disposition',
        role: Role.Receiver,
        first: 10,
        last: 19,
        state: { type: 'received', sectionNumber: 0, sectionOffset: 0 },
      })
      .send();
    expect(sent.filter((d) => d.remoteState?.type === 'received').map((d) => d.id)).toEqual(
      [...Array(10).keys()].map((i) => i + 10),
    );
    // The work is the deliveries held (200), not the 2^32 ids the range names: lookups and
    // entries visited in the delivery map stay within a few per delivery.
    const whole = lookups.run(
      () =>
        peer
          .frame(0, {
            type: 'disposition',
            role: Role.Receiver,
            first: 0,
            last: 0xffffffff,
            settled: true,
            state: { type: 'accepted' },
          })
          .send(),
      4 * 200,
    );
    expect(whole).toMatchObject({ ok: true });
    expect(sent.every((d) => d.remoteSettled && d.remoteState?.type === 'accepted')).toBe(true);
    // A wrapping range (first > last) and one naming nothing we hold are harmless.
    peer
      .frame(0, { type: 'disposition', role: Role.Receiver, first: 0xfffffff0, last: 5, settled: true })
      .send();
    peer
      .frame(0, { type: 'disposition', role: Role.Receiver, first: 5000, last: 0xfffffff, settled: true })
      .send();
    expect(peer.engine.isOpen).toBe(true);
  });
});

describe('outcomes (spec 3.4)', () => {
  const outcomes: [string, DeliveryState][] = [
    ['accepted', { type: 'accepted' }],
    [
      'rejected',
      {
        type: 'rejected',
        error: {
          type: 'error',
          condition: 'amqp:invalid-field',
          description: 'bad body',
          info: { field: 'body', n: 3 },
        },
      },
    ],
    ['released', { type: 'released' }],
    [
      'modified (failed, undeliverable, annotations)',
      {
        type: 'modified',
        deliveryFailed: true,
        undeliverableHere: true,
        messageAnnotations: { 'x-opt-reason': 'retry', 'x-count': 2 },
      },
    ],
    ['modified (plain)', { type: 'modified' }],
  ];

  test.each(outcomes)('%s reaches the sender intact', (_name, state) => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.peer.setCredit(1);
    p.pump();
    const d = p.link.send(Buffer.from('m'));
    p.pump();
    p.peer.settle(deliveries(p.serverEvents)[0]!, state);
    p.pump();
    expect(d.remoteState).toEqual(state);
    expect(d.remoteSettled).toBe(true);
  });

  test('received is a non-terminal state, then the outcome follows', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.peer.setCredit(1);
    p.pump();
    const d = p.link.send(Buffer.from('m'));
    p.pump();
    const got = deliveries(p.serverEvents)[0]!;
    p.peer.disposition(got, { type: 'received', sectionNumber: 2, sectionOffset: 1234 }, false);
    p.pump();
    expect(d.remoteState).toEqual({ type: 'received', sectionNumber: 2, sectionOffset: 1234 });
    expect(d.remoteSettled).toBe(false);
    p.peer.settle(got, { type: 'accepted' });
    p.pump();
    expect(d.remoteState).toEqual({ type: 'accepted' });
    expect(d.remoteSettled).toBe(true);
  });

  test('a delivery queued twice before a flush goes out once, with its latest state', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.peer.setCredit(1);
    p.pump();
    const d = p.link.send(Buffer.from('m'));
    p.pump();
    const got = deliveries(p.serverEvents)[0]!;
    p.peer.disposition(got, { type: 'received', sectionNumber: 0, sectionOffset: 0 }, false);
    p.peer.settle(got, { type: 'released' });
    p.pump();
    expect(p.toClient.records('disposition')).toEqual([
      { type: 'disposition', role: Role.Receiver, first: 0, settled: true, state: { type: 'released' } },
    ]);
    expect(d.remoteState).toEqual({ type: 'released' });
  });
});
