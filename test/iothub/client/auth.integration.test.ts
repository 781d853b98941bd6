/** Every way to authenticate, against the emulator over TLS. */
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ServiceClient,
  eventText,
  sasKeyTokenProvider,
  type IotHubEvent,
} from '../../../src/iothub/client/index.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { IotHubConfigError, UnauthorizedError } from '../../../src/iothub/errors.js';
import { DeviceConnectionString } from '../../../src/iothub/connection-string.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/pki/certificates.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { collect } from './support.js';

afterEach(cleanup);

async function readAll(hub: IotHubEmulator, n: number): Promise<IotHubEvent[]> {
  const s = ServiceClient.fromConnectionString(hub.serviceConnectionString(), { tls: { ca: hub.caPem } });
  onCleanup(() => s.close());
  return collect(s.events({ from: 'earliest' }), (xs) => xs.length >= n);
}

function device(cs: string, options: Parameters<typeof DeviceClient.fromConnectionString>[1]): DeviceClient {
  const d = DeviceClient.fromConnectionString(cs, options);
  onCleanup(() => d.close());
  return d;
}

describe('device authentication', () => {
  test.each([
    ['CBS without SASL (Node SDK)', { sasl: 'none' as const }],
    ['CBS after MSSBCBS (C SDK, uAMQP)', { sasl: 'MSSBCBS' as const }],
    ['CBS after ANONYMOUS', { sasl: 'ANONYMOUS' as const }],
    ['SASL PLAIN {device}@sas.{hub}', { auth: 'plain' as const }],
  ])('%s: telemetry and C2D work', async (_name, o) => {
    const hub = await hubForTest({ devices: ['d1'] });
    const d = device(hub.deviceConnectionString('d1'), { tls: { ca: hub.caPem }, ...o });
    await d.sendEvent(`via ${_name}`);
    const [e] = await readAll(hub, 1);
    expect(eventText(e!)).toBe(`via ${_name}`);
    const s = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: hub.caPem },
      ...o,
    });
    onCleanup(() => s.close());
    await s.send('d1', 'c2d');
    const [m] = await collect(d.messages(), (xs) => xs.length >= 1);
    expect(m!.text()).toBe('c2d');
    await m!.complete();
  });

  test('a SharedAccessSignature connection string (a fixed token)', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const cs = DeviceConnectionString.parse(hub.deviceConnectionString('d1'));
    const token = generateSasToken({
      resourceUri: cs.resourceUri,
      key: cs.sharedAccessKey!,
      expiresInSeconds: 600,
    });
    const d = device(`HostName=${cs.hostName};DeviceId=d1;SharedAccessSignature=${token}`, {
      tls: { ca: hub.caPem },
    });
    await d.sendEvent('fixed token');
    expect((await readAll(hub, 1)).map(eventText)).toEqual(['fixed token']);
  });

  test('a token provider: asked with the audience; its token is what the hub checks', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const cs = DeviceConnectionString.parse(hub.deviceConnectionString('d1'));
    const asked: string[] = [];
    const signer = sasKeyTokenProvider({ key: cs.sharedAccessKey! });
    const d = device(
      `HostName=${cs.hostName};DeviceId=d1;SharedAccessKey=${Buffer.alloc(32).toString('base64')}`,
      {
        tls: { ca: hub.caPem },
        tokenProvider: async (audience) => {
          asked.push(audience);
          return signer(audience);
        },
      },
    );
    await d.sendEvent('provided');
    expect(asked).toEqual([`${cs.hostName}/devices/d1`]);
    expect((await readAll(hub, 1)).map(eventText)).toEqual(['provided']);
    const failing = device(hub.deviceConnectionString('d1'), {
      tls: { ca: hub.caPem },
      tokenProvider: async () => {
        throw new Error('vault unreachable');
      },
    });
    await expect(failing.open()).rejects.toThrow('vault unreachable');
  });

  test('X.509: a client certificate from a CA in x509Ca (certificateAuthority), no SASL, no CBS', async () => {
    const ca = createCertificateAuthority({ commonName: 'test CA', validDays: 2 });
    const server = issueCertificate(ca, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validDays: 2,
      usage: 'server',
    });
    // The CA that signed the hub's certificate is trusted for client certificates only when named
    // in x509Ca as well: `ca` alone may be a public or corporate CA.
    const hub = await hubForTest({
      cert: server.certPem,
      key: server.keyPem,
      ca: ca.certPem,
      x509Ca: [ca.certPem],
    });
    hub.state.registry.addDevice('d509', { authType: 'certificateAuthority' });
    const client = issueCertificate(ca, { commonName: 'd509', validDays: 2, usage: 'client' });
    const d = device(`HostName=${hub.hostName};DeviceId=d509;x509=true`, {
      tls: { ca: ca.certPem, cert: client.certPem, key: client.keyPem },
    });
    await d.sendEvent('by certificate');
    const [e] = await readAll(hub, 1);
    expect(eventText(e!)).toBe('by certificate');
    expect(e!.systemProperties.deviceId).toBe('d509');
    // a certificate for another device does not open d509's links
    const other = issueCertificate(ca, { commonName: 'someone-else', validDays: 2, usage: 'client' });
    const wrong = device(`HostName=${hub.hostName};DeviceId=d509;x509=true`, {
      tls: { ca: ca.certPem, cert: other.certPem, key: other.keyPem },
      reconnect: false,
    });
    await expect(wrong.sendEvent('no')).rejects.toBeInstanceOf(UnauthorizedError);
    expect(() =>
      DeviceClient.fromConnectionString(`HostName=${hub.hostName};DeviceId=d509;x509=true`),
    ).toThrow(IotHubConfigError);
  });
});

describe('service authentication', () => {
  test('SASL PLAIN {policy}@sas.root.{hub}; a wrong key is refused in SASL', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const s = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: hub.caPem },
      auth: 'plain',
    });
    onCleanup(() => s.close());
    await s.send('d1', 'hi');
    const bad = ServiceClient.fromConnectionString(
      hub
        .serviceConnectionString()
        .replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`),
      { tls: { ca: hub.caPem }, auth: 'plain' },
    );
    onCleanup(() => bad.close());
    await expect(bad.open()).rejects.toBeInstanceOf(UnauthorizedError);
    const badCbs = ServiceClient.fromConnectionString(
      hub
        .serviceConnectionString()
        .replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`),
      { tls: { ca: hub.caPem } },
    );
    onCleanup(() => badCbs.close());
    const err = await badCbs.send('d1', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).statusCode).toBe(401);
  });

  test('TLS: the hub certificate is verified (no CA given: refused)', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const d = device(hub.deviceConnectionString('d1'), { reconnect: false });
    const err = await d.open().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IOTHUB_TLS_VERIFICATION_FAILED', retryable: false });
    // with reconnect on, an untrusted hub is not retried for ever either
    const r = device(hub.deviceConnectionString('d1'), { reconnect: { initialDelayMs: 1 } });
    await expect(r.sendEvent('x')).rejects.toMatchObject({ code: 'IOTHUB_TLS_VERIFICATION_FAILED' });
    const plain = device(hub.deviceConnectionString('d1').replace(`:${hub.tlsPort}`, `:${hub.port}`), {
      tls: false,
    });
    await plain.sendEvent('over plain TCP');
  });
});
