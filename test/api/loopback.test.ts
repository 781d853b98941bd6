import { afterEach, describe, expect, test } from 'vitest';
import { connect } from '../../src/client/index.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import type { MessageReceiver } from '../../src/api/receiver.js';

let server: AmqpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('client and server over TCP', () => {
  test('send 1000 unsettled messages through a queue-less echo server', async () => {
    const got: string[] = [];
    let rcv!: MessageReceiver;
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onLink(l) {
        rcv = l.acceptReceiver({ credit: 200 });
        void (async () => {
          for await (const m of rcv) {
            got.push(String((m.message.body as Buffer).toString()));
            m.accept();
          }
        })();
      },
    });
    const c = await connect({ host: '127.0.0.1', port: server.port });
    const s = await c.openSender('q1');
    const outcomes = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => s.send({ body: Buffer.from(`m${i}`) })),
    );
    expect(outcomes.every((o) => o?.type === 'accepted')).toBe(true);
    expect(got).toHaveLength(1000);
    expect(got[999]).toBe('m999');
    await c.close();
  });
});
