/**
 * A receiver's `decode: 'lazy'` option, end to end over a real socket: `.message` is a MessageView
 * that reads the same as the eager decode; a malformed message still throws DecodeError on the
 * first read of `.message`, before any field is handed out; a misspelt option is a typed error.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import type { ReceivedMessage } from '../../src/api/received-message.js';
import { DecodeError, MessageView, encodeMessage, type Message } from '../../src/codec/index.js';

let server: AmqpServer | undefined;
let client: AmqpConnection | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

const SENT: Message = {
  header: { durable: true, priority: 7 },
  messageAnnotations: { 'x-opt-k': 'v' },
  properties: { messageId: 'id-1', to: '/devices/d1', contentType: 'application/json' },
  applicationProperties: { a: 1, b: 'two' },
  body: { item: 42, nested: { deep: ['x'] } },
};

/** Sends each payload to a server receiver accepted with `decode`, and hands back what arrived. */
async function receiveAll(decode: 'eager' | 'lazy' | undefined, payloads: (Message | Uint8Array)[]) {
  const got: ReceivedMessage[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  server = await listen({
    port: 0,
    sasl: { anonymous: true },
    onLink(l) {
      const r = l.acceptReceiver(decode ? { decode } : {});
      void (async () => {
        for await (const m of r) {
          got.push(m);
          if (got.length === payloads.length) done();
        }
      })();
    },
  });
  client = await connect({ host: '127.0.0.1', port: server.port });
  const sender = await client.openSender('q');
  for (const p of payloads) await sender.send(p, { presettled: true });
  await all;
  return got;
}

describe("a receiver's decode option", () => {
  test("'lazy' hands over a MessageView that reads as the eager decode does", async () => {
    const [eager] = await receiveAll(undefined, [SENT]);
    await client!.close();
    await server!.close();
    const [lazy] = await receiveAll('lazy', [SENT]);
    expect(eager!.message).not.toBeInstanceOf(MessageView);
    const view = lazy!.message as MessageView;
    expect(view).toBeInstanceOf(MessageView);
    expect(view.properties?.messageId).toBe('id-1');
    expect(view.applicationProperties).toStrictEqual({ a: 1, b: 'two' });
    expect(view.body).toStrictEqual({ item: 42, nested: { deep: ['x'] } });
    expect(view.toMessage()).toStrictEqual(eager!.message);
    // Decoded once: the same view, and the same section objects, on every read.
    expect(lazy!.message).toBe(view);
    expect(view.body).toBe(view.body);
  });

  test('a malformed message throws DecodeError on the first read of .message, lazy or not', async () => {
    const good = encodeMessage(SENT);
    // The body's value section, cut short: a map whose declared size runs past the end.
    const truncated = good.subarray(0, good.length - 3);
    // A properties list whose user-id (binary) is a boolean.
    const badField = Buffer.from([0x00, 0x53, 0x73, 0xc0, 0x03, 0x02, 0x40, 0x41]);
    for (const decode of ['eager', 'lazy'] as const) {
      const got = await receiveAll(decode, [truncated, badField, SENT]);
      expect(() => got[0]!.message).toThrow(DecodeError);
      expect(() => got[1]!.message).toThrow(DecodeError);
      expect(got[2]!.message.properties?.messageId).toBe('id-1');
      await client!.close();
      await server!.close();
      client = server = undefined;
    }
  });

  test('a misspelt decode option is a typed error naming the option', async () => {
    server = await listen({ port: 0, sasl: { anonymous: true }, onLink: (l) => l.acceptSender() });
    client = await connect({ host: '127.0.0.1', port: server.port });
    await expect(client.openReceiver({ address: 'bad', decode: 'Lazy' as never })).rejects.toMatchObject({
      code: 'AMQP_INVALID_ARGUMENT',
      option: 'decode',
      message: expect.stringContaining("one of 'eager', 'lazy'"),
    });
  });
});
