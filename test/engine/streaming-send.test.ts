/**
 * A streamed outgoing delivery: bytes handed over in pieces go out as full frames as they come,
 * within the peer's session window, and the receiver sees one ordinary multi-frame message.
 */
import { describe, expect, test } from 'vitest';
import type { Receiver } from '../../src/link/receiver.js';
import { deliveries, eventsOf, linkedPair } from './pair.js';

const FRAME = 512;

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13) % 251;
  return b;
}

function streamPair(linkOptions = {}, window?: number) {
  const p = linkedPair(
    'sender',
    linkOptions,
    {},
    { maxFrameSize: FRAME, sessionDefaults: window ? { incomingWindow: window } : undefined },
  );
  (p.peer as Receiver).setCredit(10);
  p.pump();
  return p;
}

const transfers = (p: ReturnType<typeof streamPair>) =>
  p.toServer.items.filter((i) => i.kind === 'frame' && i.rec?.type === 'transfer');

describe('streamed send', () => {
  test('small pieces handed over between two takes go out as full frames; the message arrives whole', () => {
    const p = streamPair();
    const body = pattern(5000);
    const d = p.link.openStream();
    const before = transfers(p).length;
    for (let i = 0; i < body.length; i += 100) p.link.writeStream(d, body.subarray(i, i + 100));
    p.pump();
    // Every frame but the one with the last bytes is full.
    const sent = transfers(p).slice(before);
    expect(sent.length).toBeGreaterThan(5);
    for (const f of sent.slice(0, -1)) expect(f.kind === 'frame' && f.size).toBe(FRAME);
    expect(deliveries(p.serverEvents)).toHaveLength(0);
    p.link.endStream(d);
    p.pump();
    const got = deliveries(p.serverEvents);
    expect(got).toHaveLength(1);
    expect(got[0]!.payload.equals(body)).toBe(true);
    const last = transfers(p).at(-1)!; // the end, once all bytes went: an empty last frame
    expect(last.kind === 'frame' && last.rec?.type === 'transfer' && !last.rec.more).toBe(true);
  });

  test("a slow producer's bytes are not held back for a full frame", () => {
    const p = streamPair();
    const d = p.link.openStream();
    p.link.writeStream(d, pattern(10));
    p.pump();
    const last = transfers(p).at(-1)!;
    expect(last.kind === 'frame' && last.rec?.type === 'transfer' && last.rec.more).toBe(true);
    expect(last.kind === 'frame' && last.payload.length).toBe(10);
  });

  test('an empty stream is one transfer with no payload', () => {
    const p = streamPair();
    const d = p.link.openStream();
    p.link.endStream(d);
    p.pump();
    const got = deliveries(p.serverEvents);
    expect(got).toHaveLength(1);
    expect(got[0]!.payload.length).toBe(0);
  });

  test("the peer's incoming window holds frames back; the bytes wait in the stream", () => {
    const p = streamPair({}, 3);
    const d = p.link.openStream();
    p.link.writeStream(d, pattern(20 * FRAME));
    // One take, before the receiver's flow can widen its window: three frames go.
    const out = p.client.takeOutput()!;
    p.server.receive(out);
    expect(d.offset).toBeGreaterThan(0);
    expect(d.offset).toBeLessThanOrEqual(3 * FRAME);
    expect(d.stream!.bytes).toBe(20 * FRAME - d.offset);
    p.pump();
    p.link.endStream(d);
    p.pump();
    expect(deliveries(p.serverEvents)[0]!.payload.equals(pattern(20 * FRAME))).toBe(true);
  });

  test('bytes past the max-message-size are refused; the abort reaches the receiver', () => {
    const p = streamPair({ maxMessageSize: 1000 });
    const d = p.link.openStream();
    p.link.writeStream(d, pattern(900));
    p.pump();
    expect(() => p.link.writeStream(d, pattern(200))).toThrow(
      expect.objectContaining({ code: 'AMQP_MESSAGE_TOO_LARGE' }),
    );
    expect(d.stream!.total).toBe(900); // nothing of the refused bytes was kept
    expect(p.link.abort(d)).toBe(true);
    p.pump();
    expect(eventsOf(p.serverEvents, 'delivery-aborted')).toHaveLength(1);
    expect(deliveries(p.serverEvents)).toHaveLength(0);
  });
});
