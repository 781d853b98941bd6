/**
 * The emulator's REST API (the registry) over real HTTPS on its HTTPS port: devices and modules
 * created, read, listed, replaced and deleted with etags; SAS, selfSigned and certificateAuthority
 * identities; IoT Hub's error JSON; the right each route needs; the api-version; what reaches the
 * registry file. azure-iothub's own Registry against it: azure-iothub-registry.test.ts.
 */
import { stat, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { DeviceClient } from '../../../src/iothub/client/index.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { cleanup, tempDir } from './helpers.js';
import { call, policyToken } from './rest-support.js';

let hub: IotHubEmulator;
const KEY_A = Buffer.from('1234567890qwerty').toString('base64');
const KEY_B = Buffer.from('ytrewq0987654321').toString('base64');
const PRINT_A = 'A'.repeat(40);
const PRINT_B = '0123456789abcdef'.repeat(4);
/** An etag no identity has ("stale" in base64). */
const STALE = '"c3RhbGU="';

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0 });
  hub.state.registry.setPolicy('reader', { rights: ['RegistryRead'] });
  hub.state.registry.setPolicy('writer', { rights: ['RegistryWrite'] });
});

afterAll(async () => {
  await hub?.close();
  await cleanup();
});

/** The error name and text of IoT Hub's error body, as azure-iothub reads them. */
function hubError(body: { Message?: string; ExceptionMessage?: string }): { code: string; message: string } {
  const m = /^ErrorCode:([^;]+);([^;]+)/.exec(body.Message ?? '');
  expect(m, `an IoT Hub error body: ${JSON.stringify(body)}`).not.toBeNull();
  expect(body.ExceptionMessage).toMatch(
    /^Tracking ID:[0-9a-f]{32}-G:0-TimeStamp:\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/,
  );
  return { code: m![1]!, message: m![2]! };
}

describe('devices', () => {
  it('create with only an id: keys generated, sas, enabled, an etag in the body and the header', async () => {
    const a = await call(hub, 'PUT', '/devices/rest-d1', { body: { deviceId: 'rest-d1' } });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({
      deviceId: 'rest-d1',
      status: 'enabled',
      statusReason: null,
      connectionState: 'Disconnected',
      cloudToDeviceMessageCount: 0,
      capabilities: { iotEdge: false },
      authentication: { type: 'sas', x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null } },
    });
    expect(a.body.generationId).toMatch(/^\d{18}$/);
    expect(Buffer.from(a.body.authentication.symmetricKey.primaryKey, 'base64')).toHaveLength(32);
    expect(a.headers.etag).toBe(`"${a.body.etag}"`);
    expect(a.body.lastActivityTime).toBe('0001-01-01T00:00:00Z');
    const stored = hub.state.registry.getDevice('rest-d1')!;
    expect(a.body.authentication.symmetricKey.primaryKey).toBe(stored.primaryKey);
  });

  it('create of an id that exists: 409 DeviceAlreadyExists with iothub-errorcode', async () => {
    const a = await call(hub, 'PUT', '/devices/rest-d1', { body: { deviceId: 'rest-d1' } });
    expect(a.status).toBe(409);
    expect(a.headers['iothub-errorcode']).toBe('DeviceAlreadyExists');
    expect(hubError(a.body).code).toBe('DeviceAlreadyExists');
  });

  it('create with keys and status disabled keeps them; the keys work over AMQP once enabled', async () => {
    const a = await call(hub, 'PUT', '/devices/rest-keys', {
      body: {
        deviceId: 'rest-keys',
        status: 'disabled',
        authentication: { symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B } },
      },
    });
    expect(a.status).toBe(200);
    expect(a.body.status).toBe('disabled');
    expect(a.body.authentication.symmetricKey).toEqual({ primaryKey: KEY_A, secondaryKey: KEY_B });
    const en = await call(hub, 'PUT', '/devices/rest-keys', {
      body: { ...a.body, status: 'enabled' },
      headers: { 'If-Match': `"${a.body.etag}"` },
    });
    expect(en.status).toBe(200);
    expect(en.body.statusUpdatedTime).not.toBe('0001-01-01T00:00:00Z');
    const cs = `HostName=${hub.hostName};DeviceId=rest-keys;SharedAccessKey=${KEY_B}`;
    const device = DeviceClient.fromConnectionString(cs, { tls: { ca: hub.caPem }, reconnect: false });
    try {
      await device.sendEvent('made over REST');
    } finally {
      await device.close();
    }
  });

  it('keys that are not base64 of 16 to 64 bytes: 400 ArgumentInvalid', async () => {
    for (const primaryKey of [
      'not base64!',
      Buffer.alloc(8).toString('base64'),
      Buffer.alloc(65).toString('base64'),
    ]) {
      const a = await call(hub, 'PUT', '/devices/rest-badkey', {
        body: { deviceId: 'rest-badkey', authentication: { symmetricKey: { primaryKey } } },
      });
      expect(a.status).toBe(400);
      expect(hubError(a.body).code).toBe('ArgumentInvalid');
    }
    expect(hub.state.registry.getDevice('rest-badkey')).toBeUndefined();
  });

  it('an id the hub does not allow (invalid/name): 400, nothing created', async () => {
    const a = await call(hub, 'PUT', `/devices/${encodeURIComponent('invalid/name')}`, {
      body: { deviceId: 'invalid/name' },
    });
    expect(a.status).toBe(400);
    expect(hubError(a.body).code).toBe('ArgumentInvalid');
  });

  it('a body deviceId other than the path one: 400', async () => {
    const a = await call(hub, 'PUT', '/devices/rest-x', { body: { deviceId: 'rest-y' } });
    expect(a.status).toBe(400);
    expect(hubError(a.body).message).toContain('rest-y');
  });

  it('a body that is not JSON: 400 IotHubFormatError; no body: 400 ArgumentNull', async () => {
    const notJson = await rawJson('/devices/rest-x', '{nope');
    expect(notJson.status).toBe(400);
    expect(hubError(notJson.body).code).toBe('IotHubFormatError');
    const none = await call(hub, 'PUT', '/devices/rest-x', {});
    expect(none.status).toBe(400);
    expect(hubError(none.body).code).toBe('ArgumentNull');
  });

  it('selfSigned with thumbprints and certificateAuthority: stored and shown, no keys shown', async () => {
    const self = await call(hub, 'PUT', '/devices/rest-x509', {
      body: {
        deviceId: 'rest-x509',
        authentication: { x509Thumbprint: { primaryThumbprint: PRINT_A, secondaryThumbprint: PRINT_B } },
      },
    });
    expect(self.status).toBe(200);
    expect(self.body.authentication).toEqual({
      symmetricKey: { primaryKey: null, secondaryKey: null },
      x509Thumbprint: { primaryThumbprint: PRINT_A, secondaryThumbprint: PRINT_B },
      type: 'selfSigned',
    });
    const ca = await call(hub, 'PUT', '/devices/rest-ca', {
      body: { deviceId: 'rest-ca', authentication: { type: 'certificateAuthority' } },
    });
    expect(ca.status).toBe(200);
    expect(ca.body.authentication.type).toBe('certificateAuthority');
    expect(ca.body.authentication.symmetricKey).toEqual({ primaryKey: null, secondaryKey: null });
    const got = await call(hub, 'GET', '/devices/rest-x509');
    expect(got.body.authentication.x509Thumbprint.primaryThumbprint).toBe(PRINT_A);
    const badPrint = await call(hub, 'PUT', '/devices/rest-x509b', {
      body: {
        deviceId: 'rest-x509b',
        authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: 'zz' } },
      },
    });
    expect(badPrint.status).toBe(400);
  });

  it('an X.509 identity has no usable SAS key: a token signed with its inner key is refused', async () => {
    // The hub's connection string for it names no key; a client given the inner key anyway is refused.
    expect(hub.deviceConnectionString('rest-x509')).toBe(
      `HostName=${hub.hostName};DeviceId=rest-x509;x509=true`,
    );
    const inner = hub.state.registry.getDevice('rest-x509')!.primaryKey;
    const cs = `HostName=${hub.hostName};DeviceId=rest-x509;SharedAccessKey=${inner}`;
    const device = DeviceClient.fromConnectionString(cs, { tls: { ca: hub.caPem }, reconnect: false });
    try {
      await expect(device.sendEvent('x')).rejects.toMatchObject({ code: 'IOTHUB_UNAUTHORIZED' });
    } finally {
      await device.close();
    }
  });

  it('get: the device, or 404 DeviceNotFound', async () => {
    const a = await call(hub, 'GET', '/devices/rest-d1');
    expect(a.status).toBe(200);
    expect(a.body.deviceId).toBe('rest-d1');
    const b = await call(hub, 'GET', '/devices/nobody-here');
    expect(b.status).toBe(404);
    expect(hubError(b.body)).toEqual({
      code: 'DeviceNotFound',
      message: 'Device nobody-here not registered',
    });
  });

  it('list: every device (GET /devices and /devices/), `top` bounds it', async () => {
    for (const p of ['/devices', '/devices/']) {
      const a = await call(hub, 'GET', p);
      expect(a.status).toBe(200);
      const ids = (a.body as { deviceId: string }[]).map((d) => d.deviceId);
      expect(ids).toEqual(expect.arrayContaining(['rest-d1', 'rest-keys', 'rest-x509', 'rest-ca']));
    }
    const one = await call(hub, 'GET', '/devices?top=1');
    expect(one.body).toHaveLength(1);
    expect((await call(hub, 'GET', '/devices?top=0')).status).toBe(400);
  });

  it('update: a stale etag gets 412, the current one and "*" succeed, each with a new etag', async () => {
    const cur = await call(hub, 'GET', '/devices/rest-d1');
    const body = { deviceId: 'rest-d1', status: 'disabled', statusReason: 'maintenance' };
    const stale = await call(hub, 'PUT', '/devices/rest-d1', { body, headers: { 'If-Match': STALE } });
    expect(stale.status).toBe(412);
    expect(hubError(stale.body).code).toBe('PreconditionFailed');
    const ok = await call(hub, 'PUT', '/devices/rest-d1', {
      body,
      headers: { 'If-Match': `"${cur.body.etag}"` },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'disabled', statusReason: 'maintenance' });
    expect(ok.body.etag).not.toBe(cur.body.etag);
    // Keys not given on update are kept.
    expect(ok.body.authentication.symmetricKey.primaryKey).toBe(
      cur.body.authentication.symmetricKey.primaryKey,
    );
    const star = await call(hub, 'PUT', '/devices/rest-d1', {
      body: { deviceId: 'rest-d1', status: 'enabled' },
      headers: { 'If-Match': '"*"' },
    });
    expect(star.status).toBe(200);
    expect(star.body.etag).not.toBe(ok.body.etag);
    const missing = await call(hub, 'PUT', '/devices/nobody-here', {
      body: { deviceId: 'nobody-here' },
      headers: { 'If-Match': '*' },
    });
    expect(missing.status).toBe(404);
  });

  it('delete: a stale etag gets 412, "*" deletes (204), then 404', async () => {
    await call(hub, 'PUT', '/devices/rest-del', { body: { deviceId: 'rest-del' } });
    const stale = await call(hub, 'DELETE', '/devices/rest-del', { headers: { 'If-Match': STALE } });
    expect(stale.status).toBe(412);
    const del = await call(hub, 'DELETE', '/devices/rest-del', { headers: { 'If-Match': '"*"' } });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await call(hub, 'GET', '/devices/rest-del')).status).toBe(404);
    expect((await call(hub, 'DELETE', '/devices/rest-del', { headers: { 'If-Match': '*' } })).status).toBe(
      404,
    );
  });

  it('a device deleted and created again does not match the old etag', async () => {
    const first = await call(hub, 'PUT', '/devices/rest-again', { body: { deviceId: 'rest-again' } });
    await call(hub, 'DELETE', '/devices/rest-again', { headers: { 'If-Match': '*' } });
    await call(hub, 'PUT', '/devices/rest-again', { body: { deviceId: 'rest-again' } });
    const old = await call(hub, 'DELETE', '/devices/rest-again', {
      headers: { 'If-Match': `"${first.body.etag}"` },
    });
    expect(old.status).toBe(412);
  });
});

describe('modules', () => {
  beforeAll(async () => {
    await call(hub, 'PUT', '/devices/rest-mod-dev', { body: { deviceId: 'rest-mod-dev' } });
  });

  it('create, get, list, update with etag and "*", delete', async () => {
    const base = '/devices/rest-mod-dev/modules';
    const c = await call(hub, 'PUT', `${base}/m1`, { body: { deviceId: 'rest-mod-dev', moduleId: 'm1' } });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({
      deviceId: 'rest-mod-dev',
      moduleId: 'm1',
      connectionState: 'Disconnected',
      authentication: { type: 'sas' },
    });
    expect(c.headers.etag).toBe(`"${c.body.etag}"`);
    expect((await call(hub, 'PUT', `${base}/m1`, { body: { moduleId: 'm1' } })).status).toBe(409);
    const dup = await call(hub, 'PUT', `${base}/m1`, { body: { moduleId: 'm1' } });
    expect(hubError(dup.body).code).toBe('ModuleAlreadyExistsOnDevice');
    const g = await call(hub, 'GET', `${base}/m1`);
    expect(g.body).toEqual(c.body);
    await call(hub, 'PUT', `${base}/m2`, {
      body: { moduleId: 'm2', authentication: { x509Thumbprint: { primaryThumbprint: PRINT_A } } },
    });
    const list = await call(hub, 'GET', base);
    expect((list.body as { moduleId: string }[]).map((m) => m.moduleId).sort()).toEqual(['m1', 'm2']);
    const swapped = {
      ...g.body,
      authentication: {
        type: 'sas',
        symmetricKey: {
          primaryKey: g.body.authentication.symmetricKey.secondaryKey,
          secondaryKey: g.body.authentication.symmetricKey.primaryKey,
        },
      },
    };
    expect(
      (await call(hub, 'PUT', `${base}/m1`, { body: swapped, headers: { 'If-Match': STALE } })).status,
    ).toBe(412);
    const u = await call(hub, 'PUT', `${base}/m1`, {
      body: swapped,
      headers: { 'If-Match': `"${g.body.etag}"` },
    });
    expect(u.status).toBe(200);
    expect(u.body.authentication.symmetricKey.primaryKey).toBe(
      g.body.authentication.symmetricKey.secondaryKey,
    );
    const del = await call(hub, 'DELETE', `${base}/m1`, { headers: { 'If-Match': `"${u.body.etag}"` } });
    expect(del.status).toBe(204);
    const gone = await call(hub, 'GET', `${base}/m1`);
    expect(gone.status).toBe(404);
    expect(hubError(gone.body).code).toBe('ModuleNotFound');
    const noDevice = await call(hub, 'GET', '/devices/nobody-here/modules');
    expect(hubError(noDevice.body).code).toBe('DeviceNotFound');
  });
});

describe('authorization and api-version', () => {
  it('no token, a malformed one, an expired one: 401 IotHubUnauthorizedAccess', async () => {
    for (const token of [
      null,
      'Bearer abc',
      'SharedAccessSignature sr=localhost&sig=x&se=1&skn=iothubowner',
    ]) {
      const a = await call(hub, 'GET', '/devices', { token });
      expect(a.status).toBe(401);
      expect(hubError(a.body).code).toBe('IotHubUnauthorizedAccess');
    }
    const expired = policyToken(hub, 'iothubowner', { now: Date.now() - 3_610_000 });
    expect((await call(hub, 'GET', '/devices', { token: expired })).status).toBe(401);
  });

  it('each route needs its right: service (ServiceConnect) reads nothing, reader reads only, writer also reads', async () => {
    expect((await call(hub, 'GET', '/devices', { token: policyToken(hub, 'service') })).status).toBe(401);
    const reader = policyToken(hub, 'reader');
    expect((await call(hub, 'GET', '/devices/rest-d1', { token: reader })).status).toBe(200);
    const put = await call(hub, 'PUT', '/devices/rest-reader', {
      body: { deviceId: 'rest-reader' },
      token: reader,
    });
    expect(put.status).toBe(401);
    expect((await call(hub, 'DELETE', '/devices/rest-d1', { token: reader })).status).toBe(401);
    expect(hub.state.registry.getDevice('rest-d1')).toBeDefined();
    const writer = policyToken(hub, 'writer');
    expect(
      (await call(hub, 'PUT', '/devices/rest-writer', { body: { deviceId: 'rest-writer' }, token: writer }))
        .status,
    ).toBe(200);
    expect((await call(hub, 'GET', '/devices/rest-writer', { token: writer })).status).toBe(200);
  });

  it("a device's own token (DeviceConnect) is not a registry right", async () => {
    const d = hub.state.registry.getDevice('rest-d1')!;
    const token = generateSasToken({ resourceUri: 'localhost/devices/rest-d1', key: d.primaryKey });
    expect((await call(hub, 'GET', '/devices/rest-d1', { token })).status).toBe(401);
  });

  it('api-version missing or unknown: 400 InvalidProtocolVersion; 2020-09-30 is taken', async () => {
    const none = await call(hub, 'GET', '/devices', { apiVersion: null });
    expect(none.status).toBe(400);
    expect(hubError(none.body).code).toBe('InvalidProtocolVersion');
    const old = await call(hub, 'GET', '/devices', { apiVersion: '2016-11-14' });
    expect(old.status).toBe(400);
    expect(hubError(old.body).message).toContain('2016-11-14');
    expect((await call(hub, 'GET', '/devices', { apiVersion: '2020-09-30' })).status).toBe(200);
  });

  it('an unknown path: 404 NotFound; a method a path does not take: 405', async () => {
    const a = await call(hub, 'GET', '/nothing/here');
    expect(a.status).toBe(404);
    expect(hubError(a.body).code).toBe('NotFound');
    const b = await call(hub, 'POST', '/devices/rest-d1', { body: {} });
    expect(b.status).toBe(405);
  });
});

describe('routes added later (twin and method routes join the table this way)', () => {
  it('hub.restRoutes.add serves a new route with its own right; the checks before it still apply', async () => {
    hub.restRoutes.add({
      method: 'GET',
      pattern: '/statistics/{deviceId}',
      right: 'ServiceConnect',
      handle: (req) => ({ status: 200, body: { deviceId: req.params.deviceId, by: req.grant.policy } }),
    });
    const ok = await call(hub, 'GET', '/statistics/rest-d1', { token: policyToken(hub, 'service') });
    expect([ok.status, ok.body]).toEqual([200, { deviceId: 'rest-d1', by: 'service' }]);
    expect(
      (await call(hub, 'GET', '/statistics/rest-d1', { token: policyToken(hub, 'reader') })).status,
    ).toBe(401);
    expect((await call(hub, 'GET', '/statistics/rest-d1', { apiVersion: '2016-11-14' })).status).toBe(400);
    expect(() =>
      hub.restRoutes.add({
        method: 'GET',
        pattern: '/statistics/{id}',
        right: 'ServiceConnect',
        handle: () => ({ status: 200 }),
      }),
    ).toThrow(TypeError);
  });
});

describe('durability', () => {
  it('a created device is in registry.json (0600) when the answer comes, and its etag survives a restart', async () => {
    const dir = await tempDir();
    const stateDir = path.join(dir, 'state');
    let etag: string;
    {
      const h = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, stateDir });
      try {
        const a = await call(h, 'PUT', '/devices/durable-1', {
          body: { deviceId: 'durable-1', authentication: { type: 'certificateAuthority' } },
        });
        expect(a.status).toBe(200);
        etag = a.body.etag as string;
        const file = path.join(stateDir, 'registry.json');
        const doc = JSON.parse(await readFile(file, 'utf8')) as { devices: { deviceId: string }[] };
        expect(doc.devices.map((d) => d.deviceId)).toContain('durable-1');
        expect((await stat(file)).mode & 0o777).toBe(0o600);
      } finally {
        await h.close();
      }
    }
    const h = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, stateDir });
    try {
      const a = await call(h, 'GET', '/devices/durable-1');
      expect(a.body).toMatchObject({ etag, authentication: { type: 'certificateAuthority' } });
    } finally {
      await h.close();
    }
  });
});

/** A PUT whose body is the given bytes, as they are (not JSON-encoded). */
async function rawJson(p: string, bytes: string) {
  const https = await import('node:https');
  return new Promise<{ status: number; body: { Message?: string; ExceptionMessage?: string } }>(
    (resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: hub.httpsPort,
          method: 'PUT',
          path: `${p}?api-version=2021-04-12`,
          headers: { Authorization: policyToken(hub), 'Content-Type': 'application/json' },
          ca: hub.caPem,
          agent: false,
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(bytes);
    },
  );
}
