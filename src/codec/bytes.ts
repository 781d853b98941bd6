/**
 * The platform under the core: how bytes are allocated and how strings become bytes and back.
 * The codec, frames and engine work on `Uint8Array` and import nothing from Node; this module is
 * the one place that looks for Node's `Buffer`, once, at load, through `globalThis`:
 *
 * - where `Buffer` exists (Node, or a bundle that provides it) every byte array the core creates is
 *   a Buffer (so Node users keep Buffer's methods on decoded binary, payloads and tags), strings
 *   are written with Buffer's native UTF-8 writer and ASCII is read with its latin1 reader;
 * - elsewhere (a browser, a worker, Deno without Node compatibility) byte arrays are plain
 *   `Uint8Array`s and strings go through `TextEncoder` / `TextDecoder`.
 *
 * Both give the same bytes and the same values (test/codec/bytes-portable.test.ts runs the codec
 * through each). Validating UTF-8 uses `TextDecoder` with `fatal: true` in both: it validates and
 * decodes in one pass, and measured faster in Node than `isUtf8` followed by a decode.
 * Big-endian integers and floats are read and written here in plain JavaScript, the way Node's
 * own `Buffer#readDoubleBE` and friends are, so they need no platform at all.
 */

/** Which implementation is in use: Node's Buffer, or the portable one. */
export type BytesImpl = 'node' | 'portable';

/** The members of Node's Buffer this module uses, found through globalThis (never imported). */
interface NodeBufferClass {
  allocUnsafe(n: number): Uint8Array;
  alloc(n: number): Uint8Array;
  from(ab: ArrayBufferLike, offset: number, length: number): Uint8Array;
  from(data: Uint8Array | readonly number[]): Uint8Array;
  from(s: string, encoding: 'utf8'): Uint8Array;
  byteLength(s: string, encoding: 'utf8'): number;
  isBuffer(v: unknown): boolean;
  prototype: {
    utf8Write(this: Uint8Array, s: string, offset: number, length: number): number;
    latin1Slice(this: Uint8Array, start: number, end: number): string;
    utf8Slice(this: Uint8Array, start: number, end: number): string;
  };
}

const NodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer;

/** Node is there when its Buffer has the native methods the fast paths call. */
const nodeAvailable =
  NodeBuffer !== undefined &&
  typeof NodeBuffer.prototype.utf8Write === 'function' &&
  typeof NodeBuffer.prototype.latin1Slice === 'function' &&
  typeof NodeBuffer.prototype.utf8Slice === 'function';

// Both are stateless with `fatal` and without `stream`: one of each serves every call.
// ignoreBOM keeps a leading U+FEFF as the string's first character: AMQP strings carry no BOM, so
// one there is data (dropping it would lose it, and make "\uFEFFa" and "a" the same map key).
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

// ---------------------------------------------------------------- the portable implementation

const portable = {
  alloc: (n: number): Uint8Array => new Uint8Array(n),
  allocUnsafe: (n: number): Uint8Array => new Uint8Array(n),
  copyOf: (src: Uint8Array): Uint8Array => new Uint8Array(src),
  view: (b: Uint8Array): Uint8Array => b,
  utf8Length(s: string): number {
    // UTF-16 units to UTF-8 bytes without encoding: a surrogate pair is 4 bytes, a lone surrogate
    // 3 (U+FFFD, as TextEncoder and Buffer write it).
    const n = s.length;
    let len = n;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) continue;
      if (c < 0x800) len += 1;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        len += 2;
        i++;
      } else len += 2;
    }
    return len;
  },
  utf8Write: (buf: Uint8Array, s: string, at: number): number =>
    encoder.encodeInto(s, buf.subarray(at)).written,
  utf8Encode: (s: string): Uint8Array => encoder.encode(s),
  asciiSlice: (buf: Uint8Array, start: number, end: number): string =>
    decoder.decode(buf.subarray(start, end)),
  utf8Lenient: (b: Uint8Array): string => lenient.decode(b),
};

// ---------------------------------------------------------------- Node's

function nodeImpl(B: NodeBufferClass): typeof portable {
  const { utf8Write, latin1Slice, utf8Slice } = B.prototype;
  return {
    alloc: (n) => B.alloc(n),
    allocUnsafe: (n) => B.allocUnsafe(n),
    copyOf: (src) => B.from(src),
    view: (b) => (B.isBuffer(b) ? b : B.from(b.buffer, b.byteOffset, b.byteLength)),
    utf8Length: (s) => B.byteLength(s, 'utf8'),
    // The native writer without Buffer#write's argument checks; `call` so that a plain Uint8Array
    // (made while the portable implementation was selected, in tests) works too.
    utf8Write: (buf, s, at) => utf8Write.call(buf, s, at, buf.length - at),
    utf8Encode: (s) => B.from(s, 'utf8'),
    asciiSlice: (buf, start, end) => latin1Slice.call(buf, start, end),
    utf8Lenient: (b) => utf8Slice.call(b, 0, b.length),
  };
}

const node = nodeAvailable ? nodeImpl(NodeBuffer) : undefined;

// ---------------------------------------------------------------- the selected one

let impl: typeof portable = node ?? portable;
let selected: BytesImpl = node ? 'node' : 'portable';

/** The implementation in use. */
export function bytesImpl(): BytesImpl {
  return selected;
}

/**
 * @internal Selects an implementation (tests: the portable one runs in Node too). 'node' throws
 * where there is no Buffer.
 */
export function useBytesImpl(which: BytesImpl): void {
  if (which === 'node' && node === undefined) throw new Error('Node Buffer is not available');
  impl = which === 'node' ? node! : portable;
  selected = which;
}

/** `n` zeroed bytes (a Buffer in Node). */
export const alloc = (n: number): Uint8Array => impl.alloc(n);

/** `n` bytes whose content is not cleared: the caller writes every one (Node pools small ones). */
export const allocUnsafe = (n: number): Uint8Array => impl.allocUnsafe(n);

/**
 * Node's `markAsUntransferable` (worker_threads), found through `process.getBuiltinModule` so that
 * nothing here imports Node; undefined elsewhere.
 */
const markAsUntransferable = (
  (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.(
    'node:worker_threads',
  ) as { markAsUntransferable?: (o: object) => void } | undefined
)?.markAsUntransferable;

/**
 * `n` uncleared bytes to hand out views of to several owners, as Node's Buffer pool does; like the
 * pool's, its ArrayBuffer is marked untransferable in Node, so that no owner can detach the others'.
 */
export function allocPool(n: number): Uint8Array {
  const b = impl.allocUnsafe(n);
  if (markAsUntransferable !== undefined && selected === 'node') markAsUntransferable(b.buffer);
  return b;
}

/** A copy of `src` the caller owns. */
export const copyOf = (src: Uint8Array): Uint8Array => impl.copyOf(src);

/** The same bytes, as the core hands bytes out (in Node a Buffer view, not a copy). */
export const view = (b: Uint8Array): Uint8Array => impl.view(b);

/** A new byte array holding `values`. */
export const fromValues = (values: readonly number[]): Uint8Array => impl.copyOf(new Uint8Array(values));

/** The UTF-8 length of `s` (a lone surrogate counts as U+FFFD, 3 bytes). */
export const utf8Length = (s: string): number => impl.utf8Length(s);

/**
 * Writes `s` as UTF-8 at `at` and returns the byte count; the room must be there (utf8Length, or
 * 3 bytes per UTF-16 unit). Lone surrogates become U+FFFD: check `isWellFormed` first to refuse them.
 */
export const utf8Write = (buf: Uint8Array, s: string, at: number): number => impl.utf8Write(buf, s, at);

/** `s` as new UTF-8 bytes. */
export const utf8Encode = (s: string): Uint8Array => impl.utf8Encode(s);

/** Bytes the caller knows are all ASCII, as a string. */
export const asciiSlice = (buf: Uint8Array, start: number, end: number): string =>
  impl.asciiSlice(buf, start, end);

/** Validated UTF-8 as a string, or undefined when the bytes are not valid UTF-8. */
export function utf8Slice(buf: Uint8Array, start: number, end: number): string | undefined {
  try {
    return decoder.decode(buf.subarray(start, end));
  } catch {
    return undefined;
  }
}

/** UTF-8 as a string, invalid sequences replaced by U+FFFD (for text that need not round-trip). */
export const utf8Lenient = (b: Uint8Array): string => impl.utf8Lenient(b);

/** Lower-case hex of `b`, for messages. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// ---------------------------------------------------------------- big-endian numbers

export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function readU32(b: Uint8Array, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

export function readI32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

export function readU64(b: Uint8Array, o: number): bigint {
  return (BigInt(readU32(b, o)) << 32n) + BigInt(readU32(b, o + 4));
}

export function readI64(b: Uint8Array, o: number): bigint {
  return (BigInt(readI32(b, o)) << 32n) + BigInt(readU32(b, o + 4));
}

export function writeU16(b: Uint8Array, v: number, o: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function writeU32(b: Uint8Array, v: number, o: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Also writes a signed 32-bit value: the same bits. */
export const writeI32 = writeU32;

/** Writes the low 64 bits of `v` (two's complement for a negative one). */
export function writeU64(b: Uint8Array, v: bigint, o: number): void {
  writeU32(b, Number((v >> 32n) & 0xffffffffn), o);
  writeU32(b, Number(v & 0xffffffffn), o + 4);
}

// One scratch for floats: the platform's byte order is found once, and the bytes copied across.
const f32 = new Float32Array(1);
const f64 = new Float64Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64b = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function readF32(b: Uint8Array, o: number): number {
  if (littleEndian) {
    f32b[3] = b[o]!;
    f32b[2] = b[o + 1]!;
    f32b[1] = b[o + 2]!;
    f32b[0] = b[o + 3]!;
  } else for (let i = 0; i < 4; i++) f32b[i] = b[o + i]!;
  return f32[0]!;
}

export function readF64(b: Uint8Array, o: number): number {
  if (littleEndian) for (let i = 0; i < 8; i++) f64b[7 - i] = b[o + i]!;
  else for (let i = 0; i < 8; i++) f64b[i] = b[o + i]!;
  return f64[0]!;
}

export function writeF32(b: Uint8Array, v: number, o: number): void {
  f32[0] = v;
  if (littleEndian) for (let i = 0; i < 4; i++) b[o + i] = f32b[3 - i]!;
  else b.set(f32b, o);
}

export function writeF64(b: Uint8Array, v: number, o: number): void {
  f64[0] = v;
  if (littleEndian) for (let i = 0; i < 8; i++) b[o + i] = f64b[7 - i]!;
  else b.set(f64b, o);
}
