/**
 * The browser WebSocket adapter against a scripted stand-in for the browser's WebSocket: the
 * subprotocols offered and checked, binary messages only, bufferedAmount backpressure polled on
 * injected timers, pause and resume, and the typed errors of a close before and after the open.
 * (test/browser/chromium.test.ts runs it in a real browser.)
 */
import { describe, expect, it } from 'vitest';
import {
  BrowserWebSocketStream,
  DEFAULT_WS_HIGH_WATER_MARK,
  openBrowserWebSocket,
  WS_DRAIN_POLL_MS,
  type WebSocketLike,
} from '../../src/transport/browser-websocket.js';
import { ManualTimers } from '../support/manual-timers.js';

/** A WebSocket the test drives: what the browser would do, one call at a time. */
class FakeWebSocket implements WebSocketLike {
  static last: FakeWebSocket | undefined;
  binaryType = 'blob';
  protocol = '';
  readyState = 0;
  bufferedAmount = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: Uint8Array[] = [];
  readonly closes: { code?: number; reason?: string }[] = [];

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeWebSocket.last = this;
  }

  send(data: Uint8Array): void {
    this.sent.push(data.slice());
    this.bufferedAmount += data.length;
  }

  close(code?: number, reason?: string): void {
    this.closes.push({ code, reason });
  }

  open(protocol: string): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.onopen?.({});
  }

  closed(code: number, wasClean = true, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean });
  }
}

const signal = () => new AbortController().signal;

async function opened(
  timers = new ManualTimers(),
): Promise<{ ws: FakeWebSocket; s: BrowserWebSocketStream }> {
  const p = openBrowserWebSocket('ws://h:1/p', signal(), { WebSocket: FakeWebSocket, timers });
  const ws = FakeWebSocket.last!;
  ws.open('AMQPWSB10');
  return { ws, s: await p };
}

/** Records the stream's events in order. */
function events(s: BrowserWebSocketStream): string[] {
  const seen: string[] = [];
  s.on('data', (c) => void seen.push(`data:${[...c].join(',')}`));
  s.on('drain', () => void seen.push('drain'));
  s.on('error', (e) => void seen.push(`error:${(e as { code?: string }).code}`));
  s.on('close', () => void seen.push('close'));
  return seen;
}

describe('openBrowserWebSocket', () => {
  it('offers AMQPWSB10 then amqp, asks for binary as ArrayBuffers, and resolves on an AMQP subprotocol', async () => {
    const p = openBrowserWebSocket('wss://h/$iothub/websocket', signal(), { WebSocket: FakeWebSocket });
    const ws = FakeWebSocket.last!;
    expect([ws.url, ws.protocols, ws.binaryType]).toEqual([
      'wss://h/$iothub/websocket',
      ['AMQPWSB10', 'amqp'],
      'arraybuffer',
    ]);
    ws.open('amqp');
    expect((await p).protocol).toBe('amqp');
  });

  it('a close before the open is a WebSocketHandshakeError with a stable code', async () => {
    const p = openBrowserWebSocket('ws://h:1/', signal(), { WebSocket: FakeWebSocket });
    FakeWebSocket.last!.closed(1006, false);
    await expect(p).rejects.toMatchObject({
      name: 'WebSocketHandshakeError',
      code: 'AMQP_WS_HANDSHAKE',
      status: 0,
      message: expect.stringContaining('closed before it opened (close code 1006)'),
    });
  });

  it('an open without an AMQP subprotocol is closed and refused', async () => {
    const p = openBrowserWebSocket('ws://h:1/', signal(), { WebSocket: FakeWebSocket });
    const ws = FakeWebSocket.last!;
    ws.open('');
    await expect(p).rejects.toMatchObject({
      code: 'AMQP_WS_HANDSHAKE',
      message: expect.stringContaining('null'),
    });
    expect(ws.closes).toHaveLength(1);
  });

  it('a URL the browser refuses is a WebSocketHandshakeError with its reason as the cause', async () => {
    class Refusing extends FakeWebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        throw new SyntaxError('bad URL');
      }
    }
    await expect(openBrowserWebSocket('ws://', signal(), { WebSocket: Refusing })).rejects.toMatchObject({
      code: 'AMQP_WS_HANDSHAKE',
      cause: expect.objectContaining({ name: 'SyntaxError' }),
    });
  });

  it('an abort closes the socket and rejects with the reason; an aborted signal opens nothing', async () => {
    const ac = new AbortController();
    const p = openBrowserWebSocket('ws://h:1/', ac.signal, { WebSocket: FakeWebSocket });
    const ws = FakeWebSocket.last!;
    const reason = new Error('gave up');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(ws.closes).toHaveLength(1);
    expect(ws.onopen).toBeNull();
    FakeWebSocket.last = undefined;
    await expect(openBrowserWebSocket('ws://h:1/', ac.signal, { WebSocket: FakeWebSocket })).rejects.toBe(
      reason,
    );
    expect(FakeWebSocket.last).toBeUndefined();
  });

  it('without a WebSocket in the environment, a typed error', async () => {
    await expect(
      openBrowserWebSocket('ws://h:1/', signal(), { WebSocket: undefined as never }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^AMQP_/) });
  });
});

describe('BrowserWebSocketStream', () => {
  it('sends each write as one message and emits each binary message as data', async () => {
    const { ws, s } = await opened();
    const seen = events(s);
    expect(s.write(Uint8Array.of(1, 2))).toBe(true);
    expect(ws.sent).toEqual([Uint8Array.of(1, 2)]);
    ws.onmessage!({ data: Uint8Array.of(3, 4).buffer });
    expect(seen).toEqual(['data:3,4']);
  });

  it('while bufferedAmount is above the high-water mark, writes wait until it falls to a quarter', async () => {
    const timers = new ManualTimers();
    const { ws, s } = await opened(timers);
    const seen = events(s);
    expect(s.write(new Uint8Array(DEFAULT_WS_HIGH_WATER_MARK + 1))).toBe(false);
    expect([s.writableNeedDrain, s.writableLength]).toEqual([true, DEFAULT_WS_HIGH_WATER_MARK + 1]);
    ws.bufferedAmount = DEFAULT_WS_HIGH_WATER_MARK / 2;
    timers.advance(WS_DRAIN_POLL_MS);
    expect(seen).toEqual([]);
    ws.bufferedAmount = DEFAULT_WS_HIGH_WATER_MARK / 4;
    timers.advance(WS_DRAIN_POLL_MS);
    expect(seen).toEqual(['drain']);
    expect(s.writableNeedDrain).toBe(false);
    expect(timers.timers).toBe(0);
  });

  it('pause holds messages and resume delivers them in order', async () => {
    const { ws, s } = await opened();
    const seen = events(s);
    s.pause();
    ws.onmessage!({ data: Uint8Array.of(1).buffer });
    ws.onmessage!({ data: Uint8Array.of(2).buffer });
    expect(seen).toEqual([]);
    s.resume();
    ws.onmessage!({ data: Uint8Array.of(3).buffer });
    expect(seen).toEqual(['data:1', 'data:2', 'data:3']);
  });

  it('a text message closes the stream with AMQP_WS_TEXT', async () => {
    const { ws, s } = await opened();
    const seen = events(s);
    ws.onmessage!({ data: 'hello' });
    expect(seen).toEqual(['error:AMQP_WS_TEXT', 'close']);
    expect(ws.closes).toEqual([{ code: 1000, reason: 'AMQP is binary only' }]);
    expect(s.write(Uint8Array.of(1))).toBe(false);
    expect(ws.sent).toEqual([]);
  });

  it('a message above maxMessageSize closes the stream with AMQP_WS_TOO_BIG', async () => {
    const p = openBrowserWebSocket('ws://h:1/', signal(), { WebSocket: FakeWebSocket, maxMessageSize: 4 });
    const ws = FakeWebSocket.last!;
    ws.open('AMQPWSB10');
    const seen = events(await p);
    ws.onmessage!({ data: new ArrayBuffer(4) });
    ws.onmessage!({ data: new ArrayBuffer(5) });
    expect(seen).toEqual(['data:0,0,0,0', 'error:AMQP_WS_TOO_BIG', 'close']);
  });

  it('a clean close is a close; any other is an error first', async () => {
    const a = await opened();
    const seenA = events(a.s);
    a.ws.closed(1000);
    expect(seenA).toEqual(['close']);
    const b = await opened();
    const seenB = events(b.s);
    b.ws.closed(1006, false);
    b.ws.closed(1006, false); // a second report changes nothing
    expect(seenB).toEqual(['error:AMQP_WS_CLOSED', 'close']);
  });

  it('end starts the close handshake and waits for it; destroy reports at once, after the caller returns', async () => {
    const a = await opened();
    const seenA = events(a.s);
    a.s.end();
    expect(a.ws.closes).toEqual([{ code: 1000, reason: undefined }]);
    expect(seenA).toEqual([]);
    a.ws.closed(1000);
    expect(seenA).toEqual(['close']);

    const b = await opened();
    const seenB = events(b.s);
    const err = new Error('dropped');
    b.s.destroy(err);
    expect(seenB).toEqual([]);
    await Promise.resolve();
    expect(seenB).toEqual(['error:undefined', 'close']);
    b.ws.closed(1000); // the browser's own close event, later: already reported
    expect(seenB).toEqual(['error:undefined', 'close']);
  });
});
