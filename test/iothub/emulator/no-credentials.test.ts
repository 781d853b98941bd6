/**
 * What a client without credentials can learn and hold on the emulator: one answer for unknown,
 * disabled and someone else's devices (links, CBS, SASL PLAIN), no token that lives for ever, and a
 * deadline for a connection that never authenticates. Time runs on the injected clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type AmqpConnection } from '../../../src/client/connect.js';
import { RequestResponseLink } from '../../../src/client/request-response.js';
import {
  DEFAULT_GRANT_TIMEOUT_MS,
  INVALID_SIGNATURE,
  MAX_SAS_TOKEN_LIFETIME_MS,
} from '../../../src/iothub/emulator/index.js';
import { DEFAULT_SAS_TOKEN_LIFETIME_SECONDS, generateSasToken } from '../../../src/iothub/sas.js';
import {
  cleanup,
  connectBare,
  connectDevice,
  deviceToken,
  hostOf,
  openCbs,
  putTokenRequest,
  serviceToken,
  statusOf,
  testHub,
  track,
  type TestHub,
} from './helpers.js';

afterEach(cleanup);

/** A hub with d1 (enabled, no grant here), `off` (disabled) and no `ghost`. */
async function hubWithDisabled(): Promise<TestHub> {
  const t = await testHub();
  t.hub.state.registry.ensureDevice('off');
  t.hub.state.registry.updateDevice('off', { status: 'disabled' });
  return t;
}

const sameKeyElsewhere = Buffer.alloc(32, 9).toString('base64');

/** A token for the device: its own key when it has one, else some key. */
function tokenFor(t: TestHub, deviceId: string, key?: string): string {
  return generateSasToken({
    resourceUri: `${hostOf(t)}/devices/${deviceId}`,
    key: key ?? t.hub.state.registry.getDevice(deviceId)?.primaryKey ?? sameKeyElsewhere,
    now: t.clock.now(),
    expiresInSeconds: 3600,
  });
}

/** The refusal of an attach, as the client sees it. */
async function attachError(open: Promise<unknown>): Promise<unknown> {
  const e = await open.then(
    () => new Error('attached'),
    (err: unknown) => err,
  );
  const { condition, description, code, message } = e as Record<string, unknown>;
  return { condition, description, code, message };
}

describe('enumeration', () => {
  it('an attach without a grant gets one answer whatever the device, and whatever the node', async () => {
    const t = await hubWithDisabled();
    const bare = await connectBare(t);
    const d2 = await connectDevice(t, 'd2'); // a grant, but for another device
    const answers = [
      await attachError(bare.openSender('/devices/ghost/messages/events')),
      await attachError(bare.openSender('/devices/off/messages/events')),
      await attachError(bare.openSender('/devices/d1/messages/events')),
      await attachError(d2.openSender('/devices/d1/messages/events')),
      await attachError(d2.openSender('/devices/ghost/messages/events')),
      await attachError(bare.openReceiver('/devices/ghost/messages/devicebound')),
      await attachError(bare.openReceiver('/devices/d1/messages/devicebound')),
      await attachError(bare.openSender('/messages/devicebound')),
      await attachError(bare.openReceiver('/messages/serviceBound/feedback')),
      await attachError(bare.openReceiver('/messages/events')),
      await attachError(bare.openReceiver(`/${t.hub.eventHubName}/ConsumerGroups/$Default/Partitions/0`)),
    ];
    expect(answers[0]).toMatchObject({ condition: 'amqp:unauthorized-access' });
    for (const a of answers) expect(JSON.stringify(a)).toBe(JSON.stringify(answers[0]));
  });

  it('CBS and SASL PLAIN: an unknown device, a disabled one and a wrong key get the same answer', async () => {
    const t = await hubWithDisabled();
    const cbs = await openCbs(await connectBare(t));
    const wrongKey = tokenFor(t, 'd1', sameKeyElsewhere);
    const unknown = tokenFor(t, 'ghost');
    const disabled = tokenFor(t, 'off'); // signed with its real key
    const put = async (id: string, token: string): Promise<unknown> =>
      statusOf(await cbs.request(putTokenRequest(`${hostOf(t)}/devices/${id}`, token)));
    const cbsAnswers = [await put('d1', wrongKey), await put('ghost', unknown), await put('off', disabled)];
    expect(cbsAnswers[0]).toEqual({ code: 401, description: INVALID_SIGNATURE });
    for (const a of cbsAnswers) expect(a).toEqual(cbsAnswers[0]);

    const sasl = async (id: string, token: string): Promise<unknown> => {
      const e = await connectDevice(t, id, token).then(
        () => new Error('authenticated'),
        (err: unknown) => err,
      );
      const { code, message, saslCode } = e as Record<string, unknown>;
      return { code, message, saslCode };
    };
    const saslAnswers = [
      await sasl('d1', wrongKey),
      await sasl('ghost', unknown),
      await sasl('off', disabled),
    ];
    expect(saslAnswers[0]).toMatchObject({ code: 'AMQP_SASL_AUTH_FAILED', saslCode: 1 });
    for (const a of saslAnswers) expect(a).toEqual(saslAnswers[0]);
  });
});

describe('token lifetime', () => {
  it(`a token that lives longer than MAX_SAS_TOKEN_LIFETIME_MS is refused like a bad one`, async () => {
    const t = await testHub();
    const key = t.hub.state.registry.getDevice('d1')!.primaryKey;
    const living = (ms: number): string =>
      generateSasToken({
        resourceUri: `${hostOf(t)}/devices/d1`,
        key,
        expiresAt: Math.floor((t.clock.now() + ms) / 1000),
      });
    const forever = living(10 * MAX_SAS_TOKEN_LIFETIME_MS);
    const justOver = living(MAX_SAS_TOKEN_LIFETIME_MS + 2000);
    const justUnder = living(MAX_SAS_TOKEN_LIFETIME_MS - 2000);
    const cbs = await openCbs(await connectBare(t));
    const put = async (token: string): Promise<unknown> =>
      statusOf(await cbs.request(putTokenRequest(`${hostOf(t)}/devices/d1`, token))).code;
    expect(await put(forever)).toBe(401);
    expect(await put(justOver)).toBe(401);
    expect(await put(justUnder)).toBe(200);
    await expect(connectDevice(t, 'd1', forever)).rejects.toMatchObject({ code: 'AMQP_SASL_AUTH_FAILED' });
    await expect(connectDevice(t, 'd1', justOver)).rejects.toMatchObject({ code: 'AMQP_SASL_AUTH_FAILED' });
    const ok = await connectDevice(t, 'd1', justUnder);
    await ok.openSender('/devices/d1/messages/events');
  });

  it("our token providers' default lifetime stays under the cap", () => {
    expect(DEFAULT_SAS_TOKEN_LIFETIME_SECONDS * 1000).toBeLessThan(MAX_SAS_TOKEN_LIFETIME_MS);
  });
});

describe('a connection that never authenticates', () => {
  const closed = (c: AmqpConnection): Promise<unknown> => new Promise((r) => c.once('close', r));

  it('is closed with amqp:unauthorized-access when no grant came in time; one with a grant stays', async () => {
    const t = await testHub();
    const stranger = await connectBare(t);
    const strangerClosed = closed(stranger);
    const granted = await connectBare(t);
    const cbs = await openCbs(granted);
    const put = await cbs.request(putTokenRequest(`${hostOf(t)}/devices/d1`, deviceToken(t, 'd1')));
    expect(statusOf(put).code).toBe(200);
    t.advance(DEFAULT_GRANT_TIMEOUT_MS - 1);
    expect(t.hub.connectionCount).toBe(2);
    t.advance(1);
    expect(await strangerClosed).toMatchObject({ condition: 'amqp:unauthorized-access', remote: true });
    const s = await granted.openSender('/devices/d1/messages/events');
    expect((await s.send({ body: 'still here' }))?.type).toBe('accepted');
  });

  it('ANONYMOUS is no credential either; a management request with a valid token is one', async () => {
    const t = await testHub();
    const anonymous = await track(
      connect({ host: '127.0.0.1', port: t.hub.port, sasl: 'ANONYMOUS', hostname: 'localhost' }),
    );
    const anonymousClosed = closed(anonymous);
    const reader = await connectBare(t);
    const mgmt = await RequestResponseLink.open(reader, { address: '$management', timeoutMs: 5000 });
    const request = {
      applicationProperties: {
        operation: 'READ',
        type: 'com.microsoft:eventhub',
        name: t.hub.eventHubName,
        security_token: serviceToken(t, 'service', {
          resource: `sb://localhost:${t.hub.port}/${t.hub.eventHubName}`,
          keyEncoding: 'utf8',
        }),
      },
      body: null,
      bodyType: 'value' as const,
    };
    const read = await mgmt.request(request);
    expect(statusOf(read).code).toBe(200);
    t.advance(DEFAULT_GRANT_TIMEOUT_MS);
    expect(await anonymousClosed).toMatchObject({ condition: 'amqp:unauthorized-access' });
    expect(statusOf(await mgmt.request(request)).code).toBe(200); // still open
  });

  it('grantTimeoutMs sets the deadline', async () => {
    const t = await testHub({ grantTimeoutMs: 5000 });
    const stranger = await connectBare(t);
    const strangerClosed = closed(stranger);
    t.advance(5000);
    expect(await strangerClosed).toMatchObject({ condition: 'amqp:unauthorized-access' });
  });
});
