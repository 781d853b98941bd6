/**
 * Streaming receive over real sockets, with rhea 3 as the sender: a message of several MiB in
 * many frames is handed out at its head and read chunk by chunk, while a session window of a few
 * frames holds rhea back; its outcome goes back after the last frame.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { MessageStreamError } from '../../src/api/errors.js';

// rhea is CommonJS; its typings do not cover the server side we use: typed loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');

const BODY = Buffer.alloc(3 * 1024 * 1024 + 17);
for (let i = 0; i < BODY.length; i++) BODY[i] = (i * 7) % 253;

/** A rhea server that sends `BODY` once on every link attached to it, and records the outcome. */
async function rheaSender(): Promise<{ port: number; outcomes: string[]; close: () => Promise<void> }> {
  const outcomes: string[] = [];
  const c = rhea.create_container({ id: 'rhea-stream-sender' });
  c.sasl_server_mechanisms.enable_anonymous();
  c.on('sender_open', (ctx: Any) =>
    ctx.sender.set_source({ address: ctx.sender.remote.attach.source?.address }),
  );
  let sent = false;
  c.on('sendable', (ctx: Any) => {
    if (sent) return;
    sent = true;
    ctx.sender.send({
      subject: 'big',
      application_properties: { part: 'one' },
      body: rhea.message.data_section(BODY),
    });
  });
  c.on('sender_error', () => undefined); // our detach with an error (max-message-size), answered
  c.on('accepted', () => outcomes.push('accepted'));
  c.on('rejected', () => outcomes.push('rejected'));
  const server = c.listen({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { port, outcomes, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let conn: AmqpConnection | undefined;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await conn?.close();
  await stop?.();
  conn = undefined;
  stop = undefined;
});

describe('streaming receive from rhea', () => {
  it('hands the head out first, then the body in chunks, holding no more than the window', async () => {
    const peer = await rheaSender();
    stop = peer.close;
    conn = await connect({ host: '127.0.0.1', port: peer.port, maxFrameSize: 64 * 1024 });
    const window = 4;
    const r = await conn.openStreamingReceiver({ address: 'big', incomingWindow: window });
    const m = await r.receive();
    expect(m).toBeDefined();
    expect(m!.properties?.subject).toBe('big');
    expect(m!.applicationProperties).toEqual({ part: 'one' });
    expect(m!.complete).toBe(false); // 3 MiB cannot be here yet: 4 frames of 64 KiB at most
    expect(() => m!.accept()).toThrow(expect.objectContaining({ code: 'AMQP_STREAM_INCOMPLETE' }));
    const parts: Buffer[] = [];
    let maxHeld = 0;
    for await (const chunk of m!.body) {
      maxHeld = Math.max(maxHeld, r.link.heldFrames);
      parts.push(Buffer.from(chunk));
    }
    expect(Buffer.concat(parts).equals(BODY)).toBe(true);
    expect(maxHeld).toBeLessThanOrEqual(window);
    expect(m!.complete).toBe(true);
    expect(m!.bodyType).toBe('data');
    m!.accept();
    await waitFor(() => peer.outcomes.length > 0);
    expect(peer.outcomes).toEqual(['accepted']);
  });

  it('a sender that ignores our max-message-size: the body ends with AMQP_MESSAGE_TOO_LARGE', async () => {
    const peer = await rheaSender(); // rhea sends whatever the receiver's attach says
    stop = peer.close;
    conn = await connect({ host: '127.0.0.1', port: peer.port, maxFrameSize: 64 * 1024 });
    const r = await conn.openStreamingReceiver({ address: 'big', maxMessageSize: 1024 * 1024 });
    const m = (await r.receive())!;
    let n = 0;
    const err = await drain(m.body[Symbol.asyncIterator](), (c) => (n += c.length));
    expect(err).toBeInstanceOf(MessageStreamError);
    expect((err as MessageStreamError).code).toBe('AMQP_MESSAGE_TOO_LARGE');
    expect((err as MessageStreamError).condition).toBe('amqp:link:message-size-exceeded');
    expect(n).toBeLessThanOrEqual(1024 * 1024);
  });

  it('a body whose connection drops mid-message ends with AMQP_STREAM_LINK_LOST', async () => {
    const peer = await rheaSender();
    stop = peer.close;
    conn = await connect({ host: '127.0.0.1', port: peer.port, maxFrameSize: 64 * 1024 });
    const r = await conn.openStreamingReceiver({ address: 'big', incomingWindow: 2 });
    const m = (await r.receive())!;
    const it = m.body[Symbol.asyncIterator]();
    await it.next();
    conn.driver.destroy(new Error('cable pulled'));
    const err = await drain(it);
    expect(err).toBeInstanceOf(MessageStreamError);
    expect((err as MessageStreamError).code).toBe('AMQP_STREAM_LINK_LOST');
    expect(await r.receive().catch((e: unknown) => e)).toBeInstanceOf(Error);
  });
});

describe('a malformed streamed body', () => {
  // A data section (so the head is handed out and a chunk is queued), then bytes that are no
  // section at all: the parser fails in the same frame that gave the chunk.
  const BAD = Buffer.from([0x00, 0x53, 0x75, 0xa0, 0x03, 0x61, 0x62, 0x63, 0xde, 0xad]);
  const GOOD = Buffer.from([0x00, 0x53, 0x75, 0xa0, 0x04, 0x67, 0x6f, 0x6f, 0x64]);
  const BAD_COUNT = 20; // more than the default window of 16 frames

  it('ends with AMQP_STREAM_DECODE, is rejected, and gives back its frames', async () => {
    const conditions: string[] = [];
    const c = rhea.create_container({ id: 'rhea-bad-sender' });
    c.sasl_server_mechanisms.enable_anonymous();
    c.on('sender_open', (ctx: Any) => ctx.sender.set_source({ address: 'bad' }));
    let n = 0;
    c.on('sendable', (ctx: Any) => {
      while (ctx.sender.sendable() && n <= BAD_COUNT) {
        ctx.sender.send(n < BAD_COUNT ? BAD : GOOD, undefined, 0);
        n++;
      }
    });
    c.on('rejected', (ctx: Any) => conditions.push(ctx.delivery.remote_state.error.condition));
    const server = c.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => server.once('listening', () => r()));
    stop = () => new Promise<void>((r) => server.close(() => r()));
    conn = await connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    const r = await conn.openStreamingReceiver('bad');
    for (let i = 0; i < BAD_COUNT; i++) {
      const m = (await r.receive())!;
      const err = await drain(m.body[Symbol.asyncIterator]());
      expect(err).toBeInstanceOf(MessageStreamError);
      expect((err as MessageStreamError).code).toBe('AMQP_STREAM_DECODE');
    }
    // Before: each bad message kept one frame of the 16-frame window, and the good one never came.
    const good = (await r.receive())!;
    const parts: Buffer[] = [];
    for await (const chunk of good.body) parts.push(Buffer.from(chunk));
    expect(Buffer.concat(parts).toString()).toBe('good');
    expect(r.link.heldFrames).toBe(0);
    good.accept();
    await waitFor(() => conditions.length === BAD_COUNT);
    expect(conditions).toEqual(Array.from({ length: BAD_COUNT }, () => 'amqp:decode-error'));
  });
});

/** Reads an iterator to its end; returns the error it ended with (undefined if none). */
async function drain(it: AsyncIterator<Uint8Array>, each?: (c: Uint8Array) => void): Promise<unknown> {
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return undefined;
      each?.(r.value);
    }
  } catch (e) {
    return e;
  }
}

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}
