/**
 * Links opened without a session share an implicit one. When the peer ends it (an IoT hub's
 * KillAmqpSession fault does), the next link gets a new implicit session on the same connection
 * instead of failing at once on the ended one.
 */
import { afterEach, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import { listen, type AmqpServer } from '../../src/server/server.js';
import type { MessageReceiver } from '../../src/api/receiver.js';

let server: AmqpServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close();
  await server?.close();
  conn = server = undefined;
});

test('the peer ends the implicit session: links opened next work on a new one', async () => {
  const receivers: MessageReceiver[] = [];
  server = await listen({
    port: 0,
    sasl: { anonymous: true },
    onLink(l) {
      const r = l.acceptReceiver({ credit: 10 });
      receivers.push(r);
      void (async () => {
        for await (const m of r) {
          if (m.message.body !== 'end the session') m.accept();
          else {
            l.engineLink.session.end({ condition: 'amqp:internal-error', description: 'boom' });
            l.connection.schedule();
          }
        }
      })().catch(() => undefined);
    },
  });
  conn = await connect({ host: '127.0.0.1', port: server.port });
  const first = await conn.openSender('first');
  const lost = await first.send({ body: 'end the session' }).catch((e: unknown) => e);
  expect(lost).toMatchObject({ condition: 'amqp:internal-error' });
  const firstSession = conn.defaultSession.engine;
  const second = await conn.openSender('second');
  expect(conn.defaultSession.engine).not.toBe(firstSession);
  expect(await second.send({ body: 'delivered' })).toEqual({ type: 'accepted' });
  expect(conn.engine.isOpen).toBe(true);
});
