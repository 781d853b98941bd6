/**
 * SAS tokens: known answers, parsing, expiry, tampering and scope.
 *
 * The literal vectors below were computed outside this code base with OpenSSL, e.g.
 *   printf 'myhub.azure-devices.net%2Fdevices%2Fdevice1\n1700000000' \
 *     | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f -binary | base64
 * The other known-answer tests rebuild the HMAC input by hand and sign it with node:crypto directly.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  IotHubConfigError,
  SasTokenError,
  encodeUriComponentStrict,
  generateSasToken,
  normalizeSasResource,
  parseSasToken,
  sasScopeCovers,
  verifySasToken,
} from '../../src/iothub/index.js';

/** Bytes 0x00..0x1f, base64. */
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const OTHER_KEY = Buffer.alloc(32, 7).toString('base64');
const HOST = 'myhub.azure-devices.net';
const T0 = 1_700_000_000; // seconds

/** An independent signer: base64(HMAC-SHA256(keyBytes, input)). */
function sign(input: string, keyBytes: Buffer): string {
  return createHmac('sha256', keyBytes).update(input).digest('base64');
}

describe('generateSasToken: literal vectors (computed with OpenSSL)', () => {
  it('device-key token, Node device style sr (encodeURIComponent, case kept)', () => {
    const token = generateSasToken({
      resourceUri: `${HOST}/devices/device1`,
      key: KEY,
      expiresAt: T0,
    });
    expect(token).toBe(
      'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1' +
        '&sig=gFSfLGMXDOvf906%2FiaX3KwzLLNFHgaFZyCbsGjxtd1Y%3D&se=1700000000',
    );
  });

  it('policy token for the hub (skn last), from now + 3600 s', () => {
    const token = generateSasToken({
      resourceUri: HOST,
      key: KEY,
      policyName: 'iothubowner',
      now: new Date(T0 * 1000),
      expiresInSeconds: 3600,
    });
    expect(token).toBe(
      'SharedAccessSignature sr=myhub.azure-devices.net' +
        '&sig=z2GsBnDbkPF5ILfrd9UgHrn3tqxZXTLBEN85EQUGBb0%3D&se=1700003600&skn=iothubowner',
    );
  });

  it('Event Hubs style: key used as a UTF-8 string', () => {
    const token = generateSasToken({
      resourceUri: 'sb://ns.servicebus.windows.net/eh1',
      key: 'SAS_KEY_VALUE',
      keyEncoding: 'utf8',
      policyName: 'RootManageSharedAccessKey',
      expiresAt: new Date(T0 * 1000),
    });
    expect(token).toBe(
      'SharedAccessSignature sr=sb%3A%2F%2Fns.servicebus.windows.net%2Feh1' +
        '&sig=OXfeMYkOWpSaSV3PPyhBfBRO7QFMbfEsSz3wv6xAQ6o%3D&se=1700000000&skn=RootManageSharedAccessKey',
    );
    expect(verifySasToken(token, 'SAS_KEY_VALUE', { keyEncoding: 'utf8', now: T0 * 1000 - 1 }).ok).toBe(true);
  });

  it('verifies the literal vectors', () => {
    const now = (T0 - 10) * 1000;
    expect(
      verifySasToken(
        'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1' +
          '&sig=gFSfLGMXDOvf906%2FiaX3KwzLLNFHgaFZyCbsGjxtd1Y%3D&se=1700000000',
        KEY,
        { now },
      ),
    ).toMatchObject({ ok: true });
  });
});

describe('generateSasToken: known answers against a hand-built HMAC input', () => {
  const keyBytes = Buffer.from(KEY, 'base64');

  it('signs encodedUri + "\\n" + expiry with the decoded key and URL-encodes the signature', () => {
    const token = generateSasToken({
      resourceUri: `${HOST}/devices/Dev-01`,
      key: KEY,
      expiresAt: 1234567890,
    });
    const expectedSig = sign('myhub.azure-devices.net%2Fdevices%2FDev-01\n1234567890', keyBytes);
    expect(token).toBe(
      `SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2FDev-01&sig=${encodeURIComponent(expectedSig)}&se=1234567890`,
    );
  });

  it('raw sr (C SDK style) is signed as written', () => {
    const token = generateSasToken({
      resourceUri: `${HOST}/devices/d1`,
      key: KEY,
      expiresAt: 2000000000,
      resourceUriEncoding: 'raw',
    });
    const expectedSig = sign(`${HOST}/devices/d1\n2000000000`, keyBytes);
    expect(token).toBe(
      `SharedAccessSignature sr=${HOST}/devices/d1&sig=${encodeURIComponent(expectedSig)}&se=2000000000`,
    );
  });

  it('host:port is encoded (":" -> %3A) in component mode and kept in raw mode', () => {
    const c = parseSasToken(generateSasToken({ resourceUri: 'localhost:5671', key: KEY, expiresAt: 1 }));
    expect(c.encodedResourceUri).toBe('localhost%3A5671');
    expect(c.resourceUri).toBe('localhost:5671');
    const r = parseSasToken(
      generateSasToken({ resourceUri: 'localhost:5671', key: KEY, expiresAt: 1, resourceUriEncoding: 'raw' }),
    );
    expect(r.encodedResourceUri).toBe('localhost:5671');
  });

  it("strict encoding escapes !'()* and the policy name", () => {
    expect(encodeUriComponentStrict("a!b'c(d)e*f g/h")).toBe('a%21b%27c%28d%29e%2Af%20g%2Fh');
    const token = generateSasToken({
      resourceUri: 'h/devices/x(1)',
      key: KEY,
      policyName: 'p&q',
      expiresAt: 5,
    });
    const p = parseSasToken(token);
    expect(p.encodedResourceUri).toBe('h%2Fdevices%2Fx%281%29');
    expect(p.resourceUri).toBe('h/devices/x(1)');
    expect(p.policyName).toBe('p&q');
    expect(token.endsWith('&skn=p%26q')).toBe(true);
    expect(p.signature).toBe(sign('h%2Fdevices%2Fx%281%29\n5', keyBytes));
  });

  it('accepts the key as raw bytes', () => {
    expect(generateSasToken({ resourceUri: HOST, key: keyBytes, expiresAt: T0 })).toBe(
      generateSasToken({ resourceUri: HOST, key: KEY, expiresAt: T0 }),
    );
  });

  it('expiry: now + expiresInSeconds rounded up; default lifetime 3600 s; Date or seconds for expiresAt', () => {
    const at = (o: Parameters<typeof generateSasToken>[0]) =>
      parseSasToken(generateSasToken(o)).expirySeconds;
    expect(at({ resourceUri: HOST, key: KEY, now: T0 * 1000 })).toBe(T0 + 3600);
    expect(at({ resourceUri: HOST, key: KEY, now: T0 * 1000 + 1, expiresInSeconds: 60 })).toBe(T0 + 61);
    expect(at({ resourceUri: HOST, key: KEY, now: new Date(T0 * 1000), expiresInSeconds: 1 })).toBe(T0 + 1);
    expect(at({ resourceUri: HOST, key: KEY, expiresAt: new Date(T0 * 1000 + 999) })).toBe(T0);
    expect(at({ resourceUri: HOST, key: KEY, expiresAt: T0 })).toBe(T0);
  });

  it('rejects unusable options with IotHubConfigError IOTHUB_BAD_SAS_OPTIONS', () => {
    const bad: Array<[Parameters<typeof generateSasToken>[0], string]> = [
      [{ resourceUri: '', key: KEY }, 'resourceUri'],
      [{ resourceUri: HOST, key: '' }, 'key'],
      [{ resourceUri: HOST, key: 'not base64!' }, 'key'],
      [{ resourceUri: HOST, key: new Uint8Array(0) }, 'key'],
      [{ resourceUri: HOST, key: KEY, expiresInSeconds: 0 }, 'expiresInSeconds'],
      [{ resourceUri: HOST, key: KEY, expiresInSeconds: Number.NaN }, 'expiresInSeconds'],
      [{ resourceUri: HOST, key: KEY, expiresAt: 1.5 }, 'expiresAt'],
      [{ resourceUri: HOST, key: KEY, expiresAt: new Date(Number.NaN) }, 'expiresAt'],
      [{ resourceUri: HOST, key: KEY, expiresAt: -1 }, 'expiresAt'],
      [{ resourceUri: HOST, key: KEY, expiresAt: 1, expiresInSeconds: 1 } as never, 'expiresAt'],
      [{ resourceUri: HOST, key: KEY, now: Number.POSITIVE_INFINITY }, 'now'],
      [{ resourceUri: HOST, key: KEY, policyName: '' }, 'policyName'],
      [{ resourceUri: 'a&b', key: KEY, resourceUriEncoding: 'raw' }, 'resourceUri'],
      [{ resourceUri: 'a b', key: KEY, resourceUriEncoding: 'raw' }, 'resourceUri'],
      [{ resourceUri: 'a%zz', key: KEY, resourceUriEncoding: 'raw' }, 'resourceUri'],
      [{ resourceUri: HOST, key: KEY, resourceUriEncoding: 'x' as never }, 'resourceUriEncoding'],
      [{ resourceUri: HOST, key: KEY, keyEncoding: 'hex' as never }, 'keyEncoding'],
    ];
    for (const [options, key] of bad) {
      let caught: unknown;
      try {
        generateSasToken(options);
      } catch (e) {
        caught = e;
      }
      expect(caught, key).toBeInstanceOf(IotHubConfigError);
      expect((caught as IotHubConfigError).code).toBe('IOTHUB_BAD_SAS_OPTIONS');
      expect((caught as IotHubConfigError).key).toBe(key);
    }
  });
});

describe('parseSasToken', () => {
  it('parses fields in any order (Node, C and docs orders)', () => {
    const sig = sign(`${HOST}\n${T0}`, Buffer.from(KEY, 'base64'));
    const encSig = encodeURIComponent(sig);
    const orders = [
      `sr=${HOST}&sig=${encSig}&skn=owner&se=${T0}`,
      `sr=${HOST}&sig=${encSig}&se=${T0}&skn=owner`,
      `sig=${encSig}&se=${T0}&skn=owner&sr=${HOST}`,
    ];
    for (const fields of orders) {
      const p = parseSasToken(`SharedAccessSignature ${fields}`);
      expect(p).toEqual({
        resourceUri: HOST,
        encodedResourceUri: HOST,
        signature: sig,
        encodedSignature: encSig,
        expiry: new Date(T0 * 1000),
        expirySeconds: T0,
        policyName: 'owner',
        stringToSign: `${HOST}\n${T0}`,
      });
      expect(verifySasToken(`SharedAccessSignature ${fields}`, KEY, { now: 0 }).ok).toBe(true);
    }
  });

  it('decodes sr (lower- or upper-case escapes) but signs it raw', () => {
    const lower = 'myhub.azure-devices.net%2fdevices%2fd1';
    const sig = sign(`${lower}\n${T0}`, Buffer.from(KEY, 'base64'));
    const token = `SharedAccessSignature sr=${lower}&sig=${encodeURIComponent(sig)}&se=${T0}`;
    const p = parseSasToken(token);
    expect(p.resourceUri).toBe(`${HOST}/devices/d1`);
    expect(p.stringToSign).toBe(`${lower}\n${T0}`);
    expect(p.policyName).toBeUndefined();
    expect('policyName' in p).toBe(false);
    expect(verifySasToken(token, KEY, { now: 0, resource: `${HOST}/devices/d1` }).ok).toBe(true);
  });

  it('accepts surrounding whitespace, a case-insensitive prefix and ignores unknown fields', () => {
    const p = parseSasToken(`  sharedaccesssignature sr=h&sig=abc&se=5&foo=bar  `);
    expect(p).toMatchObject({ resourceUri: 'h', signature: 'abc', expirySeconds: 5 });
  });

  const malformed: Array<[string, string | undefined]> = [
    ['', undefined],
    ['sr=h&sig=abc&se=5', undefined],
    ['SharedAccessSignature', undefined],
    ['SharedAccessSignature ', undefined],
    ['SharedAccessSignaturesr=h&sig=abc&se=5', undefined],
    ['Bearer sr=h&sig=abc&se=5', undefined],
    ['SharedAccessSignature sr=h&sig=abc &se=5', undefined],
    ['SharedAccessSignature sr=h&sig=abc&&se=5', undefined],
    ['SharedAccessSignature sr=h&sig=abc&se=5&', undefined],
    ['SharedAccessSignature sr=h&sig=abc&se', undefined],
    ['SharedAccessSignature =x&sr=h&sig=abc&se=5', undefined],
    ['SharedAccessSignature sig=abc&se=5', 'sr'],
    ['SharedAccessSignature sr=h&se=5', 'sig'],
    ['SharedAccessSignature sr=h&sig=abc', 'se'],
    ['SharedAccessSignature sr=&sig=abc&se=5', 'sr'],
    ['SharedAccessSignature sr=h&sig=&se=5', 'sig'],
    ['SharedAccessSignature sr=h&sig=abc&se=5&skn=', 'skn'],
    ['SharedAccessSignature sr=h&sr=h&sig=abc&se=5', 'sr'],
    ['SharedAccessSignature sr=h&sig=abc&se=5&se=6', 'se'],
    ['SharedAccessSignature sr=h&sig=abc&se=-5', 'se'],
    ['SharedAccessSignature sr=h&sig=abc&se=5.5', 'se'],
    ['SharedAccessSignature sr=h&sig=abc&se=1e9', 'se'],
    ['SharedAccessSignature sr=h&sig=abc&se=99999999999999', 'se'],
    ['SharedAccessSignature sr=h%zz&sig=abc&se=5', 'sr'],
    ['SharedAccessSignature sr=h&sig=ab%c&se=5', 'sig'],
    ['SharedAccessSignature sr=h&sig=abc&se=5&skn=%E0%A4%A', 'skn'],
  ];
  it.each(malformed)('rejects %j', (token, field) => {
    let caught: unknown;
    try {
      parseSasToken(token);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SasTokenError);
    expect((caught as SasTokenError).code).toBe('IOTHUB_BAD_SAS_TOKEN');
    expect((caught as SasTokenError).field).toBe(field);
    expect(verifySasToken(token, KEY)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('rejects a non-string', () => {
    expect(() => parseSasToken(42 as unknown as string)).toThrow(SasTokenError);
  });
});

describe('verifySasToken', () => {
  const resourceUri = `${HOST}/devices/d1`;
  const token = generateSasToken({ resourceUri, key: KEY, expiresAt: T0 });

  it('expiry: valid strictly before se, expired from se on (injected now)', () => {
    expect(verifySasToken(token, KEY, { now: T0 * 1000 - 1 })).toMatchObject({ ok: true });
    expect(verifySasToken(token, KEY, { now: new Date(0) })).toMatchObject({ ok: true });
    const r = verifySasToken(token, KEY, { now: T0 * 1000 });
    expect(r).toMatchObject({ ok: false, reason: 'expired', message: 'The specified SAS token is expired.' });
    expect(r.ok ? undefined : r.token?.resourceUri).toBe(resourceUri);
    expect(verifySasToken(token, KEY, { now: new Date((T0 + 3600) * 1000) })).toMatchObject({
      reason: 'expired',
    });
  });

  it('a wrong key is a bad signature, checked before expiry', () => {
    expect(verifySasToken(token, OTHER_KEY, { now: 0 })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifySasToken(token, OTHER_KEY, { now: (T0 + 1) * 1000 })).toMatchObject({
      reason: 'bad-signature',
    });
    // Same key string, wrong convention.
    expect(verifySasToken(token, KEY, { now: 0, keyEncoding: 'utf8' })).toMatchObject({
      reason: 'bad-signature',
    });
  });

  it('tampering with sr, se, sig or skn-less fields fails', () => {
    const now = { now: 0 };
    const tampered = [
      token.replace('sr=myhub', 'sr=yourhub'),
      token.replace('%2Fd1', '%2Fd2'),
      token.replace('%2Fdevices', '%2fdevices'), // same decoded sr, different signed bytes
      token.replace(`se=${T0}`, `se=${T0 + 1}`),
      token.replace(`se=${T0}`, `se=0${T0}`), // same number, different signed bytes
      token.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`),
      token.replace('%3D&se', '&se'), // padding removed
      token.replace('&se', 'A&se'), // one more character
    ];
    for (const t of tampered) {
      expect(t).not.toBe(token);
      expect(verifySasToken(t, KEY, now), t).toMatchObject({ ok: false, reason: 'bad-signature' });
    }
    // Adding an skn does not change what is signed (as in every SDK), so it still verifies.
    expect(verifySasToken(`${token}&skn=x`, KEY, now).ok).toBe(true);
  });

  it('accepts a signature written without URL encoding (+, / and = raw)', () => {
    const sig = sign(`${HOST}\n${T0}`, Buffer.from(KEY, 'base64'));
    expect(verifySasToken(`SharedAccessSignature sr=${HOST}&sig=${sig}&se=${T0}`, KEY, { now: 0 }).ok).toBe(
      true,
    );
  });

  it('scope: expectedResourcePrefix (the token must be under it)', () => {
    const v = (prefix: string | string[]) =>
      verifySasToken(token, KEY, { now: 0, expectedResourcePrefix: prefix });
    expect(v(HOST).ok).toBe(true);
    expect(v(`${HOST}/devices/d1`).ok).toBe(true);
    expect(v('MYHUB.azure-devices.net').ok).toBe(true);
    expect(v(`amqps://${HOST}/`).ok).toBe(true);
    expect(v('myhub.azure-devices').ok).toBe(false);
    expect(v(`${HOST}/devices/d1/modules/m1`)).toMatchObject({ ok: false, reason: 'out-of-scope' });
    expect(v('otherhub.azure-devices.net')).toMatchObject({ ok: false, reason: 'out-of-scope' });
    expect(v(['otherhub.azure-devices.net', HOST]).ok).toBe(true);
  });

  it('scope: resource (the token must cover it), host:port and plain host', () => {
    const hub = generateSasToken({
      resourceUri: 'localhost:5671',
      key: KEY,
      policyName: 'owner',
      expiresAt: T0,
    });
    const dev = generateSasToken({ resourceUri: 'localhost/devices/d1', key: KEY, expiresAt: T0 });
    const v = (t: string, resource: string | string[]) => verifySasToken(t, KEY, { now: 0, resource });
    expect(v(hub, 'localhost:5671/devices/d1').ok).toBe(true);
    expect(v(hub, 'localhost:5671').ok).toBe(true);
    expect(v(hub, 'localhost/devices/d1')).toMatchObject({ ok: false, reason: 'out-of-scope' });
    expect(v(hub, ['localhost/devices/d1', 'localhost:5671/devices/d1']).ok).toBe(true);
    expect(v(dev, 'localhost/devices/d1').ok).toBe(true);
    expect(v(dev, 'localhost/devices/D1').ok).toBe(true); // case-insensitive
    expect(v(dev, 'localhost/devices/d1/modules/m').ok).toBe(true);
    expect(v(dev, 'localhost/devices/d10').ok).toBe(false);
    expect(v(dev, 'localhost')).toMatchObject({ ok: false, reason: 'out-of-scope' });
  });

  it('throws IotHubConfigError for an unusable key', () => {
    expect(() => verifySasToken(token, 'not base64!')).toThrow(IotHubConfigError);
    expect(() => verifySasToken(token, '')).toThrow(IotHubConfigError);
  });
});

describe('scope helpers', () => {
  it('normalizeSasResource', () => {
    expect(normalizeSasResource('sb://NS.servicebus.windows.net/eh/')).toBe('ns.servicebus.windows.net/eh');
    expect(normalizeSasResource('MyHub.azure-devices.net')).toBe('myhub.azure-devices.net');
  });
  it('sasScopeCovers', () => {
    expect(sasScopeCovers('h', 'h/devices/d1')).toBe(true);
    expect(sasScopeCovers('h/devices/d1', 'h/devices/d1')).toBe(true);
    expect(sasScopeCovers('h/devices/d1', 'h/devices/d10')).toBe(false);
    expect(sasScopeCovers('h/devices/d1', 'h')).toBe(false);
    expect(sasScopeCovers('sb://', 'anything')).toBe(false);
    expect(sasScopeCovers('', '')).toBe(false);
  });
});
