/** Property tests: parse(generate(x)) gives x back, generated tokens verify, and any tampering fails. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  generateSasToken,
  normalizeSasResource,
  parseSasToken,
  verifySasToken,
  type GenerateSasTokenOptions,
} from '../../src/iothub/index.js';

const keyBytes = fc.uint8Array({ minLength: 1, maxLength: 64 });
const base64Key = keyBytes.map((b) => Buffer.from(b).toString('base64'));
/** Any non-empty text, including separators, spaces, %, unicode. */
const anyText = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });
const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,14}$/);
const deviceId = fc.stringMatching(/^[A-Za-z0-9\-.+%_#*?!(),:=@$']{1,20}$/);
const resourceUri = fc.oneof(
  anyText,
  fc.tuple(label, deviceId).map(([hub, id]) => `${hub}.azure-devices.net/devices/${id}`),
  fc.tuple(label, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
);
const nowMs = fc.integer({ min: 0, max: 4_000_000_000_000 });

const options = fc.record({
  resourceUri,
  key: fc.oneof(base64Key, keyBytes),
  policyName: fc.option(anyText, { nil: undefined }),
  now: nowMs,
  expiresInSeconds: fc.integer({ min: 1, max: 10 * 365 * 86400 }),
});

describe('SAS token properties', () => {
  it('parse(generate(x)) returns the resource, policy and expiry; the token verifies until it expires', () => {
    fc.assert(
      fc.property(options, (o) => {
        const token = generateSasToken(o);
        const p = parseSasToken(token);
        const se = Math.ceil(o.now / 1000 + o.expiresInSeconds);
        expect(p.resourceUri).toBe(o.resourceUri);
        expect(decodeURIComponent(p.encodedResourceUri)).toBe(o.resourceUri);
        expect(p.policyName).toBe(o.policyName);
        expect(p.expirySeconds).toBe(se);
        expect(p.expiry.getTime()).toBe(se * 1000);
        // A resource that normalises to nothing ('/', 'x://') is covered by nothing.
        expect(verifySasToken(token, o.key, { now: o.now, resource: o.resourceUri }).ok).toBe(
          normalizeSasResource(o.resourceUri) !== '',
        );
        expect(verifySasToken(token, o.key, { now: se * 1000 - 1 }).ok).toBe(true);
        expect(verifySasToken(token, o.key, { now: se * 1000 })).toMatchObject({ reason: 'expired' });
      }),
      { numRuns: 300 },
    );
  });

  it('utf8 keys (Event Hubs convention) round-trip too', () => {
    fc.assert(
      fc.property(resourceUri, anyText, fc.integer({ min: 0, max: 8_000_000_000 }), (uri, key, se) => {
        const o: GenerateSasTokenOptions = { resourceUri: uri, key, keyEncoding: 'utf8', expiresAt: se };
        const token = generateSasToken(o);
        expect(parseSasToken(token)).toMatchObject({ resourceUri: uri, expirySeconds: se });
        expect(verifySasToken(token, key, { keyEncoding: 'utf8', now: se * 1000 - 1 }).ok).toBe(true);
      }),
    );
  });

  it('changing any single character of sr, sig or se makes verification fail (or the token malformed)', () => {
    const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(options, fc.nat(), printable, (o, at, replacement) => {
        const token = generateSasToken({ ...o, policyName: undefined });
        // Positions inside the values of sr, sig and se (not the names, not the '&' separators).
        const positions: number[] = [];
        for (const name of ['sr', 'sig', 'se']) {
          const m = new RegExp(`[ &]${name}=([^&]*)`).exec(token)!;
          const start = m.index + name.length + 2;
          for (let k = start; k < start + m[1]!.length; k++) positions.push(k);
        }
        const i = positions[at % positions.length]!;
        fc.pre(token[i] !== replacement);
        const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
        const before = parseSasToken(token);
        let after;
        try {
          after = parseSasToken(tampered);
        } catch {
          expect(verifySasToken(tampered, o.key, { now: o.now }).ok).toBe(false);
          return;
        }
        // A change that leaves the signed string and the decoded signature intact is no change
        // (e.g. '%2F' -> '%2f' inside sig); every other change must fail.
        const same = after.stringToSign === before.stringToSign && after.signature === before.signature;
        expect(verifySasToken(tampered, o.key, { now: o.now }).ok).toBe(same);
      }),
      { numRuns: 500 },
    );
  });

  it('verifying with another key fails', () => {
    fc.assert(
      fc.property(options, keyBytes, (o, other) => {
        fc.pre(
          !Buffer.from(other).equals(
            Buffer.from(typeof o.key === 'string' ? Buffer.from(o.key, 'base64') : o.key),
          ),
        );
        const token = generateSasToken(o);
        expect(verifySasToken(token, other, { now: o.now })).toMatchObject({
          ok: false,
          reason: 'bad-signature',
        });
      }),
    );
  });
});
