/**
 * Self-made X.509 v3 certificates, with no openssl and no dependency: a certificate authority and
 * server or client certificates it issues, for the local IoT Hub emulator (TLS on localhost) and for
 * tests. node:crypto makes the keys and the signatures; the certificate itself is DER written by
 * ./der.ts (RFC 5280 profile).
 *
 *   const ca = createCertificateAuthority({ commonName: 'amqp-one local CA', validDays: 3650 });
 *   const server = issueCertificate(ca, {
 *     commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'],
 *     validDays: 365, usage: 'server',
 *   });
 *   tls.createServer({ cert: server.certPem, key: server.keyPem });   // clients: { ca: ca.certPem }
 *
 * Keys are EC P-256 by default (a millisecond to make; signatures ecdsa-with-SHA256) or RSA 2048
 * (sha256WithRSAEncryption). The CA can be one made here or any CA certificate and key in PEM (say,
 * one saved to disk by an earlier run, so that users trust it once).
 */
import crypto, { KeyObject, X509Certificate } from 'node:crypto';
import net from 'node:net';
import { domainToASCII } from 'node:url';
import { AmqpOneError } from '../codec/errors.js';
import {
  bitString,
  boolean,
  encodeOidContent,
  explicit,
  fromPem,
  implicitPrimitive,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  readChildren,
  readSingle,
  sequence,
  set,
  Tag,
  toPem,
  utf8String,
  x509Time,
} from './der.js';

export type CertificateKeyType = 'ec' | 'rsa';

export interface CertificateAuthorityOptions {
  /** Subject and issuer CN of the self-signed CA certificate. */
  commonName: string;
  /** Optional subject O (organisation), e.g. to recognise the CA in a trust store. */
  organization?: string;
  /** Lifetime, counted from now. */
  validDays: number;
  /** 'ec' (P-256, the default: fast) or 'rsa' (2048 bits). */
  keyType?: CertificateKeyType;
  /** Start of validity; defaults to an hour ago, so that a client whose clock is a little behind accepts it. */
  notBefore?: Date;
  /** End of validity, instead of `validDays` from now. */
  notAfter?: Date;
}

export interface CertificateAuthority {
  certPem: string;
  /** PKCS#8 private key, PEM. */
  keyPem: string;
  cert: X509Certificate;
}

export interface IssueCertificateOptions {
  /** Subject CN (for a device certificate, typically the device id). */
  commonName: string;
  organization?: string;
  /** subjectAltName DNS names (e.g. 'localhost'; IDNs are converted to punycode). */
  dnsNames?: string[];
  /** subjectAltName IP addresses, IPv4 or IPv6 (e.g. '127.0.0.1', '::1'). */
  ipAddresses?: string[];
  /** Lifetime, counted from now. */
  validDays: number;
  /** extendedKeyUsage: serverAuth or clientAuth. */
  usage: 'server' | 'client';
  /** Key of the new certificate: 'ec' (P-256, default) or 'rsa' (2048 bits), whatever the CA's key. */
  keyType?: CertificateKeyType;
  /** Start of validity; defaults to an hour ago (clock skew). */
  notBefore?: Date;
  /** End of validity, instead of `validDays` from now (e.g. a certificate already expired, for tests). */
  notAfter?: Date;
}

export interface IssuedCertificate {
  certPem: string;
  /** PKCS#8 private key, PEM. */
  keyPem: string;
  cert: X509Certificate;
}

/** How far notBefore is put in the past by default. */
export const DEFAULT_BACKDATE_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

const OID = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsaEncryption: '1.2.840.113549.1.1.11',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
const KeyUsageBit = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** Parsed CAs, so that issuing many certificates from one CA object parses its PEM once. */
const issuers = new WeakMap<object, { certPem: string; keyPem: string; issuer: Issuer }>();

function invalid(message: string): AmqpOneError {
  return new AmqpOneError('AMQP_CERT_INVALID', message);
}

/** Makes a self-signed CA certificate (CA:TRUE, pathlen 0, keyCertSign + cRLSign) and its key. */
export function createCertificateAuthority(o: CertificateAuthorityOptions): CertificateAuthority {
  const { notBefore, notAfter } = validity(o.validDays, o.notBefore, o.notAfter);
  const name = distinguishedName(o.commonName, o.organization);
  const { privateKey, publicKey } = generateKeys(o.keyType ?? 'ec');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = keyIdentifier(spki);
  const der = signCertificate(privateKey, {
    issuer: name,
    subject: name,
    notBefore,
    notAfter,
    spki,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true), integer(0))),
      extension(OID.keyUsage, true, namedBits([KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, octetString(keyId)),
      extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId))),
    ],
  });
  const ca: CertificateAuthority = {
    certPem: toPem('CERTIFICATE', der),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: new X509Certificate(der),
  };
  // Issuing from this object needs no PEM parsing.
  issuers.set(ca, { certPem: ca.certPem, keyPem: ca.keyPem, issuer: { key: privateKey, name, keyId } });
  return ca;
}

/** Makes a key pair and a certificate for it signed by `ca` (a CA from createCertificateAuthority, or any CA in PEM). */
export function issueCertificate(
  ca: { certPem: string; keyPem: string },
  o: IssueCertificateOptions,
): IssuedCertificate {
  if (o.usage !== 'server' && o.usage !== 'client') throw invalid(`usage must be 'server' or 'client'`);
  const { notBefore, notAfter } = validity(o.validDays, o.notBefore, o.notAfter);
  const subject = distinguishedName(o.commonName, o.organization);
  const names = subjectAltNames(o.dnsNames ?? [], o.ipAddresses ?? []);
  const issuer = loadIssuer(ca);
  const keyType = o.keyType ?? 'ec';
  const { privateKey, publicKey } = generateKeys(keyType);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const usageBits: number[] = [KeyUsageBit.digitalSignature];
  // RSA key exchange (TLS 1.2 non-ECDHE suites) encrypts to the key; EC keys only ever sign.
  if (keyType === 'rsa') usageBits.push(KeyUsageBit.keyEncipherment);
  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBits(usageBits)),
    extension(OID.extKeyUsage, false, sequence(oid(o.usage === 'server' ? OID.serverAuth : OID.clientAuth))),
  ];
  if (names.length > 0) extensions.push(extension(OID.subjectAltName, false, sequence(...names)));
  extensions.push(
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, issuer.keyId))),
  );
  const der = signCertificate(issuer.key, {
    issuer: issuer.name,
    subject,
    notBefore,
    notAfter,
    spki,
    extensions,
  });
  return {
    certPem: toPem('CERTIFICATE', der),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: new X509Certificate(der),
  };
}

function generateKeys(type: CertificateKeyType): crypto.KeyPairKeyObjectResult {
  if (type === 'ec') return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (type === 'rsa') return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  throw invalid(`keyType must be 'ec' or 'rsa', not ${String(type)}`);
}

function validity(
  validDays: number,
  start: Date | undefined,
  end?: Date,
): { notBefore: Date; notAfter: Date } {
  if (typeof validDays !== 'number' || !Number.isFinite(validDays) || validDays <= 0) {
    throw invalid(`validDays must be a positive number, not ${String(validDays)}`);
  }
  const now = Date.now();
  const notBefore = start ?? new Date(now - DEFAULT_BACKDATE_MS);
  if (Number.isNaN(notBefore.getTime())) throw invalid('notBefore is not a valid date');
  const notAfter = end ?? new Date(now + validDays * DAY_MS);
  if (Number.isNaN(notAfter.getTime())) throw invalid('notAfter is not a valid date');
  if (notAfter.getTime() <= notBefore.getTime()) throw invalid('notAfter would not be after notBefore');
  // Certificate times have whole seconds.
  return { notBefore: floorSeconds(notBefore), notAfter: floorSeconds(notAfter) };
}

function floorSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function distinguishedName(commonName: string, organization: string | undefined): Buffer {
  if (typeof commonName !== 'string' || commonName.length === 0)
    throw invalid('commonName must be a non-empty string');
  const rdns: Buffer[] = [];
  if (organization !== undefined) {
    if (organization.length === 0) throw invalid('organization must not be empty');
    rdns.push(set(sequence(oid(OID.organizationName), utf8String(organization))));
  }
  rdns.push(set(sequence(oid(OID.commonName), utf8String(commonName))));
  return sequence(...rdns);
}

/** GeneralNames: dNSName [2] IA5String and iPAddress [7] OCTET STRING (RFC 5280 §4.2.1.6). */
function subjectAltNames(dnsNames: string[], ipAddresses: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const name of dnsNames) {
    if (typeof name !== 'string' || name.length === 0) throw invalid('a DNS name must be a non-empty string');
    // Punycode for IDNs; a wildcard label stays as it is.
    const ascii = /^[\x21-\x7e]+$/.test(name) ? name : domainToASCII(name);
    if (!ascii || !/^[\x21-\x7e]+$/.test(ascii)) throw invalid(`not a DNS name: ${JSON.stringify(name)}`);
    out.push(implicitPrimitive(2, Buffer.from(ascii, 'latin1')));
  }
  for (const ip of ipAddresses) out.push(implicitPrimitive(7, ipAddressBytes(ip)));
  return out;
}

/** The 4 or 16 network-order bytes of an IPv4 or IPv6 address in text form. */
export function ipAddressBytes(ip: string): Buffer {
  const family = net.isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  if (family !== 6 || ip.includes('%')) throw invalid(`not an IP address: ${JSON.stringify(ip)}`);
  let text = ip;
  // An embedded IPv4 tail (::ffff:127.0.0.1) stands for the last two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text =
      text.slice(0, v4.index) +
      `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const gap = 8 - h.length - t.length; // '::' stands for one or more zero groups
  if (tail !== undefined && gap < 1) throw invalid(`not an IP address: ${JSON.stringify(ip)}`);
  const all = tail === undefined ? h : [...h, ...new Array<number>(gap).fill(0), ...t];
  if (all.length !== 8) throw invalid(`not an IP address: ${JSON.stringify(ip)}`);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (without the unused-bits octet). */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = readSingle(spkiDer);
  const bits = readChildren(spkiDer, spki)[1];
  if (!bits || bits.tag !== Tag.BIT_STRING) throw invalid('bad SubjectPublicKeyInfo');
  return crypto
    .createHash('sha1')
    .update(spkiDer.subarray(bits.contentStart + 1, bits.end))
    .digest();
}

interface Signer {
  algorithm: Buffer;
  sign(data: Buffer): Buffer;
}

/** The signature algorithm a CA key signs with: ECDSA with the hash that fits its curve, or RSA PKCS#1 v1.5 SHA-256. */
function signerFor(key: KeyObject): Signer {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [hash, alg] =
      curve === 'prime256v1'
        ? ['sha256', OID.ecdsaWithSha256]
        : curve === 'secp384r1'
          ? ['sha384', OID.ecdsaWithSha384]
          : curve === 'secp521r1'
            ? ['sha512', OID.ecdsaWithSha512]
            : [undefined, undefined];
    if (!hash || !alg) throw invalid(`unsupported EC curve ${String(curve)} for the CA key`);
    // ECDSA AlgorithmIdentifiers have no parameters (RFC 5758 §3.2).
    return { algorithm: sequence(oid(alg)), sign: (d) => crypto.sign(hash, d, { key, dsaEncoding: 'der' }) };
  }
  if (key.asymmetricKeyType === 'rsa') {
    // RSA AlgorithmIdentifiers carry an explicit NULL (RFC 4055 §5).
    return {
      algorithm: sequence(oid(OID.sha256WithRsaEncryption), nullValue()),
      sign: (d) => crypto.sign('sha256', d, { key, padding: crypto.constants.RSA_PKCS1_PADDING }),
    };
  }
  throw invalid(`unsupported CA key type ${String(key.asymmetricKeyType)}: use an EC or RSA key`);
}

interface TbsFields {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer[];
}

/** TBSCertificate (v3, random positive 16-byte serial) signed into a Certificate (RFC 5280 §4.1). */
function signCertificate(issuerKey: KeyObject, f: TbsFields): Buffer {
  const signer = signerFor(issuerKey);
  const serial = crypto.randomBytes(16);
  // Top bit clear (positive), next bit set (exactly 16 octets, never zero): 126 random bits.
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(serial),
    signer.algorithm,
    f.issuer,
    sequence(x509Time(f.notBefore), x509Time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, sequence(...f.extensions)),
  );
  return sequence(tbs, signer.algorithm, bitString(signer.sign(tbs)));
}

interface Issuer {
  key: KeyObject;
  /** The CA's subject Name, byte for byte, to be the issuer of what it signs. */
  name: Buffer;
  /** The CA's subjectKeyIdentifier, for the authorityKeyIdentifier of what it signs. */
  keyId: Buffer;
}

function loadIssuer(ca: { certPem: string; keyPem: string }): Issuer {
  if (!ca || typeof ca.certPem !== 'string' || typeof ca.keyPem !== 'string') {
    throw invalid('the CA must have certPem and keyPem');
  }
  const cached = issuers.get(ca);
  if (cached && cached.certPem === ca.certPem && cached.keyPem === ca.keyPem) return cached.issuer;
  const issuer = parseIssuer(ca.certPem, ca.keyPem);
  issuers.set(ca, { certPem: ca.certPem, keyPem: ca.keyPem, issuer });
  return issuer;
}

function parseIssuer(certPem: string, keyPem: string): Issuer {
  const der = fromPem('CERTIFICATE', certPem);
  const cert = new X509Certificate(der);
  if (!cert.ca)
    throw invalid(`${cert.subject.replace(/\n/g, ', ')} is not a CA certificate (basicConstraints CA:TRUE)`);
  const key = crypto.createPrivateKey(keyPem);
  if (!cert.checkPrivateKey(key)) throw invalid('the CA key does not match the CA certificate');

  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
  const tbs = readChildren(der, readSingle(der))[0];
  if (!tbs || tbs.tag !== Tag.SEQUENCE) throw invalid('bad CA certificate');
  const fields = readChildren(der, tbs);
  const i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version, absent in v1
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
  const subject = fields[i + 4];
  const spki = fields[i + 5];
  if (!subject || subject.tag !== Tag.SEQUENCE || !spki || spki.tag !== Tag.SEQUENCE) {
    throw invalid('bad CA certificate');
  }
  let keyId: Buffer | undefined;
  const extsWrapper = fields.slice(i + 6).find((f) => f.tag === 0xa3);
  if (extsWrapper) {
    const skiOid = encodeOidContent(OID.subjectKeyIdentifier);
    const list = readChildren(der, extsWrapper)[0];
    const exts = list && list.tag === Tag.SEQUENCE ? readChildren(der, list) : [];
    for (const ext of exts) {
      const parts = readChildren(der, ext);
      const id = parts[0];
      if (!id || id.tag !== Tag.OID || !Buffer.from(der.subarray(id.contentStart, id.end)).equals(skiOid))
        continue;
      const value = parts[parts.length - 1]!;
      const inner = readSingle(der.subarray(value.contentStart, value.end));
      keyId = Buffer.from(
        der.subarray(value.contentStart + inner.contentStart, value.contentStart + inner.end),
      );
    }
  }
  return {
    key,
    name: Buffer.from(der.subarray(subject.start, subject.end)),
    keyId: keyId ?? keyIdentifier(Buffer.from(der.subarray(spki.start, spki.end))),
  };
}
