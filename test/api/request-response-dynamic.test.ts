// RequestResponseLink with a dynamic reply node: a peer that gives the node no address gets the
// reply link detached again, not left open behind the error.
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import type { MessageSender } from '../../src/api/sender.js';
import { RequestResponseLink } from '../../src/client/request-response.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { until } from './support.js';

let server: AmqpServer | undefined;
let conn: AmqpConnection | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  await server?.close();
  server = conn = undefined;
});

describe('RequestResponseLink, dynamic reply node', () => {
  test('no address from the peer: AMQP_NO_DYNAMIC_ADDRESS, and the reply link is detached', async () => {
    const replyLinks: MessageSender[] = [];
    server = await listen({
      port: 0,
      sasl: { anonymous: true },
      // Answers with the client's source as it came: dynamic, without an address.
      onLink: (l) => void replyLinks.push(l.acceptSender()),
    });
    conn = await connect({ host: '127.0.0.1', port: server.port });
    await expect(RequestResponseLink.open(conn, { address: '$cbs', dynamic: true })).rejects.toMatchObject({
      code: 'AMQP_NO_DYNAMIC_ADDRESS',
    });
    expect(replyLinks).toHaveLength(1);
    await until(() => replyLinks[0]!.link.remote === 'detached');
    expect(replyLinks[0]!.link.remote).toBe('detached');
  });
});
