import { duplexPair } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { WebSocketStream } from '../../src/transport/websocket/ws-stream.js';
import { encodeFrame } from '../../src/transport/websocket/ws-frames.js';
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
