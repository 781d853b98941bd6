/** Out-of-order and illegal frames from a scripted peer, and byte-split streams. */
import { describe, expect, test } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { Role } from '../../src/link/link.js';
import type { Receiver } from '../../src/link/receiver.js';
import { anonymousClient, anonymousServer } from '../../src/sasl/mechanisms.js';
import { deliveries, eventsOf, makePair } from './pair.js';
import { BEGIN, OPEN, ScriptedPeer, openClientReceiver, openServer, senderAttach } from './scripted-peer.js';

const transfer = (handle: number, id: number, extra = {}) => ({
  type: 'transfer' as const,
  handle,
  deliveryId: id,
  deliveryTag: Buffer.from([id]),
  ...extra,
});

/** A server engine with a receiver on handle 0, given `credit`. */
function serverReceiver(credit: number, incomingWindow = 100) {
  const peer = openServer({ sessionDefaults: { incomingWindow } });
  peer.frame(0, senderAttach(0)).send();
  const link = eventsOf(peer.events, 'link-remote-open')[0]!.link as Receiver;
  link.attach();
  if (credit) link.setCredit(credit);
  peer.output();
  return { peer, link };
}

describe('connection-level violations close the connection', () => {
  test('a frame on a channel with no session: amqp:not-allowed', () => {
    const peer = openServer();
    peer.frame(5, transfer(0, 0)).send();
    expect(peer.closeCondition).toBe('amqp:not-allowed');
    expect(peer.engine.error).toMatchObject({ code: 'AMQP_NOT_ALLOWED', remote: false });
    expect(eventsOf(peer.events, 'protocol-violation')[0]).toMatchObject({
      scope: 'connection',
      condition: 'amqp:not-allowed',
    });
    // It waits for our close's answer; the peer's close finishes it.
    expect(peer.engine.finished).toBe(false);
    peer.frame(0, { type: 'close' }).send();
    expect(peer.engine.finished).toBe(true);
  });

  test('a channel beyond channel-max: framing-error (spec 2.7.1)', () => {
    const peer = openServer({ channelMax: 3 });
    peer.frame(4, BEGIN).send();
    expect(peer.closeCondition).toBe('amqp:connection:framing-error');
  });

  test('a second open: amqp:not-allowed', () => {
    const peer = openServer();
    peer.frame(0, OPEN).send();
    expect(peer.closeCondition).toBe('amqp:not-allowed');
  });

  test('begin before open: amqp:not-allowed', () => {
    const s = new Connection({ role: 'server' });
    const peer = new ScriptedPeer(s);
    peer.header().frame(0, BEGIN).send();
    expect(peer.closeCondition).toBe('amqp:not-allowed');
    expect(peer.tap.records('open')).toHaveLength(1); // a close is always preceded by our open
  });

  test('malformed performative bytes: amqp:decode-error', () => {
    const peer = openServer();
    // A described list whose size runs past the frame.
    peer.rawFrame(0, Buffer.from([0x00, 0x53, 0x13, 0xc0, 0x40, 0x05, 0x43])).send();
    expect(peer.closeCondition).toBe('amqp:decode-error');
    expect(peer.engine.error?.code).toBe('AMQP_DECODE_ERROR');
    expect((peer.engine.error?.cause as { code: string }).code).toMatch(/^AMQP_DECODE_/);
  });

  test('a missing mandatory field, and a non-performative body, are refused', () => {
    const peer = openServer();
    peer.rawFrame(0, Buffer.from([0x00, 0x53, 0x10, 0x45])).send(); // open with an empty list
    expect(peer.closeCondition).toBe('amqp:decode-error');
    const p2 = openServer();
    p2.frame(0, { type: 'source', address: 'x' }).send();
    expect(p2.closeCondition).toBe('amqp:not-allowed');
  });

  test('a frame larger than our max-frame-size: framing-error, and the stream ends', () => {
    const peer = openServer({ maxFrameSize: 1024 });
    peer.frame(0, senderAttach(0, { properties: { pad: 'x'.repeat(2000) } })).send();
    expect(peer.closeCondition).toBe('amqp:connection:framing-error');
    expect(peer.engine.finished).toBe(true);
  });

  test('a peer open with max-frame-size below 512: amqp:invalid-field', () => {
    const s = new Connection({ role: 'server' });
    const peer = new ScriptedPeer(s);
    peer
      .header()
      .frame(0, { ...OPEN, maxFrameSize: 511 })
      .send();
    expect(peer.closeCondition).toBe('amqp:invalid-field');
    expect(peer.tap.items.every((i) => i.kind === 'header' || i.size <= 512)).toBe(true);
  });

  test('frames the peer sends after our close are ignored until its close', () => {
    const peer = openServer();
    peer.engine.close();
    peer.output();
    peer.frame(0, BEGIN).frame(3, transfer(0, 0)).send();
    expect(peer.engine.error).toBeUndefined();
    peer.frame(0, { type: 'close' }).send();
    expect(peer.engine.finished).toBe(true);
    expect(peer.engine.error).toBeUndefined();
  });
});

describe('session and link violations', () => {
  test('transfer on a handle never attached: end with amqp:session:unattached-handle', () => {
    const peer = openServer();
    peer.frame(0, transfer(7, 0)).send();
    expect(peer.last('end')?.error?.condition).toBe('amqp:session:unattached-handle');
    expect(eventsOf(peer.events, 'protocol-violation')[0]).toMatchObject({ scope: 'session' });
    expect(peer.engine.isOpen).toBe(true);
    // Until the peer's end, frames for the ended session are ignored; then it is gone.
    const written = peer.tap.items.length;
    peer.frame(0, senderAttach(1)).frame(0, transfer(7, 1)).send();
    expect(peer.tap.items.length).toBe(written);
    expect(eventsOf(peer.events, 'link-remote-open')).toHaveLength(0);
    peer.frame(0, { type: 'end' }).send();
    expect(eventsOf(peer.events, 'session-closed')).toHaveLength(1);
    expect(peer.engine.allSessions).toHaveLength(0);
    expect(peer.engine.isOpen).toBe(true);
  });

  test('flow and detach on unattached handles', () => {
    const peer = openServer();
    peer
      .frame(0, {
        type: 'flow',
        incomingWindow: 1,
        nextOutgoingId: 0,
        outgoingWindow: 1,
        handle: 3,
        linkCredit: 1,
      })
      .send();
    expect(peer.last('end')?.error?.condition).toBe('amqp:session:unattached-handle');
    const p2 = openServer();
    p2.frame(0, { type: 'detach', handle: 1 }).send();
    expect(p2.last('end')?.error?.condition).toBe('amqp:session:unattached-handle');
  });

  test('transfer without credit: detach with amqp:link:transfer-limit-exceeded', () => {
    const { peer, link } = serverReceiver(1);
    peer.frame(0, transfer(0, 0)).frame(0, transfer(0, 1)).send();
    expect(deliveries(peer.events)).toHaveLength(1);
    expect(peer.last('detach')).toMatchObject({
      handle: 0,
      error: { condition: 'amqp:link:transfer-limit-exceeded' },
    });
    expect(link.error).toMatchObject({ code: 'AMQP_LINK_TRANSFER_LIMIT_EXCEEDED', remote: false });
    expect(peer.engine.isOpen).toBe(true);
  });

  test('transfer beyond the incoming window: end with amqp:session:window-violation', () => {
    const { peer } = serverReceiver(100, 4);
    // Window 4 from our begin: four transfers are fine, the fifth is one too many.
    for (let i = 0; i < 4; i++) peer.frame(0, transfer(0, i));
    peer.send();
    expect(peer.last('end')).toBeUndefined();
    // Our flow widened the window again (it was written with that output).
    const flow = peer.last('flow')!;
    expect(flow.nextIncomingId! + flow.incomingWindow).toBe(8);
    for (let i = 4; i < 9; i++) peer.frame(0, transfer(0, i));
    peer.send();
    expect(peer.last('end')?.error?.condition).toBe('amqp:session:window-violation');
    expect(deliveries(peer.events)).toHaveLength(8);
  });

  test('a transfer from the receiving side of a link is not allowed', () => {
    const peer = openServer();
    const snd = peer.engine.allSessions[0]!.openSender({ name: 'out', target: { address: 'q' } });
    peer.output();
    peer
      .frame(0, { type: 'attach', name: 'out', handle: 0, role: Role.Receiver, target: { type: 'target' } })
      .send();
    expect(snd.isOpen).toBe(true);
    peer.frame(0, transfer(0, 0)).send();
    expect(peer.closeCondition).toBe('amqp:not-allowed');
  });

  test('drain against a scripted receiver: credit used up and answered', () => {
    const peer = openServer();
    const snd = peer.engine.allSessions[0]!.openSender({
      name: 'out',
      target: { address: 'q' },
      initialDeliveryCount: 5,
    });
    snd.send(Buffer.from('one'));
    peer.output();
    const flow = {
      type: 'flow' as const,
      nextIncomingId: 0,
      incomingWindow: 100,
      nextOutgoingId: 0,
      outgoingWindow: 100,
    };
    peer
      .frame(0, { type: 'attach', name: 'out', handle: 0, role: Role.Receiver, target: { type: 'target' } })
      .frame(0, { ...flow, handle: 0, deliveryCount: 5, linkCredit: 4, drain: true })
      .send();
    expect(peer.tap.records('transfer')).toHaveLength(1);
    expect(peer.last('flow')).toMatchObject({ handle: 0, deliveryCount: 9, linkCredit: 0, drain: true });
    expect(eventsOf(peer.events, 'link-drained')).toHaveLength(1);
  });

  test('the receiver sees a drain complete when transfers use up the credit', () => {
    const { peer, link } = serverReceiver(2);
    link.drainCredit();
    peer.output();
    expect(peer.last('flow')).toMatchObject({ handle: 0, linkCredit: 2, drain: true });
    // This sender never answers the drain with a flow: its transfers use up the credit.
    peer.frame(0, transfer(0, 0)).frame(0, transfer(0, 1)).send();
    expect(eventsOf(peer.events, 'link-drained')).toHaveLength(1);
    expect(link.drain).toBe(false);
    expect(link.linkCredit).toBe(0);
  });

  test('a link we detached ignores transfers still in flight, then closes on the peer detach', () => {
    const { peer, link } = serverReceiver(10);
    link.detach();
    peer.output();
    peer.frame(0, transfer(0, 0)).frame(0, { type: 'detach', handle: 0, closed: true }).send();
    expect(deliveries(peer.events)).toHaveLength(0);
    expect(eventsOf(peer.events, 'link-closed')).toHaveLength(1);
    expect(peer.last('end')).toBeUndefined();
  });
});

describe('heartbeats against a script (spec 2.4.5)', () => {
  test('empty frames keep us up; silence closes with resource-limit-exceeded', () => {
    const peer = openServer({ idleTimeoutMs: 1000 });
    expect(peer.last('open')!.idleTimeOut).toBe(500); // half the threshold (spec 2.4.5)
    for (let i = 0; i < 10; i++) {
      peer.tick(900);
      peer.raw(Buffer.from([0, 0, 0, 8, 2, 0, 0, 0])).send();
    }
    expect(peer.engine.isOpen).toBe(true);
    peer.tick(999);
    expect(peer.engine.finished).toBe(false);
    peer.tick(1);
    expect(peer.closeCondition).toBe('amqp:resource-limit-exceeded');
    expect(peer.engine.finished).toBe(true);
  });

  test("we send empty frames at half the peer's idle-time-out", () => {
    const peer = openServer({}, { idleTimeOut: 2000 });
    let beats = 0;
    for (let t = 0; t < 10_000; t += 250)
      beats += peer.tick(250).filter((i) => i.kind === 'frame' && i.size === 8).length;
    expect(beats).toBe(10);
  });
});

describe('byte-split streams', () => {
  test('engine output fed to the other engine one byte at a time (SASL, links, 100 KiB, close)', () => {
    const p = makePair(
      { sasl: anonymousClient(), maxFrameSize: 600 },
      { saslServer: { mechanisms: [anonymousServer()] }, maxFrameSize: 700 },
      undefined,
      { split: 1 },
    );
    p.client.open();
    const s = p.client.beginSession();
    const snd = s.openSender({ target: { address: 'q' } });
    const rcv = s.openReceiver({ source: { address: 'r' } });
    p.pump();
    const srvRcv = p.server.allSessions[0]!.allLinks[0] as Receiver;
    const srvSnd = p.server.allSessions[0]!.allLinks[1] as import('../../src/link/sender.js').Sender;
    srvRcv.setCredit(10);
    rcv.setCredit(10);
    p.pump();
    const big = Buffer.alloc(100 * 1024, 7);
    snd.send(big);
    srvSnd.send(Buffer.from('back'));
    p.pump();
    expect(deliveries(p.serverEvents)[0]!.payload.equals(big)).toBe(true);
    expect(deliveries(p.clientEvents)[0]!.payload.toString()).toBe('back');
    srvRcv.settle(deliveries(p.serverEvents)[0]!);
    p.pump();
    p.client.close();
    p.pump();
    expect(p.client.finished && p.server.finished).toBe(true);
    expect(p.client.error).toBeUndefined();
  });

  test('a scripted peer input split at every byte gives the same result as whole', () => {
    const run = (split?: number) => {
      const s = new Connection({ role: 'server', saslServer: { mechanisms: [anonymousServer()] } });
      const peer = new ScriptedPeer(s);
      peer.header(3).sasl({ type: 'sasl-init', mechanism: 'ANONYMOUS' }).send(split);
      peer.header(0).frame(0, OPEN).frame(0, BEGIN).frame(0, senderAttach(0)).send(split);
      for (const e of peer.events) {
        if (e.type === 'connection-remote-open') s.open();
        if (e.type === 'session-remote-open') e.session.begin();
        if (e.type === 'link-remote-open') {
          e.link.attach();
          (e.link as Receiver).setCredit(5);
        }
      }
      peer.output();
      peer
        .frame(0, transfer(0, 0, { more: true }), Buffer.from('hello '))
        .frame(0, { type: 'transfer', handle: 0, more: false }, Buffer.from('world'))
        .send(split);
      return { peer, payloads: deliveries(peer.events).map((d) => d.payload.toString()) };
    };
    const whole = run();
    const split = run(1);
    expect(split.payloads).toEqual(['hello world']);
    expect(split.payloads).toEqual(whole.payloads);
    expect(split.peer.tap.records().map((r) => r.type)).toEqual(whole.peer.tap.records().map((r) => r.type));
  });

  test('a message whose first frames carry no bytes is reassembled (found by the engine fuzz test)', () => {
    const peer = openClientReceiver();
    peer
      .frame(0, transfer(0, 0, { more: true }), Buffer.alloc(0))
      .frame(0, { type: 'transfer', handle: 0, more: true }, Buffer.alloc(0))
      .frame(0, { type: 'transfer', handle: 0, more: true }, Buffer.from('hi '))
      .frame(0, { type: 'transfer', handle: 0, more: false }, Buffer.from('there'))
      .frame(0, transfer(0, 1, { more: true }), Buffer.alloc(0))
      .frame(0, { type: 'transfer', handle: 0, more: false }, Buffer.alloc(0))
      .send();
    expect(deliveries(peer.events).map((d) => d.payload.toString())).toEqual(['hi there', '']);
  });

  test('the client receiver of the fuzz setup works through a scripted server', () => {
    const peer = openClientReceiver();
    peer.frame(0, transfer(0, 0), Buffer.from('hi')).send(1);
    expect(deliveries(peer.events).map((d) => d.payload.toString())).toEqual(['hi']);
  });
});
