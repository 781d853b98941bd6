/**
 * The emulator's X.509 authentication at the AMQP level (x509.ts): SASL EXTERNAL on the AMQPS
 * port and through a WebSocket on the HTTPS port (the TLS socket under the upgrade carries the
 * certificate), EXTERNAL without a certificate, and validity judged on the hub's clock.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../../src/client/connect.js';
import { UNAUTHORIZED_LINK } from '../../../src/iothub/emulator/auth.js';
import { CERTIFICATE_EXPIRED, clientTrustStore } from '../../../src/iothub/emulator/x509.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/pki/certificates.js';
import { ManualClock } from '../../../src/util/timers.js';
import { ann, cleanup, testHub, track } from './helpers.js';

afterEach(cleanup);

const deviceCa = createCertificateAuthority({ commonName: 'device CA', validDays: 2 });

describe('X.509 with SASL EXTERNAL', () => {
  it('a self-signed certificate on the AMQPS port: EXTERNAL succeeds, the thumbprint opens the device', async () => {
    const t = await testHub({ tlsPort: 0 });
    const cert = createCertificateAuthority({ commonName: 'whatever', validDays: 1 });
    const sha256 = createHash('sha256').update(cert.cert.raw).digest('hex');
    t.hub.state.registry.addDevice('s1', { authType: 'selfSigned', secondaryThumbprint: sha256 });
    const conn = await track(
      connect({
        host: 'localhost',
        port: t.hub.tlsPort!,
        sasl: 'EXTERNAL',
        tls: { ca: t.hub.caPem!, cert: cert.certPem, key: cert.keyPem },
      }),
    );
    const s = await conn.openSender('/devices/s1/messages/events');
    expect((await s.send({ body: 'external' }))?.type).toBe('accepted');
    const e = t.hub.state.openEventCursor(t.hub.state.telemetry.partitionOf('s1')).next()!;
    expect(JSON.parse(String(ann(e.message, 'iothub-connection-auth-method')))).toMatchObject({
      scope: 'device',
      type: 'x509Certificate',
    });
    // d1 is a SAS device: the same certificate does not open it.
    await expect(conn.openSender('/devices/d1/messages/events')).rejects.toThrow(/unauthorized-access/);
  });

  it('a registry change ends the grants it takes away: a rotated thumbprint detaches the live links', async () => {
    const t = await testHub({ tlsPort: 0 });
    const cert = createCertificateAuthority({ commonName: 'rotated', validDays: 1 });
    const sha256 = createHash('sha256').update(cert.cert.raw).digest('hex');
    t.hub.state.registry.addDevice('s1', { authType: 'selfSigned', primaryThumbprint: sha256 });
    t.hub.state.registry.addDevice('s2', { authType: 'selfSigned', primaryThumbprint: sha256 });
    const conn = await track(
      connect({
        host: 'localhost',
        port: t.hub.tlsPort!,
        sasl: 'none',
        tls: { ca: t.hub.caPem!, cert: cert.certPem, key: cert.keyPem },
      }),
    );
    const s1 = await conn.openSender('/devices/s1/messages/events');
    const s2 = await conn.openSender('/devices/s2/messages/events');
    expect((await s1.send({ body: 'before' }))?.type).toBe('accepted');
    const closed = new Promise<unknown>((resolve) => s1.once('close', resolve));
    // An unrelated change leaves the grants alone; the rotation of s1's thumbprint ends s1's only.
    t.hub.state.registry.addDevice('other');
    t.hub.state.registry.updateDevice('s1', { primaryThumbprint: 'ab'.repeat(32) });
    expect(await closed).toMatchObject({
      condition: 'amqp:unauthorized-access',
      description: 'The client certificate no longer authenticates devices/s1/messages/events.',
    });
    await expect(conn.openSender('/devices/s1/messages/events')).rejects.toMatchObject({
      condition: 'amqp:unauthorized-access',
      description: UNAUTHORIZED_LINK,
    });
    expect((await s2.send({ body: 'still granted' }))?.type).toBe('accepted');
  });

  it('EXTERNAL without a client certificate fails in SASL', async () => {
    const t = await testHub({ tlsPort: 0 });
    const err: { code?: string; message: string } = await connect({
      host: 'localhost',
      port: t.hub.tlsPort!,
      sasl: 'EXTERNAL',
      tls: { ca: t.hub.caPem! },
      reconnect: false,
    }).then(
      (c) => {
        void c.close();
        return { message: 'connected' };
      },
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(err.code).toBe('AMQP_SASL_AUTH_FAILED');
    expect(err.message).toMatch(/SASL EXTERNAL: authentication failed/);
  });

  it('through a WebSocket on the HTTPS port: the upgraded TLS socket carries the certificate', async () => {
    const t = await testHub({ tlsPort: 0, httpsPort: 0, x509Ca: [deviceCa.certPem] });
    t.hub.state.registry.addDevice('c1', { authType: 'certificateAuthority' });
    const cert = issueCertificate(deviceCa, { commonName: 'c1', validDays: 1, usage: 'client' });
    const conn = await track(
      connect({
        host: 'localhost',
        port: t.hub.httpsPort!,
        sasl: 'EXTERNAL',
        websocket: { path: '/$iothub/websocket' },
        tls: { ca: t.hub.caPem!, cert: cert.certPem, key: cert.keyPem },
      }),
    );
    const s = await conn.openSender('/devices/c1/messages/events');
    expect((await s.send({ body: 'over wss' }))?.type).toBe('accepted');
    const e = t.hub.state.openEventCursor(t.hub.state.telemetry.partitionOf('c1')).next()!;
    expect(JSON.parse(String(ann(e.message, 'iothub-connection-auth-method'))).type).toBe('x509CA');
  });

  it("validity is judged on the hub's clock: past notAfter, a new connection is refused", async () => {
    const t = await testHub({ tlsPort: 0, x509Ca: [deviceCa.certPem] });
    t.hub.state.registry.addDevice('c1', { authType: 'certificateAuthority' });
    const cert = issueCertificate(deviceCa, { commonName: 'c1', validDays: 1, usage: 'client' });
    const open = () =>
      track(
        connect({
          host: 'localhost',
          port: t.hub.tlsPort!,
          sasl: 'none',
          tls: { ca: t.hub.caPem!, cert: cert.certPem, key: cert.keyPem },
        }),
      );
    await (await open()).openSender('/devices/c1/messages/events');
    t.advance(2 * 24 * 3600 * 1000);
    const late = await open();
    const err = await late.openSender('/devices/c1/messages/events').catch((e: unknown) => e);
    expect(err).toMatchObject({ condition: 'amqp:unauthorized-access', description: CERTIFICATE_EXPIRED });
  });

  it('x509: false asks no TLS client for a certificate: a certificate client then opens nothing', async () => {
    const t = await testHub({ tlsPort: 0, x509: false, x509Ca: [deviceCa.certPem] });
    t.hub.state.registry.addDevice('c1', { authType: 'certificateAuthority' });
    const cert = issueCertificate(deviceCa, { commonName: 'c1', validDays: 1, usage: 'client' });
    const conn = await track(
      connect({
        host: 'localhost',
        port: t.hub.tlsPort!,
        sasl: 'none',
        tls: { ca: t.hub.caPem!, cert: cert.certPem, key: cert.keyPem },
      }),
    );
    await expect(conn.openSender('/devices/c1/messages/events')).rejects.toMatchObject({
      condition: 'amqp:unauthorized-access',
      description: UNAUTHORIZED_LINK,
    });
  });

  it('a hub given its own cert, key and ca (no x509Ca) trusts no CA for client certificates', async () => {
    // Its listeners still get a `ca`: without one Node would trust its public roots (and
    // NODE_EXTRA_CA_CERTS) for client certificates. The stand-in CA's key is nowhere.
    const stand = clientTrustStore([]);
    expect(stand).toHaveLength(1);
    expect(new X509Certificate(stand[0]!).ca).toBe(true);
    const serverCa = createCertificateAuthority({ commonName: 'server CA', validDays: 1 });
    const server = issueCertificate(serverCa, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      validDays: 1,
      usage: 'server',
    });
    // The `ca` reported beside the server's certificate may be a public or corporate CA: trusting
    // it would make any certificate it issued with a device id as CN that device.
    const t = await testHub({ tlsPort: 0, cert: server.certPem, key: server.keyPem, ca: serverCa.certPem });
    t.hub.state.registry.addDevice('c1', { authType: 'certificateAuthority' });
    const cert = issueCertificate(serverCa, { commonName: 'c1', validDays: 1, usage: 'client' });
    const conn = await track(
      connect({
        host: 'localhost',
        port: t.hub.tlsPort!,
        sasl: 'none',
        tls: { ca: serverCa.certPem, cert: cert.certPem, key: cert.keyPem },
      }),
    );
    await expect(conn.openSender('/devices/c1/messages/events')).rejects.toMatchObject({
      condition: 'amqp:unauthorized-access',
      description: UNAUTHORIZED_LINK,
    });
  });

  it('an expired certificate of an untrusted CA stays untrusted on a hub whose clock is behind', async () => {
    // OpenSSL calls it CERT_HAS_EXPIRED, as it would a trusted one: that says nothing of the chain.
    const day = 24 * 3600 * 1000;
    const t = await testHub({
      tlsPort: 0,
      x509Ca: [deviceCa.certPem],
      clock: new ManualClock(Date.now() - 2 * day),
    });
    t.hub.state.registry.addDevice('c1', { authType: 'certificateAuthority' });
    const stranger = createCertificateAuthority({ commonName: 'stranger CA', validDays: 1 });
    const cert = issueCertificate(stranger, {
      commonName: 'c1',
      validDays: 1,
      usage: 'client',
      notBefore: new Date(Date.now() - 3 * day),
      notAfter: new Date(Date.now() - day),
    });
    const conn = await track(
      connect({
        host: 'localhost',
        port: t.hub.tlsPort!,
        sasl: 'none',
        tls: { ca: t.hub.caPem!, cert: cert.certPem, key: cert.keyPem },
      }),
    );
    await expect(conn.openSender('/devices/c1/messages/events')).rejects.toMatchObject({
      condition: 'amqp:unauthorized-access',
      description: UNAUTHORIZED_LINK,
    });
  });
});
