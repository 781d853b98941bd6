/**
 * An attach too large for the peer's max-frame-size (a huge address) fails that one link with a
 * typed error, unsent; the connection goes on sending on its other links.
 */
import { afterEach, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import { LinkError } from '../../src/protocol/errors.js';
import { sinkServer, type SinkServer } from './support.js';

let sink: SinkServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close();
  await sink?.server.close();
  conn = undefined;
  sink = undefined;
});

test('an address too large for a 512-byte max-frame-size fails only its link', async () => {
  sink = await sinkServer({ maxFrameSize: 512 });
  conn = await connect({ host: '127.0.0.1', port: sink.server.port });
  expect(conn.remoteOpen?.maxFrameSize).toBe(512);
  const before = await conn.openSender('q');
  const err = await conn.openSender('x'.repeat(600)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LinkError);
  expect((err as LinkError).condition).toBe('amqp:frame-size-too-small');
  expect((err as LinkError).code).toBe('AMQP_FRAME_SIZE_TOO_SMALL');
  const rerr = await conn.openReceiver('y'.repeat(600)).catch((e: unknown) => e);
  expect(rerr).toBeInstanceOf(LinkError);
  // The connection is still open: the sender opened before, and one opened after, both deliver.
  expect(await before.send({ body: 'one' })).toEqual({ type: 'accepted' });
  const after = await conn.openSender('q2');
  expect(await after.send({ body: 'two' })).toEqual({ type: 'accepted' });
  expect(sink.received.map((m) => m.message.body)).toEqual(['one', 'two']);
});
