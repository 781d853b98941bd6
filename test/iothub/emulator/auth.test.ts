/**
 * Authentication and authorization on the emulator (contract sections 1-3): the handshakes, CBS
 * put-token (correlation, status types, reply routing, renewal), SAS verification and the
 * refusals, with our own client. Token lifetimes run on the injected clock.
 */
import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../../src/client/connect.js';
import { Typed, ulong } from '../../../src/codec/values.js';
import { mssbcbsClient } from '../../../src/iothub/client/mssbcbs.js';
import { EXPIRED, INVALID_SIGNATURE } from '../../../src/iothub/emulator/index.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { issueCertificate } from '../../../src/pki/certificates.js';
import {
  ann,
  c2d,
  cleanup,
  connectBare,
  connectDevice,
  connectPlain,
  connectService,
  deviceToken,
  hostOf,
  next,
  openCbs,
  putTokenRequest,
  serviceToken,
  statusOf,
  testHub,
  track,
  until,
} from './helpers.js';

afterEach(cleanup);

const errorOf = (e: unknown): string => (e as { condition?: string }).condition ?? String(e);

describe('SASL', () => {
  it('offers EXTERNAL, MSSBCBS, ANONYMOUS and PLAIN, in that order', async () => {
    const t = await testHub();
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(t.hub.port, '127.0.0.1', () =>
        s.write(Buffer.from('AMQP\x03\x01\x00\x00', 'latin1')),
      );
      let got = Buffer.alloc(0);
      s.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 8 + 8 && got.length >= 8 + got.readUInt32BE(8)) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    const textOf = bytes.toString('latin1');
    const order = ['EXTERNAL', 'MSSBCBS', 'ANONYMOUS', 'PLAIN'].map((m) => textOf.indexOf(m));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('PLAIN: a device token, a policy token, and a raw policy key (Go / Event Hubs style)', async () => {
    const t = await testHub();
    const dev = await connectDevice(t, 'd1');
    expect((await (await dev.openSender('/devices/d1/messages/events')).send({ body: 'x' }))?.type).toBe(
      'accepted',
    );
    const svc = await connectService(t, 'iothubowner', serviceToken(t, 'iothubowner'));
    expect((await (await svc.openSender('/messages/devicebound')).send(c2d('d1', 'p')))?.type).toBe(
      'accepted',
    );
    const key = t.hub.state.registry.getPolicy('service')!.primaryKey;
    const raw = await connectPlain(t, 'service', key);
    await raw.openReceiver({
      address: `${t.hub.eventHubName}/ConsumerGroups/$Default/Partitions/0`,
      credit: 1,
    });
  });

  it('PLAIN with a wrong key, an expired token, an unknown device or another device is refused', async () => {
    const t = await testHub();
    const wrongKey = Buffer.alloc(32, 1).toString('base64');
    await expect(connectDevice(t, 'd1', deviceToken(t, 'd1', { key: wrongKey }))).rejects.toThrow(/SASL/);
    const expired = generateSasToken({
      resourceUri: `${hostOf(t)}/devices/d1`,
      key: t.hub.state.registry.getDevice('d1')!.primaryKey,
      expiresAt: Math.floor(t.clock.now() / 1000) - 1,
    });
    await expect(connectDevice(t, 'd1', expired)).rejects.toThrow(/SASL/);
    await expect(connectDevice(t, 'ghost', deviceToken(t, 'ghost'))).rejects.toThrow(/SASL/);
    // d1's valid token presented as d2.
    await expect(connectPlain(t, `d2@sas.${t.hub.hubName}`, deviceToken(t, 'd1'))).rejects.toThrow(/SASL/);
    const badPolicyKey = await connectPlain(t, 'service', 'not-the-key').catch((e: unknown) => e);
    expect(String(badPolicyKey)).toMatch(/SASL/);
  });

  it('accepts sr with host:port and with the plain host, and refuses another host', async () => {
    const t = await testHub();
    await connectDevice(t, 'd1', deviceToken(t, 'd1', { withPort: false }));
    const other = generateSasToken({
      resourceUri: 'otherhub.azure-devices.net/devices/d1',
      key: t.hub.state.registry.getDevice('d1')!.primaryKey,
    });
    await expect(connectDevice(t, 'd1', other)).rejects.toThrow(/SASL/);
  });
});

describe('CBS put-token', () => {
  it('no SASL (Node SDKs): string message-id echoed as a string correlation-id, int status 200', async () => {
    const t = await testHub();
    const conn = await connectBare(t);
    const cbs = await openCbs(conn);
    const audience = `${hostOf(t)}/devices/d1`;
    const res = await cbs.request(putTokenRequest(audience, deviceToken(t, 'd1'), 'req-1'));
    expect(res.properties?.correlationId).toBe('req-1');
    expect(statusOf(res)).toEqual({ code: 200, description: 'OK' });
    const s = await conn.openSender('/devices/d1/messages/events');
    expect((await s.send({ body: 'after cbs' }))?.type).toBe('accepted');
  });

  it('MSSBCBS (uAMQP, C): a ulong message-id comes back as a ulong correlation-id', async () => {
    const t = await testHub();
    const conn = await connectPlainMech(t, 'MSSBCBS');
    const cbs = await openCbs(conn);
    const res = await cbs.request(putTokenRequest(`${hostOf(t)}/devices/d1`, deviceToken(t, 'd1'), ulong(0)));
    expect(res.properties?.correlationId).toEqual(new Typed('ulong', 0n));
    expect(statusOf(res).code).toBe(200);
  });

  it('ANONYMOUS (event-hubs) then CBS', async () => {
    const t = await testHub();
    const conn = await connectPlainMech(t, 'ANONYMOUS');
    const cbs = await openCbs(conn, `cbs-${Math.random()}`);
    const res = await cbs.request(putTokenRequest(hostOf(t), serviceToken(t)));
    expect(statusOf(res).code).toBe(200);
  });

  it('without reply-to, answers on the $cbs receiver link, after settling the request', async () => {
    const t = await testHub();
    const conn = await connectPlainMech(t, 'MSSBCBS');
    const receiver = await conn.openReceiver({ name: '$cbs-receiver', address: '$cbs', credit: 10 });
    const sender = await conn.openSender({ name: '$cbs-sender', address: '$cbs' });
    const outcome = await sender.send(
      putTokenRequest(`${hostOf(t)}/devices/d1`, deviceToken(t, 'd1'), ulong(7)),
    );
    expect(outcome?.type).toBe('accepted');
    const m = await next(receiver);
    expect(m.message.properties?.correlationId).toEqual(new Typed('ulong', 7n));
    expect(statusOf(m.message).code).toBe(200);
  });

  it('401 with the real descriptions for a wrong key and an expired token (an unknown device too)', async () => {
    const t = await testHub();
    const conn = await connectBare(t);
    const cbs = await openCbs(conn);
    const aud = `${hostOf(t)}/devices/d1`;
    const wrong = await cbs.request(
      putTokenRequest(aud, deviceToken(t, 'd1', { key: Buffer.alloc(32, 2).toString('base64') })),
    );
    expect(statusOf(wrong)).toEqual({ code: 401, description: INVALID_SIGNATURE });
    const expired = generateSasToken({
      resourceUri: aud,
      key: t.hub.state.registry.getDevice('d1')!.primaryKey,
      expiresAt: Math.floor(t.clock.now() / 1000) - 10,
    });
    expect(statusOf(await cbs.request(putTokenRequest(aud, expired)))).toEqual({
      code: 401,
      description: EXPIRED,
    });
    const ghost = await cbs.request(putTokenRequest(`${hostOf(t)}/devices/ghost`, deviceToken(t, 'ghost')));
    expect(statusOf(ghost)).toEqual({ code: 401, description: INVALID_SIGNATURE });
    const garbage = await cbs.request(putTokenRequest(aud, 'not a token'));
    expect(statusOf(garbage).code).toBe(400);
    // Nothing was granted: the device links stay closed.
    await expect(conn.openSender('/devices/d1/messages/events')).rejects.toThrow(/unauthorized-access/);
  });

  it('a token that expires without renewal detaches the links with amqp:unauthorized-access', async () => {
    const t = await testHub();
    const conn = await connectBare(t);
    const cbs = await openCbs(conn);
    const aud = `${hostOf(t)}/devices/d1`;
    expect(
      statusOf(await cbs.request(putTokenRequest(aud, deviceToken(t, 'd1', { expiresInSeconds: 60 })))).code,
    ).toBe(200);
    const s = await conn.openSender('/devices/d1/messages/events');
    const closed = new Promise<unknown>((resolve) => s.once('close', resolve));
    t.advance(59_000);
    expect((await s.send({ body: 'still ok' }))?.type).toBe('accepted');
    t.advance(1_000);
    expect(errorOf(await closed)).toBe('amqp:unauthorized-access');
    // The accepted message is kept.
    expect(t.hub.state.telemetry.size(t.hub.state.telemetry.partitionOf('d1'))).toBe(1);
  });

  it('a renewal on the same CBS links extends the authorization', async () => {
    const t = await testHub();
    const conn = await connectBare(t);
    const cbs = await openCbs(conn);
    const aud = `${hostOf(t)}/devices/d1`;
    await cbs.request(putTokenRequest(aud, deviceToken(t, 'd1', { expiresInSeconds: 60 })));
    const s = await conn.openSender('/devices/d1/messages/events');
    t.advance(45_000);
    expect(
      statusOf(await cbs.request(putTokenRequest(aud, deviceToken(t, 'd1', { expiresInSeconds: 60 })))).code,
    ).toBe(200);
    t.advance(30_000);
    expect((await s.send({ body: 'renewed' }))?.type).toBe('accepted');
    t.advance(31_000);
    await until(() => s.link.local === 'detached');
  });
});

describe('authorization', () => {
  it("a device cannot use another device's links (amqp:unauthorized-access)", async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    await expect(conn.openSender('/devices/d2/messages/events')).rejects.toThrow(/unauthorized-access/);
    await expect(conn.openReceiver('/devices/d2/messages/devicebound')).rejects.toThrow(
      /unauthorized-access/,
    );
    await expect(conn.openSender('/messages/devicebound')).rejects.toThrow(/unauthorized-access/);
    await expect(conn.openReceiver('/messages/serviceBound/feedback')).rejects.toThrow(/unauthorized-access/);
    // The refused attaches did not touch d1's own links.
    expect((await (await conn.openSender('/devices/d1/messages/events')).send({ body: 'mine' }))?.type).toBe(
      'accepted',
    );
  });

  it('an unknown device gets amqp:not-found; the service policy has no DeviceConnect', async () => {
    const t = await testHub();
    const owner = await connectService(t, 'iothubowner', serviceToken(t, 'iothubowner'));
    await expect(owner.openSender('/devices/ghost/messages/events')).rejects.toThrow(/not-found/);
    const svc = await connectService(t, 'service');
    await expect(svc.openSender('/devices/d1/messages/events')).rejects.toThrow(/unauthorized-access/);
    // iothubowner (DeviceConnect) may act for a device; the event says so.
    const s = await owner.openSender('/devices/d1/messages/events');
    expect((await s.send({ body: 'as owner' }))?.type).toBe('accepted');
    const e = t.hub.state.openEventCursor(t.hub.state.telemetry.partitionOf('d1')).next()!;
    expect(JSON.parse(String(ann(e.message, 'iothub-connection-auth-method'))).scope).toBe('hub');
  });

  it('a module token sends module telemetry; the event names the module', async () => {
    const t = await testHub();
    const m = t.hub.state.registry.addModule('d1', 'm1');
    const token = generateSasToken({ resourceUri: `${hostOf(t)}/devices/d1/modules/m1`, key: m.primaryKey });
    const conn = await connectPlain(t, `d1/modules/m1@sas.${t.hub.hubName}`, token);
    const s = await conn.openSender('/devices/d1/modules/m1/messages/events');
    expect((await s.send({ body: 'from module' }))?.type).toBe('accepted');
    const e = t.hub.state.openEventCursor(t.hub.state.telemetry.partitionOf('d1')).next()!;
    expect(ann(e.message, 'iothub-connection-module-id')).toBe('m1');
    expect(JSON.parse(String(ann(e.message, 'iothub-connection-auth-method'))).scope).toBe('module');
    // A module token is not the device's.
    await expect(conn.openSender('/devices/d1/messages/events')).rejects.toThrow(/unauthorized-access/);
  });

  it("methods and twin attach with the device's own token; unknown addresses are not found", async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    await conn.openReceiver('/devices/d1/methods/devicebound');
    await conn.openSender('/devices/d1/twin');
    await expect(conn.openSender('/devices/d2/twin')).rejects.toThrow(/unauthorized-access/);
    await expect(conn.openSender('/no/such/node')).rejects.toThrow(/not-found/);
  });

  it('X.509: a client certificate from the hub CA with CN = device id, without SASL', async () => {
    const t = await testHub({ tlsPort: 0 });
    t.hub.state.registry.updateDevice('d1', { authType: 'certificateAuthority' });
    const caKey = await readFile(path.join(path.dirname(t.hub.caFile!), 'ca-key.pem'), 'utf8');
    const cert = issueCertificate(
      { certPem: t.hub.caPem!, keyPem: caKey },
      { commonName: 'd1', validDays: 1, usage: 'client' },
    );
    const conn = await connect({
      host: 'localhost',
      port: t.hub.tlsPort!,
      sasl: 'none',
      tls: { ca: t.hub.caPem!, cert: cert.certPem, key: cert.keyPem },
    });
    try {
      const s = await conn.openSender('/devices/d1/messages/events');
      expect((await s.send({ body: 'x509' }))?.type).toBe('accepted');
      const e = t.hub.state.openEventCursor(t.hub.state.telemetry.partitionOf('d1')).next()!;
      expect(JSON.parse(String(ann(e.message, 'iothub-connection-auth-method'))).type).toBe('x509CA');
      await expect(conn.openSender('/devices/d2/messages/events')).rejects.toThrow(/unauthorized-access/);
    } finally {
      await conn.close();
    }
  });
});

async function connectPlainMech(t: Awaited<ReturnType<typeof testHub>>, mech: 'MSSBCBS' | 'ANONYMOUS') {
  return track(
    connect({
      host: '127.0.0.1',
      port: t.hub.port,
      hostname: 'localhost',
      sasl: mech === 'MSSBCBS' ? mssbcbsClient() : 'ANONYMOUS',
    }),
  );
}
