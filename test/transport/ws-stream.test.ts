import { once } from 'node:events';
import { duplexPair } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { CLOSE_WAIT_MS, WebSocketStream } from '../../src/transport/websocket/ws-stream.js';
import { ManualTimers } from '../support/manual-timers.js';
import { encodeFrame, Opcode } from '../../src/transport/websocket/ws-frames.js';
import type { WebSocketError } from '../../src/transport/websocket/ws-errors.js';

describe('WebSocketStream', () => {
  test('bytes written by a client arrive at a server and back, whatever the split', async () => {
    const [a, b] = duplexPair();
    const client = new WebSocketStream(a, 'client');
    const server = new WebSocketStream(b, 'server');
    const got: Buffer[] = [];
    server.on('data', (c: Buffer) => {
      got.push(c);
      server.write(c);
    });
    const back: Buffer[] = [];
    const echoed = new Promise<void>((r) =>
      client.on('data', (c: Buffer) => {
        back.push(c);
        if (Buffer.concat(back).length === 8) r();
      }),
    );
    client.write(Buffer.from('AMQP'));
    client.write(Buffer.from([0, 1, 0, 0]));
    await echoed;
    expect(Buffer.concat(got).toString('latin1')).toBe('AMQP\x00\x01\x00\x00');
    expect(Buffer.concat(back)).toEqual(Buffer.concat(got));
  });

  test('an unmasked client frame closes with 1002 and a typed error', async () => {
    const [a, b] = duplexPair();
    const server = new WebSocketStream(b, 'server');
    const failed = new Promise<WebSocketError>((r) => server.on('error', (e) => r(e as WebSocketError)));
    const reply = new Promise<Buffer>((r) => a.once('data', r));
    a.write(encodeFrame({ fin: true, opcode: 2, payload: Buffer.of(1) }));
    const e = await failed;
    expect([e.code, e.closeCode]).toEqual(['AMQP_WS_PROTOCOL', 1002]);
    expect(await reply).toEqual(Buffer.from([0x88, 0x02, 0x03, 0xea]));
  });
});

const MASK = Uint8Array.of(1, 2, 3, 4);
const masked = (opcode: number, payload: Uint8Array): Buffer =>
  encodeFrame({ fin: true, opcode, payload }, MASK);

describe('WebSocketStream under a peer that does not read', () => {
  test('while its reader is behind, the socket is not read; reading again resumes it', async () => {
    const [a, b] = duplexPair();
    const server = new WebSocketStream(b, 'server');
    server.pause(); // what the driver does when the peer does not take our output
    const arrived = once(b, 'data');
    a.write(Buffer.concat(Array.from({ length: 64 }, () => masked(Opcode.binary, new Uint8Array(1024)))));
    await arrived;
    expect(server.readableLength).toBe(64 * 1024);
    expect(b.isPaused()).toBe(true);
    let bytes = 0;
    const all = new Promise<void>((resolve) =>
      server.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes === 64 * 1024) resolve();
      }),
    );
    server.resume();
    await all;
    expect(b.isPaused()).toBe(false);
  });

  test('frames that came with the handshake and fill the reader leave the socket unread', () => {
    const [, b] = duplexPair();
    b.pause(); // as the handshake leaves it
    const head = Buffer.concat(Array.from({ length: 32 }, () => masked(Opcode.binary, new Uint8Array(1024))));
    const server = new WebSocketStream(b, 'server', { head });
    expect(server.readableLength).toBe(32 * 1024);
    expect(b.isPaused()).toBe(true);
  });

  test('a ping flood leaves one pong waiting, for the latest ping', async () => {
    const [a, b] = duplexPair();
    const server = new WebSocketStream(b, 'server');
    const pings = Array.from({ length: 5000 }, (_, i) => masked(Opcode.ping, Buffer.from(`ping ${i}`)));
    const arrived = once(b, 'data');
    a.write(Buffer.concat(pings));
    await arrived;
    // Written before the socket filled: at most its high-water mark and one pong more.
    expect(b.writableLength).toBeLessThanOrEqual(b.writableHighWaterMark + 16);
    const last = encodeFrame({ fin: true, opcode: Opcode.pong, payload: Buffer.from('ping 4999') });
    const got: Buffer[] = [];
    await new Promise<void>((resolve) =>
      a.on('data', (c: Buffer) => {
        got.push(c);
        if (Buffer.concat(got).subarray(-last.length).equals(last)) resolve();
      }),
    );
    expect(server.destroyed).toBe(false);
  });
});

describe('WebSocketStream closing', () => {
  test('a peer that sends its close but keeps its TCP side open loses the socket after the close wait', async () => {
    const [a, b] = duplexPair();
    const timers = new ManualTimers();
    const server = new WebSocketStream(b, 'server', { timers });
    server.on('data', () => undefined);
    const arrived = once(b, 'data');
    a.write(masked(Opcode.close, Buffer.from([0x03, 0xe8])));
    await arrived;
    expect(b.writableEnded).toBe(true);
    timers.advance(CLOSE_WAIT_MS - 1);
    expect(b.destroyed).toBe(false);
    timers.advance(1);
    expect(b.destroyed).toBe(true);
  });
});
