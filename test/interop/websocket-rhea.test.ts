/**
 * AMQP over WebSockets against rhea 3.0.5, whose WebSocket support runs on the ws package:
 * - rhea's websocket_connect to our broker's WebSocket port (ws:// and wss://): 200 unsettled
 *   messages in order, and a 1 MiB message split over many frames and WebSocket messages, both ways;
 * - our connect('ws://') to a rhea container serving ws's WebSocketServer through websocket_accept.
 * rhea offers the subprotocol it is told (AMQPWSB10 here); ws's server picks the first we offer.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect } from '../../src/client/index.js';
import { makeTestCertificates, type TestCertificates } from './support/peers.js';
import { numbered, patterned, receiveBodies } from './support/ours.js';

// rhea and ws are CommonJS; typed loosely here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');
const WebSocket: Any = require('ws');

let broker: Broker;
let tlsBroker: Broker;
let certs: TestCertificates;
const opened: Any[] = [];

beforeAll(async () => {
  certs = await makeTestCertificates();
  broker = await startBroker({ port: 0, wsPort: 0, users: { guest: 'guest' } });
  tlsBroker = await startBroker({
    port: 0,
    wsPort: 0,
    users: { guest: 'guest' },
    tls: { cert: certs.serverCert, key: certs.serverKey },
  });
});
afterAll(async () => {
  for (const c of opened) c.close();
  await broker?.close();
  await tlsBroker?.close();
});

/** A rhea connection over WebSockets, once open; rejects with its error otherwise. */
function rheaOverWs(url: string, options: Record<string, unknown> = {}): Promise<Any> {
  const container = rhea.create_container({ id: `rhea-ws-${opened.length}` });
  const ws = container.websocket_connect(WebSocket);
  const conn = container.connect({
    connection_details: ws(url, ['AMQPWSB10'], options),
    username: 'guest',
    password: 'guest',
    hostname: 'localhost',
    reconnect: false,
  });
  opened.push(conn);
  return new Promise((resolve, reject) => {
    conn.once('connection_open', () => resolve(conn));
    conn.once('connection_error', (ctx: Any) => reject(ctx.connection.get_error()));
    conn.once('disconnected', (ctx: Any) => reject(ctx.error ?? new Error('disconnected')));
  });
}

/** Sends `bodies` unsettled through rhea; resolves with each outcome in order. */
function rheaSend(conn: Any, address: string, bodies: unknown[]): Promise<string[]> {
  const sender = conn.open_sender({ target: { address } });
  const outcomes: string[] = [];
  let next = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (next < bodies.length && sender.sendable()) sender.send({ body: bodies[next++] });
    };
    sender.on('sendable', pump);
    sender.on('accepted', () => {
      outcomes.push('accepted');
      if (outcomes.length === bodies.length) resolve(outcomes);
    });
    sender.on('rejected', (ctx: Any) =>
      reject(new Error(`rejected: ${JSON.stringify(ctx.delivery.remote_state)}`)),
    );
    sender.on('sender_error', (ctx: Any) => reject(ctx.sender.error));
  });
}

/** Receives `count` bodies through rhea, accepting each. */
function rheaReceive(conn: Any, address: string, count: number): Promise<unknown[]> {
  const receiver = conn.open_receiver({ source: { address }, credit_window: 50 });
  const bodies: unknown[] = [];
  return new Promise((resolve, reject) => {
    receiver.on('message', (ctx: Any) => {
      const b = ctx.message.body;
      bodies.push(b && b.typecode === 0x75 ? b.content : b);
      if (bodies.length === count) resolve(bodies);
    });
    receiver.on('receiver_error', (ctx: Any) => reject(ctx.receiver.error));
  });
}

describe('rhea over WebSockets against our broker', () => {
  it('200 unsettled messages in order from rhea over ws://, read back by rhea over ws://', async () => {
    const url = `ws://127.0.0.1:${broker.wsPort}/`;
    const [a, b] = await Promise.all([rheaOverWs(url), rheaOverWs(url)]);
    const bodies = numbered(200);
    expect(await rheaSend(a, 'ws-q1', bodies)).toEqual(bodies.map(() => 'accepted'));
    expect(await rheaReceive(b, 'ws-q1', 200)).toEqual(bodies);
  });

  it('a 1 MiB message from rhea over wss:// reaches our client over amqp://, and back', async () => {
    const r = await rheaOverWs(`wss://localhost:${tlsBroker.wsPort}/`, { ca: certs.ca });
    const big = patterned(1024 * 1024);
    expect(await rheaSend(r, 'ws-big', [rhea.message.data_section(big)])).toEqual(['accepted']);
    const ours = await connect({
      url: `amqps://guest:guest@localhost:${tlsBroker.port}`,
      tls: { ca: certs.ca },
    });
    try {
      const [body] = await receiveBodies(await ours.openReceiver('ws-big'), 1, 10_000);
      expect(Buffer.compare(body as Buffer, big)).toBe(0);
      await (await ours.openSender('ws-back')).send({ body: big });
    } finally {
      await ours.close();
    }
    const [back] = await rheaReceive(r, 'ws-back', 1);
    expect(Buffer.compare(Buffer.from(back as Buffer), big)).toBe(0);
  });
});

describe('our client over WebSockets against a rhea server (websocket_accept)', () => {
  it('sends to and receives from rhea over ws://, with SASL PLAIN', async () => {
    const container = rhea.create_container({ id: 'rhea-ws-server' });
    container.sasl_server_mechanisms.enable_plain((u: string, p: string) => u === 'guest' && p === 'guest');
    const got: unknown[] = [];
    container.on('message', (ctx: Any) => got.push(ctx.message.body));
    container.on('sender_open', (ctx: Any) => {
      ctx.sender.set_source({ address: ctx.sender.remote.attach.source?.address });
      ctx.sender.send({ body: 'from rhea' });
    });
    container.on('receiver_open', (ctx: Any) =>
      ctx.receiver.set_target({ address: ctx.receiver.remote.attach.target?.address }),
    );
    const server = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (socket: Any) => container.websocket_accept(socket));
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const c = await connect(`ws://guest:guest@127.0.0.1:${port}/`);
      try {
        expect(await (await c.openSender('in')).send({ body: 'to rhea' })).toEqual({ type: 'accepted' });
        expect(got).toEqual(['to rhea']);
        expect(await receiveBodies(await c.openReceiver('out'), 1)).toEqual(['from rhea']);
      } finally {
        await c.close();
      }
    } finally {
      for (const s of server.clients) s.terminate();
      await new Promise((r) => server.close(r));
    }
  });
});
