/**
 * What a client can make the hub buffer through the request links anyone may attach before
 * authenticating ($cbs, $management): a small max-message-size, a bounded number of CBS tokens,
 * and no answers piling up for a client that does not read them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_GRANTS_PER_CONNECTION,
  MAX_PENDING_REPLIES,
  REQUEST_MAX_MESSAGE_SIZE,
} from '../../../src/iothub/emulator/index.js';
import {
  cleanup,
  connectBare,
  deviceToken,
  hostOf,
  openCbs,
  putTokenRequest,
  serviceToken,
  statusOf,
  testHub,
} from './helpers.js';

afterEach(cleanup);

describe('request links of the emulator', () => {
  it('$cbs and $management announce REQUEST_MAX_MESSAGE_SIZE (16 KiB); a put-token still passes', async () => {
    expect(REQUEST_MAX_MESSAGE_SIZE).toBe(16 * 1024);
    const t = await testHub();
    const conn = await connectBare(t);
    for (const address of ['$cbs', '$management']) {
      const s = await conn.openSender(address);
      expect(Number(s.link.remoteAttach?.maxMessageSize)).toBe(REQUEST_MAX_MESSAGE_SIZE);
      // Our client will not send what the hub said it refuses.
      await expect(s.send({ body: Buffer.alloc(REQUEST_MAX_MESSAGE_SIZE) })).rejects.toMatchObject({
        code: 'AMQP_MESSAGE_TOO_LARGE',
      });
      await s.close();
    }
    // A second client authenticates as usual.
    const other = await connectBare(t);
    const cbs = await openCbs(other);
    const reply = await cbs.request(putTokenRequest(`${hostOf(t)}/devices/d1`, deviceToken(t, 'd1')));
    expect(statusOf(reply).code).toBe(200);
  });

  it('a connection holds tokens for MAX_GRANTS_PER_CONNECTION audiences; one more gets 403, a renewal 200', async () => {
    const t = await testHub();
    const conn = await connectBare(t);
    const cbs = await openCbs(conn);
    const token = serviceToken(t);
    const codes: unknown[] = [];
    for (let i = 0; i < MAX_GRANTS_PER_CONNECTION; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => putTokenRequest(`audience-${i + j}`, token));
      codes.push(...(await Promise.all(batch.map((m) => cbs.request(m).then((r) => statusOf(r).code)))));
    }
    expect(codes.filter((c) => c === 200)).toHaveLength(MAX_GRANTS_PER_CONNECTION);
    const over = statusOf(await cbs.request(putTokenRequest('one-more', token)));
    expect(over.code).toBe(403);
    expect(over.description).toMatch(/Too many CBS tokens/);
    expect(statusOf(await cbs.request(putTokenRequest('audience-7', token))).code).toBe(200);
  });

  it('requests whose answers the client never takes are rejected past MAX_PENDING_REPLIES', async () => {
    const t = await testHub();
    const conn = await connectBare(t);
    // A reply link that is never given credit: every answer waits in the hub.
    await conn.openReceiver({ address: 'cbs', credit: 'manual' });
    const requests = await conn.openSender('$cbs');
    const outcomes = [];
    for (let i = 0; i < MAX_PENDING_REPLIES + 5; i++) {
      outcomes.push(await requests.send(putTokenRequest(`${hostOf(t)}/devices/d1`, deviceToken(t, 'd1'))));
    }
    expect(outcomes.slice(0, MAX_PENDING_REPLIES).every((o) => o?.type === 'accepted')).toBe(true);
    for (const o of outcomes.slice(MAX_PENDING_REPLIES)) {
      expect(o).toMatchObject({ type: 'rejected', error: { condition: 'amqp:resource-limit-exceeded' } });
    }
    // Another client is answered as usual.
    const other = await connectBare(t);
    const cbs = await openCbs(other);
    const reply = await cbs.request(putTokenRequest(`${hostOf(t)}/devices/d1`, deviceToken(t, 'd1')));
    expect(statusOf(reply).code).toBe(200);
  });
});

describe('connections at once', () => {
  it('maxConnections bounds each listener: one more connection is refused with amqp:resource-limit-exceeded', async () => {
    const t = await testHub({ maxConnections: 2 });
    await connectBare(t);
    await connectBare(t);
    const refused = await connectBare(t).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    expect(t.hub.connectionCount).toBe(2);
  });
});
