/**
 * SAS tokens signed and verified with node:crypto (the format, parsing and option rules are
 * sas-token.ts's, shared with the browser's Web Crypto signer in sas-web-crypto.ts):
 *
 * - the verifier signs `sr` exactly as written in the token and only URL-decodes it afterwards,
 *   for scope matching;
 * - signatures are compared in constant time.
 *
 * Every function takes an injectable `now` (a Date or epoch milliseconds).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SasTokenError } from './errors.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import {
  checkSasKey,
  nowMillis,
  parseSasToken,
  prepareSasToken,
  sasScopeCovers,
  type GenerateSasTokenOptions,
  type ParsedSasToken,
  type SasKeyEncoding,
} from './sas-token.js';

export * from './sas-token.js';

/** Why {@link verifySasToken} refused a token. */
export type SasVerifyFailureReason =
  /** Not a parseable SAS token (a CBS server answers 400). */
  | 'malformed'
  /** The signature does not match the key (401). */
  | 'bad-signature'
  /** `se` is not in the future (401). */
  | 'expired'
  /** Correctly signed and current, but for another resource (401). */
  | 'out-of-scope';

/** The verdict of {@link verifySasToken}. */
export type SasVerifyResult =
  | { ok: true; token: ParsedSasToken }
  | {
      ok: false;
      reason: SasVerifyFailureReason;
      /** A human-readable reason, in the words of the real hub where it has some. */
      message: string;
      /** The parsed token, unless it was malformed. */
      token?: ParsedSasToken;
      /** The parse error, when malformed. */
      error?: SasTokenError;
    };

/** Options of {@link verifySasToken}. */
export interface VerifySasTokenOptions {
  /** The current time (Date or epoch milliseconds); default `Date.now()`. A token expires at `se` (exclusive). */
  now?: Date | number;
  /**
   * The token's resource must be this one or lie below it (path-segment prefix, see
   * {@link normalizeSasResource}). Several values: any one suffices (use this for `host:port` and `host`).
   * Example: `'myhub.azure-devices.net'` accepts tokens for the hub and for any of its devices.
   */
  expectedResourcePrefix?: string | readonly string[];
  /**
   * The resource about to be accessed: the token's scope must cover it, i.e. the token's resource
   * is this one or one of its ancestors (a token for `host` covers `host/devices/d1`, a token for
   * `host/devices/d1` does not cover `host/devices/d2`). Several values: any one suffices.
   */
  resource?: string | readonly string[];
  /** Default 'base64' (IoT Hub). Use 'utf8' on an Event Hubs-compatible endpoint. Ignored when `key` is bytes. */
  keyEncoding?: SasKeyEncoding;
}

/** The HMAC key bytes for a key. Throws IotHubConfigError ('IOTHUB_BAD_SAS_OPTIONS') for an empty or non-base64 key. */
export function sasKeyBytes(key: string | Uint8Array, keyEncoding: SasKeyEncoding = 'base64'): Buffer {
  checkSasKey(key, keyEncoding);
  if (typeof key !== 'string') return Buffer.from(key);
  return Buffer.from(key, keyEncoding);
}

/** base64(HMAC-SHA256(key, stringToSign)), not URL-encoded. */
export function computeSasSignature(
  stringToSign: string,
  key: string | Uint8Array,
  keyEncoding: SasKeyEncoding = 'base64',
): string {
  return hmac(stringToSign, sasKeyBytes(key, keyEncoding));
}

function hmac(stringToSign: string, keyBytes: Buffer): string {
  return createHmac('sha256', keyBytes).update(stringToSign, 'utf8').digest('base64');
}

const TIME = opt.either(opt.number, opt.instanceOf(Date, 'a Date'));

const VERIFY_SAS_TOKEN_OPTIONS = {
  now: TIME,
  expectedResourcePrefix: opt.listOf(opt.string),
  resource: opt.listOf(opt.string),
  keyEncoding: opt.oneOf('base64', 'utf8'),
} satisfies OptionSchema<VerifySasTokenOptions>;

/**
 * Builds `SharedAccessSignature sr=<sr>&sig=<sig>&se=<se>[&skn=<policy>]`, signing `sr + "\n" + se`
 * with HMAC-SHA256. Throws IotHubConfigError ('IOTHUB_BAD_SAS_OPTIONS') for unusable options.
 */
export function generateSasToken(options: GenerateSasTokenOptions): string {
  const t = prepareSasToken(options);
  return t.withSignature(computeSasSignature(t.stringToSign, options.key, options.keyEncoding));
}

const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);

/**
 * Checks a token against a key: well-formed, signature (constant-time comparison), expiry, then
 * scope. Never throws for a bad token (the failure says why); throws IotHubConfigError for an
 * unusable key or option.
 */
export function verifySasToken(
  token: string,
  key: string | Uint8Array,
  options: VerifySasTokenOptions = {},
): SasVerifyResult {
  checkOptions(options, VERIFY_SAS_TOKEN_OPTIONS, 'verifySasToken');
  const keyBytes = sasKeyBytes(key, options.keyEncoding);
  const now = nowMillis(options.now);
  let parsed: ParsedSasToken;
  try {
    parsed = parseSasToken(token);
  } catch (e) {
    if (!(e instanceof SasTokenError)) throw e;
    return { ok: false, reason: 'malformed', message: e.message, error: e };
  }
  const expected = Buffer.from(hmac(parsed.stringToSign, keyBytes), 'utf8');
  const given = Buffer.from(parsed.signature, 'utf8');
  // The expected length (44 characters) is public; only the content comparison must not leak.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return {
      ok: false,
      reason: 'bad-signature',
      message:
        'The specified SAS token has an invalid signature. It does not match either the primary or secondary key.',
      token: parsed,
    };
  }
  if (now >= parsed.expirySeconds * 1000) {
    return { ok: false, reason: 'expired', message: 'The specified SAS token is expired.', token: parsed };
  }
  if (options.expectedResourcePrefix !== undefined) {
    const prefixes = list(options.expectedResourcePrefix);
    if (!prefixes.some((p) => sasScopeCovers(p, parsed.resourceUri))) {
      return {
        ok: false,
        reason: 'out-of-scope',
        message: `The SAS token's resource ${parsed.resourceUri} is not under ${prefixes.join(' or ')}.`,
        token: parsed,
      };
    }
  }
  if (options.resource !== undefined) {
    const resources = list(options.resource);
    if (!resources.some((r) => sasScopeCovers(parsed.resourceUri, r))) {
      return {
        ok: false,
        reason: 'out-of-scope',
        message: `The SAS token for ${parsed.resourceUri} does not grant access to ${resources.join(' or ')}.`,
        token: parsed,
      };
    }
  }
  return { ok: true, token: parsed };
}
