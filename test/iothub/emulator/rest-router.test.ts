/**
 * The REST API's pure parts, without sockets: route matching, the api-version, authorization by
 * token and right, reading identity bodies, and the error body, read back by azure-iothub's own
 * parser and error translator.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Registry } from '../../../src/iothub/hub/registry.js';
import type { AuthConfig } from '../../../src/iothub/emulator/auth.js';
import {
  RestError,
  restErrorResponse,
  type RestErrorCode,
} from '../../../src/iothub/emulator/rest-errors.js';
import {
  REST_API_VERSIONS,
  RouteTable,
  authorize,
  checkApiVersion,
  type RestRoute,
} from '../../../src/iothub/emulator/rest-router.js';
import { etagOf, identitySpecOf, ifMatchOf } from '../../../src/iothub/emulator/rest-registry.js';
import { splitTarget } from '../../../src/iothub/emulator/rest-server.js';
import { generateSasToken } from '../../../src/iothub/sas.js';

const require = createRequire(import.meta.url);
const { Http } = require('azure-iothub/dist/common-http/http.js') as {
  Http: { parseErrorBody(body: string): { code: string; message: string } | null };
};
const { RestApiClient } = require('azure-iothub/dist/common-http/rest_api_client.js') as {
  RestApiClient: { translateError(body: string, response: { statusCode: number }): Error };
};

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const route = (
  method: RestRoute['method'],
  pattern: string,
  right: RestRoute['right'] = 'RegistryRead',
): RestRoute => ({
  method,
  pattern,
  right,
  handle: () => ({ status: 200 }),
});

function codeOf(fn: () => unknown): RestErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof RestError) return e.code;
    throw e;
  }
  return undefined;
}

describe('RouteTable', () => {
  const table = new RouteTable()
    .add(route('GET', '/devices'))
    .add(route('GET', '/devices/{deviceId}'))
    .add(route('PUT', '/devices/{deviceId}', 'RegistryWrite'))
    .add(route('GET', '/devices/{deviceId}/modules/{moduleId}'));

  it('matches by method and segments; params are decoded; literals ignore case; empty segments do not count', () => {
    expect(table.match('GET', '/devices/a%2Fb').params).toEqual({ deviceId: 'a/b' });
    expect(table.match('PUT', '/devices/d1').route.right).toBe('RegistryWrite');
    expect(table.match('GET', '/Devices/d1/MODULES/m1').params).toEqual({ deviceId: 'd1', moduleId: 'm1' });
    expect(table.match('GET', '/devices/').route.pattern).toBe('/devices');
    expect(table.match('GET', '//devices//d1').params).toEqual({ deviceId: 'd1' });
  });

  it('an unknown path is NotFound, a known one with another method MethodNotAllowed, bad escapes ArgumentInvalid', () => {
    expect(codeOf(() => table.match('GET', '/twins/d1'))).toBe('NotFound');
    expect(codeOf(() => table.match('DELETE', '/devices/d1'))).toBe('MethodNotAllowed');
    expect(codeOf(() => table.match('GET', '/devices/%E0%A4%A'))).toBe('ArgumentInvalid');
  });

  it('a second route for the same method and shape is refused (routes are added by other modules)', () => {
    expect(() => table.add(route('GET', '/devices/{id}'))).toThrow(TypeError);
    expect(() => table.add(route('DELETE', '/devices/{id}'))).not.toThrow();
  });

  it('any id an URI-encoding client sends comes back as it was', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (id) => {
        expect(table.match('GET', `/devices/${encodeURIComponent(id)}`).params.deviceId).toBe(id);
      }),
    );
  });

  it('splitTarget keeps `//x` a path and reads the query', () => {
    const t = splitTarget('//devices?api-version=2021-04-12&top=5');
    expect(t.path).toBe('//devices');
    expect([t.query.get('api-version'), t.query.get('top')]).toEqual(['2021-04-12', '5']);
    expect(codeOf(() => splitTarget('http://elsewhere/devices'))).toBe('NotFound');
  });
});

describe('checkApiVersion', () => {
  it("takes azure-iothub 1.16's versions and nothing else", () => {
    expect(REST_API_VERSIONS).toEqual(['2021-04-12', '2020-09-30']);
    for (const v of REST_API_VERSIONS)
      expect(checkApiVersion(new URLSearchParams({ 'api-version': v }))).toBe(v);
    for (const q of ['', 'api-version=', 'api-version=2018-06-30', 'api-version=2021-04-12x'])
      expect(codeOf(() => checkApiVersion(new URLSearchParams(q)))).toBe('InvalidProtocolVersion');
  });
});

describe('authorize', () => {
  const registry = new Registry({ clock: { now: () => NOW } });
  registry.setPolicy('reader', { rights: ['RegistryRead'] });
  registry.setPolicy('writer', { rights: ['RegistryWrite'] });
  const d1 = registry.addDevice('d1');
  const cfg: AuthConfig = {
    registry,
    hubName: 'h',
    eventHubName: 'h',
    hosts: new Set(['localhost']),
    ports: () => [8443],
  };
  const policyToken = (policy: string, resourceUri = 'localhost', now = NOW): string =>
    generateSasToken({ resourceUri, key: registry.getPolicy(policy)!.primaryKey, policyName: policy, now });
  const refused = (header: string | undefined, right: RestRoute['right'], path: string, params = {}) =>
    codeOf(() => authorize(cfg, header, right, path, params, NOW));

  it('a policy token with the right passes, and gives its grant', () => {
    const g = authorize(
      cfg,
      policyToken('iothubowner'),
      'RegistryWrite',
      '/devices/d1',
      { deviceId: 'd1' },
      NOW,
    );
    expect(g).toMatchObject({ kind: 'policy', policy: 'iothubowner' });
    expect(refused(policyToken('iothubowner', 'localhost:8443'), 'RegistryRead', '/devices')).toBeUndefined();
  });

  it('the wrong right is refused: service has ServiceConnect only, reader cannot write', () => {
    expect(refused(policyToken('service'), 'RegistryRead', '/devices')).toBe('IotHubUnauthorizedAccess');
    expect(refused(policyToken('reader'), 'RegistryRead', '/devices')).toBeUndefined();
    expect(refused(policyToken('reader'), 'RegistryWrite', '/devices/d1')).toBe('IotHubUnauthorizedAccess');
  });

  it('a route that takes any of several rights passes a token with one of them, and no other', () => {
    const either: RestRoute['right'] = ['ServiceConnect', 'RegistryWrite'];
    expect(refused(policyToken('service'), either, '/twins/d1', { deviceId: 'd1' })).toBeUndefined();
    expect(refused(policyToken('writer'), either, '/twins/d1', { deviceId: 'd1' })).toBeUndefined();
    expect(refused(policyToken('reader'), either, '/twins/d1', { deviceId: 'd1' })).toBe(
      'IotHubUnauthorizedAccess',
    );
    expect(refused(policyToken('reader'), [], '/twins/d1', { deviceId: 'd1' })).toBe(
      'IotHubUnauthorizedAccess',
    );
  });

  it('RegistryWrite includes RegistryRead, as the service has it', () => {
    expect(refused(policyToken('writer'), 'RegistryRead', '/devices')).toBeUndefined();
  });

  it("a token's scope bounds it: sr=localhost/devices/d1 covers d1, not d2 nor the list", () => {
    const t = policyToken('iothubowner', 'localhost/devices/d1');
    expect(refused(t, 'RegistryRead', '/devices/d1', { deviceId: 'd1' })).toBeUndefined();
    expect(refused(t, 'RegistryRead', '/devices/d2', { deviceId: 'd2' })).toBe('IotHubUnauthorizedAccess');
    expect(refused(t, 'RegistryRead', '/devices')).toBe('IotHubUnauthorizedAccess');
  });

  it("a device's token is DeviceConnect on itself only", () => {
    const t = generateSasToken({ resourceUri: 'localhost/devices/d1', key: d1.primaryKey, now: NOW });
    expect(refused(t, 'DeviceConnect', '/devices/d1', { deviceId: 'd1' })).toBeUndefined();
    expect(refused(t, 'DeviceConnect', '/devices/d2', { deviceId: 'd2' })).toBe('IotHubUnauthorizedAccess');
    expect(refused(t, 'RegistryRead', '/devices/d1', { deviceId: 'd1' })).toBe('IotHubUnauthorizedAccess');
  });

  it('missing, not SAS, expired, another hub, a wrong key: all the same 401', () => {
    const other = generateSasToken({
      resourceUri: 'localhost',
      key: d1.primaryKey,
      policyName: 'iothubowner',
      now: NOW,
    });
    for (const h of [
      undefined,
      '',
      'Bearer x',
      'SharedAccessSignature garbage',
      policyToken('iothubowner', 'localhost', NOW - 7_200_000),
      policyToken('iothubowner', 'elsewhere.azure-devices.net'),
      policyToken('iothubowner', 'localhost:9999'),
      other,
    ])
      expect(refused(h, 'RegistryRead', '/devices')).toBe('IotHubUnauthorizedAccess');
  });
});

describe('identity bodies', () => {
  const ids = { deviceId: 'd1' };
  const key = Buffer.from('1234567890qwerty').toString('base64');

  it('an authentication without type is read as azure-iothub normalises it', () => {
    expect(identitySpecOf({ authentication: { symmetricKey: { primaryKey: key } } }, ids, 'device')).toEqual({
      authType: 'sas',
      primaryKey: key,
    });
    expect(
      identitySpecOf(
        { authentication: { x509Thumbprint: { primaryThumbprint: 'a'.repeat(40) } } },
        ids,
        'device',
      ),
    ).toEqual({ authType: 'selfSigned', primaryThumbprint: 'a'.repeat(40), secondaryThumbprint: '' });
    expect(identitySpecOf({ authentication: { type: 'certificateAuthority' } }, ids, 'device')).toEqual({
      authType: 'certificateAuthority',
    });
  });

  it("empty keys (azure-iothub's default) mean generate or keep; status is read without case", () => {
    const spec = identitySpecOf(
      {
        status: 'Disabled',
        authentication: { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } },
      },
      ids,
      'device',
    );
    expect(spec).toEqual({ authType: 'sas', status: 'disabled' });
  });

  it('bad values are ArgumentInvalid, no object ArgumentNull', () => {
    const bad = [
      { deviceId: 'other' },
      { status: 'paused' },
      { statusReason: 'x'.repeat(129) },
      { capabilities: { iotEdge: 'yes' } },
      { authentication: { type: 'none' } },
      { authentication: { type: 'selfSigned' } },
      { authentication: { symmetricKey: { primaryKey: 'abc' } } },
      { authentication: { symmetricKey: { primaryKey: Buffer.alloc(15).toString('base64') } } },
      { authentication: { x509Thumbprint: { primaryThumbprint: 'g'.repeat(40) } } },
      { authentication: 'sas' },
    ];
    for (const b of bad)
      expect(
        codeOf(() => identitySpecOf(b, ids, 'device')),
        JSON.stringify(b),
      ).toBe('ArgumentInvalid');
    for (const b of [undefined, null, [], 'x'])
      expect(codeOf(() => identitySpecOf(b, ids, 'device'))).toBe('ArgumentNull');
    expect(
      codeOf(() => identitySpecOf({ moduleId: 'm2' }, { deviceId: 'd1', moduleId: 'm1' }, 'module')),
    ).toBe('ArgumentInvalid');
  });

  it('etags are base64 of the version; If-Match loses its quotes and weak prefix', () => {
    expect(etagOf(199257414)).toBe('MTk5MjU3NDE0');
    const h = (v: string) => new Map([['if-match', v]]);
    expect(ifMatchOf(h('"MQ=="'))).toBe('MQ==');
    expect(ifMatchOf(h('W/"MQ=="'))).toBe('MQ==');
    expect(ifMatchOf(h('*'))).toBe('*');
    expect(ifMatchOf(new Map())).toBeUndefined();
  });
});

describe('the error body, as azure-iothub reads it', () => {
  it('parseErrorBody finds the code and message; the tracking id has the hub time', () => {
    const r = restErrorResponse(new RestError('DeviceNotFound', 'Device d9 not registered'), NOW);
    expect(r.status).toBe(404);
    expect(r.headers['iothub-errorcode']).toBe('DeviceNotFound');
    expect(Http.parseErrorBody(r.body)).toEqual({
      code: 'DeviceNotFound',
      message: 'Device d9 not registered',
    });
    expect(JSON.parse(r.body).ExceptionMessage).toMatch(
      /^Tracking ID:[0-9a-f]{32}-G:0-TimeStamp:01\/02\/2026 03:04:05$/,
    );
  });

  it('a semicolon in the text cannot cut the message short', () => {
    const r = restErrorResponse(new RestError('ArgumentInvalid', 'a; b'), NOW);
    expect(Http.parseErrorBody(r.body)?.message).toBe('a, b');
  });

  it("translateError gives azure-iothub's typed errors for our answers", () => {
    const cases: [RestErrorCode, string][] = [
      ['DeviceNotFound', 'DeviceNotFoundError'],
      ['PreconditionFailed', 'InvalidEtagError'],
      ['IotHubUnauthorizedAccess', 'UnauthorizedError'],
      ['DeviceAlreadyExists', 'DeviceAlreadyExistsError'],
      ['ArgumentInvalid', 'ArgumentError'],
      ['ServerError', 'InternalServerError'],
    ];
    for (const [code, name] of cases) {
      const r = restErrorResponse(new RestError(code, 'x'), NOW);
      expect(RestApiClient.translateError(r.body, { statusCode: r.status }).name, code).toBe(name);
    }
  });
});
