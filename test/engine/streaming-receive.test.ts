/**
 * A streaming receiver: each transfer frame is handed on as it arrives, held against the session's
 * incoming window until released, so a reader that does not read stops the peer after one window.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage, type Message } from '../../src/codec/message.js';
import { MessageStreamParser } from '../../src/codec/message-stream.js';
import { messageArb } from '../codec/arbitraries.js';
import type { EngineEvent } from '../../src/connection/events.js';
import type { Receiver } from '../../src/link/receiver.js';
import type { Sender } from '../../src/link/sender.js';
import { Condition } from '../../src/protocol/conditions.js';
import { eventsOf, makePair } from './pair.js';
import { openServer, senderAttach } from './scripted-peer.js';

const FRAME = 512; // the smallest max-frame-size (spec 2.7.1): many frames for little data
const WINDOW = 4;

/** A client streaming receiver on a session of WINDOW frames, the server's sender attached. */
function streamingPair(frame = FRAME) {
  const p = makePair({ maxFrameSize: frame });
  p.client.open();
  const session = p.client.beginSession({ incomingWindow: WINDOW });
  const receiver = session.openReceiver({});
  receiver.streaming = true;
  receiver.setCredit(1);
  p.pump();
  const sender = p.server.allSessions[0]!.allLinks[0] as Sender;
  return { ...p, session, receiver, sender };
}

/** The chunk events so far (one per frame held), taken out of the client's events. */
function takeChunks(events: EngineEvent[]) {
  const chunks = eventsOf(events, 'delivery-chunk');
  events.length = 0;
  return chunks;
}

describe('streaming receive', () => {
  test('hands every frame on in order; the last says more=false; no whole-message delivery', () => {
    const p = streamingPair();
    const body = Buffer.alloc(10_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    p.sender.send(body);
    const got: Buffer[] = [];
    let last = false;
    for (let round = 0; round < 100 && !last; round++) {
      p.pump();
      const chunks = takeChunks(p.clientEvents);
      for (const c of chunks) {
        got.push(Buffer.from(c.payload));
        last = !c.more;
      }
      p.receiver.releaseFrames(chunks.length);
    }
    expect(last).toBe(true);
    expect(Buffer.concat(got).equals(body)).toBe(true);
    expect(got.length).toBeGreaterThan(WINDOW); // it took several windows
    expect(eventsOf(p.clientEvents, 'delivery')).toHaveLength(0);
    expect(p.session.heldFrames).toBe(0);
  });

  test('a reader that does not release stops the peer at one window of frames', () => {
    const p = streamingPair();
    p.sender.send(Buffer.alloc(20_000, 1));
    for (let i = 0; i < 5; i++) p.pump();
    const chunks = takeChunks(p.clientEvents);
    // The bound: WINDOW frames of at most FRAME bytes each, however long we wait.
    expect(chunks).toHaveLength(WINDOW);
    expect(chunks.reduce((n, c) => n + c.payload.length, 0)).toBeLessThanOrEqual(WINDOW * FRAME);
    expect(p.session.heldFrames).toBe(WINDOW);
    expect(p.session.incomingWindow).toBe(0);
    expect(p.sender.queued).toBe(1); // the rest waits on the sender's side
    // Releasing part of the window lets that many more come.
    p.receiver.releaseFrames(WINDOW);
    p.pump();
    const next = takeChunks(p.clientEvents);
    expect(next).toHaveLength(WINDOW);
    expect(next.every((c) => c.more)).toBe(true);
  });

  test('an abort mid-message is reported; the frames handed on stay held until released', () => {
    const p = streamingPair();
    const d = p.sender.send(Buffer.alloc(5_000, 2));
    p.pump();
    expect(takeChunks(p.clientEvents)).toHaveLength(WINDOW);
    p.receiver.releaseFrames(WINDOW);
    expect(p.sender.abort(d)).toBe(true);
    p.pump();
    const aborted = eventsOf(p.clientEvents, 'delivery-aborted');
    expect(aborted).toHaveLength(1);
    expect(aborted[0]!.delivery.aborted).toBe(true);
    const held = takeChunks(p.clientEvents).length;
    p.receiver.releaseFrames(held);
    expect(p.session.heldFrames).toBe(0);
  });

  test('a detach mid-message closes the link and gives its held frames back to the session', () => {
    const p = streamingPair();
    p.sender.send(Buffer.alloc(5_000, 3));
    p.pump();
    expect(takeChunks(p.clientEvents)).toHaveLength(WINDOW);
    expect(p.session.heldFrames).toBe(WINDOW);
    p.sender.detach({ error: { condition: Condition.InternalError, description: 'gone' } });
    p.pump();
    const closed = eventsOf(p.clientEvents, 'link-closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]!.link.error?.condition).toBe(Condition.InternalError);
    expect(p.receiver.heldFrames).toBe(0);
    expect(p.session.heldFrames).toBe(0);
    p.receiver.releaseFrames(WINDOW); // late releases of a gone link change nothing
    expect(p.session.heldFrames).toBe(0);
  });

  test('our max-message-size applies mid-stream: the frame past it detaches the link', () => {
    const peer = openServer({});
    peer.frame(0, senderAttach(0)).send();
    const link = eventsOf(peer.events, 'link-remote-open')[0]!.link as Receiver;
    Object.assign(link.options, { maxMessageSize: 100 });
    link.streaming = true;
    link.attach();
    link.setCredit(1);
    peer.output();
    const t = (id: number | undefined) => ({
      type: 'transfer' as const,
      handle: 0,
      deliveryId: id,
      deliveryTag: id === undefined ? undefined : Buffer.from([id]),
      more: true,
    });
    peer.frame(0, t(0), Buffer.alloc(60)).send();
    expect(eventsOf(peer.events, 'delivery-chunk')).toHaveLength(1);
    const wire = peer.frame(0, t(undefined), Buffer.alloc(60)).send();
    expect(eventsOf(peer.events, 'delivery-chunk')).toHaveLength(1); // the frame past it is not
    const detach = wire.find((f) => f.kind === 'frame' && f.rec?.type === 'detach');
    expect(detach?.kind === 'frame' && detach.rec?.type === 'detach' && detach.rec.error?.condition).toBe(
      Condition.MessageSizeExceeded,
    );
    expect(link.heldFrames).toBe(0);
    expect(link.session.heldFrames).toBe(0);
    // The reader learns at our detach, before the peer answers it; the sender did not abort.
    const dropped = eventsOf(peer.events, 'delivery-aborted');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.delivery.aborted).toBe(false);
    expect(link.remote).toBe('attached');
  });

  test('streaming receive of any message, in frames of any size, equals the ordinary decode', () => {
    fc.assert(
      fc.property(messageArb, fc.integer({ min: 512, max: 2048 }), (m, frame) => {
        const p = streamingPair(frame);
        const bytes = encodeMessage(m);
        p.sender.send(bytes);
        let head: Message | undefined;
        const chunks: Buffer[] = [];
        const parser = new MessageStreamParser({
          head: (h) => (head = h),
          chunk: (c) => chunks.push(Buffer.from(c)),
        });
        let tail: Message | undefined;
        for (let round = 0; round < 1000 && tail === undefined; round++) {
          p.pump();
          const got = takeChunks(p.clientEvents);
          for (const c of got) {
            parser.push(c.payload);
            if (!c.more) tail = parser.end();
          }
          p.receiver.releaseFrames(got.length);
        }
        expect(tail).toBeDefined(); // the last frame came
        const ordinary = decodeMessage(bytes);
        if (ordinary.bodyType === 'data') {
          const parts = Array.isArray(ordinary.body)
            ? (ordinary.body as Buffer[])
            : [ordinary.body as Buffer];
          ordinary.body = Buffer.concat(parts);
        }
        const streamed: Message = { ...head, ...tail };
        if (tail?.bodyType === 'data') streamed.body = Buffer.concat(chunks);
        expect(streamed).toEqual(ordinary);
        expect(p.session.heldFrames).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
