import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection, type ReconnectOptions } from '../../src/client/index.js';
import type { MessageSender } from '../../src/api/sender.js';
import { DisconnectedError } from '../../src/protocol/errors.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { ManualTimers } from '../support/manual-timers.js';
import { until } from './support.js';

let server: AmqpServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  await server?.close();
  server = undefined;
  conn = undefined;
});

/**
 * A sink that records bodies; `hold` keeps messages unsettled (so their sends stay in flight), and
 * `credit` gives that much credit and no more.
 */
async function sink(port: number, bodies: string[], hold = false, credit?: number): Promise<AmqpServer> {
  return listen({
    port,
    sasl: { anonymous: true },
    onLink(l) {
      const r = credit === undefined ? l.acceptReceiver() : l.acceptReceiver({ credit: 'manual' });
      if (credit !== undefined) r.addCredit(credit);
      void (async () => {
        for await (const m of r) {
          bodies.push(String(m.message.body));
          if (!hold) m.accept();
        }
      })().catch(() => undefined);
    },
  });
}

/** A client on `port` that reconnects after 100 ms of fake time unless `reconnect` says otherwise. */
function connectWith(
  port: number,
  timers: ManualTimers,
  reconnect: ReconnectOptions = {},
): Promise<AmqpConnection> {
  return connect({ host: '127.0.0.1', port, timers, reconnect: { initialDelayMs: 100, ...reconnect } });
}

/** Drops every connection as a crash would: no AMQP close, sockets destroyed. */
async function crash(s: AmqpServer): Promise<void> {
  for (const c of s.connections) c.driver.destroy();
  await new Promise<void>((r) =>
    (s as unknown as { listener: import('node:net').Server }).listener.close(() => r()),
  );
}

async function advanceUntil(timers: ManualTimers, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) {
    timers.advance(50);
    await new Promise((r) => setTimeout(r, 1));
  }
  expect(cond()).toBe(true);
}

describe('reconnect', () => {
  test('links come back after a crash; queued sends go out on the new connection', async () => {
    const timers = new ManualTimers();
    const first: string[] = [];
    server = await sink(0, first);
    const port = server.port;
    conn = await connectWith(port, timers);
    const events: string[] = [];
    conn.on('disconnected', () => events.push('disconnected'));
    conn.on('reconnected', () => events.push('reconnected'));
    const s = await conn.openSender('q');
    expect(await s.send({ body: 'before' })).toEqual({ type: 'accepted' });
    await crash(server);
    await until(() => events.includes('disconnected'));
    const during = s.send({ body: 'during' });
    const second: string[] = [];
    server = await sink(port, second);
    await advanceUntil(timers, () => events.includes('reconnected'));
    expect(await during).toEqual({ type: 'accepted' });
    expect(second).toEqual(['during']);
    expect(first).toEqual(['before']);
  });

  test('in-flight sends are re-sent under at-least-once', async () => {
    const timers = new ManualTimers();
    const first: string[] = [];
    server = await sink(0, first, true);
    const port = server.port;
    conn = await connectWith(port, timers, { resend: 'at-least-once' });
    const s = await conn.openSender('q');
    const p = s.send({ body: 'in-flight' });
    await until(() => first.length === 1);
    await crash(server);
    const second: string[] = [];
    server = await sink(port, second);
    await advanceUntil(timers, () => second.length === 1);
    expect(await p).toEqual({ type: 'accepted' });
    expect(second).toEqual(['in-flight']);
  });

  test('in-flight sends fail with DisconnectedError under the fail policy', async () => {
    const timers = new ManualTimers();
    const first: string[] = [];
    server = await sink(0, first, true);
    const port = server.port;
    conn = await connectWith(port, timers, { resend: 'fail' });
    const s = await conn.openSender('q');
    const p = s.send({ body: 'in-flight' });
    await until(() => first.length === 1);
    await crash(server);
    await expect(p).rejects.toBeInstanceOf(DisconnectedError);
    server = await sink(port, []);
  });

  test('a post callback that aborts a later send during the disconnect: that send is never delivered, and none stays pending', async () => {
    const timers = new ManualTimers();
    const first: string[] = [];
    // Credit for one message: A goes out and is held, B waits in the engine.
    server = await sink(0, first, true, 1);
    const port = server.port;
    conn = await connectWith(port, timers, { resend: 'fail' });
    const s = await conn.openSender('q');
    const ac = new AbortController();
    const calls: string[] = [];
    s.post(
      { body: 'A' },
      (e) => {
        calls.push(`A:${e?.constructor.name}`);
        ac.abort();
      },
      { signal: ac.signal },
    );
    s.post({ body: 'B' }, (e) => void calls.push(`B:${e?.constructor.name}`), { signal: ac.signal });
    await until(() => first.length === 1);
    await crash(server);
    await until(() => calls.length === 2);
    expect(calls).toEqual(['A:DisconnectedError', 'B:AbortError']);
    const second: string[] = [];
    server = await sink(port, second);
    let reconnected = false;
    conn.once('reconnected', () => (reconnected = true));
    await advanceUntil(timers, () => reconnected);
    expect(await s.send({ body: 'C' })).toEqual({ type: 'accepted' });
    expect(second).toEqual(['C']);
    expect(s.pending).toBe(0);
    expect(calls).toHaveLength(2);
  });

  test('giving up after maxAttempts fails pending sends and closes', async () => {
    const timers = new ManualTimers();
    server = await sink(0, [], true);
    const port = server.port;
    conn = await connectWith(port, timers, { initialDelayMs: 10, maxAttempts: 2 });
    const s = await conn.openSender('q');
    await crash(server);
    server = undefined;
    const closed = new Promise((r) => conn!.once('close', r));
    const p = s.send({ body: 'never' }).catch((e: unknown) => e);
    let done = false;
    void closed.then(() => (done = true));
    await advanceUntil(timers, () => done);
    expect(await p).toBeInstanceOf(Error);
  });

  describe('beforeReattach', () => {
    /** Records each link the server sees attach, by address, and keeps it open. */
    async function recorder(port: number, attached: string[]): Promise<AmqpServer> {
      return listen({
        port,
        sasl: { anonymous: true },
        onLink(l) {
          attached.push(String(l.address));
          l.accept();
        },
      });
    }

    test('runs on the new connection before the links are attached again', async () => {
      const timers = new ManualTimers();
      const first: string[] = [];
      server = await recorder(0, first);
      const port = server.port;
      const hooked: unknown[] = [];
      conn = await connectWith(port, timers, {
        beforeReattach: async (c) => {
          hooked.push(c);
          // Like a CBS put-token: a link of the hook's own, answered before the others come back.
          await c.openSender('$auth');
        },
      });
      await conn.openSender('q');
      await conn.openReceiver('r');
      expect(first).toEqual(['q', 'r']);
      expect(hooked).toEqual([]); // not on the first connect
      const events: string[] = [];
      conn.on('reconnected', () => events.push('reconnected'));

      await crash(server);
      const second: string[] = [];
      server = await recorder(port, second);
      await advanceUntil(timers, () => events.length === 1);
      expect(hooked).toEqual([conn]);
      expect(second).toEqual(['$auth', 'q', 'r']);

      // The hook's link is its own: the next reconnect opens it again, it is not re-attached.
      await crash(server);
      const third: string[] = [];
      server = await recorder(port, third);
      await advanceUntil(timers, () => events.length === 2);
      expect(third).toEqual(['$auth', 'q', 'r']);
    });

    test("the hook's links end with their connection: a send on one from before the drop fails", async () => {
      const timers = new ManualTimers();
      server = await recorder(0, []);
      const port = server.port;
      const hookSenders: MessageSender[] = [];
      conn = await connectWith(port, timers, {
        beforeReattach: async (c) => {
          hookSenders.push(await c.openSender('$auth'));
        },
      });
      const events: string[] = [];
      conn.on('reconnected', () => events.push('reconnected'));
      await crash(server);
      server = await recorder(port, []);
      await advanceUntil(timers, () => events.length === 1);
      await crash(server);
      await expect(hookSenders[0]!.send({ body: 'x' })).rejects.toBeInstanceOf(DisconnectedError);
    });

    test('close() while beforeConnect runs stops the attempt: no new connection is begun', async () => {
      const timers = new ManualTimers();
      server = await recorder(0, []);
      const port = server.port;
      let release!: () => void;
      const token = new Promise<void>((r) => (release = r));
      let calls = 0;
      conn = await connectWith(port, timers, {
        beforeConnect: () => {
          calls++;
          return token;
        },
      });
      const reconnected: unknown[] = [];
      conn.on('reconnected', () => reconnected.push(true));
      await crash(server);
      server = await recorder(port, []);
      await advanceUntil(timers, () => calls === 1);
      await conn.close();
      const armed = timers.timers;
      release();
      // The attempt goes on in microtasks; a new connection would arm its connect deadline at once.
      await new Promise((r) => setImmediate(r));
      expect(timers.timers).toBe(armed);
      expect(reconnected).toEqual([]);
    });

    test('a rejection that is not retryable gives up with its error', async () => {
      const timers = new ManualTimers();
      server = await recorder(0, []);
      const port = server.port;
      const refused = new Error('token refused');
      let calls = 0;
      conn = await connectWith(port, timers, {
        beforeReattach: () => {
          calls++;
          return Promise.reject(refused);
        },
        isRetryable: (e) => e !== refused,
      });
      const s = await conn.openSender('q');
      const closed: unknown[] = [];
      conn.on('close', (e: unknown) => closed.push(e));
      await crash(server);
      server = await recorder(port, []);
      await advanceUntil(timers, () => closed.length === 1);
      expect(closed).toEqual([refused]);
      expect(calls).toBe(1);
      await expect(s.send({ body: 'x' })).rejects.toBe(refused);
    });
  });
});
