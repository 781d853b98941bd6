/**
 * A connection over a stream the caller supplies (ConnectOptions.transport, AmqpServer.accept):
 * two ends of an in-process Duplex pair carry a real send and receive, with SASL PLAIN; a factory
 * that fails, hangs past the deadline or returns something else gives a typed error; TLS asked
 * for with a transport is refused rather than dropped; accept's `transport` (the TLS socket under
 * a wrapping stream) gives SASL EXTERNAL its client certificate, named by `externalIdentity` if given.
 */
import { duplexPair, type Duplex } from 'node:stream';
import tls from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certificates.js';
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { AmqpServer, listen } from '../../src/server/index.js';
import { failure } from './support.js';
import { InvalidArgumentError } from '../../src/protocol/errors.js';
import type { Message } from '../../src/codec/message.js';
import { ManualTimers } from '../support/manual-timers.js';

let server: AmqpServer | undefined;
let client: AmqpConnection | undefined;
afterEach(async () => {
  await client?.close().catch(() => undefined);
  await server?.close();
  client = server = undefined;
});

/** A server whose node 'q' keeps what it receives and whose node 'out' sends one message. */
async function echoServer(got: Message[]): Promise<AmqpServer> {
  return listen({
    port: 0,
    sasl: { plain: (user, password) => user === 'alice' && password === 'secret' },
    onLink(l) {
      if (l.role === 'receiver') {
        const r = l.acceptReceiver();
        void (async () => {
          for await (const m of r) {
            m.accept();
            got.push(m.message);
          }
        })().catch(() => undefined); // the loop ends with the connection's error when it goes
      } else
        void l
          .acceptSender()
          .send({ body: 'from the server' })
          .catch(() => undefined);
    },
  });
}

describe('a connection over a supplied stream', () => {
  test('send and receive through a Duplex pair, SASL PLAIN included; the server counts it as a client', async () => {
    const got: Message[] = [];
    server = await echoServer(got);
    const streams: Duplex[] = [];
    client = await connect({
      host: 'pipe.example',
      username: 'alice',
      password: 'secret',
      transport: () => {
        const [ours, theirs] = duplexPair();
        expect(server!.accept(theirs)).toBeDefined();
        streams.push(ours);
        return ours;
      },
    });
    expect(streams).toHaveLength(1);
    expect(server.connections.size).toBe(1);
    const [conn] = [...server.connections];
    expect(conn!.identity).toBe('alice');
    expect(await (await client.openSender('q')).send({ body: 'over the pipe' })).toEqual({
      type: 'accepted',
    });
    expect(got.map((m) => m.body)).toEqual(['over the pipe']);
    const r = await client.openReceiver('out');
    const m = (await r.receive({ timeoutMs: 10_000 }))!;
    expect(m.message.body).toBe('from the server');
    m.accept();
    await client.close();
    client = undefined;
    expect(streams[0]!.writableEnded).toBe(true); // the AMQP close ended our side of the stream
  });

  test('reconnect calls the factory again, and the links come back over the new stream', async () => {
    const got: Message[] = [];
    server = await echoServer(got);
    const timers = new ManualTimers();
    const streams: Duplex[] = [];
    client = await connect({
      username: 'alice',
      password: 'secret',
      timers,
      reconnect: { initialDelayMs: 100 },
      transport: () => {
        const [ours, theirs] = duplexPair();
        server!.accept(theirs);
        streams.push(ours);
        return ours;
      },
    });
    const s = await client.openSender('q');
    expect(await s.send({ body: 'first' })).toEqual({ type: 'accepted' });
    let reconnected = false;
    client.on('reconnected', () => (reconnected = true));
    streams[0]!.destroy(); // the stream breaks, as a tunnel would
    for (let i = 0; i < 2000 && !reconnected; i++) {
      timers.advance(50);
      await new Promise((r) => setImmediate(r));
    }
    expect(reconnected).toBe(true);
    expect(streams).toHaveLength(2);
    expect(await s.send({ body: 'second' })).toEqual({ type: 'accepted' });
    expect(got.map((m) => m.body)).toEqual(['first', 'second']);
  });

  test('a factory that throws: AMQP_CONNECT_FAILED with its error as cause', async () => {
    const boom = new Error('no tunnel');
    const e = await failure(
      connect({
        transport: () => {
          throw boom;
        },
      }),
    );
    expect(e.code).toBe('AMQP_CONNECT_FAILED');
    expect(e.cause).toBe(boom);
  });

  test('a factory that returns something else: InvalidArgumentError for transport', async () => {
    const e = await failure(connect({ transport: () => ({}) as never }));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).option).toBe('transport');
  });

  test("a factory that never finishes: the connect deadline fails it, and the factory's signal fires", async () => {
    let signal: AbortSignal | undefined;
    const e = await failure(
      connect({
        connectTimeoutMs: 50,
        transport: (c) => {
          signal = c.signal;
          return new Promise<never>(() => undefined);
        },
      }),
    );
    expect(e.code).toBe('AMQP_TIMEOUT');
    expect(signal?.aborted).toBe(true);
  });

  test('a stream that arrives after the attempt was abandoned is destroyed, not leaked', async () => {
    const [late] = duplexPair();
    const e = await failure(
      connect({
        connectTimeoutMs: 50,
        // Hands its stream over only once the attempt has been given up.
        transport: ({ signal }) =>
          new Promise<Duplex>((resolve) => signal.addEventListener('abort', () => resolve(late))),
      }),
    );
    expect(e.code).toBe('AMQP_TIMEOUT');
    await new Promise((r) => setImmediate(r));
    expect(late.destroyed).toBe(true);
  });

  test('accept on a full server answers with the fixed refusal and returns no connection', async () => {
    server = await listen({ port: 0, sasl: false, limits: { maxConnections: 1 } });
    expect(server.accept(duplexPair()[1])).toBeDefined();
    const [ours, theirs] = duplexPair();
    expect(server.accept(theirs)).toBeUndefined();
    expect(server.refusedConnections).toBe(1);
    ours.destroy();
  });

  test('tls, or an amqps URL, with a transport is refused: the credentials would cross in the clear', async () => {
    const transport = (): Duplex => duplexPair()[0];
    for (const o of [{ tls: true }, { url: 'amqps://h' }]) {
      const e = await failure(connect({ ...o, transport }));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).option).toBe('tls');
    }
  });

  test('a proxy with a transport is refused rather than ignored', async () => {
    const e = await failure(connect({ proxy: 'http://127.0.0.1:3128', transport: () => duplexPair()[0] }));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).option).toBe('proxy');
  });

  test('accept before the server has started, or of a non-stream, is a typed error', async () => {
    const early = new AmqpServer({ port: 0, sasl: false });
    expect(() => early.accept(duplexPair()[1])).toThrow(/has not started/);
    server = await listen({ port: 0, sasl: false });
    expect(() => server!.accept({} as never)).toThrow(InvalidArgumentError);
  });

  describe('accept(stream, transport): the client certificate of the TLS socket under the stream', () => {
    const ca = createCertificateAuthority({ commonName: 'transport test CA', validDays: 1 });
    const serverCert = issueCertificate(ca, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      validDays: 1,
      usage: 'server',
    });
    const clientCert = issueCertificate(ca, { commonName: 'device-7', validDays: 1, usage: 'client' });

    /**
     * A TLS listener that asks for client certificates and hands each client to `server` as a
     * wrapped stream (as a WebSocket would be), with the TLS socket as `transport` when `pass`.
     */
    async function tlsFront(pass: boolean): Promise<{ port: number; close(): Promise<void> }> {
      const front = tls.createServer(
        {
          cert: serverCert.certPem,
          key: serverCert.keyPem,
          ca: ca.certPem,
          requestCert: true,
          rejectUnauthorized: false,
        },
        (socket) => {
          const [inner, outer] = duplexPair();
          socket.pipe(inner).pipe(socket);
          server!.accept(outer, pass ? socket : outer);
        },
      );
      await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
      return {
        port: (front.address() as { port: number }).port,
        close: () => new Promise<void>((r) => front.close(() => r())),
      };
    }

    const overTls = (port: number, cert = clientCert) =>
      connect({
        sasl: 'EXTERNAL',
        host: 'localhost',
        reconnect: false,
        transport: () =>
          tls.connect({
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca: ca.certPem,
            cert: cert.certPem,
            key: cert.keyPem,
          }),
      });

    test('EXTERNAL takes the verified CN; without the transport it has no certificate and fails', async () => {
      server = await listen({ port: 0, sasl: { external: true } });
      const front = await tlsFront(true);
      try {
        client = await overTls(front.port);
        expect([...server.connections][0]!.identity).toBe('device-7');
        await client.close();
        client = undefined;
      } finally {
        await front.close();
      }
      const blind = await tlsFront(false);
      try {
        const e = await failure(overTls(blind.port));
        expect((e as { code?: string }).code).toBe('AMQP_SASL_AUTH_FAILED');
      } finally {
        await blind.close();
      }
    });

    test('externalIdentity names any certificate, verified or not (a server that judges them itself)', async () => {
      const selfSigned = createCertificateAuthority({ commonName: 'not from the CA', validDays: 1 });
      server = await listen({
        port: 0,
        sasl: { external: true },
        externalIdentity: (s) => `sha256:${s.getPeerCertificate().fingerprint256}`,
      });
      const front = await tlsFront(true);
      try {
        client = await overTls(front.port, selfSigned);
        expect([...server.connections][0]!.identity).toBe(`sha256:${selfSigned.cert.fingerprint256}`);
        await client.close();
        client = undefined;
      } finally {
        await front.close();
      }
    });
  });
});
