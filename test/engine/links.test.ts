/** Links (spec 2.6, 2.7.3, 2.7.7): attach/detach, termini, handles, settle modes, counts, sizes. */
import { describe, expect, test } from 'vitest';
import { described, symbol } from '../../src/codec/values.js';
import type { Source, Target } from '../../src/codec/spec/records.js';
import type { Connection } from '../../src/connection/connection.js';
import type { EngineEvent } from '../../src/connection/events.js';
import { Role, type Link } from '../../src/link/link.js';
import type { Receiver } from '../../src/link/receiver.js';
import { autoAccept, deliveries, eventsOf, linkedPair, makePair } from './pair.js';
import { openServer, senderAttach } from './scripted-peer.js';

/** A server policy: autoAccept, then `tweak` the link before it answers. */
const acceptWith = (tweak: (l: Link) => void) => (e: EngineEvent, server: Connection) => {
  if (e.type === 'link-remote-open') {
    const attach = e.link.attach.bind(e.link);
    e.link.attach = () => {
      tweak(e.link);
      attach();
    };
  }
  autoAccept(e, server);
};

describe('attach and detach', () => {
  test.each([true, false])('detach with closed=%s: the peer sees it and answers alike', (closed) => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.link.detach({ closed });
    p.pump();
    const detaches = [...p.toServer.records('detach'), ...p.toClient.records('detach')];
    expect(detaches.map((d) => d.closed ?? false)).toEqual([closed, closed]);
    expect(p.peer.remoteClosed).toBe(closed);
    expect(p.link.remoteClosed).toBe(closed);
    expect(eventsOf(p.clientEvents, 'link-closed').map((e) => e.link)).toEqual([p.link]);
    expect(eventsOf(p.serverEvents, 'link-closed').map((e) => e.link)).toEqual([p.peer]);
    expect(p.link.error).toBeUndefined();
    // The handle is free again.
    expect(p.session.openSender({ target: { address: 'q2' } }).handle).toBe(p.link.handle);
  });

  test('a peer that refuses the attach (null terminus, then detach)', () => {
    const p = makePair({}, {}, (e, server) => {
      if (e.type === 'link-remote-open') {
        e.link.options.target = null;
        e.link.attach();
        e.link.detach({ error: { condition: 'amqp:not-found', description: 'no such node' } });
      } else autoAccept(e, server);
    });
    p.client.open();
    const snd = p.client.beginSession().openSender({ target: { address: 'nope' } });
    p.pump();
    expect(snd.remoteAttach!.target).toBeUndefined();
    expect(eventsOf(p.clientEvents, 'link-closed')[0]!.link).toBe(snd);
    expect(snd.error).toMatchObject({
      code: 'AMQP_NOT_FOUND',
      condition: 'amqp:not-found',
      description: 'no such node',
      remote: true,
    });
  });

  // RabbitMQ ends a session to refuse rcv-settle-mode second. An ended session writes nothing
  // more, so a link opened on it would wait for ever for an attach reply: it fails at once.
  test.each(['sender', 'receiver'] as const)(
    "a %s opened on a session the peer ended throws the peer's error; no attach goes out",
    (role) => {
      const p = makePair();
      p.client.open();
      const session = p.client.beginSession();
      p.pump();
      p.server.allSessions[0]!.end({ condition: 'amqp:not-implemented', description: 'no thanks' });
      p.pump();
      expect(session.remote).toBe('detached');
      const open = (): Link =>
        role === 'sender'
          ? session.openSender({ target: { address: 'q' } })
          : session.openReceiver({ source: { address: 'q' } });
      expect(open).toThrow(
        expect.objectContaining({
          condition: 'amqp:not-implemented',
          description: 'no thanks',
          remote: true,
        }),
      );
      p.pump();
      expect(p.toServer.records('attach')).toEqual([]);
      expect(session.allLinks).toEqual([]);
      expect(eventsOf(p.clientEvents, 'link-closed')).toEqual([]);
    },
  );

  test('a link opened on a session we ended throws AMQP_SESSION_ENDED; no attach goes out', () => {
    const p = makePair();
    p.client.open();
    const session = p.client.beginSession();
    p.pump();
    session.end();
    expect(() => session.openSender({ target: { address: 'q' } })).toThrow(
      expect.objectContaining({ code: 'AMQP_SESSION_ENDED', condition: 'amqp:illegal-state' }),
    );
    p.pump();
    expect(p.toServer.records('attach')).toEqual([]);
  });

  test('every source and target field round-trips, both ways', () => {
    const source: Omit<Source, 'type'> = {
      address: 'queue-a',
      durable: 2,
      expiryPolicy: 'never',
      timeout: 60,
      dynamic: true,
      dynamicNodeProperties: {
        'lifetime-policy': described(symbol('amqp:delete-on-close:list'), []),
        'x-opt': 'v',
      },
      distributionMode: 'copy',
      filter: {
        'apache.org:selector-filter:string': described(
          symbol('apache.org:selector-filter:string'),
          "color = 'red'",
        ),
      },
      defaultOutcome: { type: 'modified', deliveryFailed: true, undeliverableHere: false },
      outcomes: ['amqp:accepted:list', 'amqp:rejected:list', 'amqp:released:list', 'amqp:modified:list'],
      capabilities: ['queue', 'shared'],
    };
    const target: Omit<Target, 'type'> = {
      address: 'topic-b',
      durable: 1,
      expiryPolicy: 'link-detach',
      timeout: 5,
      dynamic: false,
      dynamicNodeProperties: { 'supported-dist-modes': 'move' },
      capabilities: ['topic'],
    };
    const p = makePair(
      {},
      {},
      acceptWith((l) => {
        // A dynamic source gets its address from the node's side.
        l.options.source = { ...(l.options.source as object), address: 'dyn-123' };
      }),
    );
    p.client.open();
    const rcv = p.client.beginSession().openReceiver({ source, target });
    p.pump();
    const seen = p.server.allSessions[0]!.allLinks[0]!.remoteAttach!;
    expect(seen.source).toEqual({ type: 'source', ...source });
    expect(seen.target).toEqual({ type: 'target', ...target });
    expect(rcv.remoteAttach!.source).toEqual({ type: 'source', ...source, address: 'dyn-123' });
    expect(rcv.remoteAttach!.target).toEqual({ type: 'target', ...target });
  });

  test('a terminus copied from a record, with or without its type, is sent as a source/target', () => {
    const p = makePair();
    p.client.open();
    const s = p.client.beginSession();
    const copied = { type: undefined, address: 'copied' } as unknown as { address: string };
    s.openReceiver({ source: copied, target: { ...copied } });
    s.openReceiver({ source: { type: 'source', address: 'typed' } as never });
    p.pump();
    const [a, b] = p.server.allSessions[0]!.allLinks.map((l) => l.remoteAttach!);
    expect(a!.source).toEqual({ type: 'source', address: 'copied' });
    expect(a!.target).toEqual({ type: 'target', address: 'copied' });
    expect(b!.source).toEqual({ type: 'source', address: 'typed' });
  });

  test('a coordinator target and a null source go through', () => {
    const p = makePair();
    p.client.open();
    const snd = p.client.beginSession().openSender({
      source: null,
      target: { type: 'coordinator', capabilities: ['amqp:local-transactions'] },
    });
    p.pump();
    const a = p.server.allSessions[0]!.allLinks[0]!.remoteAttach!;
    expect(a.source).toBeUndefined();
    expect(a.target).toEqual({ type: 'coordinator', capabilities: ['amqp:local-transactions'] });
    expect(snd.isOpen).toBe(true);
  });

  test("handle-max: our handles stay within the peer's", () => {
    const p = makePair({}, { sessionDefaults: { handleMax: 1 } });
    p.client.open();
    const s = p.client.beginSession();
    p.pump();
    const a = s.openSender({ target: { address: 'a' } });
    s.openSender({ target: { address: 'b' } });
    expect(() => s.openSender({ target: { address: 'c' } })).toThrow(
      expect.objectContaining({ code: 'AMQP_HANDLES_EXHAUSTED' }),
    );
    p.pump();
    a.detach();
    p.pump();
    expect(s.openSender({ target: { address: 'c' } }).handle).toBe(0);
    p.pump();
    expect(p.server.allSessions[0]!.allLinks.filter((l) => l.isOpen)).toHaveLength(2);
  });

  test('a peer attach beyond our handle-max closes with framing-error (spec 2.7.2)', () => {
    const peer = openServer({ sessionDefaults: { handleMax: 3 } });
    peer.frame(0, senderAttach(3)).send();
    expect(peer.closeCondition).toBeUndefined();
    peer.frame(0, senderAttach(4)).send();
    expect(peer.closeCondition).toBe('amqp:connection:framing-error');
  });
});

describe('settle modes', () => {
  test('snd-settle-mode settled: presettled transfers, no disposition back', () => {
    const p = linkedPair('sender', { target: { address: 'q' }, sndSettleMode: 1 });
    p.peer.setCredit(10);
    p.pump();
    const d = p.link.send(Buffer.from('x'));
    p.pump();
    const got = deliveries(p.serverEvents)[0]!;
    expect(got.remoteSettled).toBe(true);
    (p.peer as Receiver).settle(got);
    p.pump();
    expect(p.toClient.records('disposition')).toHaveLength(0);
    expect(d.settled).toBe(true);
    expect([...p.session.unsettledOutgoing]).toHaveLength(0);
  });

  test('mixed mode: each delivery chooses', () => {
    const p = linkedPair('sender', { target: { address: 'q' }, sndSettleMode: 2 });
    p.peer.setCredit(10);
    p.pump();
    p.link.send(Buffer.from('a'), { settled: true });
    const u = p.link.send(Buffer.from('b'), { settled: false });
    p.pump();
    expect(p.toServer.records('transfer').map((t) => t.settled ?? false)).toEqual([true, false]);
    for (const d of deliveries(p.serverEvents)) p.peer.settle(d);
    p.pump();
    expect(p.toClient.records('disposition')).toEqual([
      { type: 'disposition', role: Role.Receiver, first: 1, settled: true, state: { type: 'accepted' } },
    ]);
    expect(u.remoteSettled).toBe(true);
  });

  test('rcv-settle-mode first: the receiver settles with its outcome', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.peer.setCredit(10);
    p.pump();
    const d = p.link.send(Buffer.from('x'));
    p.pump();
    p.peer.settle(deliveries(p.serverEvents)[0]!);
    p.pump();
    expect(d.remoteSettled).toBe(true);
    expect(d.remoteState).toEqual({ type: 'accepted' });
    expect([...p.session.unsettledOutgoing]).toHaveLength(0);
  });

  test('rcv-settle-mode second: outcome unsettled, sender settles, then the receiver', () => {
    const p = linkedPair('receiver', { source: { address: 'q' }, rcvSettleMode: 1 });
    expect(p.peer.receiverSettlesSecond).toBe(true);
    p.link.setCredit(5);
    p.pump();
    const sent = p.peer.send(Buffer.from('two-phase'));
    p.pump();
    const got = deliveries(p.clientEvents)[0]!;
    p.link.settle(got);
    p.pump();
    expect(got.settled).toBe(false); // not yet: the sender settles first
    expect(sent.remoteState).toEqual({ type: 'accepted' });
    expect(sent.remoteSettled).toBe(false);
    p.peer.settle(sent);
    p.pump();
    expect(got.remoteSettled).toBe(true);
    expect(got.settled).toBe(true);
    const wire = [...p.toServer.records('disposition'), ...p.toClient.records('disposition')];
    expect(wire).toEqual([
      { type: 'disposition', role: Role.Receiver, first: 0, state: { type: 'accepted' } },
      { type: 'disposition', role: Role.Sender, first: 0, settled: true },
    ]);
    expect(eventsOf(p.clientEvents, 'delivery-updated').map((e) => e.delivery)).toEqual([got]);
    expect([...p.server.allSessions[0]!.unsettledOutgoing]).toHaveLength(0);
  });

  test('the receiver decides rcv-settle-mode, whatever the sender attach proposed', () => {
    const p = makePair(
      {},
      {},
      acceptWith((l) => (l.options.rcvSettleMode = 0)),
    );
    p.client.open();
    const snd = p.client.beginSession().openSender({ target: { address: 'q' }, rcvSettleMode: 1 });
    p.pump();
    expect(snd.receiverSettlesSecond).toBe(false);
    const rcv = p.server.allSessions[0]!.allLinks[0] as Receiver;
    expect(rcv.settlesSecond).toBe(false);
    rcv.setCredit(1);
    p.pump();
    snd.send(Buffer.from('x'));
    p.pump();
    rcv.settle(deliveries(p.serverEvents)[0]!);
    p.pump();
    expect(p.toClient.records('disposition')[0]!.settled).toBe(true);
  });
});

describe('delivery-count', () => {
  test.each([1000, 0xfffffffe, 0xffffffff])('initial-delivery-count %i, wrapping past 2^32', (initial) => {
    const p = linkedPair('sender', { target: { address: 'q' }, initialDeliveryCount: initial });
    expect(p.peer.deliveryCount).toBe(initial);
    for (let round = 0; round < 3; round++) {
      p.peer.setCredit(4);
      p.pump();
      expect(p.link.linkCredit).toBe(4);
      for (let i = 0; i < 4; i++) p.link.send(Buffer.from([i]));
      p.pump();
      expect(p.peer.linkCredit).toBe(0);
      expect(p.link.linkCredit).toBe(0);
    }
    expect(p.link.deliveryCount).toBe((initial + 12) >>> 0);
    expect(p.peer.deliveryCount).toBe((initial + 12) >>> 0);
    expect(deliveries(p.serverEvents)).toHaveLength(12);
    // A credit grant crossing transfers in flight is computed with serial arithmetic.
    p.peer.setCredit(10);
    p.link.send(Buffer.from('in flight'));
    p.pump();
    expect(p.link.linkCredit).toBe(9);
  });

  test('a flow without delivery-count counts from our initial-delivery-count (spec 2.6.7)', () => {
    // The peer receiver's attach carries an (ignored) initial-delivery-count of 0.
    const peer = openServer();
    const snd = peer.engine.allSessions[0]!.openSender({
      name: 'out',
      target: { address: 'q' },
      initialDeliveryCount: 100,
    });
    peer.output();
    peer
      .frame(0, {
        type: 'attach',
        name: 'out',
        handle: 0,
        role: Role.Receiver,
        initialDeliveryCount: 0,
        target: { type: 'target' },
      })
      .send();
    peer
      .frame(0, {
        type: 'flow',
        incomingWindow: 10,
        nextOutgoingId: 0,
        outgoingWindow: 10,
        handle: 0,
        linkCredit: 5,
      })
      .send();
    expect(snd.linkCredit).toBe(5);
    // A flow with only echo keeps the credit.
    peer
      .frame(0, {
        type: 'flow',
        incomingWindow: 10,
        nextOutgoingId: 0,
        outgoingWindow: 10,
        handle: 0,
        echo: true,
      })
      .send();
    expect(snd.linkCredit).toBe(5);
    expect(peer.last('flow')).toMatchObject({ handle: 0, deliveryCount: 100, linkCredit: 5 });
  });
});

describe('max-message-size', () => {
  test("the sender refuses a message over the receiver's limit, or its own", () => {
    const p = makePair(
      {},
      {},
      acceptWith((l) => (l.options.maxMessageSize = 100)),
    );
    p.client.open();
    const snd = p.client.beginSession().openSender({ target: { address: 'q' } });
    p.pump();
    expect(snd.remoteMaxMessageSize).toBe(100);
    expect(() => snd.send(Buffer.alloc(101))).toThrow(
      expect.objectContaining({
        code: 'AMQP_MESSAGE_TOO_LARGE',
        condition: 'amqp:link:message-size-exceeded',
      }),
    );
    expect(snd.send(Buffer.alloc(100))).toBeDefined();
    const own = p.client.allSessions[0]!.openSender({ target: { address: 'q' }, maxMessageSize: 10n });
    expect(() => own.send(Buffer.alloc(11))).toThrow(
      expect.objectContaining({ code: 'AMQP_MESSAGE_TOO_LARGE' }),
    );
  });

  test('a message queued before the limit was known fails unsent', () => {
    const p = makePair(
      {},
      {},
      acceptWith((l) => {
        l.options.maxMessageSize = 100;
        (l as Receiver).setCredit(10);
      }),
    );
    p.client.open();
    const snd = p.client.beginSession().openSender({ target: { address: 'q' } });
    const big = snd.send(Buffer.alloc(500));
    const small = snd.send(Buffer.alloc(50));
    p.pump();
    expect(eventsOf(p.clientEvents, 'delivery-failed')).toMatchObject([
      { delivery: big, error: { code: 'AMQP_MESSAGE_TOO_LARGE' } },
    ]);
    expect(deliveries(p.serverEvents).map((d) => d.payload.length)).toEqual([50]);
    expect(small.id).toBe(0);
    expect(snd.linkCredit).toBe(9);
  });

  test.each([1, 3])('the receiver detaches with message-size-exceeded (%i frames)', (frames) => {
    const peer = openServer();
    peer.output();
    const events: EngineEvent[] = [];
    peer.frame(0, senderAttach(0)).send();
    for (const e of peer.events) {
      if (e.type === 'link-remote-open') {
        e.link.options.maxMessageSize = 1000;
        e.link.attach();
        (e.link as Receiver).setCredit(5);
      }
    }
    peer.output();
    const chunk = Buffer.alloc(Math.ceil(1001 / frames));
    for (let i = 0; i < frames; i++) {
      peer.frame(
        0,
        { type: 'transfer', handle: 0, deliveryId: 0, deliveryTag: Buffer.from('t'), more: i < frames - 1 },
        chunk,
      );
    }
    peer.send();
    events.push(...peer.events);
    expect(peer.last('detach')).toMatchObject({
      handle: 0,
      closed: true,
      error: { condition: 'amqp:link:message-size-exceeded' },
    });
    expect(eventsOf(events, 'delivery')).toHaveLength(0);
    expect(peer.engine.isOpen).toBe(true);
  });
});

describe('scripted attach details', () => {
  test('a sender attach without initial-delivery-count is invalid', () => {
    const peer = openServer();
    peer.frame(0, senderAttach(0, { initialDeliveryCount: undefined })).send();
    expect(peer.closeCondition).toBe('amqp:invalid-field');
  });

  test('the same handle attached twice ends the session with handle-in-use', () => {
    const peer = openServer();
    peer
      .frame(0, senderAttach(0))
      .frame(0, senderAttach(0, { name: 'other' }))
      .send();
    expect(peer.last('end')?.error?.condition).toBe('amqp:session:handle-in-use');
    expect(peer.engine.isOpen).toBe(true);
  });
});
