/**
 * The browser entry bundles for a web page with no Node polyfills, holds no Node transport, server
 * or IoT code, and its size (minified, gzipped) is what README.md's "In the browser" says. No size
 * limit is tested: the figures are printed for the README.
 */
import { describe, expect, it } from 'vitest';
import { bundleForBrowser, gzippedSize } from './bundle.js';

describe('the browser bundle', () => {
  it('builds from src/browser.ts with connect() and the codec, and no Node-only code', async () => {
    const b = await bundleForBrowser('src/browser.ts', { minify: true });
    expect(b.exports).toEqual(
      expect.arrayContaining([
        'connect',
        'encodeMessage',
        'decodeMessage',
        'AmqpConnection',
        'WebSocketHandshakeError',
      ]),
    );
    const nodeOnly = b.inputs.filter((f) =>
      /^src\/(server|broker|iothub|cli|bench|conformance|pki)\/|^src\/transport\/(open-socket|http-proxy|listen-on|websocket\/ws-(client|stream|accept|handshake))\.ts$|^src\/client\/connect\.ts$/.test(
        f,
      ),
    );
    expect(nodeOnly).toEqual([]);
    expect(b.inputs).toContain('src/transport/browser-websocket.ts');
    const gzipped = gzippedSize(b.code);
    console.log(
      `browser bundle: ${(b.code.length / 1024).toFixed(1)} KiB minified, ${(gzipped / 1024).toFixed(1)} KiB gzipped`,
    );
    expect(gzipped).toBeLessThan(b.code.length);
  });

  it('fails when anything pulls in a Node module, prefixed or bare', async () => {
    await expect(bundleForBrowser('src/index.ts')).rejects.toThrow(/imports the Node module node:net/);
    await expect(bundleForBrowser('test/browser/fixtures/bare-node-import.ts')).rejects.toThrow(
      /imports the Node module events/,
    );
  });
});
