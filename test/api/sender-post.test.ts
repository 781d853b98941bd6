/**
 * MessageSender.post: send() with a callback instead of a promise. The same outcomes and errors as
 * send(), over a real socket; the callback is called once, never before post() returns, and what
 * it throws leaves the connection working.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import type { DeliveryState } from '../../src/codec/spec/records.js';
import { listen } from '../../src/server/index.js';
import { AbortError, ClosedError, TimeoutError } from '../../src/api/errors.js';
import { ManualTimers } from '../support/manual-timers.js';
import { sinkServer, until, type SinkServer } from './support.js';

let sink: SinkServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  vi.unstubAllGlobals();
  await conn?.close().catch(() => undefined);
  await sink?.server.close();
  sink = undefined;
  conn = undefined;
});

const body = (s: string) => ({ body: Buffer.from(s) });

/** What each post's callback was called with, in the order of the calls. */
interface Call {
  name: string;
  error: Error | undefined;
  state: DeliveryState | undefined;
}

function recorder(): {
  calls: Call[];
  done: (name: string) => (e: Error | undefined, s?: DeliveryState) => void;
} {
  const calls: Call[] = [];
  return { calls, done: (name) => (error, state) => void calls.push({ name, error, state }) };
}

/** A server whose receivers hold every message unsettled and grant no credit. */
async function silentServer(): Promise<SinkServer> {
  const server = await listen({
    port: 0,
    sasl: { anonymous: true },
    onLink: (l) => void l.acceptReceiver({ credit: 'manual' }),
  });
  return { server, received: [], receivers: [] };
}

describe('MessageSender.post', () => {
  test('calls back once with each outcome the peer chose, in send order, never before post returns', async () => {
    let n = 0;
    const plan = ['accept', 'reject', 'release'] as const;
    sink = await sinkServer({}, () => plan[n++ % 3]!);
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender('q');
    const { calls, done } = recorder();
    for (const name of ['a', 'b', 'c']) {
      s.post(body(name), done(name));
      expect(calls).toHaveLength(0);
    }
    await until(() => calls.length === 3);
    expect(calls.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect(calls.map((c) => c.error)).toEqual([undefined, undefined, undefined]);
    expect(calls[0]!.state).toEqual({ type: 'accepted' });
    expect(calls[1]!.state).toMatchObject({
      type: 'rejected',
      error: { condition: 'amqp:precondition-failed', description: 'no thanks' },
    });
    expect(calls[2]!.state).toEqual({ type: 'released' });
    expect(s.pending).toBe(0);
    expect(sink.received.map((m) => (m.message.body as Buffer).toString())).toEqual(['a', 'b', 'c']);
  });

  test('presettled: calls back with no state once written, and the messages arrive settled', async () => {
    sink = await sinkServer({}, () => 'hold');
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender({ address: 'q', presettled: true });
    const { calls, done } = recorder();
    for (let i = 0; i < 50; i++) s.post(body(`p${i}`), done(`p${i}`));
    await until(() => calls.length === 50 && sink!.received.length === 50);
    expect(calls.every((c) => c.error === undefined && c.state === undefined)).toBe(true);
    expect(sink.received.every((m) => m.settled)).toBe(true);
  });

  test('refused at once (closed sender, aborted signal, bad options, too large): a typed error, after post returns', async () => {
    sink = await sinkServer({ limits: { maxMessageSize: 1000 } });
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender('q');
    const { calls, done } = recorder();
    s.post({ body: Buffer.alloc(2000) }, done('large'));
    s.post(body('x'), done('aborted'), { signal: AbortSignal.abort() });
    s.post(body('x'), done('options'), { timeoutMs: 'soon' as unknown as number });
    s.post({ body: Symbol('no') as unknown as string }, done('unencodable'));
    expect(calls).toHaveLength(0);
    await until(() => calls.length === 4);
    const byName = Object.fromEntries(calls.map((c) => [c.name, c]));
    expect(byName.large!.error).toMatchObject({
      code: 'AMQP_MESSAGE_TOO_LARGE',
      condition: 'amqp:link:message-size-exceeded',
    });
    expect(byName.aborted!.error).toBeInstanceOf(AbortError);
    expect(byName.options!.error).toMatchObject({ code: 'AMQP_INVALID_ARGUMENT', option: 'timeoutMs' });
    expect(byName.unencodable!.error).toMatchObject({ code: 'AMQP_ENCODE_INVALID_VALUE' });
    expect(calls.every((c) => c.state === undefined)).toBe(true);
    // The sender is still usable.
    const after = recorder();
    s.post(body('ok'), after.done('ok'));
    await until(() => after.calls.length === 1);
    expect(after.calls[0]!.state).toEqual({ type: 'accepted' });

    await s.close();
    s.post(body('late'), after.done('closed'));
    expect(after.calls).toHaveLength(1);
    await until(() => after.calls.length === 2);
    expect(after.calls[1]!.error).toBeInstanceOf(ClosedError);
  });

  test('a post that times out is taken back, calls back with TimeoutError, and is never delivered', async () => {
    const timers = new ManualTimers();
    sink = await silentServer();
    conn = await connect({ host: '127.0.0.1', port: sink.server.port, timers });
    const s = await conn.openSender('q');
    const { calls, done } = recorder();
    s.post(body('late'), done('late'), { timeoutMs: 500 });
    timers.advance(499);
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(0);
    timers.advance(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.error).toBeInstanceOf(TimeoutError);
    expect(calls[0]!.error).toMatchObject({ code: 'AMQP_TIMEOUT' });
    expect(s.pending).toBe(0);
  });

  test('posts without an outcome when the sender closes call back with ClosedError', async () => {
    sink = await silentServer();
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender('q');
    const { calls, done } = recorder();
    for (let i = 0; i < 3; i++) s.post(body(`w${i}`), done(`w${i}`));
    await s.close();
    expect(calls.map((c) => c.name)).toEqual(['w0', 'w1', 'w2']);
    expect(calls.every((c) => c.error instanceof ClosedError)).toBe(true);
  });

  test('a callback that throws: the error is thrown again on its own, and the connection goes on', async () => {
    sink = await sinkServer();
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender('q');
    // Catch what is queued to be thrown again, instead of letting it become an uncaught exception.
    const rethrows: (() => void)[] = [];
    const real = queueMicrotask;
    vi.stubGlobal('queueMicrotask', (f: () => void) => {
      if (f.toString().includes('throw')) rethrows.push(f);
      else real(f);
    });
    const boom = new Error('callback bug');
    let called = 0;
    s.post(body('first'), () => {
      called++;
      throw boom;
    });
    await until(() => called === 1);
    vi.unstubAllGlobals();
    expect(rethrows).toHaveLength(1);
    expect(() => rethrows[0]!()).toThrow(boom);
    const { calls, done } = recorder();
    s.post(body('second'), done('second'));
    await until(() => calls.length === 1);
    expect(calls[0]!.state).toEqual({ type: 'accepted' });
    expect(sink.received).toHaveLength(2);
  });

  test('done must be a function', async () => {
    sink = await sinkServer();
    conn = await connect({ host: '127.0.0.1', port: sink.server.port });
    const s = await conn.openSender('q');
    expect(() => s.post(body('x'), undefined as never)).toThrow(TypeError);
    expect(s.pending).toBe(0);
    expect(sink.received).toHaveLength(0);
  });
});
