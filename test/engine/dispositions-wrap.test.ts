/**
 * Dispositions across the delivery-id wrap, through the engine: a peer's range names exactly the
 * deliveries in it, and ours, settled in any order, name each delivery once with its outcome.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Disposition } from '../../src/codec/spec/records.js';
import { Role } from '../../src/link/link.js';
import type { Receiver } from '../../src/link/receiver.js';
import { ACCEPTED, RELEASED } from '../../src/link/receiver.js';
import { deliveries, eventsOf } from './pair.js';
import { openServer, senderAttach } from './scripted-peer.js';

describe('dispositions across the delivery-id wrap', () => {
  test('ranges in and out stay exact, whatever the settlement order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }).map((k) => (0xffffffff - k + 1) >>> 0),
        fc.integer({ min: 1, max: 40 }),
        fc.nat(),
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        fc.boolean(),
        (base, n, r1, r2, released, shuffle) => {
          const peer = openServer();
          peer.frame(0, senderAttach(0)).send();
          const link = eventsOf(peer.events, 'link-remote-open')[0]!.link as Receiver;
          link.attach();
          link.setCredit(100);
          peer.output();
          const idOf = (i: number) => (base + i) >>> 0;
          for (let i = 0; i < n; i++) {
            const tag = Buffer.alloc(4);
            tag.writeUInt32BE(i);
            peer.frame(
              0,
              { type: 'transfer', handle: 0, deliveryId: idOf(i), deliveryTag: tag },
              Buffer.from([i]),
            );
          }
          peer.send();
          const ds = deliveries(peer.events);
          expect(ds.map((d) => d.id)).toEqual(Array.from({ length: n }, (_, i) => idOf(i)));
          // The peer's range (unsettled, a state only) touches exactly the deliveries in it.
          const lo = r1 % n;
          const hi = lo + (r2 % (n - lo));
          peer
            .frame(0, {
              type: 'disposition',
              role: Role.Sender,
              first: idOf(lo),
              last: idOf(hi),
              state: RELEASED,
            })
            .send();
          ds.forEach((d, i) => expect(d.remoteState?.type).toBe(i >= lo && i <= hi ? 'released' : undefined));
          // Ours: settled in order or shuffled; each delivery goes out once, with its outcome.
          const order = ds.map((_, i) => i);
          if (shuffle) order.sort((a, b) => ((a * 7919 + r1) % 97) - ((b * 7919 + r1) % 97));
          for (const i of order) link.settle(ds[i]!, released[i] ? RELEASED : ACCEPTED);
          peer.output();
          const out = peer.tap.records('disposition');
          const seen = new Map<number, string>();
          for (const f of out as Disposition[]) {
            expect(f.role).toBe(Role.Receiver);
            expect(f.settled).toBe(true);
            const span = (((f.last ?? f.first) - f.first) >>> 0) + 1;
            expect(span).toBeLessThanOrEqual(n);
            for (let k = 0; k < span; k++) {
              const id = (f.first + k) >>> 0;
              expect(seen.has(id)).toBe(false);
              seen.set(id, f.state!.type);
            }
          }
          expect(seen.size).toBe(n);
          ds.forEach((d, i) => expect(seen.get(d.id)).toBe(released[i] ? 'released' : 'accepted'));
          if (!shuffle) {
            // In order: one range per run of equal outcomes.
            let runs = 1;
            for (let i = 1; i < n; i++) if (released[i] !== released[i - 1]) runs++;
            expect(out).toHaveLength(runs);
          }
          expect(peer.engine.isOpen).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
