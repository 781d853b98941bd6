/**
 * listen()'s per-client limits over real sockets: each one is hit, and the server goes on serving
 * a second client (a full send/receive round trip) during or after the attack.
 */
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect, type AmqpConnection, type ConnectOptions } from '../../src/client/index.js';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { encodeComposite } from '../../src/codec/composite.js';
import { encodeMessage } from '../../src/codec/message.js';
import type { MessageSender } from '../../src/api/sender.js';
import type { Performative } from '../../src/codec/spec/records.js';
import { AuthenticationError, ConnectionError, LinkError } from '../../src/protocol/errors.js';
import { beginFrame, endFrame } from '../../src/frames/frame-writer.js';
import { Role } from '../../src/link/link.js';
import { writeProtocolHeader } from '../../src/frames/protocol-header.js';
import { listen, type AmqpServer, type ServerConnection } from '../../src/server/index.js';
import type { MessageReceiver } from '../../src/api/receiver.js';
import { until } from './support.js';

let server: AmqpServer | undefined;
let broker: Broker | undefined;
const conns: AmqpConnection[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  await server?.close();
  await broker?.close();
  server = undefined;
  broker = undefined;
});

async function client(port: number, o: Omit<ConnectOptions, 'host' | 'port'> = {}): Promise<AmqpConnection> {
  const c = await connect({ host: '127.0.0.1', port, ...o });
  conns.push(c);
  return c;
}

/** A message to the broker and back, on connection `c` (a fresh one when none is given). */
async function roundTrip(port: number, c?: AmqpConnection): Promise<string> {
  const conn = c ?? (await client(port));
  const address = `rt-${Math.random()}`;
  const r = await conn.openReceiver(address);
  const s = await conn.openSender(address);
  expect(await s.send({ body: 'ping' })).toEqual({ type: 'accepted' });
  const m = await r.receive();
  m!.accept();
  await s.close();
  await r.close();
  return m!.message.body as string;
}

/** Raw frames, for a client that breaks the rules on purpose. */
function frames(header: boolean, recs: Performative[], payload?: Uint8Array): Buffer {
  const w = new ByteWriter(1024);
  if (header) writeProtocolHeader(w, 0);
  for (const rec of recs) {
    const start = beginFrame(w, 0, 0);
    encodeComposite(w, rec);
    if (payload) w.bytes(payload);
    endFrame(w, start);
  }
  return w.copy();
}

async function rawSocket(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  sockets.push(s);
  await once(s, 'connect');
  return s;
}

describe('server limits', () => {
  test('a full server answers with fixed bytes, builds no connection, and keeps serving', async () => {
    broker = await startBroker({ port: 0, sasl: { anonymous: true }, limits: { maxConnections: 2 } });
    const first = await client(broker.port);
    await client(broker.port);
    // Bare AMQP: an open and a close with the condition.
    const bare = await client(broker.port, { sasl: 'none' }).catch((e: unknown) => e);
    expect(bare).toBeInstanceOf(ConnectionError);
    expect(bare).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    // SASL: a temporary failure (sys-temp).
    const sasl = await client(broker.port).catch((e: unknown) => e);
    expect(sasl).toBeInstanceOf(AuthenticationError);
    expect(sasl).toMatchObject({ code: 'AMQP_SASL_SYS_ERROR' });
    expect(broker.connections.size).toBe(2);
    expect(await roundTrip(broker.port, first)).toBe('ping');
  });

  test('links past maxLinks are refused with amqp:resource-limit-exceeded; the connection stays', async () => {
    broker = await startBroker({ port: 0, sasl: { anonymous: true }, limits: { maxLinks: 2 } });
    const c = await client(broker.port);
    const r = await c.openReceiver('q');
    const s = await c.openSender('q');
    const err = await c.openSender('other').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect(err).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    // The two links still work, and closing them frees their places.
    expect(await s.send({ body: 'x' })).toEqual({ type: 'accepted' });
    (await r.receive())!.accept();
    await s.close();
    await r.close();
    expect(await roundTrip(broker.port, c)).toBe('ping');
  });

  test('maxSessions and maxLinksPerSession are announced as channel-max and handle-max', async () => {
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      limits: { maxSessions: 3, maxLinksPerSession: 1 },
      onLink: (l) => void l.acceptReceiver(),
    });
    const c = await client(server.port);
    expect(c.remoteOpen?.channelMax).toBe(3);
    await c.openSender('a');
    await c.openSender('b');
    // handle-max 1 allows handles 0 and 1: a third link on the session has no handle left.
    await expect(c.openSender('c')).rejects.toMatchObject({ code: 'AMQP_HANDLES_EXHAUSTED' });
  });

  test('maxFrameSize is announced, and a client splits its transfers to it', async () => {
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      maxFrameSize: 1024,
      onLink(l) {
        const r = l.acceptReceiver();
        void (async () => {
          for await (const m of r) m.accept();
        })();
      },
    });
    const c = await client(server.port);
    expect(c.remoteOpen?.maxFrameSize).toBe(1024);
    const s = await c.openSender('q');
    // Our client splits to the peer's limit: a 10 kB message still goes through.
    expect(await s.send({ body: Buffer.alloc(10_000) })).toEqual({ type: 'accepted' });
  });

  test('defaults: links announce 1 MiB max-message-size, and the idle timeout is on', async () => {
    server = await listen({ port: 0, sasl: { anonymous: true }, onLink: (l) => void l.acceptReceiver() });
    const c = await client(server.port);
    // Half of the 120 s threshold is announced (spec 2.4.5).
    expect(c.remoteOpen?.idleTimeOut).toBe(60_000);
    const s = await c.openSender('q');
    expect(Number(s.link.remoteAttach?.maxMessageSize)).toBe(1024 * 1024);
    broker = await startBroker({ port: 0, sasl: { anonymous: true } });
    const b = await client(broker.port);
    expect(b.remoteOpen?.idleTimeOut).toBe(60_000);
    const bs = await b.openSender('q');
    expect(Number(bs.link.remoteAttach?.maxMessageSize)).toBe(4 * 1024 * 1024);
  });

  test('a client that does not finish its handshake is dropped at the deadline', async () => {
    broker = await startBroker({ port: 0, sasl: { anonymous: true }, limits: { handshakeTimeoutMs: 200 } });
    const slow = await rawSocket(broker.port);
    slow.resume(); // reads what comes, so it sees the server end the connection
    const dropped = once(broker, 'disconnect');
    const closed = once(slow, 'close');
    slow.write(frames(true, [])); // the header, and then nothing
    expect(await roundTrip(broker.port)).toBe('ping');
    await dropped;
    await closed;
    expect(broker.connections.size).toBe(1);
  });

  test('a client that floods requests and never reads replies stops being read; others are served', async () => {
    const mark = 32 * 1024;
    // An echo service: each message to 'echo' comes back on the same connection's 'echo' receiver.
    const replies = new Map<ServerConnection, MessageSender>();
    let requestLinks = 0;
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      limits: { maxBufferedOutput: mark },
      onLink(l) {
        if (l.role === 'sender') return void replies.set(l.connection, l.acceptSender());
        const requests = l.acceptReceiver({ credit: 5000, autoAccept: true });
        requestLinks++;
        void (async () => {
          for await (const m of requests) {
            replies
              .get(l.connection)
              ?.send({ body: m.message.body })
              .catch(() => undefined);
          }
        })().catch(() => undefined);
      },
    });
    const attacker = await rawSocket(server.port);
    attacker.pause(); // never reads a byte of the replies
    const request = encodeMessage({ body: Buffer.alloc(30_000, 0x61) });
    const window = {
      nextIncomingId: 0,
      incomingWindow: 1_000_000,
      nextOutgoingId: 0,
      outgoingWindow: 1_000_000,
    };
    attacker.write(
      frames(true, [
        { type: 'open', containerId: 'attacker' },
        { type: 'begin', nextOutgoingId: 0, incomingWindow: 1_000_000, outgoingWindow: 1_000_000 },
        {
          type: 'attach',
          name: 'replies',
          handle: 0,
          role: Role.Receiver,
          source: { type: 'source', address: 'echo' },
        },
        {
          type: 'attach',
          name: 'requests',
          handle: 1,
          role: Role.Sender,
          initialDeliveryCount: 0,
          target: { type: 'target', address: 'echo' },
        },
        { type: 'flow', ...window, handle: 0, deliveryCount: 0, linkCredit: 1_000_000 },
      ]),
    );
    // A real client would read the server's credit first; this one just waits until it is given.
    await until(() => replies.size === 1 && requestLinks === 1);
    // 2000 requests of 30 kB (within the credit and session window the server gives): 60 MB of replies.
    for (let i = 0; i < 2000; i++) {
      const t = {
        type: 'transfer' as const,
        handle: 1,
        deliveryId: i,
        deliveryTag: Buffer.from(String(i)),
        settled: true,
      };
      attacker.write(frames(false, [t], request));
    }
    await until(() => server!.connections.size === 1);
    const victim = [...server.connections][0]!;
    await until(() => victim.driver.readingPaused, 60_000);
    const read = (victim.socket as net.Socket).bytesRead;
    const c = await client(server.port);
    const r = await c.openReceiver('echo');
    const s = await c.openSender('echo');
    expect(await s.send({ body: 'ping' })).toEqual({ type: 'accepted' });
    expect((await r.receive())!.message.body).toBe('ping');
    // The attacker's requests were not read meanwhile: its replies cannot pile up.
    expect((victim.socket as net.Socket).bytesRead).toBe(read);
    expect(read).toBeLessThan(2000 * 30_000);
  });

  test('a client that never reads loses its socket and slot once its connection times out', async () => {
    // The server has much to send (2000 messages of 30 kB) and the client reads none of it.
    const body = Buffer.alloc(30_000, 0x62);
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      idleTimeoutMs: 200,
      limits: { maxBufferedOutput: 32 * 1024 },
      onLink(l) {
        if (l.role !== 'sender') return l.refuse({ condition: 'amqp:not-found', description: 'out only' });
        const out = l.acceptSender();
        for (let i = 0; i < 2000; i++) out.send({ body }).catch(() => undefined);
      },
    });
    const attacker = await rawSocket(server.port);
    attacker.pause();
    const gone = once(server, 'disconnect');
    attacker.write(
      frames(true, [
        { type: 'open', containerId: 'attacker' },
        { type: 'begin', nextOutgoingId: 0, incomingWindow: 1_000_000, outgoingWindow: 1_000_000 },
        {
          type: 'attach',
          name: 'out',
          handle: 0,
          role: Role.Receiver,
          source: { type: 'source', address: 'out' },
        },
        {
          type: 'flow',
          nextIncomingId: 0,
          incomingWindow: 1_000_000,
          nextOutgoingId: 0,
          outgoingWindow: 1_000_000,
          handle: 0,
          deliveryCount: 0,
          linkCredit: 1_000_000,
        },
      ]),
    );
    await until(() => server!.connections.size === 1);
    const victim = [...server.connections][0]!;
    // The client says nothing more: the idle timeout closes the connection while output is stuck,
    // and the socket is ended, then destroyed after END_GRACE_MS since the client never reads it.
    await gone;
    expect(server.connections.size).toBe(0);
    expect(victim.socket.destroyed).toBe(true);
    expect((victim.socket as net.Socket).bytesWritten).toBeLessThan(2000 * 30_000);
  }, 30_000);

  test('under the unsettled limit, a drain that finds no credit also forgoes credit the limit held back', async () => {
    let receiver: MessageReceiver | undefined;
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      limits: { maxUnsettledDeliveries: 2 },
      onLink(l) {
        receiver = l.acceptReceiver({ credit: 'manual', autoAccept: false });
        receiver.addCredit(5); // 2 granted, 3 held back by the limit
      },
    });
    const c = await client(server.port);
    const s = await c.openSender('q');
    const sent = [s.send({ body: 1 }), s.send({ body: 2 })];
    const got = [(await receiver!.receive())!, (await receiver!.receive())!];
    expect(receiver!.link.linkCredit).toBe(0);
    await receiver!.drain();
    for (const m of got) m.accept();
    await Promise.all(sent);
    // The settlements made room, but the drain ended the credit: none comes back.
    expect(receiver!.link.linkCredit).toBe(0);
  });
});
