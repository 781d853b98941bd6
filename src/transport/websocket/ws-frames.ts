/**
 * WebSocket frames (RFC 6455 section 5): encoding, and a streaming parser that takes bytes as they
 * arrive (split anywhere) and gives the payload of binary messages as it arrives, in pieces, and
 * control frames whole. Pure: no sockets, so it is tested in memory.
 * - lengths: 7-bit, 16-bit (126) or 64-bit (127), always the shortest, as section 5.2 requires;
 * - masking: clients mask (section 5.3), servers must not; `expectMasked` says which side we are;
 * - AMQP over WebSockets is a byte stream, so fragments are not joined nor frames held whole: a
 *   peer that has not authenticated cannot make us hold a message (MAX_HELD bytes at most are
 *   kept between pushes); control frames (close, ping, pong) may come between fragments but may
 *   not be fragmented themselves nor carry more than 125 bytes;
 * - text messages are refused at their first header (AMQP_WS_TEXT, close code 1003);
 * - `maxMessageSize` bounds a message from its frames' length fields, before its bytes arrive.
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
  /** binary (a piece of a message), close, ping or pong. */
  opcode: number;
  payload: Buffer;
}

export interface FrameParserOptions {
  /** true on a server (client frames must be masked), false on a client (server frames must not). */
  expectMasked: boolean;
  /** Largest data message, in bytes, all its fragments together. */
  maxMessageSize: number;
}

const fail = (message: string): never => {
  throw new WebSocketError('AMQP_WS_PROTOCOL', message);
};

/** A frame header and a control frame's payload: 14 + 125 bytes, the most held between pushes. */
const MAX_HELD = 14 + 125;

/** The data frame whose payload is arriving. */
interface DataFrame {
  fin: boolean;
  /** Payload bytes still to come. */
  left: number;
  mask: Uint8Array | undefined;
  /** Payload bytes already given (where the mask stands). */
  given: number;
}

export class FrameParser {
  /** The start of a header (or of a control frame) that the last push did not complete. */
  private held: Buffer = Buffer.alloc(0);
  private data: DataFrame | undefined;
  private messageBytes = 0;
  private inMessage = false;

  constructor(private readonly options: FrameParserOptions) {}

  /** Takes the next bytes; returns what they complete. Throws a WebSocketError on bad input. */
  push(chunk: Uint8Array): WsMessage[] {
    const out: WsMessage[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.data) {
        at += this.takePayload(chunk, at, out);
        continue;
      }
      const b =
        this.held.length === 0
          ? chunk.subarray(at)
          : Buffer.concat([this.held, chunk.subarray(at, at + MAX_HELD)]);
      const used = this.parseHeader(b, out);
      if (used === 0) {
        // Incomplete, so shorter than MAX_HELD.
        this.held = Buffer.from(b);
        return out;
      }
      at += used - this.held.length;
      this.held = Buffer.alloc(0);
    }
    return out;
  }

  /** A data frame's payload bytes, given as they arrive (nothing held): the bytes used. */
  private takePayload(chunk: Uint8Array, at: number, out: WsMessage[]): number {
    const d = this.data!;
    const n = Math.min(d.left, chunk.length - at);
    if (n > 0) {
      let piece: Buffer;
      if (d.mask) {
        piece = Buffer.from(chunk.subarray(at, at + n));
        const m = d.mask;
        const g = d.given;
        maskInPlace(piece, 0, n, Uint8Array.of(m[g & 3]!, m[(g + 1) & 3]!, m[(g + 2) & 3]!, m[(g + 3) & 3]!));
      } else piece = Buffer.from(chunk.buffer, chunk.byteOffset + at, n);
      out.push({ opcode: Opcode.binary, payload: piece });
      d.left -= n;
      d.given += n;
    }
    if (d.left === 0) {
      this.data = undefined;
      if (d.fin) {
        this.inMessage = false;
        this.messageBytes = 0;
      }
    }
    return n;
  }

  /**
   * Parses a frame header at the start of `b` (a control frame with its payload): the bytes used,
   * 0 when they are not all here.
   */
  private parseHeader(b: Buffer | Uint8Array, out: WsMessage[]): number {
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
    const view = Buffer.from(b.buffer, b.byteOffset, b.length);
    let len = b[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (b.length < 4) return 0;
      len = view.readUInt16BE(2);
      at = 4;
      if (len < 126) fail('a length not in its shortest form');
    } else if (len === 127) {
      if (b.length < 10) return 0;
      const big = view.readBigUInt64BE(2);
      if (big >> 63n) fail('a 64-bit length with its top bit set');
      if (big < 0x10000n) fail('a length not in its shortest form');
      if (big > BigInt(this.options.maxMessageSize)) this.tooBig();
      len = Number(big);
      at = 10;
    }
    if (control && len > 125) fail('a control frame longer than 125 bytes');
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at) return 0;
    const mask = masked ? Uint8Array.from(b.subarray(maskAt, maskAt + 4)) : undefined;
    if (control) {
      if (b.length < at + len) return 0;
      const payload = Buffer.from(b.subarray(at, at + len));
      if (mask) maskInPlace(payload, 0, len, mask);
      out.push({ opcode, payload });
      return at + len;
    }
    if (opcode === Opcode.text)
      throw new WebSocketError('AMQP_WS_TEXT', 'a text message: AMQP is binary only');
    if (opcode === Opcode.continuation && !this.inMessage) fail('a continuation with no message');
    if (opcode !== Opcode.continuation && this.inMessage) fail('a new message before the previous one ended');
    if (this.messageBytes + len > this.options.maxMessageSize) this.tooBig();
    this.messageBytes += len;
    this.inMessage = !fin;
    if (fin) this.messageBytes = 0;
    if (len > 0) this.data = { fin, left: len, mask, given: 0 };
    return at;
  }

  private tooBig(): never {
    throw new WebSocketError(
      'AMQP_WS_TOO_BIG',
      `a message larger than maxMessageSize (${this.options.maxMessageSize} bytes)`,
    );
  }
}
