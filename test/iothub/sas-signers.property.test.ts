/**
 * The two SAS signers write the same tokens: node:crypto's (generateSasToken, synchronous) and Web
 * Crypto's (generateSasTokenWebCrypto, the browser's), for arbitrary keys (base64 with and without
 * padding, UTF-8 text with any code point, raw bytes), resources in both encodings, policies and
 * expiries. Node 20 has `globalThis.crypto.subtle`, so Web Crypto runs here as in a browser. Both
 * refuse the same bad options with the same error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateSasToken, type GenerateSasTokenOptions } from '../../src/iothub/sas.js';
import { generateSasTokenWebCrypto, webCryptoSasSigner } from '../../src/iothub/sas-web-crypto.js';

const keyBytes = fc.uint8Array({ minLength: 1, maxLength: 100 });
const base64Key = fc.tuple(keyBytes, fc.boolean()).map(([b, pad]) => {
  const s = Buffer.from(b).toString('base64');
  return pad ? s : s.replace(/=+$/, '');
});
const anyText = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });
const options: fc.Arbitrary<GenerateSasTokenOptions> = fc.oneof(
  fc.record({
    resourceUri: anyText,
    key: fc.oneof(base64Key, keyBytes),
    policyName: fc.option(anyText, { nil: undefined }),
    now: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    expiresInSeconds: fc.integer({ min: 1, max: 10 * 365 * 86400 }),
  }),
  fc.record({
    resourceUri: fc.stringMatching(/^[a-z0-9.:/-]{1,40}$/),
    key: anyText,
    keyEncoding: fc.constant('utf8' as const),
    resourceUriEncoding: fc.constantFrom('component' as const, 'raw' as const),
    expiresAt: fc.integer({ min: 0, max: 8_640_000_000_000 }),
  }),
);

/** What generating gives: the token, or the error's class, code and field. */
async function outcome(f: () => string | Promise<string>): Promise<unknown> {
  try {
    return { token: await f() };
  } catch (e) {
    const err = e as Error & { code?: string; key?: string };
    return { threw: err.constructor.name, code: err.code, key: err.key, message: err.message };
  }
}

describe('the node:crypto and Web Crypto SAS signers', () => {
  it('write the same token for any key, resource, policy and expiry', async () => {
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        const node = generateSasToken(o);
        expect(node).toMatch(/^SharedAccessSignature sr=/);
        expect(await generateSasTokenWebCrypto(o)).toBe(node);
      }),
      { numRuns: 300 },
    );
  });

  it('give the same signature for the same string and key', async () => {
    // A fixed vector (from `openssl dgst -sha256 -hmac`): a change to both at once is caught too.
    const key = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    expect(await webCryptoSasSigner('h.example/devices/d1\n1700000000', key)).toBe(
      'Ak9ktyPv9dAeZBV4HyNoe6csa3ikm0SG6CSmKwEIu4c=',
    );
  });

  it('refuse the same bad options with the same typed error', async () => {
    const bad: GenerateSasTokenOptions[] = [
      { resourceUri: 'h/devices/d', key: '' },
      { resourceUri: 'h/devices/d', key: 'not base64!' },
      { resourceUri: 'h/devices/d', key: new Uint8Array(0) },
      { resourceUri: '', key: 'a2V5' },
      { resourceUri: 'h/devices/d', key: 'a2V5', expiresInSeconds: -1 },
      { resourceUri: 'h/devices/d', key: 'a2V5', keyEncoding: 'hex' as never },
    ];
    for (const o of bad) {
      const node = await outcome(() => generateSasToken(o));
      expect(node).toMatchObject({ threw: 'IotHubConfigError', code: 'IOTHUB_BAD_SAS_OPTIONS' });
      expect(await outcome(() => generateSasTokenWebCrypto(o))).toEqual(node);
    }
  });
});
