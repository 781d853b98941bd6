/**
 * What an unauthenticated client can make the hub buffer: the request links anyone may attach
 * before authenticating ($cbs, $management) announce a small max-message-size.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { REQUEST_MAX_MESSAGE_SIZE } from '../../../src/iothub/emulator/index.js';
import {
  cleanup,
  connectBare,
  deviceToken,
  hostOf,
  openCbs,
  putTokenRequest,
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
});
