/**
 * The browser entries bundle for a web page with no Node polyfills: amqp-one/browser holds no Node
 * transport, server or IoT code; amqp-one/iothub/browser holds the DeviceClient on the browser's
 * WebSocket and Web Crypto, without the Node platform, the service side or the emulator, and
 * calls no Buffer. Their sizes (minified, gzipped) are what README.md's "In the browser" says. No
 * size limit is tested: the figures are printed for the README.
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

  it('builds from src/iothub/browser.ts with the DeviceClient on the browser platform, and no Node-only code', async () => {
    const b = await bundleForBrowser('src/iothub/browser.ts', { minify: true });
    expect(b.exports).toEqual(
      expect.arrayContaining([
        'DeviceClient',
        'jsonMessage',
        'generateSasTokenWebCrypto',
        'parseDeviceConnectionString',
        'browserHubPlatform',
      ]),
    );
    expect(b.exports).not.toContain('ServiceClient');
    const nodeOnly = b.inputs.filter((f) =>
      /^src\/(server|broker|cli|bench|conformance|pki|iothub\/(emulator|hub))\/|^src\/iothub\/(sas|index)\.ts$|^src\/iothub\/client\/(node-platform|device-client|service-client|event-stream|events|feedback|management)\.ts$|^src\/transport\/(open-socket|http-proxy|listen-on|websocket\/ws-(client|stream|accept|handshake))\.ts$|^src\/client\/connect\.ts$/.test(
        f,
      ),
    );
    expect(nodeOnly).toEqual([]);
    expect(b.inputs).toEqual(
      expect.arrayContaining([
        'src/transport/browser-websocket.ts',
        'src/iothub/sas-web-crypto.ts',
        'src/iothub/client/browser-platform.ts',
        'src/iothub/client/device-client-base.ts',
      ]),
    );
    // Buffer is only ever looked for through globalThis (codec/bytes.ts), never called by name.
    const readable = new TextDecoder().decode((await bundleForBrowser('src/iothub/browser.ts')).code);
    expect(readable.match(/\bBuffer\s*\.\s*[a-zA-Z]+/g) ?? []).toEqual([]);
    expect(readable).toContain('globalThis.Buffer');
    const gzipped = gzippedSize(b.code);
    console.log(
      `IoT browser bundle: ${(b.code.length / 1024).toFixed(1)} KiB minified, ${(gzipped / 1024).toFixed(1)} KiB gzipped`,
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
