/**
 * The emulator's twin and direct method routes over real HTTPS, as IoT Hub answers them: the twin
 * JSON shape with etags in the body and the ETag header, If-Match, PATCH merging and PUT
 * replacing, reported properties refused, the right each route needs, DeviceNotOnline 404103 in
 * IoT Hub's error JSON, and a deleted module's twin forgotten. Our RegistryClient and device
 * clients over the same routes: test/iothub/client/twin-methods-rest.integration.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { call, policyToken } from './rest-support.js';
import { withoutMetadata } from '../../support/twin-metadata.js';

let hub: IotHubEmulator;

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, devices: ['tw1', 'tw2'] });
  hub.state.registry.setPolicy('reader', { rights: ['RegistryRead'] });
  hub.state.registry.setPolicy('writer', { rights: ['RegistryWrite'] });
  hub.state.registry.setPolicy('service', { rights: ['ServiceConnect'] });
});

afterAll(async () => {
  await hub?.close();
});

const errorOf = (a: { body: { Message: string }; headers: Record<string, unknown> }) => ({
  name: /^ErrorCode:([^;]+);/.exec(a.body.Message)?.[1],
  header: a.headers['iothub-errorcode'],
});

describe('twins over REST', () => {
  it('GET: the service shape, the etag in the body and the header', async () => {
    const a = await call(hub, 'GET', '/twins/tw1');
    expect(a.status).toBe(200);
    expect(withoutMetadata(a.body)).toEqual({
      deviceId: 'tw1',
      etag: a.body.etag,
      deviceEtag: a.body.deviceEtag,
      modelId: '',
      status: 'enabled',
      connectionState: 'Disconnected',
      authenticationType: 'sas',
      version: 1,
      tags: {},
      properties: { desired: { $version: 1 }, reported: { $version: 1 } },
      capabilities: { iotEdge: false },
    });
    expect(a.headers.etag).toBe(`"${a.body.etag}"`);
    expect(a.body.properties.desired.$metadata).toEqual({
      $lastUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
      $lastUpdatedVersion: 1,
    });
    expect(a.body.properties.reported.$metadata).toEqual({ $lastUpdated: expect.any(String) });
  });

  it('PATCH merges (null removes), a stale If-Match is 412, PUT replaces', async () => {
    const t0 = (await call(hub, 'GET', '/twins/tw2')).body;
    const p1 = await call(hub, 'PATCH', '/twins/tw2', {
      body: { tags: { a: 1, b: 2 }, properties: { desired: { x: 1, y: 2 } } },
      headers: { 'If-Match': `"${t0.etag}"` },
    });
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({
      version: 2,
      tags: { a: 1, b: 2 },
      properties: { desired: { x: 1, y: 2, $version: 2 } },
    });
    const p2 = await call(hub, 'PATCH', '/twins/tw2', {
      body: { tags: { a: null }, properties: { desired: { y: null } } },
      headers: { 'If-Match': '"*"' },
    });
    expect(p2.body).toMatchObject({ tags: { b: 2 }, properties: { desired: { x: 1, $version: 3 } } });
    const stale = await call(hub, 'PATCH', '/twins/tw2', {
      body: { tags: { c: 3 } },
      headers: { 'If-Match': `"${t0.etag}"` },
    });
    expect(stale.status).toBe(412);
    expect(errorOf(stale)).toEqual({ name: 'PreconditionFailed', header: 'PreconditionFailed' });
    const put = await call(hub, 'PUT', '/twins/tw2', { body: { properties: { desired: { z: 9 } } } });
    expect(put.body).toMatchObject({ tags: {}, properties: { desired: { z: 9, $version: 4 } } });
    expect(hub.state.getTwin('tw2').tags).toEqual({});
  });

  it('reported properties are refused; unknown device and module are 404 with their names', async () => {
    const r = await call(hub, 'PATCH', '/twins/tw1', { body: { properties: { reported: { a: 1 } } } });
    expect(r.status).toBe(400);
    expect(errorOf(r).name).toBe('ArgumentInvalid');
    expect(hub.state.getTwin('tw1').version).toBe(1);
    expect(errorOf(await call(hub, 'GET', '/twins/nobody'))).toEqual({
      name: 'DeviceNotFound',
      header: 'DeviceNotFound',
    });
    expect(errorOf(await call(hub, 'GET', '/twins/tw1/modules/none')).name).toBe('ModuleNotFound');
  });

  it('rights: ServiceConnect or RegistryRead reads, ServiceConnect or RegistryWrite writes, ServiceConnect invokes; others 401', async () => {
    const as = (p: string) => ({ token: policyToken(hub, p) });
    expect((await call(hub, 'GET', '/twins/tw1', as('reader'))).status).toBe(200);
    expect((await call(hub, 'PATCH', '/twins/tw1', { ...as('reader'), body: { tags: {} } })).status).toBe(
      401,
    );
    expect((await call(hub, 'PATCH', '/twins/tw1', { ...as('writer'), body: { tags: {} } })).status).toBe(
      200,
    );
    // ServiceConnect reads twins and writes their tags and desired properties (docs/iothub-rest.md).
    expect((await call(hub, 'GET', '/twins/tw1', as('service'))).status).toBe(200);
    expect((await call(hub, 'GET', '/twins/tw1/modules/none', as('service'))).status).toBe(404);
    const byService = await call(hub, 'PATCH', '/twins/tw1', {
      ...as('service'),
      body: { properties: { desired: { by: 'service' } } },
    });
    expect(byService.status).toBe(200);
    expect(hub.state.getTwin('tw1').properties.desired).toMatchObject({ by: 'service' });
    expect(
      (await call(hub, 'PUT', '/twins/tw1', { ...as('service'), body: { tags: { t: 1 } } })).status,
    ).toBe(200);
    expect(hub.state.getTwin('tw1').tags).toEqual({ t: 1 });
    // A device's own key (DeviceConnect) reaches neither.
    const own = generateSasToken({
      resourceUri: 'localhost/devices/tw1',
      key: hub.state.registry.getDevice('tw1')!.primaryKey,
    });
    expect((await call(hub, 'GET', '/twins/tw1', { token: own })).status).toBe(401);
    expect((await call(hub, 'PATCH', '/twins/tw1', { token: own, body: { tags: {} } })).status).toBe(401);
    const m = { methodName: 'x' };
    expect((await call(hub, 'POST', '/twins/tw1/methods', { ...as('writer'), body: m })).status).toBe(401);
    expect((await call(hub, 'POST', '/twins/tw1/methods', { ...as('service'), body: m })).status).toBe(404);
  });

  it('deleting a module through REST forgets its twin', async () => {
    await call(hub, 'PUT', '/devices/tw1/modules/gone', { body: { moduleId: 'gone' } });
    await call(hub, 'PATCH', '/twins/tw1/modules/gone', { body: { tags: { kept: true } } });
    expect(hub.state.getTwin('tw1', 'gone').tags).toEqual({ kept: true });
    expect((await call(hub, 'DELETE', '/devices/tw1/modules/gone')).status).toBe(204);
    await call(hub, 'PUT', '/devices/tw1/modules/gone', { body: { moduleId: 'gone' } });
    expect(hub.state.getTwin('tw1', 'gone')).toMatchObject({ version: 1, tags: {} });
  });
});

describe('direct methods over REST', () => {
  it('a device without a method link: 404103 DeviceNotOnline in IoT Hub error JSON', async () => {
    const a = await call(hub, 'POST', '/twins/tw1/methods', {
      body: { methodName: 'reboot', payload: null, responseTimeoutInSeconds: 30, connectTimeoutInSeconds: 0 },
    });
    expect(a.status).toBe(404);
    expect(errorOf(a)).toEqual({ name: 'DeviceNotOnline', header: 'DeviceNotOnline' });
  });

  it('a body without a methodName, or timeouts that are not numbers: 400', async () => {
    for (const body of [{}, { methodName: '' }, { methodName: 'x', responseTimeoutInSeconds: '30' }, [1]]) {
      const a = await call(hub, 'POST', '/twins/tw1/methods', { body });
      expect([a.status, errorOf(a).name], JSON.stringify(body)).toEqual([
        400,
        expect.stringMatching(/^Argument/),
      ]);
    }
  });
});
