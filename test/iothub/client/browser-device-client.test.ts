/**
 * The browser's DeviceClient (amqp-one/iothub/browser) run in Node with a recording WebSocket in
 * place of the browser's: where it connects, and what it refuses before any socket. A token goes
 * over ws:// only when `tls: false` is given, as with Node's client; the real browser and the
 * emulator are test/browser/chromium.test.ts.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { DeviceClient } from '../../../src/iothub/browser.js';

const CS = `HostName=h.example;DeviceId=d1;SharedAccessKey=${Buffer.from('k').toString('base64')}`;
const opened: string[] = [];

/** A WebSocket that records its URL and closes before it opens (as a refused connection does). */
class RecordingWebSocket {
  binaryType = '';
  protocol = '';
  readyState = 0;
  bufferedAmount = 0;
  onopen = null;
  onmessage = null;
  onerror = null;
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  constructor(url: string) {
    opened.push(url);
    queueMicrotask(() => this.onclose?.({ code: 1006, reason: '', wasClean: false }));
  }
  send(): void {}
  close(): void {}
}

const g = globalThis as { WebSocket?: unknown };
const original = g.WebSocket;
afterEach(() => {
  g.WebSocket = original;
  opened.length = 0;
});

async function firstUrl(options: ConstructorParameters<typeof DeviceClient>[1]): Promise<string> {
  g.WebSocket = RecordingWebSocket;
  const device = DeviceClient.fromConnectionString(CS, { reconnect: false, ...options });
  await expect(device.open()).rejects.toMatchObject({ code: 'IOTHUB_NOT_CONNECTED' });
  await device.close();
  expect(opened).toHaveLength(1);
  return opened[0]!;
}

describe("the browser's DeviceClient", () => {
  test("connects over wss:// to the hub's WebSocket endpoint by default, port 443", async () => {
    expect(await firstUrl({})).toBe('wss://h.example:443/$iothub/websocket');
  });

  test('goes over ws:// only when tls: false is given (port 80), as the Node client', async () => {
    expect(await firstUrl({ tls: false })).toBe('ws://h.example:80/$iothub/websocket');
  });

  test("refuses transport 'amqp', TLS settings and a proxy with typed errors, before any socket", () => {
    g.WebSocket = RecordingWebSocket;
    const refused = (o: object) => {
      try {
        DeviceClient.fromConnectionString(CS, o);
      } catch (e) {
        return { code: (e as { code?: string }).code, option: (e as { option?: string }).option };
      }
      return 'accepted';
    };
    expect(refused({ transport: 'amqp' })).toEqual({ code: 'AMQP_INVALID_ARGUMENT', option: 'transport' });
    expect(refused({ tls: { ca: 'pem' } })).toEqual({ code: 'AMQP_INVALID_ARGUMENT', option: 'tls.ca' });
    expect(refused({ proxy: 'http://proxy:3128' })).toEqual({
      code: 'AMQP_INVALID_ARGUMENT',
      option: 'proxy',
    });
    expect(opened).toEqual([]);
  });
});
