import { allocUnsafe, readU16, readU32, view } from '../codec/bytes.js';
import { FramingError } from '../protocol/framing-errors.js';
import { Fifo } from '../util/fifo.js';
import {
  FRAME_HEADER_SIZE,
  MAX_FRAME_SIZE_LIMIT,
  MIN_MAX_FRAME_SIZE,
  type FrameType,
} from './frame-writer.js';
import { PROTOCOL_HEADER_SIZE, parseProtocolHeader, type ProtocolHeader } from './protocol-header.js';

/** One frame off the wire. `body` follows the (possibly extended) header; empty means heartbeat. */
export interface Frame {
  readonly kind: 'frame';
  readonly type: FrameType;
  /** The channel for AMQP frames; for SASL frames the spec says these bytes are ignored. */
  readonly channel: number;
  readonly body: Buffer;
}

/** Limits of a FrameReader. */
export interface FrameReaderOptions {
  /** Our max-frame-size; larger frames are refused from their size field. Default 4294967295. */
  maxFrameSize?: number;
  /** Read an 8-byte protocol header before any frame. Default false. */
  expectHeader?: boolean;
}

// Shared so empty bodies do not pin the chunk they came from.
const EMPTY = view(new Uint8Array(0)) as Buffer;

/**
 * Streaming frame parser. `push()` received chunks, then call `next()` until it returns undefined.
 * Chunks stay in a list: a frame inside one chunk is a zero-copy subarray; a frame spanning chunks
 * is copied once into an exactly-sized body buffer. The first error is sticky: the connection is
 * broken, so later calls rethrow it and later pushes are dropped.
 */
export class FrameReader {
  private readonly chunks = new Fifo<Uint8Array>();
  private offset = 0; // read position in the head chunk
  private buffered = 0;
  private max: number;
  private headerMode: boolean;
  private failed: FramingError | undefined;
  private readonly scratch = new Uint8Array(FRAME_HEADER_SIZE);
  private peekAt = 0; // set by peek(): where the peeked bytes start in the returned buffer
  private copies = 0;
  private copyBytes = 0;

  constructor(options: FrameReaderOptions = {}) {
    this.max = checkMaxFrameSize(options.maxFrameSize ?? MAX_FRAME_SIZE_LIMIT);
    this.headerMode = options.expectHeader ?? false;
  }

  /** Bytes received and not yet returned as frames or headers; lets the engine bound memory. */
  get bytesBuffered(): number {
    return this.buffered;
  }

  /** Frames assembled across chunks (each copied exactly once); for tests and metrics. */
  get copiedFrames(): number {
    return this.copies;
  }

  /** Body bytes copied while assembling those frames. */
  get copiedBytes(): number {
    return this.copyBytes;
  }

  /** The largest frame accepted; a larger size field is a framing error before any allocation. */
  get maxFrameSize(): number {
    return this.max;
  }

  /** Set after open negotiation; applies from the next frame not yet returned. */
  set maxFrameSize(value: number) {
    this.max = checkMaxFrameSize(value);
  }

  /** The next item read will be an 8-byte protocol header (connection start, and again after SASL). */
  expectHeader(): void {
    this.headerMode = true;
  }

  /** Whether the next item is a protocol header rather than a frame. */
  get expectingHeader(): boolean {
    return this.headerMode;
  }

  /** Adds bytes as they arrived; complete frames are then read with next(). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.failed !== undefined) return;
    // In Node every chunk is a Buffer, so that frame bodies (its subarrays) are Buffers too.
    const b = view(chunk);
    this.chunks.push(b);
    this.buffered += b.length;
  }

  /** The next complete header or frame, or undefined until more bytes arrive. Throws FramingError. */
  next(): Frame | ProtocolHeader | undefined {
    if (this.failed !== undefined) throw this.failed;
    try {
      return this.headerMode ? this.readHeader() : this.readFrame();
    } catch (err) {
      if (err instanceof FramingError) this.failed = err;
      throw err;
    }
  }

  private readHeader(): ProtocolHeader | undefined {
    if (this.buffered < PROTOCOL_HEADER_SIZE) return undefined;
    const src = this.peek(PROTOCOL_HEADER_SIZE);
    const header = parseProtocolHeader(src.subarray(this.peekAt, this.peekAt + PROTOCOL_HEADER_SIZE));
    this.take(PROTOCOL_HEADER_SIZE, PROTOCOL_HEADER_SIZE);
    this.headerMode = false;
    return header;
  }

  private readFrame(): Frame | undefined {
    if (this.buffered < 4) return undefined;
    // Check the size as soon as its 4 bytes are here, before waiting for (or allocating) the body.
    const src = this.peek(this.buffered < FRAME_HEADER_SIZE ? 4 : FRAME_HEADER_SIZE);
    const at = this.peekAt;
    const size = readU32(src, at);
    if (size < FRAME_HEADER_SIZE) throw new FramingError('AMQP_FRAME_BAD_SIZE', `frame size ${size} < 8`);
    if (size > this.max) {
      throw new FramingError('AMQP_FRAME_TOO_LARGE', `frame size ${size} exceeds max-frame-size ${this.max}`);
    }
    if (this.buffered < FRAME_HEADER_SIZE) return undefined;
    const doff = src[at + 4]!;
    const headerSize = doff * 4;
    if (doff < 2 || headerSize > size) {
      throw new FramingError('AMQP_FRAME_BAD_DOFF', `frame doff ${doff} invalid for size ${size}`);
    }
    const type = src[at + 5]!;
    if (type > 1) throw new FramingError('AMQP_FRAME_BAD_TYPE', `unknown frame type ${type}`);
    const channel = readU16(src, at + 6);
    if (this.buffered < size) return undefined;
    return { kind: 'frame', type: type as FrameType, channel, body: this.take(size, headerSize) };
  }

  /** The first `n` (<= 8) buffered bytes at `this.peekAt` of the result, copying only if they span chunks. */
  private peek(n: number): Uint8Array {
    const first = this.chunks.at(0);
    if (first.length - this.offset >= n) {
      this.peekAt = this.offset;
      return first;
    }
    let i = 0;
    let off = this.offset;
    for (let k = 0; k < n; k++) {
      while (off === this.chunks.at(i).length) {
        i++;
        off = 0;
      }
      this.scratch[k] = this.chunks.at(i)[off++]!;
    }
    this.peekAt = 0;
    return this.scratch;
  }

  /** Consumes `size` bytes and returns all but the first `skip` of them. */
  private take(size: number, skip: number): Buffer {
    this.buffered -= size;
    const first = this.chunks.at(0);
    const start = this.offset;
    if (first.length - start >= size) {
      this.offset += size;
      if (this.offset === first.length) this.advance();
      return size === skip ? EMPTY : (first.subarray(start + skip, start + size) as Buffer);
    }
    // Spans chunks: one exactly-sized copy of the body, header bytes skipped in place.
    const bodyLen = size - skip;
    const body = bodyLen === 0 ? EMPTY : (allocUnsafe(bodyLen) as Buffer);
    if (bodyLen > 0) {
      this.copies++;
      this.copyBytes += bodyLen;
    }
    let pos = 0; // position within the frame
    while (pos < size) {
      const c = this.chunks.at(0);
      const n = Math.min(c.length - this.offset, size - pos);
      const from = Math.max(pos, skip);
      if (from < pos + n) body.set(c.subarray(this.offset + (from - pos), this.offset + n), from - skip);
      pos += n;
      this.offset += n;
      if (this.offset === c.length) this.advance();
    }
    return body;
  }

  /** Drops the head chunk (the queue lets the GC reclaim it and stays O(1) amortised). */
  private advance(): void {
    this.chunks.shift();
    this.offset = 0;
  }
}

function checkMaxFrameSize(v: number): number {
  if (!Number.isInteger(v) || v < MIN_MAX_FRAME_SIZE || v > MAX_FRAME_SIZE_LIMIT) {
    throw new RangeError(`maxFrameSize must be an integer in [512, 4294967295], got ${v}`);
  }
  return v;
}
