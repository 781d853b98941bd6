/**
 * Streamed send over real sockets: our server's sendStream into our client's streaming receiver
 * (both ends in constant memory), a failing source and a max-message-size crossed mid-stream
 * (the transfer aborted, typed errors on both sides), and our client's sendStream into rhea 3.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection, type MessageSender } from '../../src/client/index.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { AbortError, MessageStreamError, TimeoutError } from '../../src/api/errors.js';
import type { Timers } from '../../src/util/timers.js';
import { ManualTimers } from '../support/manual-timers.js';
import type { StreamedMessage } from '../../src/api/streamed-message.js';
import type { StreamSource } from '../../src/api/stream-send.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31) % 241;
  return b;
}

/** `body` as a Readable of 64 KiB chunks; after the first, it waits for `gate` if given. */
function readable(body: Buffer, gate?: Promise<unknown>): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < body.length; i += 65536) {
        yield body.subarray(i, i + 65536);
        if (i === 0) await gate;
      }
    })(),
  );
}

/**
 * A promise the test resolves once the receiver has a message: a transfer aborted before its
 * first frame went (no credit yet) is dropped unsent, and nothing would reach the receiver.
 */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

let server: AmqpServer | undefined;
let conn: AmqpConnection | undefined;
let rheaStop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await conn?.close();
  await server?.close();
  await rheaStop?.();
  conn = server = rheaStop = undefined;
});

/** A server whose senders stream what `send` gives them to whoever attaches a receiver. */
async function streamingServer(send: (s: MessageSender) => void, timers?: Timers): Promise<number> {
  server = await listen({
    port: 0,
    host: '127.0.0.1',
    sasl: { anonymous: true },
    timers,
    onLink(l) {
      if (l.role !== 'sender')
        return l.refuse({ condition: 'amqp:not-allowed', description: 'senders only' });
      send(l.acceptSender());
    },
  });
  return server.port;
}

async function readAll(m: StreamedMessage): Promise<{ body: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const c of m.body) parts.push(Buffer.from(c));
  } catch (e) {
    return { body: Buffer.concat(parts), error: e };
  }
  return { body: Buffer.concat(parts), error: undefined };
}

describe('sendStream into our streaming receiver', () => {
  it('a body of unknown length arrives whole, with its head; the outcome comes back', async () => {
    const body = pattern(5 * 1024 * 1024 + 3);
    let outcome: Promise<unknown> | undefined;
    const port = await streamingServer((s) => {
      outcome = s.sendStream(readable(body), { message: { properties: { subject: 'file' } } });
    });
    conn = await connect({ host: '127.0.0.1', port });
    const r = await conn.openStreamingReceiver({ address: 'x', incomingWindow: 8 });
    const m = (await r.receive())!;
    expect(m.properties?.subject).toBe('file');
    const got = await readAll(m);
    expect(got.error).toBeUndefined();
    expect(got.body.equals(body)).toBe(true);
    m.accept();
    expect(await outcome).toEqual({ type: 'accepted' });
  });

  it('a source that fails mid-way aborts the transfer: the reader gets AMQP_STREAM_ABORTED', async () => {
    const boom = new Error('disk gone');
    const started = gate();
    let outcome: Promise<unknown> | undefined;
    const port = await streamingServer((s) => {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield pattern(600 * 1024);
        await started.promise;
        throw boom;
      }
      outcome = s.sendStream(failing()).catch((e: unknown) => e);
    });
    conn = await connect({ host: '127.0.0.1', port });
    const r = await conn.openStreamingReceiver('x');
    const m = (await r.receive())!;
    started.open();
    const got = await readAll(m);
    expect(got.error).toBeInstanceOf(MessageStreamError);
    expect((got.error as MessageStreamError).code).toBe('AMQP_STREAM_ABORTED');
    expect(await outcome).toBe(boom);
  });

  it("crossing the receiver's max-message-size mid-stream: AMQP_MESSAGE_TOO_LARGE, then an abort", async () => {
    const started = gate();
    let outcome: Promise<unknown> | undefined;
    const port = await streamingServer((s) => {
      outcome = s.sendStream(readable(pattern(3 * 1024 * 1024), started.promise)).catch((e: unknown) => e);
    });
    conn = await connect({ host: '127.0.0.1', port });
    const r = await conn.openStreamingReceiver({ address: 'x', maxMessageSize: 1024 * 1024 });
    const m = (await r.receive())!;
    started.open();
    const got = await readAll(m);
    expect((got.error as MessageStreamError).code).toBe('AMQP_STREAM_ABORTED');
    expect(got.body.length).toBeLessThanOrEqual(1024 * 1024);
    const err = (await outcome) as MessageStreamError;
    expect(err).toBeInstanceOf(MessageStreamError);
    expect(err.code).toBe('AMQP_MESSAGE_TOO_LARGE');
    expect(err.condition).toBe('amqp:link:message-size-exceeded');
  });

  it('a length that the source does not keep: AMQP_STREAM_LENGTH_MISMATCH, nothing delivered', async () => {
    const started = gate();
    let outcome: Promise<unknown> | undefined;
    const port = await streamingServer((s) => {
      outcome = s
        .sendStream(readable(pattern(1000), started.promise), { length: 2000 })
        .catch((e: unknown) => e);
    });
    conn = await connect({ host: '127.0.0.1', port });
    const r = await conn.openStreamingReceiver('x');
    const m = (await r.receive())!;
    started.open();
    expect((await readAll(m)).error).toMatchObject({ code: 'AMQP_STREAM_ABORTED' });
    expect(await outcome).toMatchObject({ code: 'AMQP_STREAM_LENGTH_MISMATCH' });
  });
});

/** A source that gives `first`, then never another chunk; records whether it was closed. */
function stalled(first: Uint8Array): { source: AsyncIterable<Uint8Array>; returned: () => boolean } {
  let given = false;
  let returned = false;
  const it: AsyncIterator<Uint8Array> = {
    next: () => {
      if (given) return new Promise(() => undefined);
      given = true;
      return Promise.resolve({ done: false, value: first });
    },
    return: () => {
      returned = true;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return { source: { [Symbol.asyncIterator]: () => it }, returned: () => returned };
}

describe('sendStream deadlines and aborts', () => {
  it('an abort while the source is stalled: AbortError at once, the source closed, the transfer aborted', async () => {
    const ac = new AbortController();
    const src = stalled(pattern(600 * 1024));
    let outcome: Promise<unknown> | undefined;
    const port = await streamingServer((s) => {
      outcome = s.sendStream(src.source, { signal: ac.signal }).catch((e: unknown) => e);
    });
    conn = await connect({ host: '127.0.0.1', port });
    const r = await conn.openStreamingReceiver('x');
    const m = (await r.receive())!;
    ac.abort(new Error('user gave up'));
    const err = await outcome;
    expect(err).toBeInstanceOf(AbortError);
    expect(err).toMatchObject({ code: 'AMQP_ABORTED' });
    expect(src.returned()).toBe(true);
    expect((await readAll(m)).error).toMatchObject({ code: 'AMQP_STREAM_ABORTED' });
  });

  it('timeoutMs passes while a Readable is stalled: TimeoutError, the Readable destroyed, the transfer aborted', async () => {
    const timers = new ManualTimers();
    const source = new Readable({ read: () => undefined });
    source.push(pattern(600 * 1024));
    let settled = false;
    let outcome: Promise<unknown> | undefined;
    const port = await streamingServer((s) => {
      outcome = s
        .sendStream(source, { timeoutMs: 1000 })
        .catch((e: unknown) => e)
        .finally(() => (settled = true));
    }, timers);
    conn = await connect({ host: '127.0.0.1', port });
    const r = await conn.openStreamingReceiver('x');
    const m = (await r.receive())!;
    timers.advance(999);
    await new Promise((res) => setImmediate(res));
    expect(settled).toBe(false);
    timers.advance(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'AMQP_TIMEOUT' });
    expect(source.destroyed).toBe(true);
    expect((await readAll(m)).error).toMatchObject({ code: 'AMQP_STREAM_ABORTED' });
  });

  it("the deadline defaults to the sender's sendTimeoutMs and covers the wait for the outcome", async () => {
    const got: Any[] = [];
    const c = rhea.create_container({ id: 'rhea-silent-receiver', autoaccept: false });
    c.sasl_server_mechanisms.enable_anonymous();
    c.on('receiver_open', (ctx: Any) => {
      ctx.receiver.set_target({ address: ctx.receiver.remote.attach.target?.address });
    });
    c.on('message', (ctx: Any) => got.push(ctx.message)); // and never settles it
    const listener = c.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((res) => listener.once('listening', () => res()));
    rheaStop = () => new Promise<void>((res) => listener.close(() => res()));
    const timers = new ManualTimers();
    conn = await connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port, timers });
    const sender = await conn.openSender({ address: 'q', sendTimeoutMs: 500 });
    const outcome = sender.sendStream([pattern(1000)]).catch((e: unknown) => e);
    while (got.length === 0) await new Promise((res) => setImmediate(res));
    timers.advance(500);
    const err = await outcome;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'AMQP_TIMEOUT' });
  });
});

describe('sendStream into rhea', () => {
  it('rhea receives one data section of the given length, and accepts it', async () => {
    const got: Any[] = [];
    const c = rhea.create_container({ id: 'rhea-stream-receiver' });
    c.sasl_server_mechanisms.enable_anonymous();
    c.on('receiver_open', (ctx: Any) =>
      ctx.receiver.set_target({ address: ctx.receiver.remote.attach.target?.address }),
    );
    c.on('message', (ctx: Any) => got.push(ctx.message));
    const listener = c.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((res) => listener.once('listening', () => res()));
    rheaStop = () => new Promise<void>((res) => listener.close(() => res()));
    conn = await connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port });
    const sender = await conn.openSender('q');
    const body = pattern(2 * 1024 * 1024 + 5);
    const source: StreamSource = readable(body);
    const outcome = await sender.sendStream(source, {
      length: body.length,
      message: { properties: { subject: 'to-rhea' } },
    });
    expect(outcome).toEqual({ type: 'accepted' });
    expect(got).toHaveLength(1);
    expect(got[0].subject).toBe('to-rhea');
    expect(Buffer.isBuffer(got[0].body.content)).toBe(true); // one section (several: an array)
    expect(Buffer.from(got[0].body.content).equals(body)).toBe(true);
  });
});
