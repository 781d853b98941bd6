import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../../src/client/connect.js';
import { MSSBCBS, mssbcbsClient } from '../../../src/iothub/client/mssbcbs.js';
import { listen, type AmqpServer } from '../../../src/server/index.js';

describe('MSSBCBS', () => {
  let server: AmqpServer | undefined;
  let conn: AmqpConnection | undefined;
  afterEach(async () => {
    await conn?.close().catch(() => undefined);
    await server?.close();
    server = undefined;
    conn = undefined;
  });

  test('the mechanism: name MSSBCBS, an empty initial response, no challenge handling', () => {
    const m = mssbcbsClient();
    expect(m.name).toBe('MSSBCBS');
    expect(MSSBCBS).toBe('MSSBCBS');
    const r = m.initialResponse();
    expect(Buffer.isBuffer(r)).toBe(true);
    expect(r!.length).toBe(0);
    expect(m.challenge).toBeUndefined();
  });

  test('a real SASL exchange: the server sees MSSBCBS with an empty initial response', async () => {
    const seen: (Buffer | undefined)[] = [];
    server = await listen({
      port: 0,
      sasl: {
        anonymous: false,
        required: true,
        mechanisms: [
          {
            name: 'MSSBCBS',
            start(resp) {
              seen.push(resp);
              return { outcome: 'ok', identity: 'cbs' };
            },
          },
        ],
      },
    });
    conn = await connect({ host: '127.0.0.1', port: server.port, sasl: mssbcbsClient() });
    expect(seen).toHaveLength(1);
    expect(seen[0] === undefined || seen[0].length === 0).toBe(true);
    const identities = [...server.connections].map((c) => c.identity);
    expect(identities).toEqual(['cbs']);
  });

  test('a server that does not offer MSSBCBS: a SASL error', async () => {
    server = await listen({ port: 0, sasl: { anonymous: true, required: true } });
    await expect(connect({ host: '127.0.0.1', port: server.port, sasl: mssbcbsClient() })).rejects.toThrow(
      /MSSBCBS/,
    );
  });
});
