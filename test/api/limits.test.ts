import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { ConnectionError } from '../../src/connection/errors.js';

let server: AmqpServer | undefined;
const conns: AmqpConnection[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  await server?.close();
  server = undefined;
});

describe('server limits', () => {
  test('connections past maxConnections are closed with amqp:resource-limit-exceeded', async () => {
    server = await listen({ port: 0, sasl: { anonymous: true }, limits: { maxConnections: 2 } });
    conns.push(await connect({ host: '127.0.0.1', port: server.port }));
    conns.push(await connect({ host: '127.0.0.1', port: server.port }));
    const err = await connect({ host: '127.0.0.1', port: server.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
  });

  test('maxSessions and maxLinksPerSession are announced as channel-max and handle-max', async () => {
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      limits: { maxSessions: 3, maxLinksPerSession: 1 },
      onLink: (l) => void l.acceptReceiver(),
    });
    const c = await connect({ host: '127.0.0.1', port: server.port });
    conns.push(c);
    expect(c.remoteOpen?.channelMax).toBe(3);
    await c.openSender('a');
    await c.openSender('b').catch(() => undefined);
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
    const c = await connect({ host: '127.0.0.1', port: server.port });
    conns.push(c);
    expect(c.remoteOpen?.maxFrameSize).toBe(1024);
    const s = await c.openSender('q');
    // Our client splits to the peer's limit: a 10 kB message still goes through.
    expect(await s.send({ body: Buffer.alloc(10_000) })).toEqual({ type: 'accepted' });
  });
});
