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
const EMPTY = Buffer.alloc(0);

export class FrameParser {
  /** The start of a header (or of a control frame) that the last push did not complete. */
  private held: Buffer = EMPTY;
  /** Payload bytes of the current data frame still to come (0: a header is next). */
  private left = 0;
  private fin = false;
  private masked = false;
  /** The current frame's mask, and the payload bytes already given (where the mask stands). */
  private readonly mask = new Uint8Array(4);
  private readonly rotated = new Uint8Array(4);
  private given = 0;
  private messageBytes = 0;
  private inMessage = false;

  constructor(private readonly options: FrameParserOptions) {}

  /** Takes the next bytes; returns what they complete. Throws a WebSocketError on bad input. */
  push(chunk: Uint8Array): WsMessage[] {
    const out: WsMessage[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.left > 0) {
        at += this.takePayload(chunk, at, out);
        continue;
      }
      if (this.held.length === 0) {
        const used = this.parseHeader(chunk, at, out);
        if (used === 0) {
          // Incomplete, so shorter than MAX_HELD.
          this.held = Buffer.from(chunk.subarray(at));
          return out;
        }
        at += used;
      } else {
        const b = Buffer.concat([this.held, chunk.subarray(at, at + MAX_HELD)]);
        const used = this.parseHeader(b, 0, out);
        if (used === 0) {
          this.held = b;
          return out;
        }
        at += used - this.held.length;
        this.held = EMPTY;
      }
    }
    return out;
  }

  /** A data frame's payload bytes, given as they arrive (nothing held): the bytes used. */
  private takePayload(chunk: Uint8Array, at: number, out: WsMessage[]): number {
    const n = Math.min(this.left, chunk.length - at);
    let piece: Buffer;
    if (this.masked) {
      piece = Buffer.from(chunk.subarray(at, at + n));
      let mask = this.mask;
      const g = this.given & 3;
      if (g !== 0) {
        mask = this.rotated;
        for (let k = 0; k < 4; k++) mask[k] = this.mask[(g + k) & 3]!;
      }
      maskInPlace(piece, 0, n, mask);
    } else piece = Buffer.from(chunk.buffer, chunk.byteOffset + at, n);
    out.push({ opcode: Opcode.binary, payload: piece });
    this.left -= n;
    this.given += n;
    if (this.left === 0) this.frameDone();
    return n;
  }

  /** A data frame is all here: the message ends with it when it is the last fragment. */
  private frameDone(): void {
    if (!this.fin) return;
    this.inMessage = false;
    this.messageBytes = 0;
  }

  /**
   * Parses a frame header at `b[at]` (a control frame with its payload): the bytes used, 0 when
   * they are not all here.
   */
  private parseHeader(b: Uint8Array, at: number, out: WsMessage[]): number {
    const avail = b.length - at;
    if (avail < 2) return 0;
    const b0 = b[at]!;
    const b1 = b[at + 1]!;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) fail('reserved bits set with no extension agreed');
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const control = opcode >= 0x8;
    if (opcode > 0xa || (opcode > 0x2 && opcode < 0x8)) fail(`unknown opcode ${opcode}`);
    if (masked !== this.options.expectMasked)
      fail(this.options.expectMasked ? 'a client frame was not masked' : 'a server frame was masked');
    if (control && !fin) fail('a fragmented control frame');
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (avail < 4) return 0;
      len = (b[at + 2]! << 8) | b[at + 3]!;
      head = 4;
      if (len < 126) fail('a length not in its shortest form');
    } else if (len === 127) {
      if (avail < 10) return 0;
      const hi = (b[at + 2]! * 0x1000000 + ((b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!)) >>> 0;
      const lo = (b[at + 6]! * 0x1000000 + ((b[at + 7]! << 16) | (b[at + 8]! << 8) | b[at + 9]!)) >>> 0;
      if (hi >= 0x80000000) fail('a 64-bit length with its top bit set');
      if (hi === 0 && lo < 0x10000) fail('a length not in its shortest form');
      // Above 2^32 - 1 is above any maxMessageSize.
      if (hi !== 0 || lo > this.options.maxMessageSize) this.tooBig();
      len = lo;
      head = 10;
    }
    if (control && len > 125) fail('a control frame longer than 125 bytes');
    const maskAt = at + head;
    if (masked) head += 4;
    if (avail < head) return 0;
    if (control) {
      if (avail < head + len) return 0;
      const payload = Buffer.from(b.subarray(at + head, at + head + len));
      if (masked) maskInPlace(payload, 0, len, b.subarray(maskAt, maskAt + 4));
      out.push({ opcode, payload });
      return head + len;
    }
    if (opcode === Opcode.text)
      throw new WebSocketError('AMQP_WS_TEXT', 'a text message: AMQP is binary only');
    if (opcode === Opcode.continuation && !this.inMessage) fail('a continuation with no message');
    if (opcode !== Opcode.continuation && this.inMessage) fail('a new message before the previous one ended');
    if (this.messageBytes + len > this.options.maxMessageSize) this.tooBig();
    this.messageBytes += len;
    this.inMessage = true;
    this.fin = fin;
    this.masked = masked;
    if (masked) for (let k = 0; k < 4; k++) this.mask[k] = b[maskAt + k]!;
    this.given = 0;
    this.left = len;
    if (len === 0) this.frameDone();
    return head;
  }

  private tooBig(): never {
    throw new WebSocketError(
      'AMQP_WS_TOO_BIG',
      `a message larger than maxMessageSize (${this.options.maxMessageSize} bytes)`,
    );
  }
}
