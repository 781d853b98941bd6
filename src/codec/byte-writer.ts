/**
 * One reusable, growable output buffer. Encoders and the frame writer append to it; callers take a
 * view (or a copy) of what was written and `reset()` to reuse the memory. Grows by doubling, so a
 * connection settles on one buffer the size of its largest burst. Its buffer comes from bytes.ts: a
 * Buffer in Node, a Uint8Array elsewhere.
 */
import { allocUnsafe, copyOf, writeF32, writeF64, writeI32, writeU16, writeU32, writeU64 } from './bytes.js';

/**
 * The writes that take a caller's value refuse one out of range, as Buffer's own writers did: a
 * RangeError rather than silently wrapped bits.
 */
function range(v: number, min: number, max: number): void {
  if (v > max || v < min) throw new RangeError(`value ${v} is out of range [${min}, ${max}]`);
}

function bigRange(v: bigint, min: bigint, max: bigint): void {
  if (v > max || v < min) throw new RangeError(`value ${v} is out of range [${min}, ${max}]`);
}

/** A growable output buffer that encoders and the frame writer append to. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;
  /** A DataView of `buf` for word-sized writes, made on first use and dropped when `buf` grows. */
  private dv: DataView | undefined = undefined;

  /** A writer of `initialSize` bytes, or into `buf` when it is given (a pool's: see bytes.ts allocPool). */
  constructor(initialSize = 4096, buf?: Uint8Array) {
    this.buf = buf ?? allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = allocUnsafe(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = undefined;
  }

  /** A DataView of the current buffer (valid until the next `ensure` that grows it). */
  dataView(): DataView {
    return this.dv ?? this.newDataView();
  }

  private newDataView(): DataView {
    return (this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  /** Empties the buffer for reuse (keeps its capacity). */
  reset(): void {
    this.pos = 0;
  }

  /** A view of the bytes written so far: valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos) as Buffer;
  }

  /** A copy of the bytes written so far, owned by the caller. */
  copy(): Buffer {
    return copyOf(this.buf.subarray(0, this.pos)) as Buffer;
  }

  /** Writes an unsigned byte. */
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Writes an unsigned 16-bit big-endian integer. */
  u16(v: number): void {
    range(v, 0, 0xffff);
    this.ensure(2);
    writeU16(this.buf, v, this.pos);
    this.pos += 2;
  }

  /** Writes an unsigned 32-bit big-endian integer. */
  u32(v: number): void {
    range(v, 0, 0xffffffff);
    this.ensure(4);
    writeU32(this.buf, v, this.pos);
    this.pos += 4;
  }

  /** Writes a signed 32-bit big-endian integer. */
  i32(v: number): void {
    range(v, -0x80000000, 0x7fffffff);
    this.ensure(4);
    writeI32(this.buf, v, this.pos);
    this.pos += 4;
  }

  /** Writes an unsigned 64-bit big-endian integer. */
  u64(v: bigint): void {
    bigRange(v, 0n, 0xffffffffffffffffn);
    this.ensure(8);
    writeU64(this.buf, v, this.pos);
    this.pos += 8;
  }

  /** Writes a signed 64-bit big-endian integer. */
  i64(v: bigint): void {
    bigRange(v, -0x8000000000000000n, 0x7fffffffffffffffn);
    this.ensure(8);
    writeU64(this.buf, v, this.pos);
    this.pos += 8;
  }

  /** Writes a big-endian IEEE 754 single. */
  f32(v: number): void {
    this.ensure(4);
    writeF32(this.buf, v, this.pos);
    this.pos += 4;
  }

  /** Writes a big-endian IEEE 754 double. */
  f64(v: number): void {
    this.ensure(8);
    writeF64(this.buf, v, this.pos);
    this.pos += 8;
  }

  /** Appends bytes as they are. */
  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Writes a back-filled 32-bit size at `at`. */
  patchU32(at: number, v: number): void {
    writeU32(this.buf, v, at);
  }
}
