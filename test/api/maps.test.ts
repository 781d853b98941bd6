/**
 * What you send is what you get: a body, application properties and annotations sent as plain
 * objects arrive as plain objects; the `maps: 'map'` option (connection, server, or per receiver)
 * turns every map into a Map; a misspelt option is a typed error before anything is attached.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import type { MessageReceiver } from '../../src/api/receiver.js';
import { AmqpSymbol, type Message } from '../../src/codec/index.js';

let server: AmqpServer | undefined;
let client: AmqpConnection | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

const SENT: Message = {
  messageAnnotations: { 'x-opt-k': 'v' },
  applicationProperties: { a: 1 },
  body: { item: 42, nested: { deep: ['x'] } },
};

/** A server whose receivers (accepted with `accept`) hand over the first message they get. */
async function firstMessageServer(
  serverMaps?: 'object' | 'map',
  acceptMaps?: 'object' | 'map',
  sent: Message = SENT,
) {
  let resolve!: (m: Message) => void;
  const got = new Promise<Message>((r) => (resolve = r));
  server = await listen({
    port: 0,
    sasl: { anonymous: true },
    ...(serverMaps ? { maps: serverMaps } : {}),
    onLink(l) {
      const r = l.acceptReceiver(acceptMaps ? { maps: acceptMaps } : {});
      void (async () => {
        for await (const m of r) {
          m.accept();
          resolve(m.message);
        }
      })();
    },
  });
  client = await connect({ host: '127.0.0.1', port: server.port });
  await (await client.openSender('q')).send(sent);
  return got;
}

describe('maps in received messages', () => {
  test('objects sent arrive as plain objects, and JSON.stringify shows them', async () => {
    const m = await firstMessageServer();
    expect(Object.getPrototypeOf(m.body)).toBe(Object.prototype);
    expect(JSON.stringify(m.body)).toBe('{"item":42,"nested":{"deep":["x"]}}');
    expect(m.applicationProperties).toStrictEqual({ a: 1 });
    expect(m.messageAnnotations).toStrictEqual({ 'x-opt-k': 'v' });
  });

  test("a peer's '__proto__' key is an own property of what arrives, not its prototype", async () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}') as Record<
      string,
      never
    >;
    const m = await firstMessageServer(undefined, undefined, {
      applicationProperties: hostile,
      body: hostile,
    });
    for (const o of [m.body, m.applicationProperties] as Record<string, unknown>[]) {
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      expect(Object.keys(o)).toStrictEqual(['__proto__', 'constructor']);
      expect(o.polluted).toBeUndefined();
      expect(JSON.stringify(o)).toBe('{"__proto__":{"polluted":true},"constructor":1}');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("the server's maps: 'map' makes every map a Map, symbol keys as AmqpSymbol", async () => {
    const m = await firstMessageServer('map');
    expect(m.body).toStrictEqual(
      new Map<unknown, unknown>([
        ['item', 42],
        ['nested', new Map([['deep', ['x']]])],
      ]),
    );
    expect(m.applicationProperties).toStrictEqual(new Map([['a', 1]]));
    expect(m.messageAnnotations).toStrictEqual(new Map([[new AmqpSymbol('x-opt-k'), 'v']]));
  });

  test("accept's maps overrides the server's", async () => {
    const m = await firstMessageServer('map', 'object');
    expect(m.body).toStrictEqual({ item: 42, nested: { deep: ['x'] } });
  });

  test("a client receiver: the connection's maps, overridden per receiver", async () => {
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink(l) {
        const s = l.acceptSender();
        void s.send(SENT).catch(() => undefined);
      },
    });
    client = await connect({ host: '127.0.0.1', port: server.port, maps: 'map' });
    const first = async (r: MessageReceiver): Promise<Message> => {
      const m = (await r.receive({ timeoutMs: 5000 }))!;
      m.accept();
      return m.message;
    };
    expect((await first(await client.openReceiver('a'))).body).toBeInstanceOf(Map);
    const own = await first(await client.openReceiver({ address: 'b', maps: 'object' }));
    expect(own.body).toStrictEqual({ item: 42, nested: { deep: ['x'] } });
  });

  test('a misspelt maps option is a typed error, before anything is attached', async () => {
    const attached: string[] = [];
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink: (l) => {
        attached.push(String(l.source?.address));
        l.acceptSender();
      },
    });
    client = await connect({ host: '127.0.0.1', port: server.port });
    await expect(client.openReceiver({ address: 'bad', maps: 'Map' as never })).rejects.toMatchObject({
      code: 'AMQP_INVALID_ARGUMENT',
      option: 'maps',
      message: expect.stringContaining("one of 'object', 'map'"),
    });
    // Frames go in order: had the bad receiver been attached, the server would have seen it first.
    await client.openReceiver('good');
    expect(attached).toStrictEqual(['good']);
    await expect(
      connect({ host: '127.0.0.1', port: server.port, maps: 'objects' as never }),
    ).rejects.toMatchObject({ code: 'AMQP_INVALID_ARGUMENT' });
    await expect((async () => listen({ port: 0, sasl: false, maps: true as never }))()).rejects.toMatchObject(
      {
        code: 'AMQP_INVALID_ARGUMENT',
      },
    );
  });
});
