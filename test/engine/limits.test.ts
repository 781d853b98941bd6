/**
 * The engine's own bounds on what a peer can make it hold: a multi-frame message costs its bytes
 * (no frame is kept), unsettled deliveries per connection, and the handshake deadline.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { encodeComposite } from '../../src/codec/composite.js';
import type { Performative } from '../../src/codec/spec/records.js';
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import { Role } from '../../src/link/link.js';
import type { Receiver } from '../../src/link/receiver.js';
import type { Sender } from '../../src/link/sender.js';
import { beginFrame, endFrame } from '../../src/frames/frame-writer.js';
import { anonymousServer } from '../../src/sasl/mechanisms.js';
import { MAX_OUTPUT_PER_TAKE } from '../../src/connection/connection.js';
import { deliveries, eventsOf, linkedPair } from './pair.js';
import { BEGIN, OPEN, openServer, ScriptedPeer, senderAttach } from './scripted-peer.js';

/** One frame as a fresh buffer of its own (as if it came in its own socket chunk). */
function frameBytes(rec: Performative, payload?: Uint8Array): Buffer {
  const w = new ByteWriter(64);
  const start = beginFrame(w, 0, 0);
  encodeComposite(w, rec);
  if (payload) w.bytes(payload);
  endFrame(w, start);
  return w.copy();
}

/** A server engine with the peer's sender links attached on handles 0..n-1, each given `credit`. */
function serverReceivers(options: ConnectionOptions, n: number, credit: number) {
  const peer = openServer(options);
  for (let h = 0; h < n; h++) peer.frame(0, senderAttach(h)).send();
  const links = eventsOf(peer.events, 'link-remote-open').map((e) => e.link as Receiver);
  for (const l of links) {
    l.attach();
    l.setCredit(credit);
  }
  peer.output();
  return { peer, links };
}

const transfer = (handle: number, id: number | undefined, more = false) => ({
  type: 'transfer' as const,
  handle,
  deliveryId: id,
  deliveryTag: id === undefined ? undefined : Buffer.from([id]),
  more,
});

describe('multi-frame reassembly', () => {
  test('no frame is kept: each payload is copied in as it arrives (chunks reused after do not matter)', () => {
    const { peer } = serverReceivers({}, 1, 1);
    const fed: Buffer[] = [];
    const body = Buffer.from('abcdefghij');
    for (let i = 0; i < body.length; i++) {
      const chunk = frameBytes(
        transfer(0, i === 0 ? 0 : undefined, i < body.length - 1),
        body.subarray(i, i + 1),
      );
      peer.engine.receive(chunk);
      fed.push(chunk);
      // A socket may reuse its buffers once read: had the engine kept a view, the message would change.
      if (i < body.length - 1) chunk.fill(0xee);
    }
    peer.output();
    const [d] = deliveries(peer.events);
    expect(d?.payload.toString()).toBe('abcdefghij');
  });

  test('any split of a message into frames delivers the same bytes as one frame', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (bytes, cuts, limited) => {
          const body = Buffer.from(bytes);
          const { peer } = serverReceivers(limited ? { maxFrameSize: 4096 } : {}, 1, 1);
          if (limited) peer.engine.allSessions[0]!.allLinks[0]!.options.maxMessageSize = body.length;
          let at = 0;
          for (let i = 0; at < body.length; i++) {
            const n = Math.min(cuts[i % cuts.length]!, body.length - at);
            const more = at + n < body.length;
            peer.engine.receive(
              frameBytes(transfer(0, at === 0 ? 0 : undefined, more), body.subarray(at, at + n)),
            );
            at += n;
          }
          peer.output();
          const got = deliveries(peer.events);
          expect(got).toHaveLength(1);
          expect(Buffer.compare(got[0]!.payload, body)).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('unfinished messages per connection', () => {
  test('bytes being reassembled on all links together are bounded; the link that passes it is detached', () => {
    const { peer, links } = serverReceivers({ maxReassemblyBytes: 4096 }, 3, 1);
    const part = Buffer.alloc(1500, 1);
    // Two links each start a message: 1500 + 1500 bytes held (capacities of 1500 each).
    peer.engine.receive(frameBytes(transfer(0, 0, true), part));
    peer.engine.receive(frameBytes(transfer(1, 1, true), part));
    expect(peer.engine.reassemblyBytes).toBe(3000);
    // A third would pass 4096: its link is detached, the others go on.
    peer.engine.receive(frameBytes(transfer(2, 2, true), part));
    peer.output();
    expect(peer.last('detach')).toMatchObject({
      handle: 2,
      error: { condition: 'amqp:resource-limit-exceeded' },
    });
    expect(peer.engine.reassemblyBytes).toBe(3000);
    peer.engine.receive(frameBytes(transfer(0, undefined), part));
    peer.output();
    expect(deliveries(peer.events).map((d) => d.payload.length)).toEqual([3000]);
    // A finished message no longer counts; neither does one whose link detached.
    expect(peer.engine.reassemblyBytes).toBe(1500);
    links[1]!.detach();
    expect(peer.engine.reassemblyBytes).toBe(0);
  });
});

describe('unsettled deliveries per connection', () => {
  test('receivers get no credit past the room left, and get it back as deliveries settle', () => {
    const { peer, links } = serverReceivers({ maxUnsettledDeliveries: 3 }, 1, 10);
    // The credit asked (10) is cut to the room (3).
    expect(peer.last('flow')?.linkCredit).toBe(3);
    for (let id = 0; id < 3; id++) peer.frame(0, transfer(0, id)).send();
    const got = deliveries(peer.events);
    expect(got).toHaveLength(3);
    links[0]!.setCredit(10);
    peer.output();
    expect(peer.last('flow')?.linkCredit).toBe(0);
    links[0]!.settle(got[0]!);
    peer.output();
    // One settled: room for one, granted without the application asking again.
    expect(peer.last('flow')?.linkCredit).toBe(1);
  });

  test('a transfer past the credit the limit left detaches its link; the connection stays', () => {
    // Credit granted on one link counts against the room of the other: link 1 gets none.
    const { peer, links } = serverReceivers({ maxUnsettledDeliveries: 2 }, 2, 2);
    expect(links.map((l) => l.linkCredit)).toEqual([2, 0]);
    peer.frame(0, transfer(0, 0)).frame(0, transfer(0, 1)).send();
    expect(deliveries(peer.events)).toHaveLength(2);
    peer.frame(0, transfer(1, 2)).send();
    expect(deliveries(peer.events)).toHaveLength(2);
    expect(links[1]!.local).toBe('detached');
    expect(peer.last('detach')).toMatchObject({
      handle: 1,
      error: { condition: 'amqp:link:transfer-limit-exceeded' },
    });
    // The connection and the other link stay.
    expect(peer.closeCondition).toBeUndefined();
    expect(links[0]!.local).toBe('attached');
  });

  test('senders hold unsettled deliveries back at the limit, and go on as the peer settles', () => {
    const peer = openServer({ maxUnsettledDeliveries: 2 });
    peer.frame(0, { ...senderAttach(0), role: Role.Receiver, initialDeliveryCount: undefined }).send();
    const link = eventsOf(peer.events, 'link-remote-open')[0]!.link as Sender;
    link.attach();
    for (let i = 0; i < 5; i++) link.send(Buffer.from([i]));
    peer
      .frame(0, {
        type: 'flow',
        nextIncomingId: 0,
        incomingWindow: 100,
        nextOutgoingId: 0,
        outgoingWindow: 100,
        handle: 0,
        deliveryCount: 0,
        linkCredit: 100,
      })
      .send();
    expect(peer.tap.records('transfer')).toHaveLength(2);
    peer
      .frame(0, {
        type: 'disposition',
        role: Role.Receiver,
        first: 0,
        settled: true,
        state: { type: 'accepted' },
      })
      .send();
    expect(peer.tap.records('transfer')).toHaveLength(3);
    // Presettled deliveries are not held: nothing waits for their settlement.
    link.send(Buffer.from([9]), { settled: true });
    peer.output();
    expect(peer.tap.records('transfer')).toHaveLength(3);
    peer
      .frame(0, {
        type: 'disposition',
        role: Role.Receiver,
        first: 1,
        last: 2,
        settled: true,
        state: { type: 'accepted' },
      })
      .send();
    expect(peer.tap.records('transfer')).toHaveLength(6);
  });
});

describe('credit under the unsettled limit', () => {
  const sumCredit = (links: Receiver[]) => links.reduce((n, l) => n + l.linkCredit, 0);

  test('starved receivers are never granted more together than the room left', () => {
    const { peer, links } = serverReceivers({ maxUnsettledDeliveries: 2 }, 3, 1);
    expect(links.map((l) => l.linkCredit)).toEqual([1, 1, 0]);
    peer.frame(0, transfer(0, 0)).send();
    links[1]!.setCredit(5); // asks for more: only its own credit is there to re-set
    peer.output();
    expect(sumCredit(links) + peer.engine.unsettledIncoming).toBeLessThanOrEqual(2);
    links[0]!.settle(deliveries(peer.events)[0]!);
    peer.output();
    expect(sumCredit(links) + peer.engine.unsettledIncoming).toBeLessThanOrEqual(2);
    expect(sumCredit(links)).toBe(2);
  });

  test('credit of 10 under a limit of 5 lets exactly 10 messages come, settled in steps', () => {
    const { peer, links } = serverReceivers({ maxUnsettledDeliveries: 5 }, 1, 10);
    const link = links[0]!;
    let id = 0;
    for (let round = 0; round < 10; round++) {
      // The peer uses what it was given (minus one, to see re-grants of part of it), then we settle.
      const n = Math.max(1, link.linkCredit - 1);
      for (let i = 0; i < n && link.linkCredit > 0; i++) peer.frame(0, transfer(0, id++)).send();
      for (const d of deliveries(peer.events)) link.settle(d);
      peer.output();
    }
    expect(deliveries(peer.events)).toHaveLength(10);
    expect(link.linkCredit).toBe(0);
    // What the peer was told: credit up to delivery-count 10 (its sender started at 0).
    const f = peer.last('flow')!;
    expect(f.deliveryCount! + f.linkCredit!).toBe(10);
  });

  test('a completed drain leaves the credit at 0, however many settlements follow', () => {
    const { peer, links } = serverReceivers({ maxUnsettledDeliveries: 5 }, 1, 10);
    const link = links[0]!;
    peer.frame(0, transfer(0, 0)).frame(0, transfer(0, 1)).send();
    link.drainCredit();
    peer.output();
    // The sender has nothing more: it uses up the credit (3) by advancing its delivery-count.
    peer
      .frame(0, {
        type: 'flow',
        nextIncomingId: 0,
        incomingWindow: 100,
        nextOutgoingId: 2,
        outgoingWindow: 100,
        handle: 0,
        deliveryCount: 5,
        linkCredit: 0,
        drain: true,
      })
      .send();
    expect(eventsOf(peer.events, 'link-drained')).toHaveLength(1);
    const flows = peer.tap.records('flow').length;
    for (const d of deliveries(peer.events)) link.settle(d);
    peer.output();
    expect(link.linkCredit).toBe(0);
    // No flow gives credit back after the drain.
    expect(peer.tap.records('flow')).toHaveLength(flows);
    // Asking again works as before.
    link.addCredit(2);
    peer.output();
    expect(peer.last('flow')?.linkCredit).toBe(2);
  });

  test('a peer that sends only within its credit is never detached; credit and unsettled stay within the limit', () => {
    type Op =
      | { kind: 'credit'; link: number; n: number }
      | { kind: 'add'; link: number; n: number }
      | { kind: 'send'; link: number }
      | { kind: 'settle'; link: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('credit' as const), link: fc.nat(2), n: fc.nat(8) }),
      fc.record({ kind: fc.constant('add' as const), link: fc.nat(2), n: fc.nat(4) }),
      fc.record({ kind: fc.constant('send' as const), link: fc.nat(2) }),
      fc.record({ kind: fc.constant('send' as const), link: fc.nat(2) }),
      fc.record({ kind: fc.constant('settle' as const), link: fc.nat(2) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const { peer, links } = serverReceivers({ maxUnsettledDeliveries: max }, 3, 1);
        let id = 0;
        const settled = new Set<unknown>();
        for (const o of ops) {
          const link = links[o.link]!;
          if (o.kind === 'credit') link.setCredit(o.n);
          else if (o.kind === 'add') link.addCredit(o.n);
          else if (o.kind === 'send') {
            // The peer knows our credit: every change went out with the last output.
            if (link.linkCredit > 0) {
              const t = {
                ...transfer(o.link, undefined),
                deliveryId: id,
                deliveryTag: Buffer.from(String(id)),
              };
              id++;
              peer.frame(0, t).send();
            }
          } else {
            const d = deliveries(peer.events).find((x) => x.link === link && !settled.has(x));
            if (d) {
              settled.add(d);
              link.settle(d);
            }
          }
          peer.output();
          expect(links.map((l) => l.local)).toEqual(['attached', 'attached', 'attached']);
          expect(sumCredit(links) + peer.engine.unsettledIncoming).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('unsettled deliveries of a closed link', () => {
  test('leave the maps when the link closes: they stop counting, starved receivers get the room back', () => {
    const peer = openServer({ maxUnsettledDeliveries: 2 });
    peer.frame(0, senderAttach(0)).frame(0, senderAttach(1)).send();
    const [a, b] = eventsOf(peer.events, 'link-remote-open').map((e) => e.link as Receiver);
    a!.attach();
    b!.attach();
    a!.setCredit(2);
    peer.output();
    // Two unsettled transfers and the detach in one write: nothing on our side settles them.
    peer
      .frame(0, transfer(0, 0))
      .frame(0, transfer(0, 1))
      .frame(0, { type: 'detach', handle: 0, closed: true })
      .send();
    b!.setCredit(2);
    peer.output();
    expect(deliveries(peer.events)).toHaveLength(2);
    expect(a!.local).toBe('detached');
    expect(peer.engine.unsettledIncoming).toBe(0);
    // The other link was starved while they counted; now it has the room.
    expect(b!.linkCredit).toBe(2);
    expect(peer.last('flow')).toMatchObject({ handle: 1, linkCredit: 2 });
  });

  test('a session that ends gives its unsettled room to a starved receiver on another session', () => {
    const peer = openServer({ maxUnsettledDeliveries: 2 });
    peer.frame(1, BEGIN).send();
    for (const e of eventsOf(peer.events, 'session-remote-open')) e.session.begin();
    peer.frame(0, senderAttach(0)).frame(1, senderAttach(0)).send();
    const [a, b] = eventsOf(peer.events, 'link-remote-open').map((e) => e.link as Receiver);
    a!.attach();
    b!.attach();
    a!.setCredit(2);
    b!.setCredit(2);
    peer.output();
    expect(b!.linkCredit).toBe(0);
    peer.frame(0, transfer(0, 0)).frame(0, transfer(0, 1)).send();
    expect(deliveries(peer.events)).toHaveLength(2);
    // The session with both unsettled deliveries ends: nothing can settle them any more.
    peer.frame(0, { type: 'end' }).send();
    peer.output();
    expect(peer.engine.unsettledIncoming).toBe(0);
    expect(b!.linkCredit).toBe(2);
  });

  test('outgoing ones too: a sender held at the limit goes on once a closed link stops counting', () => {
    const peer = openServer({ maxUnsettledDeliveries: 1 });
    const rcvAttach = (h: number) => ({
      ...senderAttach(h),
      role: Role.Receiver,
      initialDeliveryCount: undefined,
    });
    peer.frame(0, rcvAttach(0)).frame(0, rcvAttach(1)).send();
    const [a, b] = eventsOf(peer.events, 'link-remote-open').map((e) => e.link as Sender);
    a!.attach();
    b!.attach();
    a!.send(Buffer.from([1]));
    b!.send(Buffer.from([2]));
    const flow = (handle: number) => ({
      type: 'flow' as const,
      nextIncomingId: 0,
      incomingWindow: 100,
      nextOutgoingId: 0,
      outgoingWindow: 100,
      handle,
      deliveryCount: 0,
      linkCredit: 10,
    });
    peer.frame(0, flow(0)).send();
    peer.frame(0, flow(1)).send();
    expect(peer.tap.records('transfer')).toHaveLength(1);
    peer.frame(0, { type: 'detach', handle: 0, closed: true }).send();
    // a's delivery stopped counting, so b's went out: it is the one unsettled now.
    expect(peer.tap.records('transfer')).toHaveLength(2);
    expect(peer.engine.unsettledOutgoing).toBe(1);
  });
});

describe('output per takeOutput()', () => {
  test('a peer granting huge credit and window gets at most the cap and one message per take, all in order', () => {
    const size = 4096;
    const n = 1000; // 4 MB queued: several takes' worth
    const p = linkedPair('sender', {}, {}, { sessionDefaults: { incomingWindow: 1_000_000 } });
    for (let i = 0; i < n; i++) {
      const body = Buffer.alloc(size, i & 0xff);
      body.writeUInt32BE(i);
      p.link.send(body, { settled: true });
    }
    (p.peer as Receiver).setCredit(1_000_000);
    // The credit reaches the client.
    p.client.receive(p.server.takeOutput()!);
    let takes = 0;
    for (let out = p.client.takeOutput(); out; out = p.client.takeOutput()) {
      takes++;
      // One message is its payload plus a transfer frame's few dozen bytes.
      expect(out.length).toBeLessThanOrEqual(MAX_OUTPUT_PER_TAKE + size + 64);
      // Messages left behind keep the output flagged, so the driver takes again.
      if (p.link.queued > 0) expect(p.client.hasOutput).toBe(true);
      p.server.receive(out);
    }
    expect(takes).toBeGreaterThan(1);
    p.pump();
    const got = deliveries(p.serverEvents);
    expect(got.map((d) => d.payload.readUInt32BE(0))).toEqual([...Array(n).keys()]);
    // A message larger than the cap still goes out whole.
    const big = Buffer.alloc(MAX_OUTPUT_PER_TAKE * 2 + 1, 7);
    p.link.send(big, { settled: true });
    p.link.send(Buffer.from('after'), { settled: true });
    p.pump();
    expect(
      deliveries(p.serverEvents)
        .map((d) => d.payload.length)
        .slice(n),
    ).toEqual([big.length, 5]);
  });
});

describe('handshake deadline', () => {
  const server = (handshakeTimeoutMs: number) =>
    new ScriptedPeer(new Connection({ role: 'server', containerId: 'server', handshakeTimeoutMs }));

  test('a peer that sends its header and never its open is dropped at the deadline, not one that opened', () => {
    const peer = server(10_000);
    peer.header().send();
    peer.tick(9_999);
    expect(peer.engine.finished).toBe(false);
    peer.tick(1);
    expect(peer.engine.finished).toBe(true);
    expect(peer.engine.error).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    // Once the peer opened, the deadline is gone.
    const opened = server(10_000);
    opened.header().frame(0, OPEN).frame(0, BEGIN).send();
    opened.engine.open();
    opened.tick(1_000_000);
    expect(opened.engine.finished).toBe(false);
    expect(opened.engine.tick(opened.now)).toBeUndefined();
  });

  test('a peer that sends nothing at all is dropped too', () => {
    const peer = server(10_000);
    expect(peer.engine.tick(peer.now)).toBe(peer.now + 10_000);
    peer.tick(10_000);
    expect(peer.engine.finished).toBe(true);
  });

  test('a SASL exchange left half done is dropped at the deadline', () => {
    const peer = new ScriptedPeer(
      new Connection({
        role: 'server',
        handshakeTimeoutMs: 5_000,
        saslServer: { mechanisms: [anonymousServer()] },
      }),
    );
    peer.header(3).send();
    expect(peer.tap.records('sasl-mechanisms')).toHaveLength(1);
    peer.tick(5_000);
    expect(peer.engine.finished).toBe(true);
  });
});
