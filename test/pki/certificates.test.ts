/**
 * Self-made certificates (src/pki/certificates.ts): DER known answers for the encoder,
 * parsing by node:crypto's X509Certificate, real TLS handshakes on loopback (server and client
 * certificates, SNI and IP SAN checks, unknown CA, wrong purpose), and, where openssl is installed
 * (CI installs it; the library never needs it), `openssl x509 -text` and `openssl verify -x509_strict`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto, { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeLength,
  fromPem,
  integer,
  namedBits,
  oid,
  readChildren,
  readSingle,
  set,
  boolean,
  octetString,
  toPem,
  x509Time,
} from '../../src/pki/der.js';
import {
  DEFAULT_BACKDATE_MS,
  createCertificateAuthority,
  ipAddressBytes,
  issueCertificate,
  type CertificateAuthority,
  type IssuedCertificate,
} from '../../src/pki/certificates.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const DAY_MS = 24 * 60 * 60 * 1000;

const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

let ca: CertificateAuthority;
let server: IssuedCertificate;
let client: IssuedCertificate;
let timings: { ca: number; server: number; client: number };

beforeAll(() => {
  let t = performance.now();
  ca = createCertificateAuthority({
    commonName: 'amqp-one test CA',
    organization: 'amqp-one',
    validDays: 3650,
  });
  const tCa = performance.now() - t;
  t = performance.now();
  server = issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    validDays: 365,
    usage: 'server',
  });
  const tServer = performance.now() - t;
  t = performance.now();
  client = issueCertificate(ca, {
    commonName: 'device-1',
    dnsNames: [],
    ipAddresses: [],
    validDays: 30,
    usage: 'client',
  });
  timings = { ca: tCa, server: tServer, client: performance.now() - t };
});

describe('DER encoder known answers', () => {
  it('lengths: short form below 128, minimal long form above', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(255))).toBe('81ff');
    expect(hex(encodeLength(256))).toBe('820100');
    expect(hex(encodeLength(65536))).toBe('83010000');
    expect(hex(octetString(Buffer.alloc(200))).slice(0, 6)).toBe('0481c8');
  });

  it('INTEGER: minimal, positive (leading 0x00 when the top bit is set)', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(hex(integer(2n ** 64n))).toBe('0209010000000000000000');
    expect(hex(integer(Buffer.from([0, 0, 1])))).toBe('020101');
    expect(hex(integer(Buffer.from([0xff, 1])))).toBe('020300ff01');
    expect(hex(integer(Buffer.alloc(3)))).toBe('020100');
    expect(() => integer(-1)).toThrow();
  });

  it('OBJECT IDENTIFIER, BOOLEAN, SET OF ordering', () => {
    expect(hex(oid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.5.29.14'))).toBe('0603551d0e');
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    expect(() => oid('1.40')).toThrow();
    expect(() => oid('3.1')).toThrow();
    expect(hex(boolean(true))).toBe('0101ff');
    expect(hex(set(Buffer.from('0201ff', 'hex'), Buffer.from('020101', 'hex')))).toBe(
      '3106020101' + '0201ff',
    );
  });

  it('named BIT STRINGs drop trailing zero bits (KeyUsage)', () => {
    expect(hex(namedBits([5, 6]))).toBe('03020106'); // keyCertSign, cRLSign
    expect(hex(namedBits([0]))).toBe('03020780'); // digitalSignature
    expect(hex(namedBits([0, 2]))).toBe('030205a0'); // + keyEncipherment
    expect(hex(namedBits([8]))).toBe('0303070080'); // decipherOnly
    expect(hex(namedBits([]))).toBe('030100');
  });

  it('Time: UTCTime through 2049, GeneralizedTime from 2050, whole seconds', () => {
    const ascii = (b: Buffer): string => b.subarray(2).toString('latin1');
    const t2049 = x509Time(new Date('2049-12-31T23:59:59.999Z'));
    expect(t2049[0]).toBe(0x17);
    expect(ascii(t2049)).toBe('491231235959Z');
    const t2050 = x509Time(new Date('2050-01-01T00:00:00Z'));
    expect(t2050[0]).toBe(0x18);
    expect(ascii(t2050)).toBe('20500101000000Z');
    const t1950 = x509Time(new Date('1950-01-01T00:00:00Z'));
    expect([t1950[0], ascii(t1950)]).toEqual([0x17, '500101000000Z']);
    const t1949 = x509Time(new Date('1949-12-31T23:59:59Z'));
    expect([t1949[0], ascii(t1949)]).toEqual([0x18, '19491231235959Z']);
    expect(ascii(x509Time(new Date('2026-03-04T05:06:07Z')))).toBe('260304050607Z');
  });

  it('PEM round trip and the TLV reader', () => {
    const der = Buffer.from('3006020101020102', 'hex');
    const pem = toPem('TEST', der);
    expect(pem).toBe('-----BEGIN TEST-----\nMAYCAQECAQI=\n-----END TEST-----\n');
    expect(fromPem('TEST', pem)).toEqual(der);
    const kids = readChildren(der, readSingle(der));
    expect(kids.map((k) => [k.tag, k.contentStart, k.end])).toEqual([
      [2, 4, 5],
      [2, 7, 8],
    ]);
    expect(() => readSingle(Buffer.from('300502', 'hex'))).toThrow(/runs past/);
    expect(() => readSingle(Buffer.from('3080', 'hex'))).toThrow(/indefinite/);
    expect(() => readSingle(Buffer.from('02010100', 'hex'))).toThrow(/trailing/);
  });

  it('IP addresses: IPv4, IPv6 with ::, embedded IPv4', () => {
    expect(hex(ipAddressBytes('127.0.0.1'))).toBe('7f000001');
    expect(hex(ipAddressBytes('::1'))).toBe('00000000000000000000000000000001');
    expect(hex(ipAddressBytes('::'))).toBe('00'.repeat(16));
    expect(hex(ipAddressBytes('2001:db8::'))).toBe('20010db8' + '00'.repeat(12));
    expect(hex(ipAddressBytes('fe80::1:2'))).toBe('fe80' + '00'.repeat(10) + '00010002');
    expect(hex(ipAddressBytes('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
    expect(hex(ipAddressBytes('1:2:3:4:5:6:7::'))).toBe('00010002000300040005000600070000');
    expect(hex(ipAddressBytes('::ffff:192.168.0.1'))).toBe('00'.repeat(10) + 'ffffc0a80001');
    for (const bad of ['localhost', '1.2.3', '1.2.3.256', '1::2::3', 'fe80::1%eth0']) {
      expect(() => ipAddressBytes(bad), bad).toThrow(/not an IP address/);
    }
  });
});

describe('certificates parsed by node:crypto', () => {
  it('generates fast: EC P-256 keys, never RSA', () => {
    // What makes generation cheap is the key type (an RSA key takes 100 times longer), so that is
    // what is checked; the timings are only reported.
    for (const pem of [ca.keyPem, server.keyPem, client.keyPem]) {
      const key = createPrivateKey(pem);
      expect(key.asymmetricKeyType).toBe('ec');
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
    const runs = 20;
    const t = performance.now();
    for (let i = 0; i < runs; i++) {
      const c = createCertificateAuthority({ commonName: `ca ${i}`, validDays: 1 });
      issueCertificate(c, {
        commonName: 'localhost',
        dnsNames: ['localhost'],
        validDays: 1,
        usage: 'server',
      });
    }
    const perPair = (performance.now() - t) / runs;
    console.log(
      `certificate generation: first CA ${timings.ca.toFixed(1)} ms, server ${timings.server.toFixed(1)} ms, ` +
        `client ${timings.client.toFixed(1)} ms; CA + server pair ${perPair.toFixed(2)} ms on average`,
    );
    expect(perPair).toBeLessThan(100);
  });

  it('the CA: self-signed, CA:TRUE, EC P-256, ecdsa-with-SHA256', () => {
    const c = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(true);
    expect(c.subject).toBe('O=amqp-one\nCN=amqp-one test CA');
    expect(c.issuer).toBe(c.subject);
    expect(c.checkIssued(c)).toBe(true);
    expect(c.verify(c.publicKey)).toBe(true);
    expect(c.publicKey.asymmetricKeyType).toBe('ec');
    expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(c.checkPrivateKey(crypto.createPrivateKey(ca.keyPem))).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(ca.cert.fingerprint256).toBe(c.fingerprint256);
    // Certificate.signatureAlgorithm is ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no parameters.
    expect(hex(c.raw)).toContain('300a06082a8648ce3d040302');
  });

  it('the server certificate: subject, issuer, SAN, EKU, signed by the CA', () => {
    const c = server.cert;
    expect(c.ca).toBe(false);
    expect(c.subject).toBe('CN=localhost');
    expect(c.issuer).toBe(ca.cert.subject);
    expect(c.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(c.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node's keyUsage is the extended key usage
    expect(c.checkIssued(ca.cert)).toBe(true);
    expect(c.verify(ca.cert.publicKey)).toBe(true);
    expect(c.verify(client.cert.publicKey)).toBe(false);
    expect(c.checkHost('localhost')).toBe('localhost');
    expect(c.checkHost('example.com')).toBeUndefined();
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(c.checkIP('::1')).toBe('::1');
    expect(c.checkIP('127.0.0.2')).toBeUndefined();
    expect(c.checkPrivateKey(crypto.createPrivateKey(server.keyPem))).toBe(true);
    expect(new X509Certificate(server.certPem).fingerprint256).toBe(c.fingerprint256);
  });

  it('the client certificate: clientAuth, no SAN', () => {
    expect(client.cert.subject).toBe('CN=device-1');
    expect(client.cert.subjectAltName).toBeUndefined();
    expect(client.cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(client.cert.checkIssued(ca.cert)).toBe(true);
    expect(client.cert.verify(ca.cert.publicKey)).toBe(true);
  });

  it('random positive 16-byte serials', () => {
    const serials = [ca.cert, server.cert, client.cert].map((c) => c.serialNumber);
    for (const s of serials) expect(s).toMatch(/^[4-7][0-9A-F]{31}$/);
    expect(new Set(serials).size).toBe(3);
  });

  it('validity: notBefore an hour back, notAfter validDays ahead', () => {
    const now = Date.now();
    for (const [c, days] of [
      [ca.cert, 3650],
      [server.cert, 365],
      [client.cert, 30],
    ] as const) {
      const from = Date.parse(c.validFrom);
      const to = Date.parse(c.validTo);
      expect(Math.abs(from - (now - DEFAULT_BACKDATE_MS))).toBeLessThan(60_000);
      expect(Math.abs(to - (now + days * DAY_MS))).toBeLessThan(60_000);
    }
  });

  it('dates past 2049 (GeneralizedTime) and an explicit notBefore', () => {
    const notBefore = new Date('2020-02-29T12:34:56Z');
    const long = createCertificateAuthority({ commonName: 'long', validDays: 365 * 40, notBefore });
    expect(Date.parse(long.cert.validFrom)).toBe(notBefore.getTime());
    const to = new Date(Date.parse(long.cert.validTo));
    expect(to.getUTCFullYear()).toBeGreaterThanOrEqual(2060);
    expect(Math.abs(to.getTime() - (Date.now() + 365 * 40 * DAY_MS))).toBeLessThan(60_000);
    // The Validity: UTCTime '200229123456Z', then a GeneralizedTime (tag 0x18, 15 characters).
    expect(hex(long.cert.raw)).toContain('170d' + hex(Buffer.from('200229123456Z')) + '180f');
  });

  it('an RSA CA and RSA or EC leaves (sha256WithRSAEncryption; keyEncipherment for RSA leaves)', () => {
    const rsaCa = createCertificateAuthority({ commonName: 'rsa CA', validDays: 10, keyType: 'rsa' });
    expect(rsaCa.cert.publicKey.asymmetricKeyType).toBe('rsa');
    expect(rsaCa.cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    // sha256WithRSAEncryption (1.2.840.113549.1.1.11) with NULL parameters.
    expect(hex(rsaCa.cert.raw)).toContain('300d06092a864886f70d01010b0500');
    for (const keyType of ['ec', 'rsa'] as const) {
      const leaf = issueCertificate(rsaCa, {
        commonName: 'localhost',
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        validDays: 1,
        usage: 'server',
        keyType,
      });
      expect(leaf.cert.publicKey.asymmetricKeyType).toBe(keyType);
      expect(leaf.cert.verify(rsaCa.cert.publicKey)).toBe(true);
      expect(leaf.cert.checkIssued(rsaCa.cert)).toBe(true);
      // KeyUsage: digitalSignature (03 02 07 80), + keyEncipherment for RSA (03 02 05 a0).
      expect(hex(leaf.cert.raw)).toContain(keyType === 'rsa' ? '0404030205a0' : '040403020780');
    }
  });

  it('issues from a CA given only as PEM (e.g. one saved by an earlier run)', () => {
    const again = issueCertificate(
      { certPem: ca.certPem, keyPem: ca.keyPem },
      { commonName: 'localhost', dnsNames: ['localhost'], validDays: 1, usage: 'server' },
    );
    expect(again.cert.checkIssued(ca.cert)).toBe(true);
    expect(again.cert.verify(ca.cert.publicKey)).toBe(true);
  });

  it('international names go to punycode; wildcards stay', () => {
    const c = issueCertificate(ca, {
      commonName: 'bücher',
      dnsNames: ['bücher.example', '*.example.com'],
      validDays: 1,
      usage: 'server',
    });
    expect(c.cert.subject).toBe('CN=bücher');
    expect(c.cert.subjectAltName).toBe('DNS:xn--bcher-kva.example, DNS:*.example.com');
    expect(c.cert.checkHost('a.example.com')).toBe('*.example.com');
  });

  it('rejects bad input', () => {
    const leaf = { commonName: 'x', validDays: 1, usage: 'server' } as const;
    const codeOf = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return (e as { code?: unknown }).code;
      }
      return 'no error';
    };
    expect(codeOf(() => issueCertificate(server, leaf))).toBe('AMQP_CERT_INVALID'); // not a CA
    expect(codeOf(() => issueCertificate({ certPem: ca.certPem, keyPem: server.keyPem }, leaf))).toBe(
      'AMQP_CERT_INVALID',
    );
    expect(codeOf(() => issueCertificate(ca, { ...leaf, validDays: 0 }))).toBe('AMQP_CERT_INVALID');
    expect(codeOf(() => issueCertificate(ca, { ...leaf, commonName: '' }))).toBe('AMQP_CERT_INVALID');
    expect(codeOf(() => issueCertificate(ca, { ...leaf, ipAddresses: ['localhost'] }))).toBe(
      'AMQP_CERT_INVALID',
    );
    expect(codeOf(() => issueCertificate(ca, { ...leaf, dnsNames: ['a b'] }))).toBe('AMQP_CERT_INVALID');
    expect(codeOf(() => issueCertificate(ca, { ...leaf, usage: 'both' as 'server' }))).toBe(
      'AMQP_CERT_INVALID',
    );
    expect(codeOf(() => createCertificateAuthority({ commonName: 'x', validDays: NaN }))).toBe(
      'AMQP_CERT_INVALID',
    );
  });
});

interface Listening {
  port: number;
  secured: tls.TLSSocket[];
  clientErrors: Error[];
  close(): Promise<void>;
}

async function listen(options: tls.TlsOptions, host = '127.0.0.1'): Promise<Listening> {
  const secured: tls.TLSSocket[] = [];
  const clientErrors: Error[] = [];
  const sockets = new Set<net.Socket>();
  const srv = tls.createServer(options, (socket) => {
    secured.push(socket);
    socket.on('error', () => {});
    socket.end('hello');
  });
  srv.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  srv.on('tlsClientError', (err) => clientErrors.push(err));
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, () => resolve());
  });
  return {
    port: (srv.address() as net.AddressInfo).port,
    secured,
    clientErrors,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** Connects, waits for the server's 'hello' (so a server-side rejection of a client certificate shows too). */
function talk(
  options: tls.ConnectionOptions,
): Promise<{ authorized: boolean; data: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', (err) => {
      socket.destroy();
      reject(err);
    });
    socket.on('end', () => {
      resolve({ authorized: socket.authorized, data, protocol: socket.getProtocol() ?? '' });
      socket.end();
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
  });
}

/** The client-side error code, or 'connected' when the server's 'hello' came through. */
async function errorCode(p: Promise<{ data: string }>): Promise<string> {
  try {
    const { data } = await p;
    // TLS 1.3: the client finishes its handshake before the server has checked the client
    // certificate; a refusal then shows as a closed connection without the server's 'hello'.
    return data === 'hello' ? 'connected' : 'closed without data';
  } catch (e) {
    return String((e as { code?: unknown }).code ?? (e as Error).message);
  }
}

describe('TLS handshakes on loopback', () => {
  let srv: Listening;
  beforeAll(async () => {
    srv = await listen({ cert: server.certPem, key: server.keyPem });
  });
  afterAll(() => srv.close());

  it('a client trusting the CA connects with servername localhost', async () => {
    const r = await talk({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: ca.certPem });
    expect(r).toMatchObject({ authorized: true, data: 'hello' });
    expect(['TLSv1.3', 'TLSv1.2']).toContain(r.protocol);
  });

  it('connecting to 127.0.0.1 without servername checks the IP SAN', async () => {
    const r = await talk({ host: '127.0.0.1', port: srv.port, ca: ca.certPem, rejectUnauthorized: true });
    expect(r).toMatchObject({ authorized: true, data: 'hello' });
  });

  it('TLS 1.2 works too', async () => {
    const r = await talk({ host: '127.0.0.1', port: srv.port, ca: ca.certPem, maxVersion: 'TLSv1.2' });
    expect(r).toMatchObject({ authorized: true, protocol: 'TLSv1.2' });
  });

  it('over IPv6 ::1 (IPv6 SAN), when the machine has IPv6 loopback', async (ctx) => {
    let v6: Listening;
    try {
      v6 = await listen({ cert: server.certPem, key: server.keyPem }, '::1');
    } catch {
      ctx.skip();
      return;
    }
    try {
      const r = await talk({ host: '::1', port: v6.port, ca: ca.certPem });
      expect(r).toMatchObject({ authorized: true, data: 'hello' });
    } finally {
      await v6.close();
    }
  });

  it('a client without the CA fails: unknown issuer', async () => {
    const code = await errorCode(talk({ host: '127.0.0.1', port: srv.port, servername: 'localhost' }));
    expect(code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a client trusting another CA fails', async () => {
    const other = createCertificateAuthority({
      commonName: 'amqp-one test CA',
      organization: 'amqp-one',
      validDays: 1,
    });
    const code = await errorCode(
      talk({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: other.certPem }),
    );
    expect(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_SIGNATURE_FAILURE']).toContain(code);
  });

  it('a name not in the SAN fails the host check', async () => {
    const code = await errorCode(
      talk({ host: '127.0.0.1', port: srv.port, servername: 'example.com', ca: ca.certPem }),
    );
    expect(code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('a server certificate with clientAuth only is refused by the client (wrong purpose)', async () => {
    const wrong = await listen({ cert: client.certPem, key: client.keyPem });
    try {
      const code = await errorCode(
        talk({ host: '127.0.0.1', port: wrong.port, servername: 'localhost', ca: ca.certPem }),
      );
      expect(code).toBe('INVALID_PURPOSE');
    } finally {
      await wrong.close();
    }
  });

  it('an RSA server certificate from an RSA CA works', async () => {
    const rsaCa = createCertificateAuthority({ commonName: 'rsa CA', validDays: 1, keyType: 'rsa' });
    const rsa = issueCertificate(rsaCa, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validDays: 1,
      usage: 'server',
      keyType: 'rsa',
    });
    const s = await listen({ cert: rsa.certPem, key: rsa.keyPem });
    try {
      for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
        const r = await talk({ host: '127.0.0.1', port: s.port, ca: rsaCa.certPem, maxVersion });
        expect(r).toMatchObject({ authorized: true, data: 'hello' });
      }
    } finally {
      await s.close();
    }
  });
});

describe('client certificates (mutual TLS)', () => {
  let srv: Listening;
  beforeAll(async () => {
    srv = await listen({
      cert: server.certPem,
      key: server.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
  });
  afterAll(() => srv.close());

  it('the server accepts the client certificate: authorized, CN device-1', async () => {
    const r = await talk({
      host: '127.0.0.1',
      port: srv.port,
      servername: 'localhost',
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
    });
    expect(r).toMatchObject({ authorized: true, data: 'hello' });
    const s = srv.secured.at(-1)!;
    expect(s.authorized).toBe(true);
    expect(s.authorizationError).toBeNull();
    const peer = s.getPeerCertificate();
    expect(peer.subject.CN).toBe('device-1');
    expect(peer.issuer.CN).toBe('amqp-one test CA');
    expect(peer.fingerprint256).toBe(client.cert.fingerprint256);
  });

  it('TLS 1.2 too', async () => {
    const r = await talk({
      host: '127.0.0.1',
      port: srv.port,
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      maxVersion: 'TLSv1.2',
    });
    expect(r).toMatchObject({ authorized: true, data: 'hello' });
    expect(srv.secured.at(-1)!.getPeerCertificate().subject.CN).toBe('device-1');
  });

  it('without a client certificate the server refuses', async () => {
    const before = srv.clientErrors.length;
    const code = await errorCode(talk({ host: '127.0.0.1', port: srv.port, ca: ca.certPem }));
    expect(code).not.toBe('connected');
    await waitFor(() => srv.clientErrors.length > before);
  });

  // Node's server checks the client certificate after the handshake and, with rejectUnauthorized,
  // just destroys the socket; the reason shows on a server that does not reject (authorizationError).
  async function serverVerdict(cert: IssuedCertificate): Promise<{ strict: string; reason: string | null }> {
    const strict = await errorCode(
      talk({ host: '127.0.0.1', port: srv.port, ca: ca.certPem, cert: cert.certPem, key: cert.keyPem }),
    );
    const lenient = await listen({
      cert: server.certPem,
      key: server.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    try {
      await talk({
        host: '127.0.0.1',
        port: lenient.port,
        ca: ca.certPem,
        cert: cert.certPem,
        key: cert.keyPem,
      });
      const s = lenient.secured[0]!;
      expect(s.authorized).toBe(false);
      return { strict, reason: String(s.authorizationError) };
    } finally {
      await lenient.close();
    }
  }

  it('a client certificate from another CA is refused', async () => {
    const other = createCertificateAuthority({ commonName: 'other CA', validDays: 1 });
    const stranger = issueCertificate(other, { commonName: 'device-1', validDays: 1, usage: 'client' });
    const v = await serverVerdict(stranger);
    expect(v.strict).not.toBe('connected');
    expect(v.reason).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a serverAuth-only certificate is refused as a client certificate (wrong purpose)', async () => {
    const v = await serverVerdict(server);
    expect(v.strict).not.toBe('connected');
    expect(v.reason).toBe('INVALID_PURPOSE');
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// openssl is installed by scripts/install-peers.sh (CI runs it): the library never needs it, the
// cross-check does, and a machine without it fails here rather than skipping the check.
describe('cross-check with openssl', () => {
  it('openssl is installed', () => {
    expect(hasOpenssl).toBe(true);
  });
  let dir: string;
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const openssl = (...args: string[]): { status: number | null; out: string } => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const text = (pem: string, name: string): string =>
    execFileSync('openssl', ['x509', '-noout', '-text', '-in', file(name, pem)], { encoding: 'utf8' });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amqp-one-certs-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('openssl x509 -text reads the CA', () => {
    const t = text(ca.certPem, 'ca.pem');
    expect(t).toContain('Version: 3 (0x2)');
    expect(t).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(t).toContain('Issuer: O = amqp-one, CN = amqp-one test CA');
    expect(t).toContain('Subject: O = amqp-one, CN = amqp-one test CA');
    expect(t).toContain('ASN1 OID: prime256v1');
    expect(t).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(t).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(t).toContain('X509v3 Subject Key Identifier');
    expect(t).toContain('X509v3 Authority Key Identifier');
  });

  it('openssl x509 -text reads the server and client certificates', () => {
    const caSki = /X509v3 Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text(ca.certPem, 'ca.pem'))![1]!;
    const s = text(server.certPem, 'server.pem');
    expect(s).toContain('Issuer: O = amqp-one, CN = amqp-one test CA');
    expect(s).toContain('Subject: CN = localhost');
    expect(s).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(s).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(s).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(s).toMatch(
      /X509v3 Subject Alternative Name:\s+DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1\n/,
    );
    expect(s).toMatch(new RegExp(`X509v3 Authority Key Identifier:\\s+(keyid:)?${caSki}`));
    const c = text(client.certPem, 'client.pem');
    expect(c).toContain('Subject: CN = device-1');
    expect(c).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(c).not.toContain('Subject Alternative Name');
  });

  it('openssl verify -x509_strict with the right purposes', () => {
    const caFile = file('ca.pem', ca.certPem);
    const ok = (purpose: string, pem: string, name: string): void => {
      const r = openssl('verify', '-x509_strict', '-purpose', purpose, '-CAfile', caFile, file(name, pem));
      expect(r.out.trim(), r.out).toBe(`${path.join(dir, name)}: OK`);
      expect(r.status).toBe(0);
    };
    ok('sslserver', server.certPem, 'server.pem');
    ok('sslclient', client.certPem, 'client.pem');
    ok('any', ca.certPem, 'ca-self.pem');
    // Wrong purposes and a foreign CA fail.
    expect(
      openssl('verify', '-purpose', 'sslclient', '-CAfile', caFile, file('s.pem', server.certPem)).status,
    ).not.toBe(0);
    expect(
      openssl('verify', '-purpose', 'sslserver', '-CAfile', caFile, file('c.pem', client.certPem)).status,
    ).not.toBe(0);
    const other = createCertificateAuthority({ commonName: 'other', validDays: 1 });
    expect(
      openssl('verify', '-CAfile', file('other.pem', other.certPem), file('s2.pem', server.certPem)).status,
    ).not.toBe(0);
  });

  it('openssl verifies RSA certificates and dates past 2049', () => {
    const rsaCa = createCertificateAuthority({ commonName: 'rsa CA', validDays: 365 * 30, keyType: 'rsa' });
    const leaf = issueCertificate(rsaCa, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validDays: 365 * 30,
      usage: 'server',
      keyType: 'rsa',
    });
    const t = text(leaf.certPem, 'rsa-leaf.pem');
    expect(t).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(t).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(t).toMatch(/Not After : .* 20[5-9]\d GMT/);
    const r = openssl(
      'verify',
      '-x509_strict',
      '-purpose',
      'sslserver',
      '-CAfile',
      file('rsa-ca.pem', rsaCa.certPem),
      file('rsa-leaf.pem', leaf.certPem),
    );
    expect(r.status, r.out).toBe(0);
  });

  it('issues from a CA made by openssl (its own subject key identifier)', () => {
    const keyFile = path.join(dir, 'ossl-ca.key');
    const certFile = path.join(dir, 'ossl-ca.pem');
    const made = openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-384',
      '-nodes',
      '-subj',
      '/C=NL/O=openssl/CN=openssl CA',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-days',
      '2',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    );
    expect(made.status, made.out).toBe(0);
    const osslCa = { certPem: fs.readFileSync(certFile, 'utf8'), keyPem: fs.readFileSync(keyFile, 'utf8') };
    const leaf = issueCertificate(osslCa, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      validDays: 1,
      usage: 'server',
    });
    expect(leaf.cert.issuer).toBe(new X509Certificate(osslCa.certPem).issuer);
    expect(text(leaf.certPem, 'ossl-leaf.pem')).toContain('Signature Algorithm: ecdsa-with-SHA384');
    const r = openssl(
      'verify',
      '-x509_strict',
      '-purpose',
      'sslserver',
      '-CAfile',
      certFile,
      file('ossl-leaf.pem', leaf.certPem),
    );
    expect(r.status, r.out).toBe(0);
  });
});
