/**
 * One reusable, growable output buffer. Encoders and the frame writer append to it; callers take a
 * view (or a copy) of what was written and `reset()` to reuse the memory. Grows by doubling, so a
 * connection settles on one buffer the size of its largest burst.
 */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Empties the buffer for reuse (keeps its capacity). */
  reset(): void {
    this.pos = 0;
  }

  /** A view of the bytes written so far: valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** A copy of the bytes written so far, owned by the caller. */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** Writes an unsigned byte. */
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Writes an unsigned 16-bit big-endian integer. */
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  /** Writes an unsigned 32-bit big-endian integer. */
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** Writes a signed 32-bit big-endian integer. */
  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** Writes an unsigned 64-bit big-endian integer. */
  u64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** Writes a signed 64-bit big-endian integer. */
  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** Writes a big-endian IEEE 754 single. */
  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  /** Writes a big-endian IEEE 754 double. */
  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
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
    this.buf.writeUInt32BE(v, at);
  }
}
