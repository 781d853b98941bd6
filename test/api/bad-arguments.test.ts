/** Bad arguments from plain JavaScript callers fail with typed errors (stable codes), never TypeErrors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import { AmqpOneError } from '../../src/codec/errors.js';
import { LinkError } from '../../src/protocol/errors.js';
import type { MessageSender } from '../../src/api/sender.js';
import { InvalidArgumentError } from '../../src/api/errors.js';
import { listen, ServerOptionsError } from '../../src/server/server.js';
import { startBroker } from '../../src/broker/broker.js';
import { RequestResponseLink } from '../../src/client/request-response.js';
import { sinkServer, type SinkServer } from './support.js';

let sink: SinkServer;
let conn: AmqpConnection;
let sender: MessageSender;
beforeAll(async () => {
  sink = await sinkServer();
  conn = await connect({ host: '127.0.0.1', port: sink.server.port });
  sender = await conn.openSender('q');
});
afterAll(async () => {
  await conn.close();
  await sink.server.close();
});

async function codeOf(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
  } catch (e) {
    expect(e).toBeInstanceOf(AmqpOneError);
    return (e as AmqpOneError).code;
  }
  throw new Error('expected a typed error');
}

describe('bad arguments', () => {
  const send = (m: unknown) => () => sender.send(m as never);
  it('send(null), send(undefined), send(42) fail with AMQP_ENCODE_INVALID_VALUE', async () => {
    expect(await codeOf(send(null))).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(await codeOf(send(undefined))).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(await codeOf(send(42))).toBe('AMQP_ENCODE_INVALID_VALUE');
  });

  it('a non-string `to` and a message-id of a type the spec does not allow fail with AMQP_ENCODE_INVALID_VALUE', async () => {
    expect(await codeOf(send({ properties: { to: 42 } }))).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(await codeOf(send({ properties: { messageId: { a: 1 } } }))).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(await codeOf(send({ properties: { messageId: true } }))).toBe('AMQP_ENCODE_INVALID_VALUE');
  });

  it('openReceiver(42), openSender(null) and openSession(42) fail with AMQP_INVALID_ARGUMENT', async () => {
    expect(await codeOf(() => conn.openReceiver(42 as never))).toBe('AMQP_INVALID_ARGUMENT');
    expect(await codeOf(() => conn.openSender(null as never))).toBe('AMQP_INVALID_ARGUMENT');
    expect(await codeOf(() => conn.openSession(42 as never))).toBe('AMQP_INVALID_ARGUMENT');
  });

  it('openReceiver() with no argument sends an attach with the defaults (this sink refuses it)', async () => {
    const err = await conn.openReceiver().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect((err as LinkError).amqpError.condition).toBe('amqp:not-found');
    expect(await sender.send({ body: 'after' })).toEqual({ type: 'accepted' });
  });

  /** The InvalidArgumentError `p` rejects with. */
  async function invalid(p: () => Promise<unknown>): Promise<InvalidArgumentError> {
    const e = await p().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }

  it('connect with an unknown option rejects before connecting and names the option meant', async () => {
    const e = await invalid(() => connect({ host: '127.0.0.1', port: sink.server.port, ca: 'PEM' } as never));
    expect(e.message).toBe("connect: unknown option 'ca'; did you mean 'tls.ca', that is { tls: { ca } }?");
    expect((await invalid(() => connect({ port: String(sink.server.port) } as never))).option).toBe('port');
  });

  it('openSender, openReceiver and openSession check their options; the connection goes on', async () => {
    expect((await invalid(() => conn.openSender({ adress: 'q' } as never))).suggestion).toBe('address');
    expect((await invalid(() => conn.openReceiver({ address: 'q', credit: 'lots' } as never))).option).toBe(
      'credit',
    );
    expect((await invalid(() => conn.openSession({ incomingWindw: 5 } as never))).suggestion).toBe(
      'incomingWindow',
    );
    expect(await sender.send({ body: 'still fine' })).toEqual({ type: 'accepted' });
  });

  it('send options are checked, and nothing is sent for a refused send', async () => {
    const before = sink.received.length;
    expect((await invalid(() => sender.send({ body: 'x' }, { timeout: 5 } as never))).suggestion).toBe(
      'timeoutMs',
    );
    expect((await invalid(() => sender.send({ body: 'x' }, { presettled: 'yes' } as never))).option).toBe(
      'presettled',
    );
    expect(await sender.send({ body: 'after' }, { timeoutMs: 5000 })).toEqual({ type: 'accepted' });
    expect(sink.received.length).toBe(before + 1);
  });

  it('listen and startBroker reject unknown and mistyped options, nested limits and tls included', async () => {
    expect(
      (await invalid(() => listen({ port: 0, sasl: false, maxConnections: 5 } as never))).suggestion,
    ).toBe('limits.maxConnections');
    expect(
      (await invalid(() => listen({ port: 0, sasl: false, limits: { maxLinks: '5' } } as never))).option,
    ).toBe('limits.maxLinks');
    expect((await invalid(() => listen({ port: 0, sasl: 'anonymous' } as never))).option).toBe('sasl');
    expect((await invalid(() => listen(null as never))).message).toBe(
      'listen: expected an options object, got null',
    );
    const none = await (listen as () => Promise<unknown>)().catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ServerOptionsError);
    expect((await invalid(() => startBroker({ port: 0, sasl: false, usres: {} } as never))).suggestion).toBe(
      'users',
    );
    expect(
      (await invalid(() => startBroker({ port: 0, sasl: false, tls: { crt: 'c' } } as never))).suggestion,
    ).toBe('tls.cert');
  });

  it('listen never throws synchronously: a bad maps, limits or count is a rejection', async () => {
    const cases: [unknown, string][] = [
      [{ port: 0, sasl: false, maps: 'Map' }, 'maps'],
      [{ port: 0, sasl: false, limits: null }, 'limits'],
      [{ port: 0, sasl: false, limits: { maxConnections: -1 } }, 'limits.maxConnections'],
      [{ port: 0, sasl: false, limits: { handshakeTimeoutMs: 1.5 } }, 'limits.handshakeTimeoutMs'],
      [{ port: 0, sasl: false, idleTimeoutMs: -5 }, 'idleTimeoutMs'],
    ];
    for (const [options, option] of cases) {
      const p = listen(options as never); // a synchronous throw fails the test here
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).option).toBe(option);
    }
    expect((await invalid(() => startBroker({ port: 0, sasl: false, maxQueues: -1 } as never))).option).toBe(
      'maxQueues',
    );
  });

  it("an option error never echoes a string's text, which may be a secret in the wrong place", async () => {
    const e = await invalid(() => connect({ host: '127.0.0.1', port: 1, sasl: 'hunter2-secret' } as never));
    expect(e.message).not.toContain('hunter2');
    expect(e.message).toContain('a string of 14 characters');
  });

  it('RequestResponseLink.open checks its options; address is required', async () => {
    expect((await invalid(() => RequestResponseLink.open(conn, { adress: 'q' } as never))).suggestion).toBe(
      'address',
    );
    expect((await invalid(() => RequestResponseLink.open(conn, {} as never))).option).toBe('address');
  });

  it('close, drain and the options merged with them (maps, logger) are checked; the connection goes on', async () => {
    expect(
      (await invalid(() => conn.close({ sginal: new AbortController().signal } as never))).suggestion,
    ).toBe('signal');
    expect((await invalid(() => conn.close('now' as never))).code).toBe('AMQP_INVALID_ARGUMENT');
    const receiver = sink.receivers[0]!; // the server's end of `sender`
    expect((await invalid(() => receiver.drain({ timeout: 5 } as never))).suggestion).toBe('timeoutMs');
    expect((await invalid(() => conn.openReceiver({ address: 'q', maps: 'Map' } as never))).option).toBe(
      'maps',
    );
    expect(
      (await invalid(() => connect({ host: '127.0.0.1', port: sink.server.port, loger: () => {} } as never)))
        .suggestion,
    ).toBe('logger');
    expect(await sender.send({ body: 'still open' })).toEqual({ type: 'accepted' });
  });
});
