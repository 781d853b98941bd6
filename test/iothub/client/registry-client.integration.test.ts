/**
 * RegistryClient over real HTTPS against the emulator's REST API: devices and modules created,
 * read, listed, updated by etag and deleted, keys set, and the typed errors of the REST error
 * bodies. Against small node:http servers on loopback (plain HTTP, which the client allows there
 * only): the deadline on injected timers, retries of 503 and none of 401, an oversized answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import {
  DeviceClient,
  RegistryClient,
  RetryPolicy,
  type RegistryClientOptions,
} from '../../../src/iothub/client/index.js';
import {
  ArgumentError,
  DeviceAlreadyExistsError,
  DeviceNotFoundError,
  PreconditionFailedError,
  UnauthorizedError,
} from '../../../src/iothub/errors.js';
import { ManualTimers } from '../../support/manual-timers.js';

let hub: IotHubEmulator;
let registry: RegistryClient;
const KEY = Buffer.from('1234567890qwerty').toString('base64');

/** A registry client for a policy of the hub: the HTTPS port, since connection strings name the AMQPS one. */
const clientFor = (policy = 'iothubowner', o: RegistryClientOptions = {}): RegistryClient =>
  RegistryClient.fromConnectionString(hub.serviceConnectionString(policy), {
    tls: { ca: hub.caPem },
    port: hub.httpsPort,
    ...o,
  });

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0 });
  registry = clientFor();
});

afterAll(async () => {
  await hub?.close();
});

describe('RegistryClient against the emulator', () => {
  it('devices: create, get, list, update by etag, delete', async () => {
    const d = await registry.createDevice('rc-1', { status: 'disabled', statusReason: 'new' });
    expect(d).toMatchObject({ deviceId: 'rc-1', status: 'disabled', statusReason: 'new' });
    expect(d.authentication.type).toBe('sas');
    expect(await registry.getDevice('rc-1')).toEqual(d);
    expect((await registry.listDevices()).map((x) => x.deviceId)).toContain('rc-1');
    expect(await registry.listDevices({ top: 1 })).toHaveLength(1);
    const u = await registry.updateDevice({ ...d, status: 'enabled' });
    expect(u.status).toBe('enabled');
    expect(u.etag).not.toBe(d.etag);
    await registry.deleteDevice('rc-1');
    expect(hub.state.registry.getDevice('rc-1')).toBeUndefined();
  });

  it('X.509 identities: selfSigned thumbprints and certificateAuthority', async () => {
    const t = 'AB'.repeat(20);
    const x = await registry.createDevice('rc-x509', {
      authentication: { type: 'selfSigned', primaryThumbprint: t },
    });
    expect(x.authentication).toMatchObject({
      type: 'selfSigned',
      x509Thumbprint: { primaryThumbprint: t, secondaryThumbprint: null },
    });
    const ca = await registry.createDevice('rc-ca', { authentication: { type: 'certificateAuthority' } });
    expect(ca.authentication.type).toBe('certificateAuthority');
    expect(() => registry.connectionStringOf(ca)).toThrow(
      expect.objectContaining({ code: 'AMQP_INVALID_ARGUMENT' }),
    );
  });

  it('keys: given at create, set later (new random ones), and the connection string works over AMQP', async () => {
    const d = await registry.createDevice('rc-keys', { authentication: { primaryKey: KEY } });
    expect(d.authentication.symmetricKey?.primaryKey).toBe(KEY);
    const k = await registry.setDeviceKeys('rc-keys');
    expect(k.authentication.symmetricKey?.primaryKey).not.toBe(KEY);
    expect(Buffer.from(k.authentication.symmetricKey!.primaryKey!, 'base64')).toHaveLength(32);
    const device = DeviceClient.fromConnectionString(registry.connectionStringOf(k), {
      tls: { ca: hub.caPem },
      reconnect: false,
    });
    try {
      await device.sendEvent('with keys set over REST');
    } finally {
      await device.close();
    }
  });

  it('modules: create, get, list, update by etag, delete', async () => {
    await registry.createDevice('rc-mod');
    const m = await registry.createModule('rc-mod', 'm1');
    expect(m).toMatchObject({ deviceId: 'rc-mod', moduleId: 'm1' });
    await registry.createModule('rc-mod', 'm2', { authentication: { type: 'certificateAuthority' } });
    expect((await registry.listModules('rc-mod')).map((x) => x.moduleId).sort()).toEqual(['m1', 'm2']);
    const s = m.authentication.symmetricKey!;
    const u = await registry.updateModule({
      ...m,
      authentication: {
        type: 'sas',
        symmetricKey: { primaryKey: s.secondaryKey, secondaryKey: s.primaryKey },
      },
    });
    expect(u.authentication.symmetricKey?.primaryKey).toBe(s.secondaryKey);
    expect(registry.connectionStringOf(u)).toContain(';ModuleId=m1;');
    await registry.deleteModule('rc-mod', 'm1', { etag: u.etag });
    await expect(registry.getModule('rc-mod', 'm1')).rejects.toBeInstanceOf(DeviceNotFoundError);
  });

  it("typed errors with stable codes, the status and the hub's error name", async () => {
    const missing = await registry.getDevice('rc-nobody').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DeviceNotFoundError);
    expect(missing).toMatchObject({ code: 'IOTHUB_DEVICE_NOT_FOUND', statusCode: 404, retryable: false });
    expect((missing as DeviceNotFoundError).description).toBe(
      'DeviceNotFound: Device rc-nobody not registered',
    );
    expect((missing as DeviceNotFoundError).trackingId).toMatch(/^[0-9a-f]{32}$/);
    await registry.createDevice('rc-dup');
    await expect(registry.createDevice('rc-dup')).rejects.toMatchObject({
      code: 'IOTHUB_DEVICE_ALREADY_EXISTS',
      statusCode: 409,
    });
    await expect(registry.createDevice('rc-dup')).rejects.toBeInstanceOf(DeviceAlreadyExistsError);
    const d = await registry.getDevice('rc-dup');
    await registry.updateDevice({ ...d, statusReason: 'first' });
    // d's etag is now stale: the second writer loses.
    await expect(registry.updateDevice({ ...d, statusReason: 'second' })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    expect(await registry.updateDevice({ ...d, statusReason: 'forced' }, { force: true })).toMatchObject({
      statusReason: 'forced',
    });
    await expect(registry.deleteDevice('rc-dup', { etag: d.etag })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    await expect(registry.createDevice('bad/id')).rejects.toBeInstanceOf(ArgumentError);
    await expect(clientFor('service').getDevice('rc-dup')).rejects.toBeInstanceOf(UnauthorizedError);
    expect(() => registry.updateDevice({ ...d, etag: '' })).toThrow(
      expect.objectContaining({ code: 'AMQP_INVALID_ARGUMENT' }),
    );
  });
});

describe('RegistryClient transport rules', () => {
  let server: http.Server | undefined;
  let requests = 0;

  /** A loopback HTTP server answering with `answer` (none: it never answers). */
  async function serve(answer?: (n: number, res: http.ServerResponse) => void): Promise<string> {
    await new Promise<void>((r) => server?.close(() => r()) ?? r());
    requests = 0;
    server = http.createServer((req, res) => {
      requests++;
      req.resume();
      answer?.(requests, res);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    return `HostName=127.0.0.1:${port};SharedAccessKeyName=iothubowner;SharedAccessKey=${KEY}`;
  }
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => server?.close(() => r()) ?? r());
  });

  it('plain HTTP is refused for any host but this machine, before a token is made', () => {
    const cs = `HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${KEY}`;
    expect(() => RegistryClient.fromConnectionString(cs, { tls: false })).toThrow(
      expect.objectContaining({ code: 'AMQP_INVALID_ARGUMENT' }),
    );
    expect(RegistryClient.fromConnectionString(cs).port).toBe(443);
  });

  it('a hub that never answers: IotHubTimeoutError at the deadline, on the injected timers', async () => {
    const cs = await serve();
    const timers = new ManualTimers();
    const c = RegistryClient.fromConnectionString(cs, {
      tls: false,
      timers,
      timeoutMs: 5000,
      retryPolicy: RetryPolicy.none(),
    });
    const p = c.getDevice('x').catch((e: unknown) => e);
    while (requests === 0) await new Promise((r) => setTimeout(r, 2));
    timers.advance(4999);
    expect(timers.timers).toBe(1);
    timers.advance(1);
    expect(await p).toMatchObject({ code: 'IOTHUB_TIMEOUT', retryable: true });
  });

  it('503 is retried, then the answer comes; 401 is not retried', async () => {
    const body = JSON.stringify({ Message: 'ErrorCode:ServerError;busy', ExceptionMessage: '' });
    let cs = await serve((n, res) => {
      if (n === 1) res.writeHead(503, { 'Content-Type': 'application/json' }).end(body);
      else res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end('[]');
    });
    const retry = new RetryPolicy({ maxAttempts: 3, initialDelayMs: 1, jitter: 0 });
    expect(
      await RegistryClient.fromConnectionString(cs, { tls: false, retryPolicy: retry }).listDevices(),
    ).toEqual([]);
    expect(requests).toBe(2);
    cs = await serve((_n, res) =>
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          Message: 'ErrorCode:IotHubUnauthorizedAccess;Unauthorized',
          ExceptionMessage: '',
        }),
      ),
    );
    await expect(
      RegistryClient.fromConnectionString(cs, { tls: false, retryPolicy: retry }).listDevices(),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    expect(requests).toBe(1);
  });

  it('the request carries the token, api-version, If-Match and JSON; an answer over 4 MiB is refused', async () => {
    let seen: http.IncomingHttpHeaders | undefined;
    let url: string | undefined;
    const cs = await serve((_n, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify('x'.repeat(5 * 1024 * 1024)));
    });
    server!.prependListener('request', (req: http.IncomingMessage) => {
      seen = req.headers;
      url = req.url;
    });
    const c = RegistryClient.fromConnectionString(cs, { tls: false, retryPolicy: RetryPolicy.none() });
    await expect(c.deleteDevice('a b', { etag: 'MQ==' })).rejects.toMatchObject({
      code: 'IOTHUB_BAD_RESPONSE',
    });
    expect(url).toBe('/devices/a%20b?api-version=2021-04-12');
    expect(seen?.['if-match']).toBe('"MQ=="');
    expect(seen?.authorization).toMatch(
      /^SharedAccessSignature sr=127\.0\.0\.1%3A\d+&sig=.+&se=\d+&skn=iothubowner$/,
    );
    expect(seen?.['user-agent']).toMatch(/^amqp-one\//);
  });
});
