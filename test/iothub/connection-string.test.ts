/** Connection strings: service, device and Event Hubs; parsing, every error path, builders, round trips. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmqpOneError } from '../../src/codec/errors.js';
import {
  DeviceConnectionString,
  EventHubsConnectionString,
  IotHubConfigError,
  ServiceConnectionString,
  generateSasToken,
  hubNameOf,
  parseDeviceConnectionString,
  parseEventHubsConnectionString,
  parseServiceConnectionString,
  splitHostPort,
} from '../../src/iothub/index.js';

const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const HOST = 'myhub.azure-devices.net';
const SAS = generateSasToken({ resourceUri: `${HOST}/devices/d1`, key: KEY, expiresAt: 1700000000 });

/** Runs `f`, expects an IotHubConfigError naming `key` (in `.key` and in the message). */
function expectConfigError(f: () => unknown, key: string | undefined, message?: RegExp): IotHubConfigError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(IotHubConfigError);
  expect(caught).toBeInstanceOf(AmqpOneError);
  const e = caught as IotHubConfigError;
  expect(e.code).toBe('IOTHUB_BAD_CONNECTION_STRING');
  expect(e.name).toBe('IotHubConfigError');
  expect(e.key).toBe(key);
  if (key !== undefined) expect(e.message).toContain(key);
  if (message) expect(e.message).toMatch(message);
  // Secrets never appear in messages.
  expect(e.message).not.toContain(KEY);
  expect(e.message).not.toMatch(/sig=[A-Za-z0-9%]/);
  return e;
}

describe('splitHostPort / hubNameOf', () => {
  it('splits host and port', () => {
    expect(splitHostPort(HOST)).toEqual({ host: HOST, port: undefined });
    expect(splitHostPort('localhost:5671')).toEqual({ host: 'localhost', port: 5671 });
    expect(splitHostPort('127.0.0.1:1')).toEqual({ host: '127.0.0.1', port: 1 });
    expect(splitHostPort('[::1]:65535')).toEqual({ host: '::1', port: 65535 });
    expect(splitHostPort('[fe80::1]')).toEqual({ host: 'fe80::1', port: undefined });
    expect(splitHostPort('iothub_emulator')).toEqual({ host: 'iothub_emulator', port: undefined });
  });
  it.each([
    ['amqps://h', /not a URL/],
    ['h:0', /port/],
    ['h:65536', /port/],
    ['h:', /port/],
    ['h:12a', /port/],
    ['h:-1', /port/],
    [':5671', /empty host/],
    ['::1', /IPv6/],
    ['[zz::1]:1', /IPv6/],
    ['[]:1', /IPv6/],
    ['h/path', /host name/],
    ['h h', /host name/],
    ['a..b', /host name/],
  ])('rejects %s', (value, message) => {
    expectConfigError(() => splitHostPort(value), 'HostName', message);
  });
  it('hub names', () => {
    expect(hubNameOf(HOST)).toBe('myhub');
    expect(hubNameOf('localhost')).toBe('localhost');
    expect(hubNameOf('127.0.0.1')).toBe('127.0.0.1');
    expect(hubNameOf('::1')).toBe('::1');
  });
});

describe('service connection string', () => {
  it('parses the portal form', () => {
    const cs = parseServiceConnectionString(
      `HostName=${HOST};SharedAccessKeyName=iothubowner;SharedAccessKey=${KEY}`,
    );
    expect(cs).toBeInstanceOf(ServiceConnectionString);
    expect({ ...cs }).toEqual({
      hostName: HOST,
      host: HOST,
      port: undefined,
      hubName: 'myhub',
      sharedAccessKeyName: 'iothubowner',
      sharedAccessKey: KEY,
      sharedAccessSignature: undefined,
    });
    expect(cs.toString()).toBe(`HostName=${HOST};SharedAccessKeyName=iothubowner;SharedAccessKey=${KEY}`);
  });

  it('accepts HostName=localhost:PORT, any key order and case, whitespace, extra ";" and unknown keys', () => {
    const cs = ServiceConnectionString.parse(
      ` sharedaccesskey = ${KEY} ;;HOSTNAME=localhost:5671;SharedAccessKeyName=owner;Foo=bar; `,
    );
    expect(cs).toMatchObject({
      hostName: 'localhost:5671',
      host: 'localhost',
      port: 5671,
      hubName: 'localhost',
    });
    expect(cs.toString()).toBe(`HostName=localhost:5671;SharedAccessKeyName=owner;SharedAccessKey=${KEY}`);
  });

  it('accepts a SharedAccessSignature instead of a key (policy name optional)', () => {
    const token = generateSasToken({ resourceUri: HOST, key: KEY, policyName: 'owner', expiresAt: 1 });
    const cs = ServiceConnectionString.parse(`HostName=${HOST};SharedAccessSignature=${token}`);
    expect(cs.sharedAccessSignature).toBe(token);
    expect(cs.sharedAccessKey).toBeUndefined();
    expect(ServiceConnectionString.parse(cs.toString())).toEqual(cs);
  });

  it.each([
    [`SharedAccessKeyName=p;SharedAccessKey=${KEY}`, 'HostName', /missing/],
    [`HostName=${HOST};SharedAccessKey=${KEY}`, 'SharedAccessKeyName', /missing/],
    [`HostName=${HOST};SharedAccessKeyName=p`, 'SharedAccessKey', /missing/],
    [
      `HostName=${HOST};SharedAccessKeyName=p;SharedAccessKey=${KEY};SharedAccessSignature=${SAS}`,
      'SharedAccessKey',
      /not both/,
    ],
    [`HostName=${HOST};SharedAccessKeyName=p;SharedAccessKey=not*base64`, 'SharedAccessKey', /base64/],
    [`HostName=${HOST};SharedAccessSignature=sr=x`, 'SharedAccessSignature', /SAS token/],
    [`HostName=;SharedAccessKeyName=p;SharedAccessKey=${KEY}`, 'HostName', /empty/],
    [`HostName=a;hostname=b;SharedAccessKeyName=p;SharedAccessKey=${KEY}`, 'HostName', /more than once/],
    [`HostName=h:99999;SharedAccessKeyName=p;SharedAccessKey=${KEY}`, 'HostName', /port/],
    [`HostName=https://h;SharedAccessKeyName=p;SharedAccessKey=${KEY}`, 'HostName', /URL/],
  ])('rejects %s (names %s)', (text, key, message) => {
    expectConfigError(() => parseServiceConnectionString(text), key, message);
  });

  it('rejects a pair without "=", an empty key, and a non-string', () => {
    expectConfigError(
      () => parseServiceConnectionString(`HostName=${HOST};oops`),
      undefined,
      /part 2 is not Key=Value/,
    );
    expectConfigError(
      () => parseServiceConnectionString(`=x;HostName=${HOST}`),
      undefined,
      /part 1 has an empty key/,
    );
    expectConfigError(
      () => parseServiceConnectionString(undefined as unknown as string),
      undefined,
      /string/,
    );
    expectConfigError(() => parseServiceConnectionString(''), 'HostName', /missing/);
  });

  it('the builder validates like the parser', () => {
    expect(
      new ServiceConnectionString({
        hostName: 'localhost:9000',
        sharedAccessKeyName: 'p',
        sharedAccessKey: KEY,
      }).toString(),
    ).toBe(`HostName=localhost:9000;SharedAccessKeyName=p;SharedAccessKey=${KEY}`);
    expectConfigError(
      () => new ServiceConnectionString({ hostName: 'h', sharedAccessKeyName: 'a;b', sharedAccessKey: KEY }),
      'SharedAccessKeyName',
      /";"/,
    );
    expectConfigError(
      () => new ServiceConnectionString({ hostName: ' h', sharedAccessKeyName: 'p', sharedAccessKey: KEY }),
      'HostName',
      /whitespace/,
    );
    expectConfigError(
      () => new ServiceConnectionString({ hostName: '', sharedAccessKey: KEY }),
      'HostName',
      /missing/,
    );
  });
});

describe('device connection string', () => {
  it('parses a device-key string', () => {
    const cs = parseDeviceConnectionString(`HostName=${HOST};DeviceId=d1;SharedAccessKey=${KEY}`);
    expect(cs).toBeInstanceOf(DeviceConnectionString);
    expect({ ...cs }).toEqual({
      hostName: HOST,
      host: HOST,
      port: undefined,
      hubName: 'myhub',
      deviceId: 'd1',
      moduleId: undefined,
      gatewayHostName: undefined,
      gatewayHost: undefined,
      gatewayPort: undefined,
      sharedAccessKeyName: undefined,
      sharedAccessKey: KEY,
      sharedAccessSignature: undefined,
      x509: false,
      authentication: 'shared-access-key',
    });
    expect(cs.resourceUri).toBe(`${HOST}/devices/d1`);
    expect(cs.connectHost).toEqual({ host: HOST, port: undefined });
    expect(cs.toString()).toBe(`HostName=${HOST};DeviceId=d1;SharedAccessKey=${KEY}`);
  });

  it('localhost:PORT, module id, a device id containing "=" and other allowed characters', () => {
    const cs = DeviceConnectionString.parse(
      `HostName=localhost:8883;DeviceId=a=b-c.d+e%f#g*h?i!j(k),l:m@n$o'p;ModuleId=mod-1;SharedAccessKey=${KEY}`,
    );
    expect(cs).toMatchObject({
      host: 'localhost',
      port: 8883,
      deviceId: "a=b-c.d+e%f#g*h?i!j(k),l:m@n$o'p",
      moduleId: 'mod-1',
    });
    expect(cs.resourceUri).toBe(`localhost:8883/devices/a=b-c.d+e%f#g*h?i!j(k),l:m@n$o'p/modules/mod-1`);
    expect(DeviceConnectionString.parse(cs.toString())).toEqual(cs);
  });

  it('gateway host name: connect to the gateway, sign for the hub', () => {
    const cs = DeviceConnectionString.parse(
      `HostName=${HOST};DeviceId=d1;ModuleId=m1;SharedAccessKey=${KEY};GatewayHostName=edge.local:5671`,
    );
    expect(cs).toMatchObject({
      gatewayHostName: 'edge.local:5671',
      gatewayHost: 'edge.local',
      gatewayPort: 5671,
    });
    expect(cs.connectHost).toEqual({ host: 'edge.local', port: 5671 });
    expect(cs.resourceUri).toBe(`${HOST}/devices/d1/modules/m1`);
    expect(cs.toString()).toBe(
      `HostName=${HOST};DeviceId=d1;ModuleId=m1;SharedAccessKey=${KEY};GatewayHostName=edge.local:5671`,
    );
    expect(
      DeviceConnectionString.parse(`HostName=h;DeviceId=d;x509=true;GatewayHostName=10.0.0.1`).connectHost,
    ).toEqual({ host: '10.0.0.1', port: undefined });
  });

  it('x509=true (any case), and x509=false counts as absent', () => {
    const cs = DeviceConnectionString.parse(`HostName=${HOST};DeviceId=d1;x509=true`);
    expect(cs).toMatchObject({ x509: true, authentication: 'x509', sharedAccessKey: undefined });
    expect(cs.toString()).toBe(`HostName=${HOST};DeviceId=d1;x509=true`);
    expect(DeviceConnectionString.parse(`HostName=${HOST};DeviceId=d1;X509=True`).x509).toBe(true);
    const f = DeviceConnectionString.parse(`HostName=${HOST};DeviceId=d1;x509=false;SharedAccessKey=${KEY}`);
    expect(f).toMatchObject({ x509: false, authentication: 'shared-access-key' });
    expect(f.toString()).toBe(`HostName=${HOST};DeviceId=d1;SharedAccessKey=${KEY}`);
  });

  it('SharedAccessSignature and policy-key (SharedAccessKeyName) forms', () => {
    const sas = DeviceConnectionString.parse(`HostName=${HOST};DeviceId=d1;SharedAccessSignature=${SAS}`);
    expect(sas).toMatchObject({ authentication: 'shared-access-signature', sharedAccessSignature: SAS });
    expect(sas.toString()).toBe(`HostName=${HOST};DeviceId=d1;SharedAccessSignature=${SAS}`);
    const policy = DeviceConnectionString.parse(
      `HostName=${HOST};DeviceId=d1;SharedAccessKeyName=registryReadWrite;SharedAccessKey=${KEY}`,
    );
    expect(policy).toMatchObject({
      authentication: 'shared-access-key',
      sharedAccessKeyName: 'registryReadWrite',
    });
    expect(DeviceConnectionString.parse(policy.toString())).toEqual(policy);
  });

  it.each([
    [`DeviceId=d1;SharedAccessKey=${KEY}`, 'HostName', /missing/],
    [`HostName=${HOST};SharedAccessKey=${KEY}`, 'DeviceId', /missing/],
    [`HostName=${HOST};DeviceId=d1`, 'SharedAccessKey', /missing/],
    [`HostName=${HOST};DeviceId=d1;x509=false`, 'SharedAccessKey', /missing/],
    [
      `HostName=${HOST};DeviceId=d1;SharedAccessKey=${KEY};x509=true`,
      'x509',
      /only one of SharedAccessKey, x509/,
    ],
    [
      `HostName=${HOST};DeviceId=d1;SharedAccessKey=${KEY};SharedAccessSignature=${SAS}`,
      'SharedAccessSignature',
      /only one/,
    ],
    [`HostName=${HOST};DeviceId=d1;SharedAccessSignature=${SAS};x509=true`, 'x509', /only one/],
    [`HostName=${HOST};DeviceId=d1;x509=yes`, 'x509', /true or false/],
    [
      `HostName=${HOST};DeviceId=d1;x509=true;SharedAccessKeyName=p`,
      'SharedAccessKeyName',
      /only valid with/,
    ],
    [`HostName=${HOST};DeviceId=d1;SharedAccessKey=abc$`, 'SharedAccessKey', /base64/],
    [
      `HostName=${HOST};DeviceId=d1;SharedAccessSignature=SharedAccessSignature sr=a`,
      'SharedAccessSignature',
      /SAS token/,
    ],
    [`HostName=${HOST};DeviceId=;SharedAccessKey=${KEY}`, 'DeviceId', /empty/],
    [`HostName=${HOST};DeviceId=d1;ModuleId=;SharedAccessKey=${KEY}`, 'ModuleId', /empty/],
    [`HostName=${HOST};DeviceId=d1;DeviceId=d2;SharedAccessKey=${KEY}`, 'DeviceId', /more than once/],
    [`HostName=${HOST};DeviceId=d1;SharedAccessKey=${KEY};GatewayHostName=gw:0`, 'GatewayHostName', /port/],
    [
      `HostName=${HOST};DeviceId=d1;SharedAccessKey=${KEY};GatewayHostName=amqps://gw`,
      'GatewayHostName',
      /URL/,
    ],
    [`HostName=localhost:abc;DeviceId=d1;SharedAccessKey=${KEY}`, 'HostName', /port/],
  ])('rejects %s (names %s)', (text, key, message) => {
    expectConfigError(() => parseDeviceConnectionString(text), key, message);
  });

  it('the builder validates like the parser', () => {
    expect(
      new DeviceConnectionString({ hostName: 'localhost:5671', deviceId: 'd', x509: true }).toString(),
    ).toBe('HostName=localhost:5671;DeviceId=d;x509=true');
    expectConfigError(() => new DeviceConnectionString({ hostName: 'h', deviceId: 'd' }), 'SharedAccessKey');
    expectConfigError(
      () => new DeviceConnectionString({ hostName: 'h', deviceId: 'd', x509: 'true' as unknown as boolean }),
      'x509',
    );
    expectConfigError(
      () => new DeviceConnectionString({ hostName: 'h', deviceId: 'd;x', sharedAccessKey: KEY }),
      'DeviceId',
      /";"/,
    );
  });
});

describe('Event Hubs connection string', () => {
  it('parses the portal form', () => {
    const cs = parseEventHubsConnectionString(
      `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${KEY};EntityPath=eh1`,
    );
    expect(cs).toBeInstanceOf(EventHubsConnectionString);
    expect({ ...cs }).toEqual({
      endpoint: 'sb://ns.servicebus.windows.net/',
      host: 'ns.servicebus.windows.net',
      port: undefined,
      effectivePort: 5671,
      tls: true,
      sharedAccessKeyName: 'RootManageSharedAccessKey',
      sharedAccessKey: KEY,
      sharedAccessSignature: undefined,
      entityPath: 'eh1',
      useDevelopmentEmulator: false,
    });
    expect(cs.toString()).toBe(
      `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${KEY};EntityPath=eh1`,
    );
  });

  it('development emulator: plain TCP, default port 5672, non-base64 key, endpoint without slash', () => {
    const cs = EventHubsConnectionString.parse(
      'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;',
    );
    expect(cs).toMatchObject({
      endpoint: 'sb://localhost/',
      host: 'localhost',
      port: undefined,
      effectivePort: 5672,
      tls: false,
      sharedAccessKey: 'SAS_KEY_VALUE',
      useDevelopmentEmulator: true,
      entityPath: undefined,
    });
    expect(cs.toString()).toBe(
      'Endpoint=sb://localhost/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true',
    );
  });

  it('keeps an explicit port; UseDevelopmentEmulator=false; SB:// and no scheme', () => {
    const cs = EventHubsConnectionString.parse(
      `endpoint=SB://localhost:15672/;SharedAccessKeyName=p;SharedAccessKey=k;UseDevelopmentEmulator=False`,
    );
    expect(cs).toMatchObject({
      port: 15672,
      effectivePort: 15672,
      tls: true,
      endpoint: 'sb://localhost:15672/',
    });
    expect(
      EventHubsConnectionString.parse(
        'Endpoint=localhost:1234;SharedAccessKeyName=p;SharedAccessKey=k;UseDevelopmentEmulator=true',
      ),
    ).toMatchObject({ endpoint: 'sb://localhost:1234/', port: 1234, effectivePort: 1234, tls: false });
  });

  it('accepts a SharedAccessSignature instead of a key', () => {
    const token = generateSasToken({
      resourceUri: 'sb://ns/eh',
      key: 'k',
      keyEncoding: 'utf8',
      expiresAt: 1,
    });
    const cs = EventHubsConnectionString.parse(
      `Endpoint=sb://ns/;SharedAccessSignature=${token};EntityPath=eh`,
    );
    expect(cs.sharedAccessSignature).toBe(token);
    expect(EventHubsConnectionString.parse(cs.toString())).toEqual(cs);
  });

  it.each([
    [`SharedAccessKeyName=p;SharedAccessKey=k`, 'Endpoint', /missing/],
    [`Endpoint=sb://ns/;SharedAccessKey=k`, 'SharedAccessKeyName', /missing/],
    [`Endpoint=sb://ns/;SharedAccessKeyName=p`, 'SharedAccessKey', /missing/],
    [
      `Endpoint=sb://ns/;SharedAccessKeyName=p;SharedAccessKey=k;SharedAccessSignature=${SAS}`,
      'SharedAccessKey',
      /not both/,
    ],
    [`Endpoint=sb://ns/;SharedAccessSignature=nope`, 'SharedAccessSignature', /SAS token/],
    [`Endpoint=amqps://ns/;SharedAccessKeyName=p;SharedAccessKey=k`, 'Endpoint', /sb:\/\//],
    [`Endpoint=sb://ns/eh1;SharedAccessKeyName=p;SharedAccessKey=k`, 'Endpoint', /no path/],
    [`Endpoint=sb:///;SharedAccessKeyName=p;SharedAccessKey=k`, 'Endpoint', /empty host/],
    [`Endpoint=sb://ns:0/;SharedAccessKeyName=p;SharedAccessKey=k`, 'Endpoint', /port/],
    [
      `Endpoint=sb://ns/;SharedAccessKeyName=p;SharedAccessKey=k;UseDevelopmentEmulator=1`,
      'UseDevelopmentEmulator',
      /true or false/,
    ],
    [`Endpoint=sb://ns/;SharedAccessKeyName=p;SharedAccessKey=k;EntityPath=`, 'EntityPath', /empty/],
    [
      `Endpoint=sb://ns/;SharedAccessKeyName=p;SharedAccessKey=k;ENTITYPATH=a;EntityPath=b`,
      'EntityPath',
      /more than once/,
    ],
  ])('rejects %s (names %s)', (text, key, message) => {
    expectConfigError(() => parseEventHubsConnectionString(text), key, message);
  });

  it('the builder validates like the parser', () => {
    expect(
      new EventHubsConnectionString({
        endpoint: 'sb://localhost:5672',
        sharedAccessKeyName: 'p',
        sharedAccessKey: 'k',
        entityPath: 'hub',
        useDevelopmentEmulator: true,
      }).toString(),
    ).toBe(
      'Endpoint=sb://localhost:5672/;SharedAccessKeyName=p;SharedAccessKey=k;EntityPath=hub;UseDevelopmentEmulator=true',
    );
    expectConfigError(
      () => new EventHubsConnectionString({ endpoint: '', sharedAccessKey: 'k' }),
      'Endpoint',
    );
    expectConfigError(
      () =>
        new EventHubsConnectionString({
          endpoint: 'sb://h/',
          sharedAccessKeyName: 'p',
          sharedAccessKey: 'k',
          useDevelopmentEmulator: 'yes' as unknown as boolean,
        }),
      'UseDevelopmentEmulator',
    );
  });
});

describe('connection string round trips (property)', () => {
  const value = fc
    .string({ minLength: 1, maxLength: 30, unit: 'grapheme' })
    .filter((s) => !s.includes(';') && s.trim() === s && s.length > 0);
  const host = fc
    .tuple(
      fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,10}(?:\.[a-z0-9-]{1,10}){0,3}$/),
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    )
    .map(([h, p]) => ({ hostName: p === undefined ? h : `${h}:${p}`, host: h, port: p }));
  const key = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'));

  it('service', () => {
    fc.assert(
      fc.property(host, value, key, (h, name, k) => {
        const cs = new ServiceConnectionString({
          hostName: h.hostName,
          sharedAccessKeyName: name,
          sharedAccessKey: k,
        });
        const back = ServiceConnectionString.parse(cs.toString());
        expect(back).toEqual(cs);
        expect(back).toMatchObject({ host: h.host, port: h.port });
      }),
    );
  });

  it('device', () => {
    const auth = fc.oneof(
      key.map((k) => ({ sharedAccessKey: k })),
      fc.constant({ x509: true }),
      fc.constant({ sharedAccessSignature: SAS }),
      fc.tuple(value, key).map(([n, k]) => ({ sharedAccessKeyName: n, sharedAccessKey: k })),
    );
    fc.assert(
      fc.property(
        host,
        value,
        fc.option(value, { nil: undefined }),
        fc.option(host, { nil: undefined }),
        auth,
        (h, deviceId, moduleId, gw, a) => {
          const cs = new DeviceConnectionString({
            hostName: h.hostName,
            deviceId,
            moduleId,
            gatewayHostName: gw?.hostName,
            ...a,
          });
          const back = DeviceConnectionString.parse(cs.toString());
          expect(back).toEqual(cs);
          expect(back).toMatchObject({
            host: h.host,
            port: h.port,
            gatewayHost: gw?.host,
            gatewayPort: gw?.port,
          });
        },
      ),
    );
  });

  it('Event Hubs', () => {
    fc.assert(
      fc.property(
        host,
        value,
        value,
        fc.option(value, { nil: undefined }),
        fc.boolean(),
        (h, name, k, entityPath, emulator) => {
          const cs = new EventHubsConnectionString({
            endpoint: `sb://${h.hostName}/`,
            sharedAccessKeyName: name,
            sharedAccessKey: k,
            entityPath,
            useDevelopmentEmulator: emulator,
          });
          const back = EventHubsConnectionString.parse(cs.toString());
          expect(back).toEqual(cs);
          expect(back.effectivePort).toBe(h.port ?? (emulator ? 5672 : 5671));
        },
      ),
    );
  });
});
