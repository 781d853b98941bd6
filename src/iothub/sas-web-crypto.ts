/**
 * SAS tokens signed with Web Crypto (`crypto.subtle`, HMAC-SHA256), for a browser: the same tokens
 * as node:crypto's signer in sas.ts, byte for byte (test/iothub/sas-signers.property.test.ts), but
 * asynchronous, because `crypto.subtle` is. No Node module and no Buffer: keys are decoded with
 * `atob` and `TextEncoder`.
 *
 * Web Crypto exists only in a secure context (a page from https://, or from localhost): elsewhere
 * signing fails with IotHubConfigError 'IOTHUB_NO_WEB_CRYPTO' rather than with a TypeError.
 */
import { IotHubConfigError } from './errors.js';
import {
  checkSasKey,
  prepareSasToken,
  type GenerateSasTokenOptions,
  type SasKeyEncoding,
  type SasSigner,
} from './sas-token.js';

/** The part of Web Crypto's SubtleCrypto used here (this project compiles without the DOM types). */
export interface HmacSubtleCrypto {
  /** Makes the HMAC key from its raw bytes. */
  importKey(
    format: 'raw',
    keyData: Uint8Array,
    algorithm: { name: 'HMAC'; hash: 'SHA-256' },
    extractable: false,
    usages: ['sign'],
  ): Promise<unknown>;
  /** The HMAC of `data`. */
  sign(algorithm: 'HMAC', key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

const encoder = new TextEncoder();

function subtleCrypto(): HmacSubtleCrypto {
  const subtle = (globalThis as { crypto?: { subtle?: HmacSubtleCrypto } }).crypto?.subtle;
  if (subtle === undefined) {
    throw new IotHubConfigError(
      'Web Crypto (crypto.subtle) is not available: a page must be served from https:// or localhost to sign SAS tokens',
      'key',
      'IOTHUB_NO_WEB_CRYPTO',
    );
  }
  return subtle;
}

/** The HMAC key bytes, as node:crypto's signer takes them (checked by the same rules). */
function keyBytes(key: string | Uint8Array, keyEncoding: SasKeyEncoding): Uint8Array {
  checkSasKey(key, keyEncoding);
  if (typeof key !== 'string') return key;
  if (keyEncoding === 'utf8') return encoder.encode(key);
  const binary = atob(key);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** base64(HMAC-SHA256(key, stringToSign)) with Web Crypto: a {@link SasSigner}. */
export const webCryptoSasSigner: SasSigner = async (stringToSign, key, keyEncoding = 'base64') => {
  const bytes = keyBytes(key, keyEncoding);
  const subtle = subtleCrypto();
  const hmacKey = await subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return toBase64(new Uint8Array(await subtle.sign('HMAC', hmacKey, encoder.encode(stringToSign))));
};

/**
 * `generateSasToken` with Web Crypto: the same token, as a promise. Rejects with IotHubConfigError
 * ('IOTHUB_BAD_SAS_OPTIONS') for unusable options, 'IOTHUB_NO_WEB_CRYPTO' outside a secure context.
 */
export async function generateSasTokenWebCrypto(options: GenerateSasTokenOptions): Promise<string> {
  const t = prepareSasToken(options);
  return t.withSignature(await webCryptoSasSigner(t.stringToSign, options.key, options.keyEncoding));
}
