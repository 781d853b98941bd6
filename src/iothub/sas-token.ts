/**
 * Shared access signature (SAS) tokens as Azure IoT Hub and Event Hubs use them
 * (../../docs/iothub-protocol.md, section 1), without the HMAC: their options, their text and its
 * parsing. Nothing here needs a platform, so a browser bundle can hold it; the HMAC is a
 * {@link SasSigner}: node:crypto's in sas.ts, Web Crypto's in sas-web-crypto.ts. Both write the
 * same tokens (test/iothub/sas-signers.property.test.ts).
 *
 *   SharedAccessSignature sr=<sr>&sig=<urlencode(base64(HMAC-SHA256(key, sr + "\n" + se)))>&se=<unix seconds>[&skn=<policy>]
 *
 * - The HMAC is computed over `sr` exactly as it is written in the token (URL-encoded or not, in
 *   whatever case the client chose).
 * - IoT Hub keys are base64 and are signed with their decoded bytes; Event Hubs clients sign with
 *   the key string's UTF-8 bytes (`keyEncoding: 'utf8'`).
 * - Fields are parsed by name: SDKs write them in different orders. We write `sr, sig, se, skn`.
 */
import { IotHubConfigError, SasTokenError } from './errors.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';

/** How a string key is turned into HMAC key bytes: IoT Hub = 'base64' (decoded), Event Hubs = 'utf8' (as given). */
export type SasKeyEncoding = 'base64' | 'utf8';

/**
 * How `resourceUri` is written into `sr`:
 * - 'component' (default): `encodeURIComponent` plus `!'()*`, case kept (Node device SDK:
 *   `myhub.azure-devices.net%2Fdevices%2Fd1`);
 * - 'raw': as given (C SDK `host/devices/id`, Node service SDK = the bare host name).
 */
export type SasResourceUriEncoding = 'component' | 'raw';

/** Lifetime used when neither `expiresInSeconds` nor `expiresAt` is given (the Node and C SDK default). */
export const DEFAULT_SAS_TOKEN_LIFETIME_SECONDS = 3600;

const PREFIX = 'SharedAccessSignature';
/** Date can represent up to 8.64e15 ms: the largest `se` we accept. */
const MAX_EXPIRY_SECONDS = 8_640_000_000_000;

/** The fields of {@link GenerateSasTokenOptions} besides the expiry. */
export interface GenerateSasTokenBase {
  /** The resource the token grants access to, unencoded: `myhub.azure-devices.net/devices/d1`, or a host name. */
  resourceUri: string;
  /** The shared access key: a base64 string (or a UTF-8 string with `keyEncoding: 'utf8'`), or the raw key bytes. */
  key: string | Uint8Array;
  /** Policy (shared access key name): written as `skn`. Leave out for device-key tokens. */
  policyName?: string;
  /** The current time (Date or epoch milliseconds); default `Date.now()`. */
  now?: Date | number;
  /** Default 'base64' (IoT Hub). Ignored when `key` is bytes. */
  keyEncoding?: SasKeyEncoding;
  /** Default 'component'. */
  resourceUriEncoding?: SasResourceUriEncoding;
}

/**
 * Options of {@link generateSasToken}. The expiry is either `expiresInSeconds` from `now` (default
 * {@link DEFAULT_SAS_TOKEN_LIFETIME_SECONDS}) or `expiresAt`, a Date or a number of **seconds** since the
 * epoch (the unit of `se`).
 */
export type GenerateSasTokenOptions = GenerateSasTokenBase &
  (
    | { expiresInSeconds?: number; expiresAt?: undefined }
    | { expiresAt: Date | number; expiresInSeconds?: undefined }
  );

/** A parsed token. Every field was present and well formed; nothing was verified. */
export interface ParsedSasToken {
  /** `sr` URL-decoded: `myhub.azure-devices.net/devices/d1`. */
  resourceUri: string;
  /** `sr` exactly as written in the token: the HMAC input. */
  encodedResourceUri: string;
  /** `sig` URL-decoded: the base64 HMAC. */
  signature: string;
  /** `sig` exactly as written in the token. */
  encodedSignature: string;
  /** `se` as a Date. */
  expiry: Date;
  /** `se`: seconds since the epoch. */
  expirySeconds: number;
  /** `skn` URL-decoded, when present. */
  policyName?: string;
  /** The string the signature covers: raw `sr` + "\n" + raw `se`. */
  stringToSign: string;
}

/** `encodeURIComponent` that also escapes `!'()*` (as the Node SDKs do; RFC 3986 reserved characters). */
export function encodeUriComponentStrict(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** True for a non-empty standard-alphabet base64 string (padding optional). */
export function isBase64Key(key: string): boolean {
  return key.length > 0 && BASE64.test(key);
}

/**
 * base64(HMAC-SHA256(key, stringToSign)), not URL-encoded: at once (node:crypto) or as a promise
 * (Web Crypto). Throws (or rejects with) IotHubConfigError ('IOTHUB_BAD_SAS_OPTIONS') for an
 * unusable key, as {@link checkSasKey} judges it.
 */
export type SasSigner = (
  stringToSign: string,
  key: string | Uint8Array,
  keyEncoding?: SasKeyEncoding,
) => string | Promise<string>;

/** Throws IotHubConfigError ('IOTHUB_BAD_SAS_OPTIONS') for an empty key, a non-base64 one or an unknown encoding. */
export function checkSasKey(key: string | Uint8Array, keyEncoding: SasKeyEncoding = 'base64'): void {
  if (typeof key !== 'string') {
    if (!(key instanceof Uint8Array) || key.length === 0) {
      throw new IotHubConfigError(
        'the SAS key is empty or not a string/Uint8Array',
        'key',
        'IOTHUB_BAD_SAS_OPTIONS',
      );
    }
    return;
  }
  if (key.length === 0) throw new IotHubConfigError('the SAS key is empty', 'key', 'IOTHUB_BAD_SAS_OPTIONS');
  if (keyEncoding === 'utf8') return;
  if (keyEncoding !== 'base64') {
    throw new IotHubConfigError(
      `unknown keyEncoding ${String(keyEncoding)}`,
      'keyEncoding',
      'IOTHUB_BAD_SAS_OPTIONS',
    );
  }
  if (!isBase64Key(key)) {
    throw new IotHubConfigError(
      'the SAS key is not base64 (use keyEncoding "utf8" for Event Hubs-style keys)',
      'key',
      'IOTHUB_BAD_SAS_OPTIONS',
    );
  }
}

/** @internal The time `now` names, in epoch ms; IotHubConfigError for one that is not a time. */
export function nowMillis(now: Date | number | undefined, option = 'now'): number {
  const ms = now === undefined ? Date.now() : now instanceof Date ? now.getTime() : now;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new IotHubConfigError(`${option} is not a valid time`, option, 'IOTHUB_BAD_SAS_OPTIONS');
  }
  return ms;
}

function expirySeconds(options: GenerateSasTokenOptions): number {
  const { expiresAt, expiresInSeconds } = options;
  if (expiresAt !== undefined && expiresInSeconds !== undefined) {
    throw new IotHubConfigError(
      'give either expiresInSeconds or expiresAt, not both',
      'expiresAt',
      'IOTHUB_BAD_SAS_OPTIONS',
    );
  }
  let se: number;
  if (expiresAt !== undefined) {
    se = expiresAt instanceof Date ? Math.floor(expiresAt.getTime() / 1000) : expiresAt;
    if (!Number.isSafeInteger(se)) {
      throw new IotHubConfigError(
        'expiresAt must be a Date or an integer number of seconds since the epoch',
        'expiresAt',
        'IOTHUB_BAD_SAS_OPTIONS',
      );
    }
  } else {
    const lifetime = expiresInSeconds ?? DEFAULT_SAS_TOKEN_LIFETIME_SECONDS;
    if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0) {
      throw new IotHubConfigError(
        'expiresInSeconds must be a positive number',
        'expiresInSeconds',
        'IOTHUB_BAD_SAS_OPTIONS',
      );
    }
    // Rounded up, as the Node SDK does: the token lives at least as long as asked.
    se = Math.ceil(nowMillis(options.now) / 1000 + lifetime);
  }
  if (se < 0 || se > MAX_EXPIRY_SECONDS) {
    throw new IotHubConfigError('the expiry is out of range', 'expiresAt', 'IOTHUB_BAD_SAS_OPTIONS');
  }
  return se;
}

// The run-time checks of the options above (protocol/options.ts): a key missing here fails to
// compile. generateSasToken judges the values itself (IotHubConfigError IOTHUB_BAD_SAS_OPTIONS,
// naming the key), so its schema checks only the keys.
const GENERATE_SAS_TOKEN_OPTIONS = {
  resourceUri: opt.any,
  key: opt.any,
  policyName: opt.any,
  now: opt.any,
  keyEncoding: opt.any,
  resourceUriEncoding: opt.any,
  expiresInSeconds: opt.any,
  expiresAt: opt.any,
} satisfies OptionSchema<GenerateSasTokenBase & { expiresInSeconds?: number; expiresAt?: Date | number }>;

/** A token about to be signed: what the signature covers, and the token once it is known. */
export interface SasTokenToSign {
  /** `sr + "\n" + se`, `sr` as written in the token. */
  stringToSign: string;
  /** The whole token around `signature` (base64, URL-encoded here). */
  withSignature(signature: string): string;
}

/**
 * Judges the options of a token (resource, policy, expiry) and returns what is to be signed.
 * Throws IotHubConfigError ('IOTHUB_BAD_SAS_OPTIONS') for unusable options; the key is judged by
 * the signer.
 */
export function prepareSasToken(options: GenerateSasTokenOptions): SasTokenToSign {
  checkOptions(options, GENERATE_SAS_TOKEN_OPTIONS, 'generateSasToken');
  const { resourceUri, policyName } = options;
  const encoding = options.resourceUriEncoding ?? 'component';
  if (typeof resourceUri !== 'string' || resourceUri.length === 0) {
    throw new IotHubConfigError('resourceUri is empty', 'resourceUri', 'IOTHUB_BAD_SAS_OPTIONS');
  }
  let sr: string;
  if (encoding === 'component') {
    sr = encodeUriComponentStrict(resourceUri);
  } else if (encoding === 'raw') {
    // A raw sr is written as is: it must survive parsing (no separators, valid %-escapes).
    if (/[\s&]/.test(resourceUri) || !canDecode(resourceUri)) {
      throw new IotHubConfigError(
        'a raw resourceUri cannot contain whitespace, "&" or a bad %-escape; use resourceUriEncoding "component"',
        'resourceUri',
        'IOTHUB_BAD_SAS_OPTIONS',
      );
    }
    sr = resourceUri;
  } else {
    throw new IotHubConfigError(
      `unknown resourceUriEncoding ${String(encoding)}`,
      'resourceUriEncoding',
      'IOTHUB_BAD_SAS_OPTIONS',
    );
  }
  if (policyName !== undefined && (typeof policyName !== 'string' || policyName.length === 0)) {
    throw new IotHubConfigError('policyName is empty', 'policyName', 'IOTHUB_BAD_SAS_OPTIONS');
  }
  const se = String(expirySeconds(options));
  const skn = policyName === undefined ? '' : `&skn=${encodeUriComponentStrict(policyName)}`;
  return {
    stringToSign: `${sr}\n${se}`,
    withSignature: (signature) =>
      `${PREFIX} sr=${sr}&sig=${encodeUriComponentStrict(signature)}&se=${se}${skn}`,
  };
}

function canDecode(s: string): boolean {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

function decodeField(value: string, field: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new SasTokenError(`SAS token field ${field} has a bad %-escape`, field);
  }
}

const FIELDS = new Set(['sr', 'sig', 'se', 'skn']);

/**
 * Parses `SharedAccessSignature <field>=<value>&...` (fields in any order; unknown fields ignored).
 * `sr`, `sig` and `se` are required, `skn` optional; `se` must be a decimal number of seconds.
 * Throws {@link SasTokenError} naming the bad field. Does not check the signature or the expiry.
 */
export function parseSasToken(token: string): ParsedSasToken {
  if (typeof token !== 'string') throw new SasTokenError('a SAS token must be a string');
  const match = /^SharedAccessSignature\s+(\S+)$/i.exec(token.trim());
  if (!match) {
    throw new SasTokenError('a SAS token must be "SharedAccessSignature " followed by sr=...&sig=...&se=...');
  }
  const fields = new Map<string, string>();
  for (const part of match[1]!.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SasTokenError('every SAS token field must be name=value');
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!FIELDS.has(name)) continue;
    if (fields.has(name)) throw new SasTokenError(`SAS token field ${name} appears more than once`, name);
    if (value.length === 0) throw new SasTokenError(`SAS token field ${name} is empty`, name);
    fields.set(name, value);
  }
  for (const name of ['sr', 'sig', 'se']) {
    if (!fields.has(name)) throw new SasTokenError(`SAS token is missing ${name}`, name);
  }
  const sr = fields.get('sr')!;
  const sig = fields.get('sig')!;
  const se = fields.get('se')!;
  if (!/^\d{1,13}$/.test(se) || Number(se) > MAX_EXPIRY_SECONDS) {
    throw new SasTokenError('SAS token field se is not a number of seconds since the epoch', 'se');
  }
  const seconds = Number(se);
  const parsed: ParsedSasToken = {
    resourceUri: decodeField(sr, 'sr'),
    encodedResourceUri: sr,
    signature: decodeField(sig, 'sig'),
    encodedSignature: sig,
    expiry: new Date(seconds * 1000),
    expirySeconds: seconds,
    stringToSign: `${sr}\n${se}`,
  };
  const skn = fields.get('skn');
  if (skn !== undefined) parsed.policyName = decodeField(skn, 'skn');
  return parsed;
}

/**
 * The form in which resources are compared: lower case (host names are case-insensitive and the
 * IoT Hub docs lower-case the resource URI), without a `scheme://` prefix and trailing slashes.
 * `sb://NS.servicebus.windows.net/eh/` -> `ns.servicebus.windows.net/eh`.
 */
export function normalizeSasResource(uri: string): string {
  return uri
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/\/+$/, '');
}

/**
 * True when a token scoped to `scope` grants access to `resource` (both unencoded): `resource` is
 * `scope` or lies below it, at a `/` boundary. `host` covers `host/devices/d1`; `host/devices/d1`
 * covers neither `host/devices/d10` nor `host`.
 */
export function sasScopeCovers(scope: string, resource: string): boolean {
  const s = normalizeSasResource(scope);
  const r = normalizeSasResource(resource);
  return s.length > 0 && (r === s || r.startsWith(`${s}/`));
}
