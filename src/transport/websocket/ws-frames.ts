/**
 * WebSocket frames (RFC 6455 section 5): encoding, and a streaming parser that takes bytes as they
 * arrive (split anywhere) and gives whole messages. Pure: no sockets, so it is tested in memory.
 * - lengths: 7-bit, 16-bit (126) or 64-bit (127), always the shortest, as section 5.2 requires;
 * - masking: clients mask (section 5.3), servers must not; `expectMasked` says which side we are;
 * - fragments of a data message are joined; control frames (close, ping, pong) may come between
 *   them but may not be fragmented themselves nor carry more than 125 bytes;
 * - `maxMessageSize` bounds a message before its bytes are buffered, so a peer cannot make us
 *   hold more than that.
 */
import { WebSocketError } from './ws-errors.js';
import { maskInPlace } from './ws-mask.js';

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

export interface WsFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** Encodes one frame; `mask` (4 bytes) when the sender is a client. */
export function encodeFrame(frame: WsFrame, mask?: Uint8Array): Buffer {
  const n = frame.payload.length;
  const lenBytes = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const head = 2 + lenBytes + (mask ? 4 : 0);
  const out = Buffer.allocUnsafe(head + n);
  out[0] = (frame.fin ? 0x80 : 0) | (frame.opcode & 0x0f);
  const m = mask ? 0x80 : 0;
  if (lenBytes === 0) out[1] = m | n;
  else if (lenBytes === 2) {
    out[1] = m | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = m | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  out.set(frame.payload, head);
  if (mask) {
    out.set(mask.subarray(0, 4), head - 4);
    maskInPlace(out, head, head + n, mask);
  }
  return out;
}

export interface WsMessage {
  /** Opcode of the message: binary, text, close, ping or pong. */
  opcode: number;
  payload: Buffer;
}

export interface FrameParserOptions {
  /** true on a server (client frames must be masked), false on a client (server frames must not). */
  expectMasked: boolean;
  /** Largest data message, in bytes, after joining its fragments. */
  maxMessageSize: number;
}

const fail = (message: string): never => {
  throw new WebSocketError('AMQP_WS_PROTOCOL', message);
};

export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = -1;

  constructor(private readonly options: FrameParserOptions) {}

  /** Takes the next bytes; returns the messages they complete. Throws a WebSocketError on bad input. */
  push(chunk: Uint8Array): WsMessage[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: WsMessage[] = [];
    for (;;) {
      const used = this.parseOne(out);
      if (used === 0) break;
      this.buf = this.buf.subarray(used);
    }
    return out;
  }

  /** Parses one frame at the start of the buffer: the bytes it used, 0 when it is incomplete. */
  private parseOne(out: WsMessage[]): number {
    const b = this.buf;
    if (b.length < 2) return 0;
    const fin = (b[0]! & 0x80) !== 0;
    if ((b[0]! & 0x70) !== 0) fail('reserved bits set with no extension agreed');
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    const control = opcode >= 0x8;
    if (![0, 1, 2, 8, 9, 10].includes(opcode)) fail(`unknown opcode ${opcode}`);
    if (masked !== this.options.expectMasked)
      fail(this.options.expectMasked ? 'a client frame was not masked' : 'a server frame was masked');
    if (control && !fin) fail('a fragmented control frame');
    let len = b[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (b.length < 4) return 0;
      len = b.readUInt16BE(2);
      at = 4;
      if (len < 126) fail('a length not in its shortest form');
    } else if (len === 127) {
      if (b.length < 10) return 0;
      const big = b.readBigUInt64BE(2);
      if (big >> 63n) fail('a 64-bit length with its top bit set');
      if (big < 0x10000n) fail('a length not in its shortest form');
      if (big > BigInt(this.options.maxMessageSize)) this.tooBig();
      len = Number(big);
      at = 10;
    }
    if (control && len > 125) fail('a control frame longer than 125 bytes');
    if (!control) {
      if (opcode === Opcode.continuation && this.fragmentOpcode < 0) fail('a continuation with no message');
      if (opcode !== Opcode.continuation && this.fragmentOpcode >= 0)
        fail('a new message before the previous one ended');
      if (this.fragmentBytes + len > this.options.maxMessageSize) this.tooBig();
    }
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at + len) return 0;
    const payload = Buffer.from(b.subarray(at, at + len));
    if (masked) maskInPlace(payload, 0, len, b.subarray(maskAt, maskAt + 4));
    if (control) out.push({ opcode, payload });
    else {
      if (opcode !== Opcode.continuation) this.fragmentOpcode = opcode;
      this.fragments.push(payload);
      this.fragmentBytes += len;
      if (fin) {
        const whole = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
        out.push({ opcode: this.fragmentOpcode, payload: whole });
        this.fragments = [];
        this.fragmentBytes = 0;
        this.fragmentOpcode = -1;
      }
    }
    return at + len;
  }

  private tooBig(): never {
    throw new WebSocketError(
      'AMQP_WS_TOO_BIG',
      `a message larger than maxMessageSize (${this.options.maxMessageSize} bytes)`,
    );
  }
}
