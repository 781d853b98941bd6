/**
 * Deadlines: a peer that accepts TCP (or TLS, SASL, the open) and then says nothing must not
 * leave connect(), openSender, openReceiver or openSession waiting for ever. Time is injected.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_OPEN_TIMEOUT_MS } from '../../src/api/deadline.js';
import { TimeoutError } from '../../src/api/errors.js';
import { Connection } from '../../src/connection/connection.js';
import { anonymousServer } from '../../src/sasl/mechanisms.js';
import { SocketDriver } from '../../src/transport/socket-driver.js';
import { ManualTimers } from '../support/manual-timers.js';
import { until } from './support.js';

const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);

interface Silent {
  port: number;
  sockets: net.Socket[];
  close(): Promise<void>;
}

/** A TCP server that accepts and then does `onSocket` (by default: nothing at all). */
/** `outcome` is still pending 1 ms before `ms` of fake time, and a TimeoutError at `ms`. */
async function expectTimeoutAt(timers: ManualTimers, ms: number, outcome: Promise<unknown>): Promise<void> {
  timers.advance(ms - 1);
  await new Promise((r) => setImmediate(r));
  expect(await Promise.race([outcome, Promise.resolve('pending')])).toBe('pending');
  timers.advance(1);
  const err = await outcome;
  expect(err).toBeInstanceOf(TimeoutError);
  expect((err as TimeoutError).code).toBe('AMQP_TIMEOUT');
}

async function silentServer(onSocket: (s: net.Socket) => void = () => undefined): Promise<Silent> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.resume(); // read (and drop) what comes, so that the client's hang-up is seen
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A server engine that does SASL (ANONYMOUS) and then never answers the open. */
function saslThenSilent(s: net.Socket): void {
  const engine = new Connection({
    role: 'server',
    saslServer: { mechanisms: [anonymousServer()], required: true },
  });
  new SocketDriver(engine, s, {
    onEvent: () => undefined,
    onClosed: () => undefined,
    onFlushed: () => undefined,
  });
}

const closed = (s: net.Socket): boolean => s.destroyed || s.readyState === 'closed';

let server: Silent | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  conn = undefined;
  await server?.close();
  server = undefined;
});

describe('connect deadline', () => {
  const cases: [string, (s: net.Socket) => void, boolean][] = [
    ['accepts TCP and says nothing', () => undefined, false],
    ['sends only the protocol header', (s) => s.write(SASL_HEADER), false],
    ['does SASL and never opens', saslThenSilent, false],
    ['never answers the TLS ClientHello', () => undefined, true],
  ];
  for (const [name, onSocket, tls] of cases) {
    it(`fails with AMQP_TIMEOUT against a peer that ${name}, and destroys the socket`, async () => {
      server = await silentServer(onSocket);
      const timers = new ManualTimers();
      const p = connect({
        host: '127.0.0.1',
        port: server.port,
        timers,
        tls: tls ? { rejectUnauthorized: false } : undefined,
      });
      const outcome = p.then(
        () => 'connected',
        (e: unknown) => e,
      );
      await until(() => server!.sockets.length === 1);
      if (name.includes('SASL')) await until(() => server!.sockets[0]!.bytesWritten > 8);
      await expectTimeoutAt(timers, DEFAULT_CONNECT_TIMEOUT_MS, outcome);
      // Our side hung up: the server sees the socket end.
      await until(() => closed(server!.sockets[0]!));
    });
  }

  it('connectTimeoutMs changes the deadline', async () => {
    server = await silentServer();
    const timers = new ManualTimers();
    const p = connect({ host: '127.0.0.1', port: server.port, timers, connectTimeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    await until(() => server!.sockets.length === 1);
    timers.advance(500);
    expect(await p).toBeInstanceOf(TimeoutError);
  });

  it('an AbortSignal abandons the connect with AMQP_ABORTED and hangs up', async () => {
    server = await silentServer();
    const ac = new AbortController();
    const p = connect({
      host: '127.0.0.1',
      port: server.port,
      timers: new ManualTimers(),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await until(() => server!.sockets.length === 1);
    ac.abort();
    expect(((await p) as { code: string }).code).toBe('AMQP_ABORTED');
    await until(() => closed(server!.sockets[0]!));
  });

  it('applies to each reconnect attempt', async () => {
    // The first connection works (the server answers), then the server goes silent.
    let silent = false;
    const timers = new ManualTimers();
    const { listen } = await import('../../src/server/index.js');
    const real = await listen({ port: 0, sasl: { anonymous: true } });
    const proxySockets: net.Socket[] = [];
    const proxy = net.createServer((c) => {
      proxySockets.push(c);
      c.on('error', () => undefined);
      if (silent) return void c.resume();
      const up = net.connect(real.port, '127.0.0.1');
      up.on('error', () => undefined);
      c.pipe(up).pipe(c);
      c.on('close', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as net.AddressInfo).port;
    try {
      conn = await connect({
        host: '127.0.0.1',
        port,
        timers,
        reconnect: { initialDelayMs: 10, maxAttempts: 1 },
      });
      const closedWith = new Promise<unknown>((r) => conn!.once('close', r));
      const disconnected = new Promise<unknown>((r) => conn!.once('disconnected', r));
      silent = true;
      proxySockets[0]!.destroy();
      // The reconnect delay (at most initialDelayMs) starts when the client sees the hang-up.
      await disconnected;
      const secondAttempt = new Promise((r) => proxy.once('connection', r));
      timers.advance(20);
      await secondAttempt;
      expect(proxySockets.length).toBe(2);
      timers.advance(DEFAULT_CONNECT_TIMEOUT_MS);
      const err = await closedWith;
      expect(err).toBeInstanceOf(TimeoutError);
      await until(() => closed(proxySockets[1]!));
    } finally {
      for (const s of proxySockets) s.destroy();
      await new Promise((r) => proxy.close(r));
      await real.close();
    }
  });
});

describe('open deadlines (attach, begin)', () => {
  /** A real server that never answers attaches to 'silent' and serves every other address. */
  async function halfSilentServer() {
    const { listen } = await import('../../src/server/index.js');
    const silentLinks: import('../../src/server/index.js').IncomingLink[] = [];
    const srv = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink(l) {
        if (l.address === 'silent') return void silentLinks.push(l);
        if (l.role === 'receiver') {
          const r = l.acceptReceiver();
          void (async () => {
            for await (const m of r) m.accept();
          })().catch(() => undefined);
        } else l.acceptSender();
      },
    });
    return { srv, silentLinks };
  }

  for (const kind of ['sender', 'receiver'] as const) {
    it(`a ${kind} the peer never answers fails with AMQP_TIMEOUT, is detached, and the connection still sends`, async () => {
      const { srv, silentLinks } = await halfSilentServer();
      try {
        const timers = new ManualTimers();
        conn = await connect({ host: '127.0.0.1', port: srv.port, timers });
        const open = kind === 'sender' ? conn.openSender('silent') : conn.openReceiver('silent');
        const outcome = open.then(
          () => 'opened',
          (e: unknown) => e,
        );
        await until(() => silentLinks.length === 1);
        await expectTimeoutAt(timers, DEFAULT_OPEN_TIMEOUT_MS, outcome);
        // The half-open link was detached: the server saw our detach.
        await until(() => silentLinks[0]!.link.remote === 'detached');
        const s = await conn.openSender('q');
        expect(await s.send({ body: 'still usable' })).toEqual({ type: 'accepted' });
      } finally {
        await conn?.close().catch(() => undefined);
        conn = undefined;
        await srv.close();
      }
    });
  }

  it('openTimeoutMs (connection default or per call) and an AbortSignal end the wait', async () => {
    const { srv, silentLinks } = await halfSilentServer();
    try {
      const timers = new ManualTimers();
      conn = await connect({ host: '127.0.0.1', port: srv.port, timers, openTimeoutMs: 1000 });
      const byDefault = conn.openSender('silent').catch((e: unknown) => e);
      const perCall = conn.openReceiver({ address: 'silent', openTimeoutMs: 200 }).catch((e: unknown) => e);
      const ac = new AbortController();
      const aborted = conn.openSender({ address: 'silent', signal: ac.signal }).catch((e: unknown) => e);
      await until(() => silentLinks.length === 3);
      ac.abort();
      expect(((await aborted) as { code: string }).code).toBe('AMQP_ABORTED');
      timers.advance(200);
      expect(await perCall).toBeInstanceOf(TimeoutError);
      timers.advance(800);
      expect(await byDefault).toBeInstanceOf(TimeoutError);
      await until(() => silentLinks.every((l) => l.link.remote === 'detached'));
    } finally {
      await conn?.close().catch(() => undefined);
      conn = undefined;
      await srv.close();
    }
  });

  it('request/response: a request node that never attaches fails the open, and the reply link is closed', async () => {
    const { RequestResponseLink } = await import('../../src/client/request-response.js');
    const { srv, silentLinks } = await halfSilentServer();
    try {
      const timers = new ManualTimers();
      conn = await connect({ host: '127.0.0.1', port: srv.port, timers });
      const p = RequestResponseLink.open(conn, {
        address: 'silent',
        replyTo: 'replies',
        openTimeoutMs: 300,
      }).catch((e: unknown) => e);
      await until(() => silentLinks.length === 1);
      timers.advance(300);
      expect(await p).toBeInstanceOf(TimeoutError);
      await until(() => conn!.defaultSession.engine.allLinks.length === 0);
    } finally {
      await conn?.close().catch(() => undefined);
      conn = undefined;
      await srv.close();
    }
  });

  it('a session the peer never begins fails with AMQP_TIMEOUT and is ended', async () => {
    // A server engine that answers the open (and the default session) but no later begin.
    const begun: import('../../src/session/session.js').Session[] = [];
    server = await silentServer((s) => {
      const engine = new Connection({
        role: 'server',
        saslServer: { mechanisms: [anonymousServer()], required: true },
      });
      const driver = new SocketDriver(engine, s, {
        onEvent: (e) => {
          if (e.type === 'connection-remote-open') engine.open();
          if (e.type === 'session-remote-open') {
            begun.push(e.session);
            if (begun.length === 1) e.session.begin();
          }
          driver.schedule();
        },
        onClosed: () => undefined,
        onFlushed: () => undefined,
      });
    });
    const timers = new ManualTimers();
    conn = await connect({ host: '127.0.0.1', port: server.port, timers });
    const p = conn.openSession().catch((e: unknown) => e);
    await until(() => begun.length === 2);
    timers.advance(DEFAULT_OPEN_TIMEOUT_MS);
    expect(await p).toBeInstanceOf(TimeoutError);
    await until(() => begun[1]!.remote === 'detached');
  });
});

describe('close deadline', () => {
  it('close() against a peer that stops answering resolves after connectTimeoutMs, socket destroyed', async () => {
    const { listen } = await import('../../src/server/index.js');
    const real = await listen({ port: 0, sasl: { anonymous: true } });
    // A proxy that forwards until frozen, then drops everything both ways.
    let frozen = false;
    const client: net.Socket[] = [];
    const proxy = net.createServer((c) => {
      client.push(c);
      c.on('error', () => undefined);
      const up = net.connect(real.port, '127.0.0.1');
      up.on('error', () => undefined);
      c.on('data', (d) => frozen || up.write(d));
      up.on('data', (d) => frozen || c.write(d));
      c.on('close', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const timers = new ManualTimers();
      const port = (proxy.address() as net.AddressInfo).port;
      conn = await connect({ host: '127.0.0.1', port, timers, connectTimeoutMs: 1000 });
      frozen = true;
      let done = false;
      const closing = conn.close().then(() => (done = true));
      timers.advance(999);
      await new Promise((r) => setImmediate(r));
      expect(done).toBe(false);
      timers.advance(1);
      await closing;
      await until(() => closed(client[0]!));
    } finally {
      conn = undefined;
      for (const c of client) c.destroy();
      await new Promise((r) => proxy.close(r));
      await real.close();
    }
  });
});
