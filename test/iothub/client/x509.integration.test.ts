/**
 * X.509 devices and modules against the emulator, over AMQPS and over WSS (real TLS, certificates
 * made here): self-signed by SHA-1 and SHA-256 thumbprint (primary and secondary), CA-signed by a
 * CA the hub is told to trust, and every refusal: a wrong thumbprint, an untrusted CA, an expired
 * and a not-yet-valid certificate, a CN that is not the device, an X.509 device with a SAS key and
 * a SAS device with a certificate.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ModuleClient,
  ServiceClient,
  eventText,
  type IotHubEvent,
} from '../../../src/iothub/client/index.js';
import { IotHubConfigError, UnauthorizedError } from '../../../src/iothub/errors.js';
import {
  createCertificateAuthority,
  issueCertificate,
  type IssuedCertificate,
} from '../../../src/pki/certificates.js';
import { CERTIFICATE_EXPIRED, CERTIFICATE_NOT_YET_VALID } from '../../../src/iothub/emulator/x509.js';
import { UNAUTHORIZED_LINK } from '../../../src/iothub/emulator/auth.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { collect } from './support.js';

afterEach(cleanup);

type Transport = 'amqp' | 'amqp-ws';

/** A CA the hub is told to trust (`x509Ca`), and one it is not. */
const trustedCa = createCertificateAuthority({ commonName: 'device CA', validDays: 2 });
const otherCa = createCertificateAuthority({ commonName: 'someone else CA', validDays: 2 });

/** A self-signed client certificate (the thumbprint kind). */
function selfSigned(cn: string): IssuedCertificate {
  return createCertificateAuthority({ commonName: cn, validDays: 2 });
}

function thumbprint(c: IssuedCertificate, alg: 'sha1' | 'sha256'): string {
  return createHash(alg).update(c.cert.raw).digest('hex');
}

async function hub(log: string[] = []): Promise<IotHubEmulator> {
  return hubForTest({ httpsPort: 0, x509Ca: [trustedCa.certPem], log: (l) => log.push(l) });
}

/** `x509=true` with the certificate, over the transport (the WSS port for amqp-ws). */
function connectionOptions(h: IotHubEmulator, transport: Transport, cert: IssuedCertificate) {
  return {
    tls: { ca: h.caPem, cert: cert.certPem, key: cert.keyPem },
    transport,
    reconnect: false,
    ...(transport === 'amqp-ws' ? { port: h.httpsPort } : {}),
  };
}

function x509Device(
  h: IotHubEmulator,
  transport: Transport,
  deviceId: string,
  cert: IssuedCertificate,
): DeviceClient {
  // The HostName carries the AMQPS port: amqp-ws is pointed at the HTTPS port instead.
  const host = transport === 'amqp-ws' ? `localhost:${h.httpsPort}` : h.hostName;
  const d = DeviceClient.fromConnectionString(
    `HostName=${host};DeviceId=${deviceId};x509=true`,
    connectionOptions(h, transport, cert),
  );
  onCleanup(() => d.close());
  return d;
}

async function events(h: IotHubEmulator, n: number): Promise<IotHubEvent[]> {
  const s = ServiceClient.fromConnectionString(h.serviceConnectionString(), { tls: { ca: h.caPem } });
  onCleanup(() => s.close());
  return collect(s.events({ from: 'earliest' }), (xs) => xs.length >= n);
}

async function refusal(d: DeviceClient): Promise<UnauthorizedError> {
  const err = await d.sendEvent('must not arrive').then(
    () => new Error('sent'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnauthorizedError);
  const u = err as UnauthorizedError;
  expect(u.code).toBe('IOTHUB_UNAUTHORIZED');
  expect(u.condition).toBe('amqp:unauthorized-access');
  return u;
}

describe.each(['amqp', 'amqp-ws'] as const)('X.509 over %s', (transport) => {
  test('self-signed: the SHA-1 primary and the SHA-256 secondary thumbprint authenticate; telemetry and C2D', async () => {
    const h = await hub();
    const c1 = selfSigned('any subject: the hub checks only the thumbprint');
    const c2 = selfSigned('s2');
    h.state.registry.addDevice('s1', {
      authType: 'selfSigned',
      primaryThumbprint: thumbprint(c1, 'sha1').toUpperCase(),
    });
    h.state.registry.addDevice('s2', {
      authType: 'selfSigned',
      primaryThumbprint: thumbprint(selfSigned('unused'), 'sha256'),
      secondaryThumbprint: thumbprint(c2, 'sha256'),
    });
    const d1 = x509Device(h, transport, 's1', c1);
    const d2 = x509Device(h, transport, 's2', c2);
    await d1.sendEvent('from s1');
    await d2.sendEvent('from s2');
    const got = await events(h, 2);
    expect(got.map((e) => [e.systemProperties.deviceId, eventText(e)]).sort()).toEqual([
      ['s1', 'from s1'],
      ['s2', 'from s2'],
    ]);
    expect(got[0]!.systemProperties.authMethod).toMatchObject({ scope: 'device', type: 'x509Certificate' });
    const s = ServiceClient.fromConnectionString(h.serviceConnectionString(), { tls: { ca: h.caPem } });
    onCleanup(() => s.close());
    await s.send('s2', 'to s2');
    const [m] = await collect(d2.messages(), (xs) => xs.length >= 1);
    expect(m!.text()).toBe('to s2');
    await m!.complete();
  });

  test('CA-signed: a device (CN = device id) and a module (CN = device/module) of a trusted CA', async () => {
    const h = await hub();
    h.state.registry.addDevice('ca1', { authType: 'certificateAuthority' });
    h.state.registry.addModule('ca1', 'm1', { authType: 'certificateAuthority' });
    const dc = issueCertificate(trustedCa, { commonName: 'ca1', validDays: 1, usage: 'client' });
    const mc = issueCertificate(trustedCa, { commonName: 'ca1/m1', validDays: 1, usage: 'client' });
    const d = x509Device(h, transport, 'ca1', dc);
    await d.sendEvent('device by CA');
    const host = transport === 'amqp-ws' ? `localhost:${h.httpsPort}` : h.hostName;
    const m = ModuleClient.fromConnectionString(
      `HostName=${host};DeviceId=ca1;ModuleId=m1;x509=true`,
      connectionOptions(h, transport, mc),
    );
    onCleanup(() => m.close());
    await m.sendEvent('module by CA');
    const got = await events(h, 2);
    expect(
      got.map((e) => [e.systemProperties.deviceId, e.systemProperties.moduleId, eventText(e)]).sort(),
    ).toEqual([
      ['ca1', undefined, 'device by CA'],
      ['ca1', 'm1', 'module by CA'],
    ]);
    expect(got.map((e) => (e.systemProperties.authMethod as { type: string }).type)).toEqual([
      'x509CA',
      'x509CA',
    ]);
    // The device's certificate is not the module's.
    const wrong = ModuleClient.fromConnectionString(
      `HostName=${host};DeviceId=ca1;ModuleId=m1;x509=true`,
      connectionOptions(h, transport, dc),
    );
    onCleanup(() => wrong.close());
    await expect(wrong.sendEvent('no')).rejects.toBeInstanceOf(UnauthorizedError);
  });

  test('refused: a wrong thumbprint, a CN that is not the device, a SAS device with a certificate', async () => {
    const log: string[] = [];
    const h = await hub(log);
    const c = selfSigned('s1');
    h.state.registry.addDevice('s1', { authType: 'selfSigned', primaryThumbprint: thumbprint(c, 'sha1') });
    h.state.registry.addDevice('ca1', { authType: 'certificateAuthority' });
    h.state.registry.addDevice('sas1');
    const wrongPrint = await refusal(x509Device(h, transport, 's1', selfSigned('s1')));
    const cnMismatch = await refusal(
      x509Device(
        h,
        transport,
        'ca1',
        issueCertificate(trustedCa, { commonName: 'ca2', validDays: 1, usage: 'client' }),
      ),
    );
    const sasDevice = await refusal(
      x509Device(
        h,
        transport,
        'sas1',
        issueCertificate(trustedCa, { commonName: 'sas1', validDays: 1, usage: 'client' }),
      ),
    );
    // One answer for all three: a certificate does not tell which devices exist or how they authenticate.
    for (const e of [wrongPrint, cnMismatch, sasDevice]) expect(e.description).toBe(UNAUTHORIZED_LINK);
    const reasons = log.filter((l) => l.startsWith('X.509 refused'));
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toMatch(/device s1: the thumbprint matches neither/);
    expect(reasons[1]).toMatch(/device ca1: the subject CN is not ca1/);
    expect(reasons[2]).toMatch(/device sas1: the identity authenticates with SAS/);
  });

  test('refused: an untrusted CA, an expired and a not-yet-valid certificate', async () => {
    const h = await hub();
    h.state.registry.addDevice('ca1', { authType: 'certificateAuthority' });
    const c = selfSigned('s1');
    const day = 24 * 3600 * 1000;
    const untrusted = await refusal(
      x509Device(
        h,
        transport,
        'ca1',
        issueCertificate(otherCa, { commonName: 'ca1', validDays: 1, usage: 'client' }),
      ),
    );
    expect(untrusted.description).toBe(UNAUTHORIZED_LINK);
    // A device that does not exist gets the same answer: an untrusted chain does not tell a CA
    // device apart from the rest (the hub's log says which it was).
    const nobody = await refusal(
      x509Device(
        h,
        transport,
        'nobody',
        issueCertificate(otherCa, { commonName: 'nobody', validDays: 1, usage: 'client' }),
      ),
    );
    expect(nobody.description).toBe(untrusted.description);
    const expired = issueCertificate(trustedCa, {
      commonName: 'ca1',
      validDays: 1,
      usage: 'client',
      notBefore: new Date(Date.now() - 3 * day),
      notAfter: new Date(Date.now() - day),
    });
    expect((await refusal(x509Device(h, transport, 'ca1', expired))).description).toBe(CERTIFICATE_EXPIRED);
    const early = issueCertificate(trustedCa, {
      commonName: 'ca1',
      validDays: 3,
      usage: 'client',
      notBefore: new Date(Date.now() + day),
    });
    expect((await refusal(x509Device(h, transport, 'ca1', early))).description).toBe(
      CERTIFICATE_NOT_YET_VALID,
    );
    // A self-signed certificate for a CA device: its chain ends nowhere the hub trusts.
    h.state.registry.addDevice('s1', { authType: 'selfSigned', primaryThumbprint: thumbprint(c, 'sha256') });
    expect((await refusal(x509Device(h, transport, 'ca1', c))).description).toBe(UNAUTHORIZED_LINK);
  });

  test('an X.509 device cannot use its SAS key', async () => {
    const h = await hub();
    const c = selfSigned('s1');
    const s1 = h.state.registry.addDevice('s1', {
      authType: 'selfSigned',
      primaryThumbprint: thumbprint(c, 'sha1'),
    });
    const host = transport === 'amqp-ws' ? `localhost:${h.httpsPort}` : h.hostName;
    const d = DeviceClient.fromConnectionString(
      `HostName=${host};DeviceId=s1;SharedAccessKey=${s1.primaryKey}`,
      {
        tls: { ca: h.caPem },
        transport,
        reconnect: false,
        ...(transport === 'amqp-ws' ? { port: h.httpsPort } : {}),
      },
    );
    onCleanup(() => d.close());
    const err = await d.sendEvent('no').then(
      () => new Error('sent'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).statusCode).toBe(401);
    expect(h.deviceConnectionString('s1')).toMatch(/;x509=true$/);
  });
});

test('x509=true takes a certificate and no token: tokenProvider and auth plain are refused at once', () => {
  const cert = selfSigned('s1');
  const cs = 'HostName=localhost:1;DeviceId=s1;x509=true';
  const tls = { cert: cert.certPem, key: cert.keyPem };
  for (const [extra, key] of [
    [
      { tokenProvider: async () => ({ token: 'SharedAccessSignature sr=x&sig=y&se=1', expiresAtMs: 1 }) },
      'tokenProvider',
    ],
    [{ auth: 'plain' as const }, 'auth'],
  ] as const) {
    let thrown: unknown;
    try {
      DeviceClient.fromConnectionString(cs, { tls, ...extra });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(IotHubConfigError);
    expect(thrown).toMatchObject({ code: 'IOTHUB_BAD_CONNECTION_STRING', key });
  }
  expect(() => DeviceClient.fromConnectionString(cs, { tls: { ca: 'x' } })).toThrow(
    /needs the client certificate/,
  );
});
