/** Flow control: link credit and drain (spec 2.6.7), session windows (2.5.6), large and aborted transfers. */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Role } from '../../src/link/link.js';
import type { Receiver } from '../../src/link/receiver.js';
import { deliveries, eventsOf, linkedPair } from './pair.js';
import { openClientReceiver, openServer } from './scripted-peer.js';

describe('link credit (spec 2.6.7)', () => {
  test('the sender sends exactly the credit it has', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    for (let i = 0; i < 5; i++) p.link.send(Buffer.from([i]));
    p.pump();
    expect(p.toServer.records('transfer')).toHaveLength(0); // no credit yet
    p.peer.setCredit(3);
    p.pump();
    expect(p.toServer.records('transfer')).toHaveLength(3);
    expect(p.link.linkCredit).toBe(0);
    expect(p.link.queued).toBe(2);
    p.peer.addCredit(1);
    p.pump();
    expect(p.toServer.records('transfer')).toHaveLength(4);
    expect(p.peer.deliveryCount).toBe(4);
    expect(p.peer.linkCredit).toBe(0);
  });

  test('drain with nothing to send: the sender uses up the credit and answers', () => {
    const p = linkedPair('receiver', { source: { address: 'q' } });
    p.link.setCredit(10);
    p.link.drainCredit();
    p.pump();
    expect(p.link.linkCredit).toBe(0);
    expect(p.link.deliveryCount).toBe(10);
    expect(p.link.drain).toBe(false);
    expect(eventsOf(p.clientEvents, 'link-drained')).toHaveLength(1);
    expect(eventsOf(p.serverEvents, 'link-drained')).toHaveLength(1);
    expect(p.toClient.records('flow').at(-1)).toMatchObject({
      handle: 0,
      deliveryCount: 10,
      linkCredit: 0,
      drain: true,
    });
    // New credit after a drain works as usual.
    p.link.setCredit(2);
    p.pump();
    p.peer.send(Buffer.from('a'));
    p.pump();
    expect(deliveries(p.clientEvents)).toHaveLength(1);
    expect(p.link.deliveryCount).toBe(11);
  });

  test.each([
    [10, 3],
    [3, 3],
    [2, 5],
  ])('drain with credit %i and %i queued', (credit, queued) => {
    const p = linkedPair('receiver', { source: { address: 'q' } });
    for (let i = 0; i < queued; i++) p.peer.send(Buffer.from([i]));
    p.link.setCredit(credit);
    p.link.drainCredit();
    p.pump();
    expect(deliveries(p.clientEvents)).toHaveLength(Math.min(credit, queued));
    expect(eventsOf(p.clientEvents, 'link-drained')).toHaveLength(1);
    expect(p.link.linkCredit).toBe(0);
    expect(p.link.deliveryCount).toBe(credit);
    expect(p.peer.deliveryCount).toBe(credit);
    expect(p.peer.queued).toBe(Math.max(0, queued - credit));
    // The drained event comes after the deliveries it completes.
    const order = p.clientEvents
      .filter((e) => e.type === 'delivery' || e.type === 'link-drained')
      .map((e) => e.type);
    expect(order.at(-1)).toBe('link-drained');
    // The sender tells what is still available.
    expect(p.toClient.records('flow').at(-1)!.available).toBe(Math.max(0, queued - credit));
    expect(p.link.available).toBe(Math.max(0, queued - credit));
  });

  test('echo: a flow with echo=true is answered with our flow state', () => {
    const peer = openServer();
    // The peer is a receiver of our sender "out".
    const snd = peer.engine.allSessions[0]!.openSender({ name: 'out', target: { address: 'q' } });
    snd.send(Buffer.from('waiting'));
    snd.send(Buffer.from('waiting'));
    peer.output();
    peer
      .frame(0, { type: 'attach', name: 'out', handle: 0, role: Role.Receiver, target: { type: 'target' } })
      .send();
    const link = {
      type: 'flow' as const,
      incomingWindow: 10,
      nextIncomingId: 0,
      nextOutgoingId: 0,
      outgoingWindow: 10,
    };
    peer.frame(0, { ...link, handle: 0, deliveryCount: 0, linkCredit: 0, echo: true }).send();
    expect(peer.last('flow')).toMatchObject({ handle: 0, deliveryCount: 0, linkCredit: 0, available: 2 });
    const before = peer.tap.records('flow').length;
    peer.frame(0, { ...link, echo: true }).send(); // session-level echo
    expect(peer.tap.records('flow').length).toBe(before + 1);
    expect(peer.last('flow')!.handle).toBeUndefined();
    expect(peer.last('flow')).toMatchObject({ nextIncomingId: 0, incomingWindow: 2048, nextOutgoingId: 0 });
  });
});

describe('session windows (spec 2.5.6)', () => {
  test('a small incoming window: transfers pause at 0 and resume after the flow', () => {
    const p = linkedPair(
      'sender',
      { target: { address: 'q' } },
      {},
      { sessionDefaults: { incomingWindow: 4 } },
    );
    p.peer.setCredit(1000);
    p.pump();
    for (let i = 0; i < 50; i++) p.link.send(Buffer.from([i]));
    p.pump();
    expect(deliveries(p.serverEvents).map((d) => d.payload[0])).toEqual([...Array(50).keys()]);
    for (const batch of p.toServer.batches) {
      expect(
        batch.filter((i) => i.kind === 'frame' && i.rec?.type === 'transfer').length,
      ).toBeLessThanOrEqual(4);
    }
    expect(
      p.toServer.batches.filter((b) => b.some((i) => i.kind === 'frame' && i.rec?.type === 'transfer'))
        .length,
    ).toBeGreaterThanOrEqual(13);
  });

  test('a small window with many frames: 256 KiB in 512-byte frames through a window of 8', () => {
    const big = randomBytes(256 * 1024);
    const p = linkedPair(
      'sender',
      { target: { address: 'q' } },
      {},
      { maxFrameSize: 512, sessionDefaults: { incomingWindow: 8 } },
    );
    p.peer.setCredit(2);
    p.pump();
    p.link.send(big);
    p.link.send(big.subarray(0, 1000));
    p.pump();
    const got = deliveries(p.serverEvents);
    expect(got.map((d) => d.payload.length)).toEqual([big.length, 1000]);
    expect(got[0]!.payload.equals(big)).toBe(true);
    const perBatch = p.toServer.batches.map(
      (b) => b.filter((i) => i.kind === 'frame' && i.rec?.type === 'transfer').length,
    );
    expect(Math.max(...perBatch)).toBe(8);
    expect(perBatch.reduce((a, b) => a + b, 0)).toBeGreaterThan(512);
  });

  test('a peer window of 2^32-1 does not wrap (transfers flow)', () => {
    const peer = openServer({}, {});
    peer
      .frame(0, { type: 'attach', name: 'x', handle: 0, role: Role.Receiver, target: { type: 'target' } })
      .send();
    const snd = peer.engine.allSessions[0]!.allLinks[0]!;
    const flow = {
      type: 'flow' as const,
      nextIncomingId: 0,
      incomingWindow: 0xffffffff,
      nextOutgoingId: 0,
      outgoingWindow: 10,
    };
    peer.frame(0, { ...flow, handle: 0, deliveryCount: 0, linkCredit: 3 }).send();
    for (const e of peer.events) if (e.type === 'link-remote-open') e.link.attach();
    peer.output();
    for (let i = 0; i < 3; i++) (snd as import('../../src/link/sender.js').Sender).send(Buffer.from([i]));
    peer.output();
    expect(peer.tap.records('transfer')).toHaveLength(3);
  });
});

describe('multi-frame transfers', () => {
  test.each(['client', 'server'] as const)('1 MiB in 512-byte frames to the %s, reassembled intact', (to) => {
    const big = randomBytes(1024 * 1024);
    const p = linkedPair(
      'sender',
      { target: { address: 'q' } },
      { maxFrameSize: 512 },
      { maxFrameSize: 512 },
    );
    let snd = p.link as import('../../src/link/sender.js').Sender;
    let rcv = p.peer as Receiver;
    if (to === 'client') {
      rcv = p.session.openReceiver({ source: { address: 'r' } });
      p.pump();
      snd = p.server.allSessions[0]!.allLinks[1] as import('../../src/link/sender.js').Sender;
    }
    rcv.setCredit(10);
    p.pump();
    const d = snd.send(big);
    snd.send(Buffer.from('after'));
    p.pump();
    const got = deliveries(to === 'client' ? p.clientEvents : p.serverEvents);
    expect(got).toHaveLength(2);
    expect(got[0]!.payload.equals(big)).toBe(true);
    expect(got[1]!.payload.toString()).toBe('after');
    const tap = to === 'client' ? p.toClient : p.toServer;
    const transfers = tap.records('transfer');
    expect(transfers.length).toBeGreaterThan(2048); // more frames than the default window
    expect(transfers.slice(0, -2).every((t) => t.more === true)).toBe(true);
    expect(transfers.at(-2)!.more).toBeUndefined();
    expect(transfers[0]!.deliveryTag).toBeDefined();
    expect(transfers[1]!.deliveryTag).toBeUndefined(); // only the first frame carries it
    rcv.settle(got[0]!);
    p.pump();
    expect(d.remoteSettled).toBe(true);
  });

  test('an aborted transfer is discarded; the next one arrives', () => {
    const p = linkedPair(
      'sender',
      { target: { address: 'q' } },
      {},
      { maxFrameSize: 512, sessionDefaults: { incomingWindow: 4 } },
    );
    p.peer.setCredit(10);
    p.pump();
    const d = p.link.send(randomBytes(100_000));
    const out = p.client.takeOutput()!; // the first frames, as far as the window goes
    expect(p.toServer.feed(out).length).toBeGreaterThan(0);
    p.server.receive(out);
    expect(p.link.abort(d)).toBe(true);
    expect(p.link.abort(d)).toBe(false);
    p.link.send(Buffer.from('next'));
    p.pump();
    const aborted = p.toServer.records('transfer').filter((t) => t.aborted);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ deliveryId: d.id, settled: true });
    expect(eventsOf(p.serverEvents, 'delivery-aborted')).toHaveLength(1);
    expect(deliveries(p.serverEvents).map((x) => x.payload.toString())).toEqual(['next']);
    // Both sides counted the aborted delivery against credit.
    expect(p.peer.deliveryCount).toBe(2);
    expect(p.link.deliveryCount).toBe(2);
    expect([...p.server.allSessions[0]!.allLinks]).toHaveLength(1);
  });

  test('aborting or cancelling a delivery not yet sent drops it without a frame', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    const a = p.link.send(Buffer.from('a'));
    const b = p.link.send(Buffer.from('b'));
    expect(p.link.abort(a)).toBe(true);
    expect(p.link.cancel(b)).toBe(true);
    p.peer.setCredit(5);
    p.pump();
    expect(p.toServer.records('transfer')).toHaveLength(0);
    expect(p.link.linkCredit).toBe(5);
  });

  test('scripted: abort mid-message, batchable transfers and dispositions', () => {
    const peer = openClientReceiver();
    const flow = peer.last('flow')!;
    expect(flow).toMatchObject({ handle: 0, linkCredit: 100 });
    const t = { type: 'transfer' as const, handle: 0, deliveryTag: Buffer.from('a') };
    peer
      .frame(0, { ...t, deliveryId: 0, more: true }, Buffer.from('part1'))
      .frame(0, { ...t, deliveryTag: undefined, more: true }, Buffer.from('part2'))
      .frame(0, { ...t, deliveryTag: undefined, aborted: true }, Buffer.from('ignored'))
      .frame(0, { ...t, deliveryId: 1, deliveryTag: Buffer.from('b'), batchable: true }, Buffer.from('whole'))
      .send();
    expect(eventsOf(peer.events, 'delivery-aborted')).toHaveLength(1);
    const got = deliveries(peer.events);
    expect(got.map((d) => d.payload.toString())).toEqual(['whole']);
    peer.receiver.settle(got[0]!);
    peer.output();
    expect(peer.last('disposition')).toMatchObject({ role: Role.Receiver, first: 1, settled: true });
    peer
      .frame(0, { type: 'disposition', role: Role.Sender, first: 1, settled: true, batchable: true })
      .send();
    expect(peer.engine.isOpen).toBe(true);
    expect(peer.receiver.deliveryCount).toBe(2);
  });
});

describe('credit stays a uint', () => {
  test('a receiver delivery-count ahead of ours cannot push credit past 2^32-1 (found by fuzzing)', () => {
    const peer = openServer();
    peer.frame(0, { type: 'attach', name: 'a', handle: 0, role: Role.Receiver }).send();
    const link = eventsOf(peer.events, 'link-remote-open')[0]!.link;
    link.attach();
    const flow = { type: 'flow' as const, incomingWindow: 0, nextOutgoingId: 0, outgoingWindow: 0 };
    peer
      .frame(0, { ...flow, handle: 0, deliveryCount: 0x7fffffff, linkCredit: 0xffffffff, echo: true })
      .send();
    expect(link.linkCredit).toBe(0xffffffff);
    expect(peer.last('flow')).toMatchObject({ handle: 0, linkCredit: 0xffffffff });
    expect(peer.engine.error).toBeUndefined();
  });

  test('addCredit saturates instead of wrapping', () => {
    const p = linkedPair('receiver', { source: { address: 'q' } });
    p.link.setCredit(0xfffffff0);
    p.link.addCredit(0x100);
    expect(p.link.linkCredit).toBe(0xffffffff);
    p.pump();
    expect(p.peer.linkCredit).toBe(0xffffffff);
  });
});

describe('flows that wait', () => {
  test('credit set on a peer-attached link before our attach goes out with it', () => {
    const peer = openServer({ sessionDefaults: { incomingWindow: 2 } });
    peer
      .frame(0, { type: 'attach', name: 'in', handle: 0, role: Role.Sender, initialDeliveryCount: 0 })
      .send();
    const link = eventsOf(peer.events, 'link-remote-open')[0]!.link as Receiver;
    link.setCredit(7);
    expect(peer.output()).toEqual([]);
    link.attach();
    peer.output();
    expect(peer.last('flow')).toMatchObject({ handle: 0, linkCredit: 7 });
  });

  test('the session window is widened even when a pending link flow cannot be written', () => {
    const peer = openServer({ sessionDefaults: { incomingWindow: 2 } });
    peer
      .frame(0, { type: 'attach', name: 'in', handle: 0, role: Role.Sender, initialDeliveryCount: 0 })
      .send();
    const link = eventsOf(peer.events, 'link-remote-open')[0]!.link as Receiver;
    link.attach();
    link.setCredit(10);
    peer.output();
    // A second, unanswered link with credit pending; transfers use up the window on the first.
    peer
      .frame(0, { type: 'attach', name: 'in2', handle: 1, role: Role.Sender, initialDeliveryCount: 0 })
      .send();
    (eventsOf(peer.events, 'link-remote-open')[1]!.link as Receiver).setCredit(1);
    const flows = peer.tap.records('flow').length;
    const t = { type: 'transfer' as const, handle: 0 };
    peer
      .frame(0, { ...t, deliveryId: 0, deliveryTag: Buffer.from('a') })
      .frame(0, { ...t, deliveryId: 1, deliveryTag: Buffer.from('b') })
      .send();
    expect(peer.tap.records('flow').length).toBe(flows + 1);
    expect(peer.last('flow')).toMatchObject({ nextIncomingId: 2, incomingWindow: 2 });
  });
});
