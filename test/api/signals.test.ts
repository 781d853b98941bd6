/**
 * AbortSignals on every wait of the promise API: connect, openSession, openSender, openReceiver,
 * close, drain, and request/response. For each: a signal aborted before the call sends nothing, one
 * aborted during the wait rejects with AMQP_ABORTED (the reason as cause) and leaves nothing
 * half-done, one aborted after has no effect; no abort listener outlives its operation.
 */
import { getEventListeners } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import { RequestResponseLink } from '../../src/client/request-response.js';
import { listen, type AmqpServer, type IncomingLink, type ServerConnection } from '../../src/server/index.js';
import { AbortError, TimeoutError } from '../../src/api/errors.js';
import type { MessageSender } from '../../src/api/sender.js';
import type { Message } from '../../src/codec/message.js';
import { DisconnectedError, type ConnectionError } from '../../src/protocol/errors.js';
import { ManualTimers } from '../support/manual-timers.js';
import { until } from './support.js';

const listenersOf = (s: AbortSignal): number => getEventListeners(s, 'abort').length;

/** A signal that has already fired, with its reason. */
function abortedSignal(): { signal: AbortSignal; reason: Error } {
  const reason = new Error('the caller gave up');
  const ac = new AbortController();
  ac.abort(reason);
  return { signal: ac.signal, reason };
}

async function expectAborted(p: Promise<unknown>, reason: unknown): Promise<void> {
  const err = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AbortError);
  expect((err as AbortError).code).toBe('AMQP_ABORTED');
  expect((err as AbortError).cause).toBe(reason);
}

/** Still pending after this event-loop turn? */
async function pending(p: Promise<unknown>): Promise<boolean> {
  await new Promise((r) => setImmediate(r));
  return (
    (await Promise.race([
      p.then(
        () => 'settled',
        () => 'settled',
      ),
      Promise.resolve('pending'),
    ])) === 'pending'
  );
}

/**
 * A server: attaches to 'held' are kept unanswered; requests to '$svc' are answered on their
 * reply-to, except those whose body is 'hold'; every other address is a sink.
 */
interface Service {
  srv: AmqpServer;
  held: IncomingLink[];
  links: IncomingLink[];
  received: Message[];
  connections: ServerConnection[];
}

async function service(): Promise<Service> {
  const held: IncomingLink[] = [];
  const links: IncomingLink[] = [];
  const received: Message[] = [];
  const connections: ServerConnection[] = [];
  const replies = new Map<string, MessageSender>();
  const srv = await listen({
    port: 0,
    sasl: { anonymous: true },
    onLink(l) {
      links.push(l);
      if (l.address === 'held') return void held.push(l);
      if (l.role === 'sender') return void replies.set(l.address ?? '', l.acceptSender());
      const r = l.acceptReceiver();
      void (async () => {
        for await (const m of r) {
          received.push(m.message);
          m.accept();
          const p = m.message.properties;
          if (l.address !== '$svc' || m.message.body === 'hold') continue;
          void replies
            .get(String(p?.replyTo))
            ?.send({ properties: { correlationId: p?.messageId }, body: `re: ${String(m.message.body)}` })
            .catch(() => undefined);
        }
      })().catch(() => undefined);
    },
  });
  srv.on('connection', (c: ServerConnection) => connections.push(c));
  return { srv, held, links, received, connections };
}

/**
 * A TCP proxy to `port`. `pauseUp()` holds what the client sends until `resumeUp()`; `freeze()`
 * drops everything both ways from then on (a peer that stops answering).
 */
async function proxy(port: number) {
  let paused: Buffer[] | undefined;
  let frozen = false;
  const clients: net.Socket[] = [];
  let upstream: net.Socket | undefined;
  const server = net.createServer((c) => {
    clients.push(c);
    c.on('error', () => undefined);
    const up = net.connect(port, '127.0.0.1');
    upstream = up;
    up.on('error', () => undefined);
    c.on('data', (d: Buffer) => {
      if (frozen) return;
      if (paused) paused.push(d);
      else up.write(d);
    });
    up.on('data', (d: Buffer) => frozen || c.write(d));
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    clients,
    pauseUp: () => void (paused = []),
    resumeUp: () => {
      for (const d of paused ?? []) upstream!.write(d);
      paused = undefined;
    },
    freeze: () => void (frozen = true),
    close: () => {
      for (const c of clients) c.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

const closed = (s: net.Socket): boolean => s.destroyed || s.readyState === 'closed';

let svc: Service | undefined;
let conn: AmqpConnection | undefined;
let px: Awaited<ReturnType<typeof proxy>> | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  conn = undefined;
  await px?.close();
  px = undefined;
  await svc?.srv.close();
  svc = undefined;
});

describe('connect', () => {
  it('an aborted signal opens no socket', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const { signal, reason } = abortedSignal();
      await expectAborted(connect({ host: '127.0.0.1', port, signal }), reason);
      // A socket opened after the refused connect is the first the server accepts.
      const probe = net.connect(port, '127.0.0.1');
      await new Promise((r) => probe.once('connect', r));
      await until(() => sockets.length > 0);
      expect(sockets.map((s) => s.remotePort)).toEqual([probe.localPort]);
      probe.destroy();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('aborting during the handshake rejects with the reason as cause, hangs up, and leaves no listener or timer', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
      s.resume(); // never answers
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const timers = new ManualTimers();
      const ac = new AbortController();
      const p = connect({ host: '127.0.0.1', port, timers, signal: ac.signal });
      await until(() => sockets.length === 1);
      expect(listenersOf(ac.signal)).toBe(1);
      const reason = new Error('enough');
      ac.abort(reason);
      await expectAborted(p, reason);
      expect(listenersOf(ac.signal)).toBe(0);
      expect(timers.timers).toBe(0);
      await until(() => closed(sockets[0]!));
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('a signal aborted after the connect has no effect on the connection', async () => {
    svc = await service();
    const ac = new AbortController();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port, signal: ac.signal });
    expect(listenersOf(ac.signal)).toBe(0);
    ac.abort();
    const s = await conn.openSender('q');
    expect(await s.send({ body: 'still connected' })).toEqual({ type: 'accepted' });
  });
});

describe('openSender, openReceiver, openSession', () => {
  for (const kind of ['sender', 'receiver'] as const) {
    const open = (c: AmqpConnection, address: string, signal?: AbortSignal) =>
      kind === 'sender' ? c.openSender({ address, signal }) : c.openReceiver({ address, signal });

    it(`${kind}: an aborted signal sends no attach`, async () => {
      svc = await service();
      conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
      const { signal, reason } = abortedSignal();
      await expectAborted(open(conn, 'first', signal), reason);
      await open(conn, 'second');
      // Attaches arrive in order: the first the server saw is the second one.
      expect(svc.links.map((l) => l.address)).toEqual(['second']);
      expect(conn.defaultSession.engine.allLinks.length).toBe(1);
    });

    it(`${kind}: aborted while the attach is pending, then the peer's attach crosses our detach: the link is freed on both sides`, async () => {
      svc = await service();
      px = await proxy(svc.srv.port);
      conn = await connect({ host: '127.0.0.1', port: px.port });
      const ac = new AbortController();
      const p = open(conn, 'held', ac.signal);
      await until(() => svc!.held.length === 1);
      const link = conn.defaultSession.engine.allLinks[0]!;
      expect(listenersOf(ac.signal)).toBe(1);
      // Our detach is held in the proxy while the server's attach reaches us.
      px.pauseUp();
      const reason = new Error('not needed any more');
      ac.abort(reason);
      await expectAborted(p, reason);
      expect(listenersOf(ac.signal)).toBe(0);
      expect(link.local).toBe('detached');
      const incoming = svc.held[0]!;
      if (kind === 'sender') incoming.acceptReceiver();
      else incoming.acceptSender();
      await until(() => link.remote === 'attached');
      px.resumeUp();
      // The server answers our detach; both ends forget the link.
      await until(() => link.remote === 'detached');
      await until(() => incoming.link.local === 'detached' && incoming.link.remote === 'detached');
      expect(conn.defaultSession.engine.allLinks).not.toContain(link);
      const s = await conn.openSender('q');
      expect(await s.send({ body: 'still usable' })).toEqual({ type: 'accepted' });
    });

    it(`${kind}: a signal aborted after the open has no effect on the link`, async () => {
      svc = await service();
      conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
      const ac = new AbortController();
      const l = await open(conn, 'q', ac.signal);
      expect(listenersOf(ac.signal)).toBe(0);
      ac.abort();
      expect(l.link.local).toBe('attached');
      expect(l.link.remote).toBe('attached');
    });
  }

  it('openSession: an aborted signal begins no session', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const before = conn.engine.allSessions.length;
    const { signal, reason } = abortedSignal();
    await expectAborted(conn.openSession({ signal }), reason);
    expect(conn.engine.allSessions.length).toBe(before);
    const ac = new AbortController();
    await conn.openSession({ signal: ac.signal });
    expect(listenersOf(ac.signal)).toBe(0);
    expect(conn.engine.allSessions.length).toBe(before + 1);
  });
});

describe('close', () => {
  it('an aborted signal sends no close: the socket is destroyed and close rejects', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const serverSide = svc.connections[0]!;
    const gone = new Promise((r) => serverSide.once('close', r));
    const { signal, reason } = abortedSignal();
    await expectAborted(conn.close({ signal }), reason);
    await gone;
    // The server saw the socket end, not a close frame.
    expect(serverSide.engine.remote).toBe('open');
    conn = undefined;
  });

  it('aborted while waiting for the peer: the socket is destroyed, pending sends fail, close rejects', async () => {
    svc = await service();
    px = await proxy(svc.srv.port);
    const timers = new ManualTimers();
    conn = await connect({ host: '127.0.0.1', port: px.port, timers, connectTimeoutMs: 1000 });
    const s = await conn.openSender('q');
    px.freeze();
    const send = s.send({ body: 'never answered' }).catch((e: unknown) => e);
    const ac = new AbortController();
    const closing = conn.close({ signal: ac.signal });
    expect(await pending(closing)).toBe(true);
    expect(listenersOf(ac.signal)).toBe(1);
    const reason = new Error('shutting down now');
    ac.abort(reason);
    await expectAborted(closing, reason);
    // The connection went without a close exchange: what was pending is lost with it.
    expect(await send).toBeInstanceOf(DisconnectedError);
    expect(listenersOf(ac.signal)).toBe(0);
    expect(timers.timers).toBe(0); // the close deadline is disarmed too
    await until(() => closed(px!.clients[0]!));
    conn = undefined;
  });

  it('a signal aborted after close has no effect; close(error) still takes a bare AmqpError', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const serverSide = svc.connections[0]!;
    const ac = new AbortController();
    await conn.close({ error: { condition: 'amqp:internal-error', description: 'bye' }, signal: ac.signal });
    expect(listenersOf(ac.signal)).toBe(0);
    ac.abort();
    expect(serverSide.engine.remote).toBe('closed');
    expect((serverSide.engine.error as ConnectionError).description).toBe('bye');
    const other = await connect({ host: '127.0.0.1', port: svc.srv.port });
    await other.close({ condition: 'amqp:internal-error', description: 'bare' });
    expect((svc.connections[1]!.engine.error as ConnectionError).description).toBe('bare');
    conn = undefined;
  });
});

describe('drain', () => {
  it('an aborted signal sends no drain', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const r = await conn.openReceiver('q');
    await until(() => r.link.linkCredit > 0);
    const { signal, reason } = abortedSignal();
    await expectAborted(r.drain({ signal }), reason);
    expect(r.link.drain).toBe(false);
  });

  it('aborted while the sender has not answered: rejects, and the window comes back once it does', async () => {
    svc = await service();
    px = await proxy(svc.srv.port);
    conn = await connect({ host: '127.0.0.1', port: px.port });
    const r = await conn.openReceiver('q');
    await until(() => r.link.linkCredit > 0);
    px.pauseUp();
    const ac = new AbortController();
    const d = r.drain({ signal: ac.signal });
    expect(await pending(d)).toBe(true);
    expect(listenersOf(ac.signal)).toBe(1);
    const reason = new Error('stop');
    ac.abort(reason);
    await expectAborted(d, reason);
    expect(listenersOf(ac.signal)).toBe(0);
    // The drain request still reaches the sender; its answer ends the drain and credit returns.
    px.resumeUp();
    await until(() => !r.link.drain && r.link.linkCredit > 0);
  });

  it('timeoutMs bounds the wait with AMQP_TIMEOUT', async () => {
    svc = await service();
    px = await proxy(svc.srv.port);
    const timers = new ManualTimers();
    conn = await connect({ host: '127.0.0.1', port: px.port, timers });
    const r = await conn.openReceiver('q');
    await until(() => r.link.linkCredit > 0);
    px.freeze();
    const d = r.drain({ timeoutMs: 500 }).catch((e: unknown) => e);
    timers.advance(499);
    expect(await pending(d)).toBe(true);
    timers.advance(1);
    expect(await d).toBeInstanceOf(TimeoutError);
    expect(timers.timers).toBe(0);
    // The peer no longer answers: an aborted close tears the connection down without waiting.
    await conn.close({ signal: abortedSignal().signal }).catch(() => undefined);
    conn = undefined;
  });

  it('a signal aborted after the drain has no effect', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const r = await conn.openReceiver({ address: 'q', credit: 'manual' });
    r.addCredit(5);
    const ac = new AbortController();
    await r.drain({ signal: ac.signal });
    expect(listenersOf(ac.signal)).toBe(0);
    expect(r.link.linkCredit).toBe(0);
    ac.abort();
  });
});

describe('receive and send', () => {
  it('receive: an aborted signal takes nothing; aborted while waiting, it rejects and lets go', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const r = await conn.openReceiver('q');
    // The server's sender on that link delivers; the outcome waits for our settlement.
    const serverSender = svc.links.find((l) => l.role === 'sender')!.link.context as MessageSender;
    const delivered = serverSender.send({ body: 'buffered' });
    await until(() => r.buffered === 1);
    const { signal, reason } = abortedSignal();
    await expectAborted(r.receive({ signal }), reason);
    expect(r.buffered).toBe(1);
    const m = (await r.receive())!;
    expect(m.message.body).toBe('buffered');
    m.accept();
    expect(await delivered).toEqual({ type: 'accepted' });
    const ac = new AbortController();
    const waiting = r.receive({ signal: ac.signal });
    expect(await pending(waiting)).toBe(true);
    ac.abort(reason);
    await expectAborted(waiting, reason);
    expect(listenersOf(ac.signal)).toBe(0);
  });

  it('send: an aborted signal sends nothing', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const s = await conn.openSender('q');
    const { signal, reason } = abortedSignal();
    await expectAborted(s.send({ body: 'first' }, { signal }), reason);
    await s.send({ body: 'second' });
    expect(svc.received.map((m) => m.body)).toEqual(['second']);
  });
});

describe('request/response', () => {
  async function rr(timers?: ManualTimers): Promise<RequestResponseLink> {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port, timers });
    return RequestResponseLink.open(conn, { address: '$svc', replyTo: 'replies' });
  }

  it('an aborted signal sends no request', async () => {
    const link = await rr();
    const { signal, reason } = abortedSignal();
    await expectAborted(link.request({ body: 'first' }, { signal }), reason);
    expect((await link.request({ body: 'second' })).body).toBe('re: second');
    expect(svc!.received.map((m) => m.body)).toEqual(['second']);
  });

  it('aborted while waiting for the response: rejects, and a late response is dropped', async () => {
    const link = await rr();
    const ac = new AbortController();
    const p = link.request({ body: 'hold', properties: { messageId: 'held-1' } }, { signal: ac.signal });
    await until(() => svc!.received.length === 1);
    expect(listenersOf(ac.signal)).toBe(1);
    const reason = new Error('user cancelled');
    ac.abort(reason);
    await expectAborted(p, reason);
    expect(listenersOf(ac.signal)).toBe(0);
    // The request answered only now: nobody waits for it, and the link goes on.
    const replies = svc!.links.find((l) => l.role === 'sender')!.link.context as MessageSender;
    await replies.send({ properties: { correlationId: 'held-1' }, body: 'late' });
    expect((await link.request({ body: 'next' })).body).toBe('re: next');
  });

  it('timeoutMs bounds the wait, with no timer left', async () => {
    const timers = new ManualTimers();
    const link = await rr(timers);
    const before = timers.timers;
    const p = link.request({ body: 'hold' }, { timeoutMs: 1000 }).catch((e: unknown) => e);
    await until(() => svc!.received.length === 1);
    timers.advance(999);
    expect(await pending(p)).toBe(true);
    timers.advance(1);
    expect(await p).toBeInstanceOf(TimeoutError);
    expect(timers.timers).toBe(before);
  });

  it('open: an aborted signal attaches nothing; aborted during the open, the reply link is closed', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const { signal, reason } = abortedSignal();
    await expectAborted(RequestResponseLink.open(conn, { address: '$svc', signal }), reason);
    expect(svc.links.length).toBe(0);
    const ac = new AbortController();
    const p = RequestResponseLink.open(conn, { address: 'held', replyTo: 'r', signal: ac.signal });
    await until(() => svc!.held.length === 1);
    ac.abort(reason);
    await expectAborted(p, reason);
    await until(() => conn!.defaultSession.engine.allLinks.length === 0);
    expect(listenersOf(ac.signal)).toBe(0);
  });
});

describe('one signal for many operations', () => {
  it('keeps no listener: 1000 requests, 100 opens and closes, 100 drains', async () => {
    svc = await service();
    conn = await connect({ host: '127.0.0.1', port: svc.srv.port });
    const { signal } = new AbortController();
    const link = await RequestResponseLink.open(conn, { address: '$svc', replyTo: 'replies', signal });
    for (let i = 0; i < 1000; i++) {
      expect((await link.request({ body: i }, { signal })).body).toBe(`re: ${i}`);
    }
    expect(listenersOf(signal)).toBe(0);
    for (let i = 0; i < 100; i++) {
      const s = await conn.openSender({ address: `q${i}`, signal });
      const r = await conn.openReceiver({ address: `q${i}`, signal, credit: 'manual' });
      r.addCredit(1);
      await r.drain({ signal });
      await s.close();
      await r.close();
    }
    expect(listenersOf(signal)).toBe(0);
    const other = await connect({ host: '127.0.0.1', port: svc.srv.port, signal });
    await other.close({ signal });
    expect(listenersOf(signal)).toBe(0);
  });
});
