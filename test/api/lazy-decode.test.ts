/**
 * A receiver's `decode: 'lazy'` option, end to end over a real socket: `.message` is a MessageView
 * that reads the same as the eager decode; a malformed message still throws DecodeError on the
 * first read of `.message`, before any field is handed out; a misspelt option is a typed error.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import type { ReceivedMessage } from '../../src/api/received-message.js';
import { RequestResponseLink } from '../../src/client/request-response.js';
import type { MessageSender } from '../../src/api/sender.js';
import { DecodeError, MessageView, encodeMessage, readMessage, type Message } from '../../src/codec/index.js';

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
    const codes: Record<string, string[]> = {};
    for (const decode of ['eager', 'lazy'] as const) {
      const got = await receiveAll(decode, [truncated, badField, SENT]);
      codes[decode] = got.slice(0, 2).map((m) => {
        try {
          void m.message;
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          return (e as DecodeError).code;
        }
        return 'no error';
      });
      expect(got[2]!.message.properties?.messageId).toBe('id-1');
      await client!.close();
      await server!.close();
      client = server = undefined;
    }
    expect(codes.lazy).toStrictEqual(codes.eager);
    expect(codes.eager).toStrictEqual(['AMQP_DECODE_BAD_SIZE', 'AMQP_DECODE_WRONG_TYPE']);
  });

  test("a client's receiver: decode: 'lazy' per receiver, eager by default", async () => {
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink(l) {
        void l
          .acceptSender()
          .send(SENT)
          .catch(() => undefined);
      },
    });
    client = await connect({ host: '127.0.0.1', port: server.port });
    const first = async (options: { address: string; decode?: 'lazy' }) => {
      const m = (await (await client!.openReceiver(options)).receive({ timeoutMs: 5000 }))!;
      m.accept();
      return m.message;
    };
    const lazy = await first({ address: 'a', decode: 'lazy' });
    expect(lazy).toBeInstanceOf(MessageView);
    expect(lazy.applicationProperties).toStrictEqual({ a: 1, b: 'two' });
    expect(await first({ address: 'b' })).not.toBeInstanceOf(MessageView);
  });

  test('a MessageView passed to a request is sent whole, not as its internal fields', async () => {
    const requests: Message[] = [];
    let replies: MessageSender | undefined;
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink(l) {
        if (l.role === 'sender') {
          replies = l.acceptSender();
          return;
        }
        void (async () => {
          for await (const m of l.acceptReceiver()) {
            m.accept();
            requests.push(m.message);
            const id = m.message.properties!.messageId!;
            await replies!.send({ properties: { correlationId: id }, body: 'ok' });
          }
        })();
      },
    });
    client = await connect({ host: '127.0.0.1', port: server.port });
    const rr = await RequestResponseLink.open(client, { address: 'svc' });
    const reply = await rr.request(readMessage(encodeMessage(SENT)));
    expect(reply.body).toBe('ok');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.applicationProperties).toStrictEqual(SENT.applicationProperties);
    expect(requests[0]!.messageAnnotations).toStrictEqual(SENT.messageAnnotations);
    expect(requests[0]!.body).toStrictEqual(SENT.body);
    expect(requests[0]!.properties?.to).toBe('/devices/d1');
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
