/**
 * Who may do what on the emulated hub (contract sections 1-3).
 *
 * Every credential a connection presents (a SAS token in SASL PLAIN or in a CBS put-token, a raw
 * policy key in PLAIN, a TLS client certificate) becomes a {@link Grant}: an identity (a policy, a
 * device or a module), the rights it carries, the part of the hub its token covers (`scope`), when
 * it ends and how its key was used. A link is allowed when some live grant of its connection
 * covers the link's {@link Resource}; when the last such grant expires without renewal, the link is
 * detached with `amqp:unauthorized-access` (see connection-state.ts).
 *
 * Token checks: the HMAC over the raw `sr` (sas.ts, constant-time), the expiry, then the scope.
 * `sr` must name this hub: `localhost`, `127.0.0.1` or `<hub>.azure-devices.net`, with or without
 * one of our ports, optionally behind a scheme (`amqps://`, `sb://`). Key conventions: tokens for
 * the IoT Hub endpoints are signed with the base64-DECODED key; tokens whose scope is the Event
 * Hubs-compatible entity are signed with the key STRING's UTF-8 bytes (event-hubs SDK, uAMQP after
 * a redirect); the base64 convention is also taken there for hub-wide and `messages/events` scopes
 * (the .NET and sample style of following a redirect with the hub token).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccessRight, Registry } from '../hub/registry.js';
import { parseSasToken, verifySasToken, type SasKeyEncoding } from '../sas.js';
import { SasTokenError } from '../errors.js';

/** Whose credential a grant comes from: a shared access policy, a device or a module. */
export type GrantKind = 'policy' | 'device' | 'module';

/** What a verified credential allows: its rights, its scope below the hub and its expiry. */
export interface Grant {
  kind: GrantKind;
  /** The policy (shared access key name) for policy grants. */
  policy?: string;
  rights: readonly AccessRight[];
  deviceId?: string;
  moduleId?: string;
  /** The path below the hub that the credential covers, lower case, no leading slash; '' = the whole hub. */
  scope: string;
  /** Epoch ms; Infinity for keys and certificates. */
  expiresAt: number;
  /** How the key was used: 'base64' (IoT Hub), 'utf8' (Event Hubs), 'none' (raw key, certificate). */
  keyEncoding: SasKeyEncoding | 'none';
  method: 'sas' | 'key' | 'x509';
  /** X.509 grants: by a registered thumbprint (`selfSigned`) or a trusted CA (`certificateAuthority`). */
  certificate?: 'thumbprint' | 'ca';
}

/** What a link needs. */
export interface Resource {
  /** The link's path below the hub, e.g. `devices/d1/messages/events`, `myhub/consumergroups/$default/partitions/0`. */
  path: string;
  right: AccessRight;
  /** For device links: the device (and module) the link belongs to. */
  deviceId?: string;
  moduleId?: string;
  /** True on the Event Hubs-compatible endpoint. */
  eventHubs?: boolean;
}

/** A verdict on a token, in the shape of a CBS response. */
export type TokenVerdict =
  | { ok: true; grant: Grant }
  /** `description` goes to the client; `reason`, for the log, may say more (which device is unknown). */
  | { ok: false; status: 400 | 401 | 404; description: string; reason?: string };

/** The hub's description of a token whose signature matches no key. */
export const INVALID_SIGNATURE =
  'The specified SAS token has an invalid signature. It does not match either the primary or secondary key.';
/** The hub's description of an expired token. */
export const EXPIRED = 'The specified SAS token is expired.';

/**
 * The longest a SAS token may still live (365 days): the real hub caps token lifetime, so a token
 * that never expires (a stolen one good forever) is refused like a bad one. The SDKs ask for 1 h
 * and our token providers default to DEFAULT_SAS_TOKEN_LIFETIME_SECONDS, far below it.
 */
export const MAX_SAS_TOKEN_LIFETIME_MS = 365 * 24 * 3600 * 1000;
export const LIFETIME_TOO_LONG = `The specified SAS token expires more than ${
  MAX_SAS_TOKEN_LIFETIME_MS / 86_400_000
} days from now.`;

/**
 * The one answer to a link that no grant covers, whether its device is unknown, disabled or
 * someone else's: nothing tells an unauthenticated client which devices exist.
 */
export const UNAUTHORIZED_LINK =
  'Unauthorized: no valid token on this connection grants access to this link.';

/** What token verification needs: the registry, the hub names, and the hosts and ports a token may name. */
export interface AuthConfig {
  registry: Registry;
  hubName: string;
  eventHubName: string;
  /** Host names (lower case, without port) that a token's `sr` may name. */
  hosts: ReadonlySet<string>;
  /** Ports that may follow the host in `sr`. */
  ports: () => readonly number[];
}

function lowerPath(segments: string[]): string {
  return segments.join('/').toLowerCase();
}

/**
 * Splits a token resource (`sb://localhost:5671/hub/...`, `localhost%3A5671%2Fdevices%2Fd1` decoded)
 * into our path segments, or undefined when its host is not this hub.
 */
export function resourcePath(cfg: AuthConfig, resourceUri: string): string[] | undefined {
  let s = resourceUri.trim();
  const m = /^[a-z][a-z0-9+.-]*:\/\//i.exec(s);
  if (m) s = s.slice(m[0].length);
  const parts = s.split('/').filter((p) => p.length > 0);
  const hostPort = parts.shift();
  if (hostPort === undefined) return undefined;
  const hp = /^(.*?)(?::(\d+))?$/.exec(hostPort.toLowerCase())!;
  const host = hp[1]!;
  if (!cfg.hosts.has(host)) return undefined;
  if (hp[2] !== undefined && !cfg.ports().includes(Number(hp[2]))) return undefined;
  return parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
}

/** Whether `scope` (a grant's) covers `path`, both lower case. */
export function scopeCovers(scope: string, path: string): boolean {
  return scope === '' || path === scope || path.startsWith(`${scope}/`);
}

function isEventHubsScope(cfg: AuthConfig, segments: string[]): boolean {
  const first = segments[0]?.toLowerCase();
  return first === cfg.eventHubName.toLowerCase() || first === '$management';
}

/** Whether a live grant allows the resource at `now`. */
export function grantAllows(g: Grant, r: Resource, now: number): boolean {
  if (g.expiresAt <= now) return false;
  if (!g.rights.includes(r.right)) return false;
  const path = r.path.toLowerCase();
  if (g.kind !== 'policy') {
    // Device ids are case-sensitive: the scope check lower-cases, this one does not.
    if (r.deviceId === undefined || r.deviceId !== g.deviceId) return false;
    if (g.kind === 'module' && r.moduleId !== g.moduleId) return false;
    if (g.kind === 'device' && r.moduleId !== undefined) return false;
  }
  if (r.eventHubs) {
    if (g.keyEncoding === 'utf8' || g.keyEncoding === 'none') return scopeCovers(g.scope, path);
    return g.scope === '' || g.scope === 'messages/events';
  }
  if (g.keyEncoding === 'utf8') return false;
  return scopeCovers(g.scope, path);
}

function verifyWithKeys(
  token: string,
  keys: string[],
  encodings: SasKeyEncoding[],
  now: number,
): { ok: true; encoding: SasKeyEncoding } | { ok: false; expired: boolean } {
  let expired = false;
  for (const enc of encodings)
    for (const key of keys) {
      let r;
      try {
        r = verifySasToken(token, key, { now, keyEncoding: enc });
      } catch {
        continue; // a key that cannot be used this way
      }
      if (r.ok) return { ok: true, encoding: enc };
      if (r.reason === 'expired') expired = true;
    }
  return { ok: false, expired };
}

/**
 * Verifies a SAS token against the registry: a policy token (`skn`) with the policy's keys, a device
 * or module token (no `skn`, `sr` = `host/devices/{d}[/modules/{m}]`) with the identity's keys.
 */
export function verifyToken(cfg: AuthConfig, token: string, now: number): TokenVerdict {
  let parsed;
  try {
    parsed = parseSasToken(token);
  } catch (e) {
    if (e instanceof SasTokenError) return { ok: false, status: 400, description: e.message };
    throw e;
  }
  if (parsed.expirySeconds * 1000 - now > MAX_SAS_TOKEN_LIFETIME_MS)
    return { ok: false, status: 401, description: LIFETIME_TOO_LONG };
  const segments = resourcePath(cfg, parsed.resourceUri);
  if (segments === undefined)
    return {
      ok: false,
      status: 401,
      description: `The SAS token's resource ${parsed.resourceUri} is not this IoT hub (${cfg.hubName}).`,
    };
  const eh = isEventHubsScope(cfg, segments);
  const scope = lowerPath(segments);
  const identity =
    segments[0]?.toLowerCase() === 'devices' && segments.length >= 2
      ? {
          deviceId: segments[1]!,
          moduleId:
            segments[2]?.toLowerCase() === 'modules' && segments.length >= 4 ? segments[3] : undefined,
        }
      : undefined;
  if (parsed.policyName !== undefined) {
    const policy = cfg.registry.getPolicy(parsed.policyName);
    if (!policy) return { ok: false, status: 401, description: INVALID_SIGNATURE };
    const r = verifyWithKeys(
      token,
      [policy.primaryKey, policy.secondaryKey],
      eh ? ['utf8', 'base64'] : ['base64'],
      now,
    );
    if (!r.ok) return { ok: false, status: 401, description: r.expired ? EXPIRED : INVALID_SIGNATURE };
    return {
      ok: true,
      grant: {
        kind: 'policy',
        policy: policy.keyName,
        rights: [...policy.rights],
        scope,
        expiresAt: parsed.expirySeconds * 1000,
        keyEncoding: r.encoding,
        method: 'sas',
      },
    };
  }
  if (!identity)
    return {
      ok: false,
      status: 401,
      description: 'A SAS token without skn must be scoped to a device: sr = {host}/devices/{deviceId}.',
    };
  // Unknown, disabled and wrongly signed all get the invalid-signature answer: a client without
  // the key learns nothing about which devices exist (the log keeps the real reason).
  const refused = (reason: string): TokenVerdict => ({
    ok: false,
    status: 401,
    description: INVALID_SIGNATURE,
    reason,
  });
  const device = cfg.registry.getDevice(identity.deviceId);
  const mod = identity.moduleId === undefined ? undefined : device?.modules.get(identity.moduleId);
  if (!device || (identity.moduleId !== undefined && !mod))
    return refused(
      identity.moduleId === undefined
        ? `device ${identity.deviceId} not found`
        : `module ${identity.deviceId}/${identity.moduleId} not found`,
    );
  const holder = mod ?? device;
  // An X.509 identity has keys inside (registry.ts) that no one was ever given: never a token.
  if (holder.authType !== 'sas')
    return refused(`${identity.moduleId === undefined ? 'device' : 'module'} uses ${holder.authType}`);
  const r = verifyWithKeys(token, [holder.primaryKey, holder.secondaryKey], ['base64'], now);
  if (!r.ok) return { ok: false, status: 401, description: r.expired ? EXPIRED : INVALID_SIGNATURE };
  if (device.status !== 'enabled') return refused(`device ${identity.deviceId} is disabled`);
  const grant: Grant = {
    kind: identity.moduleId === undefined ? 'device' : 'module',
    rights: ['DeviceConnect'],
    deviceId: identity.deviceId,
    scope,
    expiresAt: parsed.expirySeconds * 1000,
    keyEncoding: 'base64',
    method: 'sas',
  };
  if (identity.moduleId !== undefined) grant.moduleId = identity.moduleId;
  return { ok: true, grant };
}

function sameSecret(a: string, b: string): boolean {
  // Hashes first: equal lengths for timingSafeEqual, and nothing learnt from the length.
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** What a PLAIN user name says. */
export type PlainUser =
  | { kind: 'policy'; policy: string; hub: string }
  | { kind: 'device'; deviceId: string; moduleId?: string; hub: string }
  | { kind: 'raw'; name: string };

/** Reads a SASL PLAIN user name (`policy@sas.root.hub`, `device@sas.hub`, ...). */
export function parsePlainUser(username: string): PlainUser {
  let m = /^(.+)@sas\.root\.(.+)$/i.exec(username);
  if (m) return { kind: 'policy', policy: m[1]!, hub: m[2]! };
  m = /^(.+?)\/modules\/(.+)@sas\.(.+)$/i.exec(username);
  if (m) return { kind: 'device', deviceId: m[1]!, moduleId: m[2]!, hub: m[3]! };
  m = /^(.+)@sas\.(.+)$/i.exec(username);
  if (m) return { kind: 'device', deviceId: m[1]!, hub: m[2]! };
  return { kind: 'raw', name: username };
}

/**
 * SASL PLAIN: `{policy}@sas.root.{hub}` or `{device}[/modules/{m}]@sas.{hub}` with a SAS token as
 * the password; or (Go, Event Hubs style) the policy name and its key. The `{hub}` part is not
 * checked: clients derive it from the host name (`localhost:PORT` for a local hub). Returns the
 * grant, or a reason for the log.
 */
export function verifyPlain(
  cfg: AuthConfig,
  username: string,
  password: string,
  now: number,
): { ok: true; grant: Grant } | { ok: false; reason: string } {
  const user = parsePlainUser(username);
  const isToken = /^\s*SharedAccessSignature\s/i.test(password);
  if (user.kind === 'raw' && !isToken) {
    const policy = cfg.registry.getPolicy(user.name);
    const okKey =
      policy !== undefined &&
      // Both compared, always: no early exit that would tell which one matched.
      [sameSecret(password, policy.primaryKey), sameSecret(password, policy.secondaryKey)].some(Boolean);
    if (!policy || !okKey) return { ok: false, reason: `bad key for policy ${user.name}` };
    return {
      ok: true,
      grant: {
        kind: 'policy',
        policy: policy.keyName,
        rights: [...policy.rights],
        scope: '',
        expiresAt: Infinity,
        keyEncoding: 'none',
        method: 'key',
      },
    };
  }
  const v = verifyToken(cfg, password, now);
  if (!v.ok) return { ok: false, reason: v.reason ?? v.description };
  const g = v.grant;
  if (user.kind === 'policy' && g.policy !== user.policy)
    return { ok: false, reason: `the token is not signed by policy ${user.policy}` };
  if (user.kind === 'raw' && g.policy !== user.name)
    return { ok: false, reason: `the token is not signed by policy ${user.name}` };
  if (user.kind === 'device') {
    const path = `devices/${user.deviceId}${user.moduleId === undefined ? '' : `/modules/${user.moduleId}`}`;
    const r: Resource = { path, right: 'DeviceConnect', deviceId: user.deviceId };
    if (user.moduleId !== undefined) r.moduleId = user.moduleId;
    if (!grantAllows(g, r, now))
      return { ok: false, reason: `the token does not grant ${path} the DeviceConnect right` };
  }
  return { ok: true, grant: g };
}
