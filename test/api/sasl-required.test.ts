/**
 * A server given credentials requires them: the bare AMQP header and ANONYMOUS are refused, and an
 * open server is one only when its options say so (`sasl: false`, `anonymous: true`).
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  connect,
  listen,
  type AmqpServer,
  type ConnectOptions,
  type ServerConnection,
} from '../../src/index.js';
import { AuthenticationError } from '../../src/protocol/errors.js';
import { ServerOptionsError, type ServerOptions } from '../../src/server/server.js';

let server: AmqpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const plain = (u: string, p: string): boolean => u === 'alice' && p === 's3cret';

/** Starts a server whose links are all accepted; resolves each client connection's close error. */
async function start(o: Omit<ServerOptions, 'port' | 'onLink'>): Promise<{ closed: () => Promise<unknown> }> {
  server = await listen({
    port: 0,
    ...o,
    onLink: (l) => {
      const r = l.acceptReceiver();
      void (async () => {
        for await (const m of r) m.accept();
      })().catch(() => undefined);
    },
  });
  const errors: Promise<unknown>[] = [];
  server.on('connection', (c: ServerConnection) => {
    errors.push(new Promise((resolve) => c.once('close', resolve)));
  });
  return { closed: () => errors[errors.length - 1]! };
}

/** Connects and sends one message: resolves 'ok' or the error's code. */
async function attempt(o: Partial<ConnectOptions>): Promise<string> {
  try {
    const c = await connect({ host: '127.0.0.1', port: server!.port, ...o });
    try {
      const s = await c.openSender('q');
      await s.send({ body: 'hi' });
      return 'ok';
    } finally {
      await c.close();
    }
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

describe('listen() with credentials', () => {
  test('PLAIN: the bare header is refused with a typed error on both sides, ANONYMOUS is not offered, only the right password gets in', async () => {
    const s = await start({ sasl: { plain } });
    expect(await attempt({ sasl: 'none' })).toBe('AMQP_SASL_REQUIRED');
    const err = await s.closed();
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ code: 'AMQP_SASL_REQUIRED' });
    expect(await attempt({ sasl: 'ANONYMOUS' })).toBe('AMQP_SASL_NO_MECHANISM');
    expect(await attempt({ username: 'alice', password: 'nope' })).toBe('AMQP_SASL_AUTH_FAILED');
    expect(await attempt({ username: 'alice', password: 's3cret' })).toBe('ok');
  });

  test('EXTERNAL and custom mechanisms require SASL too, and offer no ANONYMOUS', async () => {
    await start({ sasl: { external: true } });
    expect(await attempt({ sasl: 'none' })).toBe('AMQP_SASL_REQUIRED');
    expect(await attempt({ sasl: 'ANONYMOUS' })).toBe('AMQP_SASL_NO_MECHANISM');
    await server!.close();
    const custom = { name: 'X-TOKEN', start: () => ({ outcome: 'ok' as const, identity: 'x' }) };
    await start({ sasl: { mechanisms: [custom] } });
    expect(await attempt({ sasl: 'none' })).toBe('AMQP_SASL_REQUIRED');
    expect(await attempt({ sasl: 'ANONYMOUS' })).toBe('AMQP_SASL_NO_MECHANISM');
  });

  test('required: false is the explicit way to take the bare header next to credentials', async () => {
    await start({ sasl: { plain, required: false } });
    expect(await attempt({ sasl: 'none' })).toBe('ok');
    expect(await attempt({ sasl: 'ANONYMOUS' })).toBe('AMQP_SASL_NO_MECHANISM');
    await server!.close();
    await start({ sasl: { plain } });
    expect(await attempt({ sasl: 'none' })).toBe('AMQP_SASL_REQUIRED'); // and without it, refused
  });
});

describe('an open server says so', () => {
  test('never by omission: without `sasl`, or with one that offers nothing, listen() refuses to start', async () => {
    await expect(listen({ port: 0 } as ServerOptions)).rejects.toBeInstanceOf(ServerOptionsError);
    await expect(listen({ port: 0, sasl: {} })).rejects.toMatchObject({ code: 'AMQP_SERVER_OPTIONS' });
    // sasl: false takes only the bare header
    await start({ sasl: false });
    expect(await attempt({ sasl: 'none' })).toBe('ok');
    expect(await attempt({ sasl: 'ANONYMOUS' })).toBe('AMQP_HEADER_MISMATCH');
    await server!.close();
    // anonymous: true takes ANONYMOUS and the bare header
    await start({ sasl: { anonymous: true } });
    expect(await attempt({ sasl: 'none' })).toBe('ok');
    expect(await attempt({ sasl: 'ANONYMOUS' })).toBe('ok');
  });
});
