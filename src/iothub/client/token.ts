/**
 * Where SAS tokens come from: signed here from a key (by the platform's signer: node:crypto or
 * Web Crypto), fixed (a connection string's SharedAccessSignature), or a user callback for keys
 * that live elsewhere.
 */
import {
  DEFAULT_SAS_TOKEN_LIFETIME_SECONDS,
  parseSasToken,
  prepareSasToken,
  type SasKeyEncoding,
  type SasResourceUriEncoding,
  type SasSigner,
} from '../sas-token.js';
import { checkOptions, opt, type OptionSchema } from '../../protocol/options.js';

/** A token and the time it stops being valid (epoch ms). */
export interface TokenInfo {
  token: string;
  expiresAtMs: number;
}

/**
 * Gives a token for an audience (the resource: `host/devices/d1`, the hub host name, or the Event
 * Hubs entity URI). Called again for each renewal.
 */
export type TokenProvider = (audience: string) => Promise<TokenInfo>;

/** The expiry of a SAS token as a TokenInfo. Throws SasTokenError for a malformed token. */
export function tokenInfoOf(token: string): TokenInfo {
  return { token, expiresAtMs: parseSasToken(token).expirySeconds * 1000 };
}

/** Options of {@link sasKeyTokenProvider}. */
export interface SasKeyTokenProviderOptions {
  /** The shared access key (base64 for IoT Hub). */
  key: string;
  /** Written as `skn` (service policies, or a device signed with a policy key). */
  policyName?: string;
  /** Token lifetime (s, default 3600 as in the Node and C SDKs). */
  lifetimeSeconds?: number;
  /** Default 'base64' (IoT Hub); 'utf8' for an Event Hubs endpoint. */
  keyEncoding?: SasKeyEncoding;
  /** Default 'component' (the Node SDK form). */
  resourceUriEncoding?: SasResourceUriEncoding;
  /** The clock (epoch ms): the connection's timers, so that tests can drive time. */
  now?: () => number;
}

const SAS_KEY_TOKEN_PROVIDER_OPTIONS = {
  key: opt.string,
  policyName: opt.string,
  lifetimeSeconds: opt.number,
  keyEncoding: opt.oneOf('base64', 'utf8'),
  resourceUriEncoding: opt.oneOf('component', 'raw'),
  now: opt.function,
} satisfies OptionSchema<SasKeyTokenProviderOptions>;

/**
 * Signs a fresh token for each call with `sign`: `sr` = the audience. A signer that answers at
 * once (node:crypto) costs no extra turn of the event loop.
 */
export function signedTokenProvider(options: SasKeyTokenProviderOptions, sign: SasSigner): TokenProvider {
  checkOptions(options, SAS_KEY_TOKEN_PROVIDER_OPTIONS, 'sasKeyTokenProvider');
  const now = options.now ?? Date.now;
  return (audience) => {
    try {
      const t = prepareSasToken({
        resourceUri: audience,
        key: options.key,
        policyName: options.policyName,
        expiresInSeconds: options.lifetimeSeconds ?? DEFAULT_SAS_TOKEN_LIFETIME_SECONDS,
        now: now(),
        keyEncoding: options.keyEncoding,
        resourceUriEncoding: options.resourceUriEncoding,
      });
      const sig = sign(t.stringToSign, options.key, options.keyEncoding);
      if (typeof sig === 'string') return Promise.resolve(tokenInfoOf(t.withSignature(sig)));
      return sig.then((s) => tokenInfoOf(t.withSignature(s)));
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

/** Always the same token (it cannot be renewed: once it expires the hub refuses it). */
export function fixedTokenProvider(token: string): TokenProvider {
  const info = tokenInfoOf(token);
  return () => Promise.resolve(info);
}
