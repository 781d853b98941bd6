import { describe, expect, test } from 'vitest';
import {
  acceptFor,
  answerUpgrade,
  checkServerResponse,
  clientRequest,
  parseHead,
  refusalResponse,
} from '../../src/transport/websocket/ws-handshake.js';
import { WebSocketHandshakeError } from '../../src/transport/websocket/ws-errors.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const req = (text: string) => parseHead(Buffer.from(text))!;

function refusal(f: () => unknown): WebSocketHandshakeError {
  try {
    f();
  } catch (e) {
    return e as WebSocketHandshakeError;
  }
  throw new Error('no error');
}

describe('WebSocket handshake', () => {
  test('the accept value of RFC 6455 section 1.3', () => {
    expect(acceptFor(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('our request is answered by our server, which chooses AMQPWSB10, and the client accepts it', () => {
    const bytes = Buffer.concat([Buffer.from(clientRequest('h:1', '/ws', KEY)), Buffer.of(0x82)]);
    const head = parseHead(bytes)!;
    expect(head.rest).toEqual(Buffer.of(0x82));
    const a = answerUpgrade(head, '/ws/');
    expect(a.protocol).toBe('AMQPWSB10');
    expect(checkServerResponse(req(a.response), KEY)).toBe('AMQPWSB10');
  });

  test('a client offering only amqp gets amqp', () => {
    const text = clientRequest('h', '/', KEY).replace('AMQPWSB10, amqp', 'amqp');
    expect(answerUpgrade(req(text), '/').protocol).toBe('amqp');
  });

  test('an incomplete head waits; a too long one is refused', () => {
    expect(parseHead(Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n'))).toBeUndefined();
    expect(refusal(() => parseHead(Buffer.alloc(9000, 0x61))).status).toBe(400);
  });

  test.each([
    ['a wrong path', (t: string) => t.replace('GET / ', 'GET /other '), 404],
    ['a wrong version', (t: string) => t.replace('Version: 13', 'Version: 8'), 426],
    ['no subprotocol', (t: string) => t.replace(/Sec-WebSocket-Protocol: .*\r\n/, ''), 400],
    ['an unknown subprotocol', (t: string) => t.replace('AMQPWSB10, amqp', 'mqtt'), 400],
    ['a bad key', (t: string) => t.replace(KEY, 'abc'), 400],
    ['a key with junk around it', (t: string) => t.replace(KEY, `!!${KEY}!!`), 400],
    [
      'two keys',
      (t: string) => t.replace(`Key: ${KEY}\r\n`, `Key: ${KEY}\r\nSec-WebSocket-Key: ${KEY}\r\n`),
      400,
    ],
    ['no Upgrade', (t: string) => t.replace('Upgrade: websocket\r\n', ''), 400],
    ['a POST', (t: string) => t.replace('GET', 'POST'), 400],
    ['a malformed header', (t: string) => t.replace('Host: h', 'Host h'), 400],
  ])('%s is refused', (_name, edit, status) => {
    const e = refusal(() => answerUpgrade(req(edit(clientRequest('h', '/', KEY))), '/'));
    expect(e).toBeInstanceOf(WebSocketHandshakeError);
    expect([e.code, e.status]).toEqual(['AMQP_WS_HANDSHAKE', status]);
    expect(refusalResponse(e)).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
  });

  test('the client refuses a wrong accept, another subprotocol, or no upgrade', () => {
    const ok = answerUpgrade(req(clientRequest('h', '/', KEY)), '/').response;
    expect(refusal(() => checkServerResponse(req(ok), 'x' + KEY.slice(1))).code).toBe('AMQP_WS_HANDSHAKE');
    expect(refusal(() => checkServerResponse(req(ok.replace('AMQPWSB10', 'mqtt')), KEY)).code).toBe(
      'AMQP_WS_HANDSHAKE',
    );
    expect(refusal(() => checkServerResponse(req('HTTP/1.1 404 Not Found\r\n\r\n'), KEY)).status).toBe(404);
  });

  test('the client refuses an answer without Connection: Upgrade, or with an extension it did not offer', () => {
    const ok = answerUpgrade(req(clientRequest('h', '/', KEY)), '/').response;
    expect(checkServerResponse(req(ok), KEY)).toBe('AMQPWSB10');
    for (const bad of [
      ok.replace('Connection: Upgrade\r\n', ''),
      ok.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n'),
    ]) {
      const e = refusal(() => checkServerResponse(req(bad), KEY));
      expect([e.code, e.status]).toEqual(['AMQP_WS_HANDSHAKE', 101]);
    }
  });
});
