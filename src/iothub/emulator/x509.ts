/**
 * X.509 devices and modules (contract section 13): the client certificate a connection presented
 * in TLS, on the AMQPS port or under a WebSocket on the HTTPS port, judged against the identity a
 * link names. The hub asks every TLS client for a certificate and the TLS layer refuses none (SAS
 * devices and service callers come without one): the verdict is given here, per identity.
 *
 * The client does not say which device it is at connect time (the Node SDK skips SASL; EXTERNAL
 * carries no name), so the certificate is judged when a link names a device or module:
 * - `selfSigned`: its SHA-1 or SHA-256 thumbprint (the DER's hash, hex, any case, colons allowed)
 *   equals the identity's primary or secondary thumbprint. The subject is not looked at: the real
 *   hub checks only the thumbprint (azure-iot-sdk-c issue 1578).
 * - `certificateAuthority`: the chain verified in TLS against a CA the hub trusts (its own CA and
 *   each `x509Ca`), and the subject CN is the device id, or `{deviceId}/{moduleId}` for a module.
 * - a `sas` identity takes no certificate (and an X.509 one no SAS token: auth.ts).
 * Either way the certificate must be within its validity at the hub's clock (and a CA-signed one,
 * for TLS to verify its chain, at the real time as well).
 *
 * Refusals are `amqp:unauthorized-access`. Those about the certificate's dates alone (expired, not
 * yet valid) say so, before any identity is looked up; the rest (unknown identity, a thumbprint or
 * CN that does not match, an untrusted chain, a SAS identity) get the hub's single answer, so that
 * a certificate does not tell which devices exist or how they authenticate (an "untrusted chain"
 * answer would tell a CA device from the rest); the log says why.
 */
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { createCertificateAuthority } from '../../pki/certificates.js';
import type { Registry } from '../hub/registry.js';
import { UNAUTHORIZED_LINK, type Grant, type Resource } from './auth.js';

/** What the hub keeps of a client certificate. */
export interface PeerCertificate {
  /** The subject's CN, if any. */
  commonName: string | undefined;
  /** Thumbprints of the DER: upper-case hex, no colons. */
  sha1: string;
  sha256: string;
  /** Validity, epoch ms. */
  notBefore: number;
  notAfter: number;
  /** Whether TLS verified its chain against a CA the hub trusts, at the real time. */
  chainTrusted: boolean;
  /** OpenSSL's reason when the chain did not verify (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, ...). */
  chainError: string | undefined;
}

/**
 * The `ca` option of the hub's TLS listeners: the CAs it trusts for client certificates. Never
 * empty: without `ca` Node trusts its public roots, and a certificate any public CA issued with a
 * device id as CN would pass. With no CA to trust, a CA whose key was never kept stands in.
 */
export function clientTrustStore(cas: readonly string[]): string[] {
  if (cas.length > 0) return [...cas];
  return [
    createCertificateAuthority({ commonName: 'amqp-one hub: no X.509 CA trusted', validDays: 1 }).certPem,
  ];
}

/** The client certificate of a TLS socket, or undefined when the client sent none. */
export function peerCertificateOf(socket: TLSSocket): PeerCertificate | undefined {
  const c = socket.getPeerCertificate();
  if (!c || c.raw === undefined || c.raw.length === 0) return undefined;
  const error =
    socket.authorizationError === null || socket.authorizationError === undefined
      ? undefined
      : String((socket.authorizationError as Error & { code?: string }).code ?? socket.authorizationError);
  const cn = c.subject?.CN as string | string[] | undefined;
  return {
    commonName: Array.isArray(cn) ? cn[0] : cn,
    sha1: createHash('sha1').update(c.raw).digest('hex').toUpperCase(),
    sha256: createHash('sha256').update(c.raw).digest('hex').toUpperCase(),
    notBefore: Date.parse(c.valid_from),
    notAfter: Date.parse(c.valid_to),
    // Only a clean verdict: OpenSSL reports an expired certificate of an unknown CA as
    // CERT_HAS_EXPIRED too, so a date error says nothing about the chain.
    chainTrusted: socket.authorized,
    chainError: socket.authorized ? undefined : error,
  };
}

/** A thumbprint as the registry may hold it: any case, with or without colons or spaces. */
export function normalizeThumbprint(t: string): string {
  return t.replace(/[\s:]/g, '').toUpperCase();
}

/** The verdict on a certificate for one identity. */
export type CertificateVerdict =
  | { ok: true; grant: Grant }
  /** `description` goes to the client; `reason` to the log. */
  | { ok: false; description: string; reason: string };

/** The description of a certificate past its notAfter. */
export const CERTIFICATE_EXPIRED = 'The client certificate has expired.';
/** The description of a certificate before its notBefore. */
export const CERTIFICATE_NOT_YET_VALID = 'The client certificate is not yet valid.';

/** Judges `cert` for the device (or module) `deviceId[/moduleId]` at `now`. */
export function verifyCertificate(
  registry: Registry,
  cert: PeerCertificate,
  deviceId: string,
  moduleId: string | undefined,
  now: number,
): CertificateVerdict {
  const who = moduleId === undefined ? `device ${deviceId}` : `module ${deviceId}/${moduleId}`;
  const refused = (reason: string, description = UNAUTHORIZED_LINK): CertificateVerdict => ({
    ok: false,
    description,
    reason: `certificate ${cert.sha256.slice(0, 16)}… (CN ${cert.commonName ?? 'none'}) for ${who}: ${reason}`,
  });
  if (!(now >= cert.notBefore)) return refused('not yet valid', CERTIFICATE_NOT_YET_VALID);
  if (!(now <= cert.notAfter)) return refused('expired', CERTIFICATE_EXPIRED);
  const device = registry.getDevice(deviceId);
  const holder = moduleId === undefined ? device : device?.modules.get(moduleId);
  if (!holder) return refused('no such identity');
  if (holder.authType === 'sas') return refused('the identity authenticates with SAS, not a certificate');
  let certificate: Grant['certificate'];
  if (holder.authType === 'selfSigned') {
    const prints = [holder.primaryThumbprint, holder.secondaryThumbprint]
      .filter((t): t is string => t !== undefined)
      .map(normalizeThumbprint);
    if (!prints.includes(cert.sha1) && !prints.includes(cert.sha256))
      return refused('the thumbprint matches neither the primary nor the secondary thumbprint');
    certificate = 'thumbprint';
  } else {
    if (!cert.chainTrusted) return refused(`untrusted chain (${cert.chainError ?? 'unverified'})`);
    const want = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
    if (cert.commonName !== want) return refused(`the subject CN is not ${want}`);
    certificate = 'ca';
  }
  const grant: Grant = {
    kind: moduleId === undefined ? 'device' : 'module',
    rights: ['DeviceConnect'],
    deviceId,
    scope: (moduleId === undefined
      ? `devices/${deviceId}`
      : `devices/${deviceId}/modules/${moduleId}`
    ).toLowerCase(),
    // The dates were checked; a connection that outlives its certificate keeps its links, as in TLS.
    expiresAt: Infinity,
    keyEncoding: 'none',
    method: 'x509',
    certificate,
  };
  if (moduleId !== undefined) grant.moduleId = moduleId;
  return { ok: true, grant };
}

/**
 * For a device or module link that no grant covers yet: the certificate's verdict for that
 * identity. Undefined when the certificate now grants it (the grant is added to `grants`), else
 * the description to refuse the link with.
 */
export function authorizeByCertificate(
  registry: Registry,
  cert: PeerCertificate | undefined,
  r: Resource,
  now: number,
  grants: { setGrant(key: string, g: Grant): void },
  log: (line: string) => void,
): string | undefined {
  if (cert === undefined || r.deviceId === undefined) return UNAUTHORIZED_LINK;
  const v = verifyCertificate(registry, cert, r.deviceId, r.moduleId, now);
  if (!v.ok) {
    log(`X.509 refused: ${v.reason}`);
    return v.description;
  }
  grants.setGrant(`x509:${r.deviceId}${r.moduleId === undefined ? '' : `/${r.moduleId}`}`, v.grant);
  return undefined;
}
