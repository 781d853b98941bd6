/**
 * The browser's connect(): its options (no TLS settings, proxy or Duplex) and the WebSocket URL it
 * opens, with a stand-in for the browser's WebSocket that never opens (the connect is abandoned).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, webSocketUrl } from '../../src/client/connect-browser.js';

/** Called with the URL of each WebSocket made. */
let made: (url: string) => void = () => undefined;
class NeverOpens {
  binaryType = '';
  protocol = '';
  readyState = 0;
  bufferedAmount = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  constructor(url: string) {
    made(url);
  }
  send(): void {}
  close(): void {}
}

const g = globalThis as unknown as { WebSocket?: unknown };
const original = g.WebSocket;
afterEach(() => {
  g.WebSocket = original;
});

/** The URL connect() asks the browser to open, for `options`. */
async function urlOpened(options: Parameters<typeof connect>[0]): Promise<string> {
  g.WebSocket = NeverOpens;
  const url = new Promise<string>((resolve) => (made = resolve));
  const ac = new AbortController();
  const p = connect(
    typeof options === 'string' ? { url: options, signal: ac.signal } : { ...options, signal: ac.signal },
  );
  const opened = await url;
  ac.abort(new Error('enough'));
  await expect(p).rejects.toMatchObject({ code: 'AMQP_ABORTED' });
  return opened;
}

describe('connect() in a browser', () => {
  it('opens the URL given, or one made of host, port, tls and websocket.path (no credentials in it)', async () => {
    expect(await urlOpened('wss://u:p@hub.example/$iothub/websocket')).toBe(
      'wss://hub.example:443/$iothub/websocket',
    );
    expect(await urlOpened({ host: '::1', port: 8080 })).toBe('ws://[::1]:8080/');
    expect(await urlOpened({ host: 'h', tls: true, websocket: { path: 'x' } })).toBe('wss://h:443/x');
  });

  it('refuses what only Node has, and amqp:// URLs, with typed errors', async () => {
    await expect(connect({ url: 'ws://h/', proxy: 'http://p:3128' } as never)).rejects.toMatchObject({
      code: 'AMQP_INVALID_ARGUMENT',
    });
    await expect(connect({ url: 'ws://h/', tls: { ca: 'PEM' } } as never)).rejects.toMatchObject({
      code: 'AMQP_INVALID_ARGUMENT',
    });
    await expect(connect('amqp://h')).rejects.toMatchObject({
      code: 'AMQP_INVALID_ARGUMENT',
      message: expect.stringContaining('ws://'),
    });
  });

  it('webSocketUrl brackets IPv6 hosts and adds the leading slash', () => {
    expect(webSocketUrl({ host: 'fe80::1', port: 80, websocket: { path: 'a?b=1' } })).toBe(
      'ws://[fe80::1]:80/a?b=1',
    );
  });
});
