/**
 * Hostile WebSocket clients on raw sockets against listen({ websocket }): each bad upgrade gets
 * its HTTP status and a WebSocketHandshakeError on 'clientError'; each bad frame after the
 * upgrade gets the close code RFC 6455 gives it and a WebSocketError as the connection's error.
 * After every one the server still serves a good client.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect } from '../../src/client/index.js';
import { AmqpServer, listen, type ServerConnection } from '../../src/server/index.js';
import { encodeFrame, Opcode } from '../../src/transport/websocket/ws-frames.js';
import { WebSocketError, WebSocketHandshakeError } from '../../src/transport/websocket/ws-errors.js';
import { acceptFor } from '../../src/transport/websocket/ws-handshake.js';
import { DisconnectedError } from '../../src/protocol/errors.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const MAX_MESSAGE = 4096;
let server: AmqpServer;

beforeAll(async () => {
  server = await listen({
    port: 0,
    sasl: { anonymous: true },
    websocket: { path: '/ws', maxMessageSize: MAX_MESSAGE },
    onLink(l) {
      const r = l.acceptReceiver();
      void (async () => {
        for await (const m of r) m.accept();
      })().catch(() => undefined);
    },
  });
});
afterAll(() => server.close());

const request = (headers: Record<string, string>, target = '/ws'): string =>
  `GET ${target} HTTP/1.1\r\n` +
  Object.entries({
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': 'AMQPWSB10',
    ...headers,
  })
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('') +
  '\r\n';

/** Writes `bytes` on a fresh socket and collects everything until the server closes it. */
async function exchange(...writes: (string | Buffer)[]): Promise<Buffer> {
  const s = net.connect(server.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => s.once('connect', r));
  for (const w of writes) s.write(w);
  await new Promise((r) => s.once('close', r));
  return Buffer.concat(chunks);
}

async function refused(
  ...writes: (string | Buffer)[]
): Promise<{ status: string; error: WebSocketHandshakeError }> {
  const reported = new Promise<Error>((r) => server.once('clientError', r));
  const answer = (await exchange(...writes)).toString('latin1');
  const error = (await reported) as WebSocketHandshakeError;
  expect(error).toBeInstanceOf(WebSocketHandshakeError);
  return { status: answer.split('\r\n')[0]!, error };
}

/** A client frame, masked as a client's must be. */
const masked = (opcode: number, payload: Buffer, fin = true): Buffer =>
  encodeFrame({ fin, opcode, payload }, Buffer.from([1, 2, 3, 4]));

/** After a good upgrade, sends `frames`; returns the close code the server sent and the connection's error. */
async function closedAfter(...frames: Buffer[]): Promise<{ code: number; error: Error | undefined }> {
  const conn = new Promise<ServerConnection>((r) => server.once('connection', r));
  const closed = conn.then((c) => new Promise<Error | undefined>((r) => c.once('close', r)));
  const bytes = await exchange(request({}), ...frames);
  const text = bytes.toString('latin1');
  const head = text.indexOf('\r\n\r\n') + 4;
  expect(text).toMatch(new RegExp(`^HTTP/1.1 101 .*Sec-WebSocket-Accept: ${escape(acceptFor(KEY))}`, 's'));
  const rest = bytes.subarray(head);
  // The server's frames after the upgrade: the last one is its close.
  const close = rest.subarray(rest.lastIndexOf(0x88));
  expect(close[1]).toBe(2);
  return { code: close.readUInt16BE(2), error: await closed };
}

const escape = (s: string): string => s.replace(/[+/=]/g, (c) => `\\${c}`);

async function stillServes(): Promise<void> {
  const c = await connect(`ws://127.0.0.1:${server.port}/ws`);
  const s = await c.openSender('q');
  expect(await s.send({ body: 'after' })).toEqual({ type: 'accepted' });
  await c.close();
}

describe('a WebSocket server given bad input', () => {
  test.each([
    ['a malformed header line', '400', 400, `GET /ws HTTP/1.1\r\nHost localhost\r\n\r\n`],
    ['no Upgrade header', '400', 400, request({ Upgrade: '' })],
    ['no subprotocol', '400', 400, request({ 'Sec-WebSocket-Protocol': '' })],
    ['only an unknown subprotocol', '400', 400, request({ 'Sec-WebSocket-Protocol': 'mqtt' })],
    ['a key that is not 16 bytes', '400', 400, request({ 'Sec-WebSocket-Key': 'c2hvcnQ=' })],
    ['version 8', '426', 426, request({ 'Sec-WebSocket-Version': '8' })],
    ['another path', '404', 404, request({}, '/other')],
    ['a head longer than 8 KiB', '400', 400, request({ 'X-Pad': 'a'.repeat(9000) })],
  ])('%s: HTTP %s and a typed error', async (_name, status, code, bytes) => {
    const r = await refused(bytes);
    expect(r.status).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect([r.error.code, r.error.status]).toEqual(['AMQP_WS_HANDSHAKE', code]);
    await stillServes();
  });

  test.each([
    [
      'an unmasked client frame',
      1002,
      'AMQP_WS_PROTOCOL',
      encodeFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.from('AMQP') }),
    ],
    ['a fragmented ping', 1002, 'AMQP_WS_PROTOCOL', masked(Opcode.ping, Buffer.from('x'), false)],
    ['a text message', 1003, 'AMQP_WS_TEXT', masked(Opcode.text, Buffer.from('AMQP'))],
    [
      'a message above maxMessageSize',
      1009,
      'AMQP_WS_TOO_BIG',
      masked(Opcode.binary, Buffer.alloc(MAX_MESSAGE + 1)),
    ],
    [
      'fragments that add up past maxMessageSize',
      1009,
      'AMQP_WS_TOO_BIG',
      Buffer.concat([
        masked(Opcode.binary, Buffer.alloc(MAX_MESSAGE), false),
        masked(Opcode.continuation, Buffer.alloc(1)),
      ]),
    ],
    ['garbage after the upgrade', 1002, 'AMQP_WS_PROTOCOL', Buffer.from('hello, server\r\n')],
    [
      'a close with an invalid code',
      1002,
      'AMQP_WS_PROTOCOL',
      masked(Opcode.close, Buffer.from([0x03, 0xed])),
    ],
    [
      'a close whose reason is not UTF-8',
      1007,
      'AMQP_WS_BAD_UTF8',
      masked(Opcode.close, Buffer.from([0x03, 0xe8, 0xc3, 0x28])),
    ],
  ])('%s: close code %s and a %s error', async (_name, code, errorCode, frame) => {
    const r = await closedAfter(frame);
    expect(r.code).toBe(code);
    // The connection ends as disconnected; why is the WebSocket error, its cause.
    expect(r.error).toBeInstanceOf(DisconnectedError);
    const cause = (r.error as DisconnectedError).cause as WebSocketError;
    expect(cause).toBeInstanceOf(WebSocketError);
    expect(cause.code).toBe(errorCode);
    await stillServes();
  });

  test('bytes that are neither HTTP nor AMQP get the AMQP header and a close, as on a plain AMQP port', async () => {
    const answer = await exchange('POST /ws HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer.subarray(0, 8)).toEqual(Buffer.from('AMQP\x03\x01\x00\x00', 'latin1'));
    await stillServes();
  });

  test('a clean close is echoed with its code and the connection ends without an AMQP open', async () => {
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    const r = await closedAfter(masked(Opcode.close, code));
    expect(r.code).toBe(1000);
  });

  test('bytes of a message whose last fragment never comes are served as they arrive, not held', async () => {
    const s = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const answered = new Promise<void>((resolve) =>
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        // The server's SASL header, in the payload of its first binary frame.
        if (Buffer.concat(chunks).includes(Buffer.from('AMQP\x03\x01\x00\x00', 'latin1'))) resolve();
      }),
    );
    s.write(request({}));
    // A fragmented message claiming more to come: our SASL header, then nothing more.
    s.write(masked(Opcode.binary, Buffer.from('AMQP\x03\x01\x00\x00', 'latin1'), false));
    await answered;
    s.destroy();
  });

  test('a ping is answered with a pong carrying the same bytes', async () => {
    const s = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const pong = new Promise<void>((resolve) =>
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (all.includes(Buffer.from([0x8a, 0x04, ...Buffer.from('ping')]))) resolve();
      }),
    );
    s.write(request({}));
    s.write(masked(Opcode.ping, Buffer.from('ping')));
    await pong;
    s.destroy();
  });
});
