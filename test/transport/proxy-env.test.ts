import { describe, expect, test } from 'vitest';
import { proxyFromEnv } from '../../src/transport/proxy-env.js';

const P = 'http://proxy.example:3128';

describe("proxy: 'env'", () => {
  test('HTTPS_PROXY for TLS targets, HTTP_PROXY for plain ones; lower case too; blank is none', () => {
    expect(proxyFromEnv('h', 5671, true, { HTTPS_PROXY: P })).toBe(P);
    expect(proxyFromEnv('h', 5671, true, { https_proxy: P })).toBe(P);
    expect(proxyFromEnv('h', 5672, false, { HTTPS_PROXY: P })).toBeUndefined();
    expect(proxyFromEnv('h', 5672, false, { http_proxy: P })).toBe(P);
    expect(proxyFromEnv('h', 5671, true, { HTTPS_PROXY: '  ' })).toBeUndefined();
    expect(proxyFromEnv('h', 5671, true, {})).toBeUndefined();
  });

  test.each([
    ['*', 'any.host', 443, true],
    ['example.com', 'example.com', 443, true],
    ['example.com', 'hub.example.com', 443, true],
    ['.example.com', 'hub.example.com', 443, true],
    ['*.example.com', 'hub.example.com', 443, true],
    ['example.com', 'notexample.com', 443, false],
    ['example.com:5671', 'example.com', 5671, true],
    ['example.com:5671', 'example.com', 443, false],
    ['127.0.0.1', '127.0.0.1', 5671, true],
    ['127.0.0.1', '127.0.0.10', 5671, false],
    ['::1', '::1', 5671, true],
    ['[::1]:5671', '::1', 5671, true],
    ['[::1]:5671', '::1', 443, false],
    ['a.com, b.com', 'b.com', 443, true],
    ['a.com b.com', 'x.b.com', 443, true],
    ['EXAMPLE.com', 'hub.Example.COM', 443, true],
  ])('NO_PROXY=%s for %s:%s bypasses the proxy: %s', (noProxy, host, port, bypass) => {
    const got = proxyFromEnv(host, port, true, { HTTPS_PROXY: P, NO_PROXY: noProxy });
    expect(got).toBe(bypass ? undefined : P);
  });
});
