/** Open negotiation (spec 2.4, 2.7.1): frame size, channels, idle timeout, properties, pipelining. */
import { describe, expect, test } from 'vitest';
import type { Receiver } from '../../src/link/receiver.js';
import type { Sender } from '../../src/link/sender.js';
import { deliveries, eventsOf, makePair } from './pair.js';

describe('open negotiation', () => {
  test('pipelined: header, open, begin and attach leave before any server byte', () => {
    const p = makePair();
    p.client.open();
    const s = p.client.beginSession();
    s.openReceiver({ source: { address: 'q' } });
    const first = p.client.takeOutput()!;
    const kinds = p.toServer.feed(first, true).map((i) => (i.kind === 'header' ? 'H' : i.rec!.type));
    expect(kinds).toEqual(['H', 'open', 'begin', 'attach']);
    p.server.receive(first);
    p.pump();
    expect(s.allLinks[0]!.isOpen).toBe(true);
  });

  test('open fields reach the other side', () => {
    const p = makePair(
      {
        hostname: 'vhost.example',
        properties: { product: 'amqp-one', n: 7 },
        offeredCapabilities: ['ANONYMOUS-RELAY'],
        desiredCapabilities: ['DELAYED_DELIVERY'],
        maxFrameSize: 4096,
        channelMax: 9,
        idleTimeoutMs: 30_000,
      },
      { properties: { server: 'yes' }, offeredCapabilities: ['DELAYED_DELIVERY'] },
    );
    p.client.open();
    p.pump();
    expect(p.server.remoteOpen).toMatchObject({
      containerId: 'client',
      hostname: 'vhost.example',
      maxFrameSize: 4096,
      channelMax: 9,
      idleTimeOut: 15_000, // half of the 30 s threshold (spec 2.4.5)
      properties: { product: 'amqp-one', n: 7 },
      offeredCapabilities: ['ANONYMOUS-RELAY'],
      desiredCapabilities: ['DELAYED_DELIVERY'],
    });
    expect(p.client.remoteOpen).toMatchObject({ containerId: 'server', properties: { server: 'yes' } });
    expect(p.client.remoteOpen!.offeredCapabilities).toEqual(['DELAYED_DELIVERY']);
    expect(p.server.remoteMaxFrameSize).toBe(4096);
    expect(p.server.remoteChannelMax).toBe(9);
  });

  test('session and link fields reach the other side', () => {
    const p = makePair();
    p.client.open();
    const s = p.client.beginSession({
      properties: { sp: 1 },
      offeredCapabilities: ['a'],
      desiredCapabilities: ['b'],
      handleMax: 7,
    });
    s.openSender({
      properties: { lp: 'x' },
      offeredCapabilities: ['c'],
      desiredCapabilities: ['d'],
      target: { address: 't' },
    });
    p.pump();
    const ss = p.server.allSessions[0]!;
    expect(ss.remoteBegin).toMatchObject({
      properties: { sp: 1 },
      offeredCapabilities: ['a'],
      desiredCapabilities: ['b'],
      handleMax: 7,
    });
    expect(ss.allLinks[0]!.remoteAttach).toMatchObject({
      properties: { lp: 'x' },
      offeredCapabilities: ['c'],
      desiredCapabilities: ['d'],
    });
  });

  test.each([512, 600, 1024])('no frame exceeds the peer max-frame-size %i, either way', (mfs) => {
    const p = makePair({ maxFrameSize: mfs }, { maxFrameSize: mfs + 100 });
    p.client.open();
    const s = p.client.beginSession();
    const snd = s.openSender({ target: { address: 'q' } });
    const rcv = s.openReceiver({ source: { address: 'r' } });
    p.pump();
    const [srvRcv, srvSnd] = [
      p.server.allSessions[0]!.allLinks[0] as Receiver,
      p.server.allSessions[0]!.allLinks[1] as Sender,
    ];
    srvRcv.setCredit(100);
    rcv.setCredit(100);
    p.pump();
    const sizes = [0, 1, 100, 400, 480, 500, 511, 512, 513, 2000, 10_000];
    for (const n of sizes) {
      snd.send(Buffer.alloc(n, n & 0xff));
      srvSnd.send(Buffer.alloc(n, n & 0xff));
    }
    p.pump(); // the taps throw on any oversized frame
    const toServer = deliveries(p.serverEvents).map((d) => d.payload);
    const toClient = deliveries(p.clientEvents).map((d) => d.payload);
    expect(toServer.map((b) => b.length)).toEqual(sizes);
    expect(toClient.map((b) => b.length)).toEqual(sizes);
    for (const b of [...toServer, ...toClient]) expect(b.every((x) => x === (b.length & 0xff))).toBe(true);
    for (const it of p.toClient.items) if (it.kind === 'frame') expect(it.size).toBeLessThanOrEqual(mfs);
  });

  test('a pipelined attach over 512 bytes waits for the peer open (spec 2.4.1), then fits its limit', () => {
    const p = makePair({}, { maxFrameSize: 2048 });
    p.client.open();
    const s = p.client.beginSession();
    s.openSender({ target: { address: 'q' }, properties: { big: 'x'.repeat(1000) } });
    const bytes = p.client.takeOutput()!;
    const first = p.toServer.feed(bytes, true);
    expect(first.map((i) => (i.kind === 'header' ? 'H' : i.rec!.type))).toEqual(['H', 'open', 'begin']);
    p.server.receive(bytes);
    p.pump();
    expect(p.toServer.records('attach')).toHaveLength(1);
    expect(s.allLinks[0]!.isOpen).toBe(true);
  });

  test('an attach larger than the peer max-frame-size fails that link, unsent; the connection goes on', () => {
    const p = makePair({}, { maxFrameSize: 512 });
    p.client.open();
    const s = p.client.beginSession();
    p.pump();
    const big = s.openSender({ target: { address: 'q' }, properties: { big: 'x'.repeat(1000) } });
    p.pump();
    expect(p.toServer.records('attach')).toHaveLength(0);
    expect(big.local).toBe('detached');
    expect(big.error?.condition).toBe('amqp:frame-size-too-small');
    expect(p.clientEvents).toContainEqual({ type: 'link-closed', link: big });
    expect(p.toServer.records('close')).toHaveLength(0);
    expect(p.client.finished).toBe(false);
    // Its handle is free again, and a link that fits attaches.
    const small = s.openSender({ target: { address: 'q' } });
    p.pump();
    expect(small.handle).toBe(big.handle);
    expect(p.toServer.records('attach')).toHaveLength(1);
    expect(small.isOpen).toBe(true);
  });

  test('channel-max limits our sessions; the server sees several sessions', () => {
    const p = makePair({}, { channelMax: 2 });
    p.client.open();
    p.pump();
    const sessions = [p.client.beginSession(), p.client.beginSession(), p.client.beginSession()];
    expect(() => p.client.beginSession()).toThrow(
      expect.objectContaining({ code: 'AMQP_CHANNELS_EXHAUSTED' }),
    );
    const senders = sessions.map((s, i) => s.openSender({ target: { address: `q${i}` } }));
    p.pump();
    expect(p.server.allSessions).toHaveLength(3);
    for (const ss of p.server.allSessions) (ss.allLinks[0] as Receiver).setCredit(5);
    p.pump();
    senders.forEach((snd, i) => snd.send(Buffer.from(`m${i}`)));
    p.pump();
    const got = eventsOf(p.serverEvents, 'delivery').map(
      (e) => `${(e.delivery.link.remoteAttach!.target as { address: string }).address}:${e.delivery.payload}`,
    );
    expect(got.sort()).toEqual(['q0:m0', 'q1:m1', 'q2:m2']);
    // Ending one frees its channel for a new session.
    sessions[1]!.end();
    p.pump();
    expect(p.client.beginSession().channel).toBe(1);
  });
});

describe('idle timeout (spec 2.4.5)', () => {
  test('heartbeats at half the peer timeout keep the connection up', () => {
    const p = makePair({}, { idleTimeoutMs: 2000 });
    p.client.open();
    p.pump();
    // The server closes after 2000 ms of silence and announces half of that (spec 2.4.5).
    expect(p.client.remoteIdleTimeoutMs).toBe(1000);
    for (let i = 0; i < 100; i++) {
      p.tick(100);
      p.pump();
    }
    expect(p.server.isOpen).toBe(true);
    // ~10 s of silence at 500 ms each: about 20 empty frames from the client, none from the server.
    expect(p.toServer.heartbeats).toBeGreaterThanOrEqual(19);
    expect(p.toServer.heartbeats).toBeLessThanOrEqual(21);
    expect(p.toClient.heartbeats).toBe(0);
  });

  test('tick returns the next deadline', () => {
    const p = makePair({ idleTimeoutMs: 4000 }, { idleTimeoutMs: 2000 });
    p.client.open();
    p.pump();
    // Client: the server announced 1000 ms (half its 2000), so a heartbeat is due 500 ms after
    // the client's last output; the server's own deadline is 2000 ms after its last input, but
    // it must beat for the client (announced 2000, half of 4000) after 1000 ms first.
    expect(p.client.tick(p.now)).toBe(p.now + 500);
    expect(p.server.tick(p.now)).toBe(p.now + 1000);
  });

  test('pending output does not make tick spin on a past deadline', () => {
    const p = makePair({}, { idleTimeoutMs: 1000 });
    p.client.open();
    p.pump();
    p.client.beginSession(); // output waiting, not taken (socket backpressure)
    const next = p.client.tick(p.now + 2000)!;
    expect(next).toBeGreaterThan(p.now + 2000);
  });

  test('silence past our timeout closes with amqp:resource-limit-exceeded', () => {
    const p = makePair({}, { idleTimeoutMs: 1000 });
    p.client.open();
    p.pump();
    p.now += 999;
    p.server.tick(p.now);
    expect(p.server.finished).toBe(false);
    p.now += 1;
    p.server.tick(p.now);
    expect(p.server.finished).toBe(true);
    const out = p.toClient.feed(p.server.takeOutput()!);
    expect(out.at(-1)).toMatchObject({
      rec: { type: 'close', error: { condition: 'amqp:resource-limit-exceeded' } },
    });
    expect(p.server.error?.code).toBe('AMQP_RESOURCE_LIMIT_EXCEEDED');
    expect(eventsOf(p.server.takeEvents(), 'transport-done')).toHaveLength(1);
  });
});
