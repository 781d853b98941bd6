import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../../src/client/connect.js';
import { decodeMessage, encodeMessage, type Message } from '../../../src/codec/message.js';
import {
  CbsClient,
  CbsTokenRenewer,
  SAS_TOKEN_TYPE,
  buildPutTokenRequest,
  checkPutTokenResponse,
  renewalDelayMs,
} from '../../../src/iothub/client/cbs.js';
import { fixedTokenProvider, tokenInfoOf } from '../../../src/iothub/client/token.js';
import { sasKeyTokenProvider } from '../../../src/iothub/client/node-platform.js';
import {
  BadResponseError,
  InternalServerError,
  ThrottledError,
  UnauthorizedError,
} from '../../../src/iothub/errors.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { CbsPeer } from './cbs-peer.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { advanceUntil, advanceWhenIdle, tick, until } from './support.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210').toString('base64');

describe('put-token request and response', () => {
  test('the request is what the Node SDKs send', () => {
    const m = buildPutTokenRequest(
      'hub.azure-devices.net/devices/d1',
      'SharedAccessSignature sr=x&sig=y&se=1',
      {
        messageId: 'id-1',
      },
    );
    const back = decodeMessage(encodeMessage(m));
    expect(back.properties).toMatchObject({ messageId: 'id-1', to: '$cbs' });
    expect(back.applicationProperties).toEqual({
      operation: 'put-token',
      type: 'servicebus.windows.net:sastoken',
      name: 'hub.azure-devices.net/devices/d1',
    });
    expect(back.bodyType).toBe('value');
    expect(back.body).toBe('SharedAccessSignature sr=x&sig=y&se=1');
    expect(SAS_TOKEN_TYPE).toBe('servicebus.windows.net:sastoken');
    const typed = buildPutTokenRequest('a', 't', { type: 'azure-devices.net:sastoken' });
    expect((typed.applicationProperties as Record<string, unknown>).type).toBe('azure-devices.net:sastoken');
    expect(typeof typed.properties?.messageId).toBe('string');
  });

  test('2xx is success; 401 and other refusals are UnauthorizedError with the description', () => {
    const resp = (code: number, desc?: string): Message => ({
      applicationProperties: { 'status-code': code, 'status-description': desc },
    });
    expect(() => checkPutTokenResponse(resp(200, 'OK'))).not.toThrow();
    expect(() => checkPutTokenResponse(resp(202, 'Accepted'))).not.toThrow();
    let err: unknown;
    try {
      checkPutTokenResponse(resp(401, 'The specified SAS token is expired.'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).statusCode).toBe(401);
    expect((err as UnauthorizedError).description).toBe('The specified SAS token is expired.');
    expect((err as UnauthorizedError).retryable).toBe(false);
    expect(() => checkPutTokenResponse(resp(404))).toThrow(UnauthorizedError);
    expect(() => checkPutTokenResponse(resp(500, 'oops'))).toThrow(InternalServerError);
    expect(() => checkPutTokenResponse(resp(429))).toThrow(ThrottledError);
    expect(() => checkPutTokenResponse({ applicationProperties: {} })).toThrow(BadResponseError);
    // other spellings seen in the wild
    expect(() => checkPutTokenResponse({ applicationProperties: { statusCode: 200 } })).not.toThrow();
  });

  test('renewal delay: 75 % of the lifetime by default (2700 s of 3600), a margin, a floor', () => {
    expect(renewalDelayMs(0, 3_600_000)).toBe(2_700_000);
    expect(renewalDelayMs(0, 3_600_000, { renewAtFraction: 0.8 })).toBe(2_880_000);
    expect(renewalDelayMs(0, 3_600_000, { marginMs: 120_000 })).toBe(3_480_000);
    expect(renewalDelayMs(0, 500)).toBe(1000);
    expect(renewalDelayMs(0, 500, { minIntervalMs: 10 })).toBe(375);
  });

  test('token providers give the token and its expiry', async () => {
    const now = Date.UTC(2024, 0, 1);
    const p = sasKeyTokenProvider({ key: KEY, lifetimeSeconds: 60, now: () => now });
    const info = await p('hub/devices/d1');
    expect(info.expiresAtMs).toBe(now + 60_000);
    expect(info.token).toMatch(/^SharedAccessSignature sr=hub%2Fdevices%2Fd1&sig=/);
    const t = generateSasToken({ resourceUri: 'h', key: KEY, expiresAt: 2_000_000_000 });
    expect(await fixedTokenProvider(t)('anything')).toEqual({ token: t, expiresAtMs: 2_000_000_000_000 });
    expect(tokenInfoOf(t).expiresAtMs).toBe(2_000_000_000_000);
    await expect(sasKeyTokenProvider({ key: 'not base64!' })('a')).rejects.toThrow(/base64/);
  });
});

describe('CBS over real sockets (a small CBS peer on src/server)', () => {
  let peer: CbsPeer | undefined;
  let conn: AmqpConnection | undefined;
  afterEach(async () => {
    await conn?.close().catch(() => undefined);
    await peer?.close();
    conn = undefined;
    peer = undefined;
  });

  test('put-token: links named like the Node SDK, the token accepted, then other links allowed', async () => {
    const clock = new ManualTimers();
    peer = await new CbsPeer({ key: KEY, now: () => clock.now() }).start();
    conn = await connect({ host: '127.0.0.1', port: peer.port, sasl: 'none', timers: clock });
    await expect(conn.openSender('/devices/d1/messages/events')).rejects.toThrow(/unauthorized/);
    const cbs = await CbsClient.open(conn);
    const provider = sasKeyTokenProvider({ key: KEY, now: () => clock.now() });
    await cbs.putToken('h/devices/d1', (await provider('h/devices/d1')).token);
    expect(peer.puts).toHaveLength(1);
    expect(peer.puts[0]).toMatchObject({
      name: 'h/devices/d1',
      type: SAS_TOKEN_TYPE,
      replyTo: 'cbs',
      status: 200,
    });
    expect(typeof peer.puts[0]!.messageId).toBe('string');
    const s = await conn.openSender('/devices/d1/messages/events');
    expect(await s.send({ body: Buffer.from('x') })).toEqual({ type: 'accepted' });
  });

  test('a refused token is an UnauthorizedError with the hub description', async () => {
    const clock = new ManualTimers();
    peer = await new CbsPeer({ key: KEY, now: () => clock.now() }).start();
    conn = await connect({ host: '127.0.0.1', port: peer.port, sasl: 'none', timers: clock });
    const cbs = await CbsClient.open(conn);
    const bad = await sasKeyTokenProvider({ key: OTHER_KEY, now: () => clock.now() })('h');
    const err = await cbs.putToken('h', bad.token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).description).toMatch(/invalid signature/);
    expect((err as UnauthorizedError).statusCode).toBe(401);
  });

  test('renewal on the same links, many token lifetimes, with the injected clock only', async () => {
    const clock = new ManualTimers();
    peer = await new CbsPeer({ key: KEY, now: () => clock.now() }).start();
    conn = await connect({ host: '127.0.0.1', port: peer.port, sasl: 'none', timers: clock });
    const cbs = await CbsClient.open(conn);
    const provider = sasKeyTokenProvider({ key: KEY, lifetimeSeconds: 20, now: () => clock.now() });
    const renewer = new CbsTokenRenewer(cbs, 'h/devices/d1', provider, clock);
    const renewed: number[] = [];
    renewer.on('renewed', () => renewed.push(clock.now()));
    const first = await renewer.start();
    const t0 = clock.now();
    expect(first.expiresAtMs - t0).toBeGreaterThanOrEqual(20_000);
    // 30 lifetimes of 20 s: at least 38 renewals (every 15 s); never a gap with an expired token
    await advanceWhenIdle(
      clock,
      () => renewed.length >= 40,
      () => !renewer.renewing,
      500,
    );
    renewer.stop();
    const puts = peer.puts;
    expect(puts.every((p) => p.status === 200)).toBe(true);
    expect(new Set(puts.map((p) => p.connection)).size).toBe(1);
    for (let i = 1; i < puts.length; i++) {
      const prevExpiry = tokenInfoOf(puts[i - 1]!.token).expiresAtMs;
      expect(puts[i]!.at).toBeLessThan(prevExpiry);
      expect(puts[i]!.at - puts[i - 1]!.at).toBeGreaterThanOrEqual(14_000);
    }
    expect(renewer.renewals).toBe(renewed.length);
    expect(clock.timers).toBe(0);
    // still authorized after all this time
    const s = await conn.openSender('/devices/d1/messages/events');
    expect(await s.send({ body: Buffer.from('late') })).toEqual({ type: 'accepted' });
  });

  test('a failed renewal is retried while the token is valid, then reported as expired', async () => {
    const clock = new ManualTimers();
    let status: number | undefined;
    peer = await new CbsPeer({ key: KEY, now: () => clock.now(), forceStatus: () => status }).start();
    conn = await connect({ host: '127.0.0.1', port: peer.port, sasl: 'none', timers: clock });
    const cbs = await CbsClient.open(conn);
    const provider = sasKeyTokenProvider({ key: KEY, lifetimeSeconds: 40, now: () => clock.now() });
    const renewer = new CbsTokenRenewer(cbs, 'h', provider, clock, { marginMs: 10_000 });
    const errors: unknown[] = [];
    let expired = false;
    renewer.on('renewal-error', (e) => errors.push(e));
    renewer.on('expired', () => (expired = true));
    await renewer.start();
    status = 500;
    await advanceUntil(clock, () => expired, 500, 400);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toBeInstanceOf(InternalServerError);
    expect(peer.puts.filter((p) => p.status === 500).length).toBe(errors.length);
    renewer.stop();
    await tick();
  });

  test('the token provider callback is asked for each renewal with the audience', async () => {
    const clock = new ManualTimers();
    peer = await new CbsPeer({ key: KEY, now: () => clock.now() }).start();
    conn = await connect({ host: '127.0.0.1', port: peer.port, sasl: 'none', timers: clock });
    const cbs = await CbsClient.open(conn);
    const asked: string[] = [];
    const signer = sasKeyTokenProvider({ key: KEY, lifetimeSeconds: 10, now: () => clock.now() });
    const renewer = new CbsTokenRenewer(
      cbs,
      'h/devices/d9',
      async (aud) => {
        asked.push(aud);
        await tick(2); // keys that live elsewhere take a while
        return signer(aud);
      },
      clock,
    );
    await renewer.start();
    await advanceWhenIdle(
      clock,
      () => renewer.renewals >= 3,
      () => !renewer.renewing,
      500,
    );
    renewer.stop();
    expect(asked.length).toBeGreaterThanOrEqual(4);
    expect(new Set(asked)).toEqual(new Set(['h/devices/d9']));
    await until(() => peer!.puts.length === asked.length);
  });
});
