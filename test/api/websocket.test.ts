/**
 * AMQP over WebSockets end to end on real sockets: connect('ws://...') and 'wss://' against
 * listen({ websocket }), raw AMQP on the same port, TLS options as for amqps, SASL PLAIN and
 * EXTERNAL through the upgrade, and the client's typed errors for a refused upgrade.
 */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { AmqpServer, listen, type ServerOptions } from '../../src/server/index.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certificates.js';
import { WebSocketHandshakeError } from '../../src/transport/websocket/ws-errors.js';
import { WebSocketStream } from '../../src/transport/websocket/ws-stream.js';
import { failure } from './support.js';
import type { Message } from '../../src/codec/message.js';
import type { AmqpValue } from '../../src/codec/values.js';

const ca = createCertificateAuthority({ commonName: 'ws test CA', validDays: 1 });
const serverCert = issueCertificate(ca, {
  commonName: 'localhost',
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
  validDays: 1,
  usage: 'server',
});

let server: AmqpServer | undefined;
const clients: AmqpConnection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await server?.close();
  server = undefined;
});

/** A server whose node 'q' keeps what it receives, with the WebSocket endpoint at /amqp. */
async function echoServer(got: Message[], extra: Partial<ServerOptions> = {}): Promise<AmqpServer> {
  return listen({
    port: 0,
    sasl: { plain: (user, password) => user === 'alice' && password === 'secret' },
    websocket: { path: ['/amqp', '/$iothub/websocket'] },
    onLink(l) {
      if (l.role === 'receiver') {
        const r = l.acceptReceiver();
        void (async () => {
          for await (const m of r) {
            m.accept();
            got.push(m.message);
          }
        })().catch(() => undefined);
      } else
        void l
          .acceptSender()
          .send({ body: 'from the server' })
          .catch(() => undefined);
    },
    ...extra,
  });
}

async function roundTrip(c: AmqpConnection, body: AmqpValue): Promise<unknown> {
  clients.push(c);
  expect(await (await c.openSender('q')).send({ body })).toEqual({ type: 'accepted' });
  const r = await c.openReceiver('out');
  const m = (await r.receive({ timeoutMs: 10_000 }))!;
  m.accept();
  return m.message.body;
}

describe('AMQP over WebSockets', () => {
  test('ws:// sends and receives with SASL PLAIN; the server sees a WebSocket stream with AMQPWSB10', async () => {
    const got: Message[] = [];
    server = await echoServer(got);
    const c = await connect(`ws://alice:secret@127.0.0.1:${server.port}/amqp`);
    expect(await roundTrip(c, 'over ws')).toBe('from the server');
    expect(got.map((m) => m.body)).toEqual(['over ws']);
    const [sc] = [...server.connections];
    expect(sc!.identity).toBe('alice');
    expect(sc!.socket).toBeInstanceOf(WebSocketStream);
    expect((sc!.socket as WebSocketStream).protocol).toBe('AMQPWSB10');
    expect((sc!.socket as WebSocketStream).path).toBe('/amqp');
  });

  test('a server serves several endpoints and says which one each client asked for', async () => {
    server = await echoServer([]);
    const c = await connect(`ws://alice:secret@127.0.0.1:${server.port}/$iothub/websocket/`);
    expect(await roundTrip(c, 'second path')).toBe('from the server');
    expect(([...server.connections][0]!.socket as WebSocketStream).path).toBe('/$iothub/websocket');
  });

  test('raw AMQP is served on the same port as the WebSocket endpoint', async () => {
    const got: Message[] = [];
    server = await echoServer(got);
    const c = await connect(`amqp://alice:secret@127.0.0.1:${server.port}`);
    expect(await roundTrip(c, 'raw')).toBe('from the server');
    expect([...server.connections][0]!.socket).not.toBeInstanceOf(WebSocketStream);
  });

  test('wss:// with a CA, as for amqps; a trailing slash on the path does not matter; messages larger than a WebSocket message arrive whole', async () => {
    const got: Message[] = [];
    server = await echoServer(got, {
      tls: { cert: serverCert.certPem, key: serverCert.keyPem },
      limits: { maxMessageSize: 8 * 1024 * 1024 },
    });
    const c = await connect({
      url: `wss://alice:secret@localhost:${server.port}/amqp/`,
      tls: { ca: ca.certPem },
    });
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    expect(await roundTrip(c, big)).toBe('from the server');
    expect(Buffer.compare(got[0]!.body as Buffer, big)).toBe(0);
  });

  test('wss:// verifies the server: an unknown CA fails with the TLS error, before any credentials go out', async () => {
    server = await echoServer([], { tls: { cert: serverCert.certPem, key: serverCert.keyPem } });
    const e = await failure(
      connect({ url: `wss://alice:secret@localhost:${server.port}/amqp`, reconnect: false }),
    );
    expect(e.code).toBe('AMQP_CONNECT_FAILED');
    expect(String((e.cause as Error).message)).toMatch(/certificate/);
    expect(server.connections.size).toBe(0);
  });

  test('tls: false beside a wss:// or amqps:// URL is refused, not a silent downgrade', async () => {
    for (const url of ['wss://alice:secret@localhost/amqp', 'amqps://alice:secret@localhost']) {
      const e = await failure(connect({ url, tls: false }));
      expect(e.code).toBe('AMQP_INVALID_ARGUMENT');
      expect(e.message).not.toContain('secret');
    }
  });

  test('a wrong path gets 404 as a WebSocketHandshakeError; the server reports it and goes on serving', async () => {
    server = await echoServer([]);
    const reported = new Promise<Error>((r) => server!.once('clientError', r));
    const e = await failure(
      connect({ url: `ws://alice:secret@127.0.0.1:${server.port}/other`, reconnect: false }),
    );
    expect(e).toBeInstanceOf(WebSocketHandshakeError);
    expect((e as WebSocketHandshakeError).status).toBe(404);
    expect(((await reported) as WebSocketHandshakeError).status).toBe(404);
    const c = await connect(`ws://alice:secret@127.0.0.1:${server.port}/amqp`);
    expect(await roundTrip(c, 'still serving')).toBe('from the server');
  });

  test('a ws:// URL to a server without WebSockets fails typed, not by hanging', async () => {
    server = await listen({ port: 0, sasl: false });
    const e = await failure(
      connect({ url: `ws://127.0.0.1:${server.port}/`, reconnect: false, connectTimeoutMs: 60_000 }),
    );
    expect(e).toBeInstanceOf(WebSocketHandshakeError);
    expect((e as WebSocketHandshakeError).status).toBe(0);
  });

  test('a client that never finishes its upgrade counts against maxConnections until the handshake deadline', async () => {
    server = await echoServer([], { limits: { maxConnections: 1, handshakeTimeoutMs: 60_000 } });
    const stalled = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => stalled.once('connect', r));
    stalled.write('GET /amqp HTTP/1.1\r\nHost: x\r\n');
    // The server has the slot taken: the next client gets the fixed refusal.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (server!.pendingHandshakes === 1) resolve();
        else setImmediate(check);
      };
      check();
    });
    // The fixed refusal of a full server (refusal.ts) offers ANONYMOUS only: no credential is judged.
    const e = await failure(
      connect({ url: `amqp://alice:secret@127.0.0.1:${server.port}`, reconnect: false }),
    );
    expect(e.message).toBe('the server offers ANONYMOUS, not PLAIN');
    expect(server.refusedConnections).toBe(1);
    expect(server.connections.size).toBe(0);
    stalled.destroy();
  });
});
