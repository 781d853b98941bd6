/** Bad arguments from plain JavaScript callers fail with typed errors (stable codes), never TypeErrors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import { AmqpOneError } from '../../src/codec/errors.js';
import { LinkError } from '../../src/protocol/errors.js';
import type { MessageSender } from '../../src/api/sender.js';
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
});
