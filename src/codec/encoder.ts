/**
 * Encodes AMQP values into a ByteWriter, always choosing the most compact encoding.
 * Strings are converted to UTF-8 once, straight into the output buffer.
 */
import type { ByteWriter } from './byte-writer.js';
import { utf8Encode, utf8Length, utf8Write, writeI32, writeU32 } from './bytes.js';
import { DEFAULT_MAX_DEPTH } from './decoder.js';
import { EncodeError } from './errors.js';
import { Code } from './format-codes.js';
import {
  AmqpArray,
  AmqpSymbol,
  Described,
  Typed,
  isPlainObject,
  type AmqpValue,
  type ElementType,
} from './values.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * Strings shorter than this are written by writeShortAscii while they are ASCII: about 25
 * instructions a character, against some 750 a call to the native UTF-8 writer.
 */
export const SHORT_STRING = 32;

/**
 * Writes `str` (its length `n`) at `at` if it is all ASCII, four characters to a word, and returns
 * `n`; else returns -1, having written bytes for the caller to overwrite. The last word may reach 3
 * bytes past the text: room for `n + 3` bytes at `at` must be there.
 */
export function writeShortAscii(dv: DataView, str: string, n: number, at: number): number {
  let any = 0;
  for (let i = 0; i < n; i += 4) {
    const c0 = str.charCodeAt(i);
    const c1 = i + 1 < n ? str.charCodeAt(i + 1) : 0;
    const c2 = i + 2 < n ? str.charCodeAt(i + 2) : 0;
    const c3 = i + 3 < n ? str.charCodeAt(i + 3) : 0;
    any |= c0 | c1 | c2 | c3;
    dv.setInt32(at + i, (c0 << 24) | (c1 << 16) | (c2 << 8) | c3);
  }
  return any < 0x80 ? n : -1;
}

/** Writes `str` as UTF-8 at `at` (room for 3 bytes per UTF-16 unit, and 3 more) and returns the byte count. */
function writeUtf8(w: ByteWriter, str: string, at: number): number {
  const n = str.length;
  if (n < SHORT_STRING) {
    const len = writeShortAscii(w.dataView(), str, n, at);
    if (len >= 0) return len;
  }
  return writeUtf8Native(w, str, at);
}

function writeUtf8Native(w: ByteWriter, str: string, at: number): number {
  const len = utf8Write(w.buf, str, at);
  // The UTF-8 writers turn a lone surrogate into U+FFFD: refuse it instead of changing the text. Its
  // one UTF-16 unit became 3 bytes, so only a string whose byte count differs can hold one (the
  // bytes already written past the writer's position are left for the next write to overwrite).
  if (len !== str.length && !str.isWellFormed()) {
    throw new EncodeError('string has a lone surrogate: not valid Unicode');
  }
  return len;
}

/** Symbols are ASCII (spec 1.6.21). */
function checkAscii(s: string): void {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) throw new EncodeError(`symbol ${JSON.stringify(s)} is not ASCII`);
  }
}

/** Writes a string or symbol with its str8/str32 (or sym8/sym32) constructor. */
export function encodeString(w: ByteWriter, str: string, code8: number, code32: number): void {
  const n = str.length;
  if (n <= 85) {
    // At most 3 bytes per UTF-16 unit: fits a one-byte size for sure (and 3 bytes for writeShortAscii).
    w.ensure(2 + n * 3 + 3);
    const at = w.pos;
    const len = writeUtf8(w, str, at + 2);
    if (len !== n && code8 === Code.Sym8) checkAscii(str);
    w.buf[at] = code8;
    w.buf[at + 1] = len;
    w.pos = at + 2 + len;
    return;
  }
  if (code8 === Code.Sym8) checkAscii(str);
  const len = n > 255 ? -1 : utf8Length(str);
  if (len >= 0 && len <= 255) {
    w.ensure(2 + len);
    w.buf[w.pos] = code8;
    w.buf[w.pos + 1] = len;
    writeUtf8Native(w, str, w.pos + 2);
    w.pos += 2 + len;
    return;
  }
  w.ensure(5 + n * 3);
  const at = w.pos;
  const written = writeUtf8Native(w, str, at + 5);
  w.buf[at] = code32;
  writeU32(w.buf, written, at + 1);
  w.pos = at + 5 + written;
}

export function encodeSymbol(w: ByteWriter, s: string): void {
  encodeString(w, s, Code.Sym8, Code.Sym32);
}

export function encodeBinary(w: ByteWriter, b: Uint8Array): void {
  const n = b.length;
  if (n <= 255) {
    w.ensure(2 + n);
    w.buf[w.pos] = Code.Vbin8;
    w.buf[w.pos + 1] = n;
    w.pos += 2;
  } else {
    w.ensure(5 + n);
    w.buf[w.pos] = Code.Vbin32;
    writeU32(w.buf, n, w.pos + 1);
    w.pos += 5;
  }
  w.buf.set(b, w.pos);
  w.pos += n;
}

export function encodeUint(w: ByteWriter, n: number): void {
  if (n === 0) w.u8(Code.Uint0);
  else if (n <= 0xff) {
    w.ensure(2);
    w.buf[w.pos] = Code.SmallUint;
    w.buf[w.pos + 1] = n;
    w.pos += 2;
  } else {
    w.ensure(5);
    w.buf[w.pos] = Code.Uint;
    writeU32(w.buf, n, w.pos + 1);
    w.pos += 5;
  }
}

export function encodeUlong(w: ByteWriter, n: number | bigint): void {
  if (typeof n === 'number') {
    if (n === 0) return w.u8(Code.Ulong0);
    if (n <= 0xff) {
      w.u8(Code.SmallUlong);
      return w.u8(n);
    }
    n = BigInt(n);
  }
  if (n === 0n) return w.u8(Code.Ulong0);
  if (n <= 0xffn) {
    w.u8(Code.SmallUlong);
    return w.u8(Number(n));
  }
  w.u8(Code.Ulong);
  w.u64(n);
}

export function encodeInt(w: ByteWriter, n: number): void {
  if (n >= -128 && n <= 127) {
    w.ensure(2);
    w.buf[w.pos] = Code.SmallInt;
    w.buf[w.pos + 1] = n;
    w.pos += 2;
  } else {
    w.u8(Code.Int);
    w.i32(n);
  }
}

export function encodeLong(w: ByteWriter, n: bigint): void {
  if (n < INT64_MIN || n > INT64_MAX) throw new EncodeError(`long out of range: ${n}`);
  if (n >= -128n && n <= 127n) {
    w.ensure(2);
    w.buf[w.pos] = Code.SmallLong;
    w.buf[w.pos + 1] = Number(n);
    w.pos += 2;
  } else {
    w.u8(Code.Long);
    w.i64(n);
  }
}

export function encodeTimestamp(w: ByteWriter, ms: number | bigint): void {
  if (typeof ms === 'bigint') {
    w.u8(Code.Timestamp);
    return w.i64(ms);
  }
  if (!Number.isSafeInteger(ms)) throw new EncodeError('invalid timestamp');
  // Two 32-bit halves: exact for safe integers, and much cheaper than a BigInt.
  const hi = Math.floor(ms / 4294967296);
  w.ensure(9);
  const b = w.buf;
  b[w.pos] = Code.Timestamp;
  writeI32(b, hi, w.pos + 1);
  writeU32(b, ms - hi * 4294967296, w.pos + 5);
  w.pos += 9;
}

export function encodeBoolean(w: ByteWriter, b: boolean): void {
  w.u8(b ? Code.BooleanTrue : Code.BooleanFalse);
}

function isIntegral32(n: number): boolean {
  return (n | 0) === n && !Object.is(n, -0);
}

/**
 * The deepest nesting of lists, maps, arrays and described values we encode: the decoder's limit
 * (DEFAULT_MAX_DEPTH), so that nothing is sent that a peer of ours would refuse.
 */
export const MAX_ENCODE_DEPTH = DEFAULT_MAX_DEPTH;

/** A compound (or described value) inside `depth` others: one more level than the decoder allows fails here. */
function checkDepth(depth: number): void {
  if (depth >= MAX_ENCODE_DEPTH) {
    throw new EncodeError(`value nested deeper than ${MAX_ENCODE_DEPTH}`, 'AMQP_ENCODE_TOO_DEEP');
  }
}

/** Encodes any AMQP value; `depth` is the number of compounds around it. */
export function encodeValue(w: ByteWriter, v: AmqpValue, depth = 0): void {
  switch (typeof v) {
    case 'string':
      return encodeString(w, v, Code.Str8, Code.Str32);
    case 'number':
      if (isIntegral32(v)) return encodeInt(w, v);
      w.u8(Code.Double);
      return w.f64(v);
    case 'boolean':
      return w.u8(v ? Code.BooleanTrue : Code.BooleanFalse);
    case 'bigint':
      return encodeLong(w, v);
    case 'undefined':
      return w.u8(Code.Null);
    case 'object':
      break;
    default:
      throw new EncodeError(`cannot encode a ${typeof v} as AMQP`);
  }
  if (v === null) return w.u8(Code.Null);
  if (v instanceof Uint8Array) return encodeBinary(w, v);
  if (v instanceof AmqpSymbol) return encodeSymbol(w, v.value);
  if (v instanceof Typed) return encodeTyped(w, v);
  if (Array.isArray(v)) return encodeList(w, v, depth);
  if (v instanceof Date) return encodeTimestamp(w, validDate(v));
  if (v instanceof Map) return encodeMap(w, v, depth);
  if (v instanceof Described) {
    checkDepth(depth);
    w.u8(Code.Described);
    encodeValue(w, v.descriptor, depth + 1);
    return encodeValue(w, v.value, depth + 1);
  }
  if (v instanceof AmqpArray) return encodeArray(w, v, depth);
  if (isPlainObject(v)) return encodeObjectMap(w, v, depth, false);
  throw new EncodeError(`cannot encode ${(v as object).constructor?.name ?? 'object'} as AMQP`);
}

function validDate(d: Date): number {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new EncodeError('invalid Date');
  return t;
}

function encodeTyped(w: ByteWriter, t: Typed): void {
  const v = t.value;
  switch (t.type) {
    case 'ubyte':
      w.u8(Code.Ubyte);
      return w.u8(checkRange(t, 0, 0xff));
    case 'ushort':
      w.u8(Code.Ushort);
      return w.u16(checkRange(t, 0, 0xffff));
    case 'uint':
      return encodeUint(w, checkRange(t, 0, 0xffffffff));
    case 'ulong':
      return encodeUlong(w, checkUlong(v));
    case 'byte':
      w.u8(Code.Byte);
      return w.u8(checkRange(t, -0x80, 0x7f) & 0xff);
    case 'short':
      w.u8(Code.Short);
      w.u16(checkRange(t, -0x8000, 0x7fff) & 0xffff);
      return;
    case 'float':
      w.u8(Code.Float);
      return w.f32(checkNumber(t));
    case 'double':
      w.u8(Code.Double);
      return w.f64(checkNumber(t));
    case 'char': {
      const cp = typeof v === 'string' ? v.codePointAt(0) : undefined;
      if (cp === undefined) throw new EncodeError('char needs a one-code-point string');
      w.u8(Code.Char);
      return w.u32(cp);
    }
    case 'decimal32':
      return encodeFixedBytes(w, Code.Decimal32, 4, v);
    case 'decimal64':
      return encodeFixedBytes(w, Code.Decimal64, 8, v);
    case 'decimal128':
      return encodeFixedBytes(w, Code.Decimal128, 16, v);
    case 'uuid':
      w.u8(Code.Uuid);
      return writeUuidBody(w, v);
    case 'timestamp':
      if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) throw new EncodeError('invalid timestamp');
      return encodeTimestamp(w, v);
    default:
      // A type name from plain JavaScript that is none of the above: writing nothing would leave a
      // compound one item short.
      throw new EncodeError(`unknown Typed type ${JSON.stringify(String(t.type))}`);
  }
}

function checkRange(t: Typed, min: number, max: number): number {
  const v = t.value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new EncodeError(`${t.type} out of range: ${String(v)}`);
  }
  return v;
}

function checkNumber(t: Typed): number {
  if (typeof t.value !== 'number') throw new EncodeError(`${t.type} needs a number`);
  return t.value;
}

function checkUlong(v: unknown): bigint | number {
  if (typeof v === 'bigint' && v >= 0n && v <= UINT64_MAX) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new EncodeError(`ulong out of range: ${String(v)}`);
}

function encodeFixedBytes(w: ByteWriter, code: number, width: number, v: unknown): void {
  if (!(v instanceof Uint8Array) || v.length !== width) throw new EncodeError(`needs ${width} bytes`);
  w.u8(code);
  w.bytes(v);
}

function writeUuidBody(w: ByteWriter, v: unknown): void {
  if (v instanceof Uint8Array && v.length === 16) return w.bytes(v);
  if (typeof v !== 'string' || v.length !== 36) throw new EncodeError(`invalid uuid: ${String(v)}`);
  w.ensure(16);
  const hex = v.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new EncodeError(`invalid uuid: ${v}`);
  for (let i = 0; i < 16; i++) w.buf[w.pos + i] = parseInt(hex.substring(2 * i, 2 * i + 2), 16);
  w.pos += 16;
}

/**
 * Compound values are written as list8/map8 first; if the content turns out larger than 255 bytes
 * or items, the content is moved up 6 bytes and the header rewritten as the 32-bit form.
 */
function beginCompound(w: ByteWriter, code8: number): number {
  w.ensure(3);
  const at = w.pos;
  w.buf[at] = code8;
  w.pos += 3;
  return at;
}

export function endCompound(w: ByteWriter, at: number, count: number, code32: number): void {
  const size = w.pos - at - 2; // count byte + items
  if (size <= 255 && count <= 255) {
    w.buf[at + 1] = size;
    w.buf[at + 2] = count;
    return;
  }
  const contentLen = w.pos - at - 3;
  w.ensure(6);
  w.buf.copyWithin(at + 9, at + 3, at + 3 + contentLen);
  w.buf[at] = code32;
  writeU32(w.buf, contentLen + 4, at + 1);
  writeU32(w.buf, count, at + 5);
  w.pos = at + 9 + contentLen;
}

export function encodeList(w: ByteWriter, items: readonly AmqpValue[], depth = 0): void {
  checkDepth(depth);
  const n = items.length;
  if (n === 0) return w.u8(Code.List0);
  const at = beginCompound(w, Code.List8);
  for (let i = 0; i < n; i++) encodeValue(w, items[i], depth + 1);
  endCompound(w, at, n, Code.List32);
}

export function encodeMap(w: ByteWriter, m: Map<AmqpValue, AmqpValue>, depth = 0): void {
  checkDepth(depth);
  const at = beginCompound(w, Code.Map8);
  for (const [k, v] of m) {
    encodeValue(w, k, depth + 1);
    encodeValue(w, v, depth + 1);
  }
  endCompound(w, at, m.size * 2, Code.Map32);
}

/** A plain object as a map; its keys become symbols when `symbolKeys` (annotations, fields). */
export function encodeObjectMap(
  w: ByteWriter,
  o: { [key: string]: AmqpValue },
  depth: number,
  symbolKeys: boolean,
): void {
  checkDepth(depth);
  const at = beginCompound(w, Code.Map8);
  let count = 0;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const v = o[k];
    if (v === undefined) continue;
    if (symbolKeys) encodeSymbol(w, k);
    else encodeString(w, k, Code.Str8, Code.Str32);
    encodeValue(w, v, depth + 1);
    count += 2;
  }
  endCompound(w, at, count, Code.Map32);
}

// ---- arrays ----

/** Per element type: how to pick one constructor for all items, and how to write an item's body. */
interface ElementCodec {
  /** Constructor for these items (compact where every item allows it). */
  code(items: readonly AmqpValue[]): number;
  body(w: ByteWriter, v: AmqpValue, code: number, depth: number): void;
}

const num = (v: AmqpValue): number => {
  const x = v instanceof Typed ? v.value : v;
  if (typeof x !== 'number') throw new EncodeError(`array element is not a number: ${String(x)}`);
  return x;
};
const big = (v: AmqpValue): bigint => {
  const x = v instanceof Typed ? v.value : v;
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' && Number.isSafeInteger(x)) return BigInt(x);
  throw new EncodeError(`array element is not an integer: ${String(x)}`);
};
const bytesOf = (v: AmqpValue, width: number): Uint8Array => {
  const x = v instanceof Typed ? v.value : v;
  if (!(x instanceof Uint8Array) || x.length !== width)
    throw new EncodeError(`array element needs ${width} bytes`);
  return x;
};
const strOf = (v: AmqpValue): string => {
  const x = v instanceof AmqpSymbol || v instanceof Typed ? v.value : v;
  if (typeof x !== 'string') throw new EncodeError(`array element is not a string: ${String(x)}`);
  return x;
};
function intRange(v: AmqpValue, min: number, max: number): number {
  const n = num(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new EncodeError(`array element out of range: ${n}`);
  return n;
}
const fixed = (code: number, body: ElementCodec['body']): ElementCodec => ({ code: () => code, body });

const ELEMENT_CODECS: Record<ElementType, ElementCodec> = {
  boolean: fixed(Code.Boolean, (w, v) => w.u8(v ? 1 : 0)),
  ubyte: fixed(Code.Ubyte, (w, v) => w.u8(intRange(v, 0, 0xff))),
  ushort: fixed(Code.Ushort, (w, v) => w.u16(intRange(v, 0, 0xffff))),
  uint: {
    code: (items) => (items.every((v) => intRange(v, 0, 0xffffffff) <= 0xff) ? Code.SmallUint : Code.Uint),
    body: (w, v, code) => (code === Code.SmallUint ? w.u8(num(v)) : w.u32(num(v))),
  },
  ulong: {
    code: (items) => (items.every((v) => big(v) >= 0n && big(v) <= 0xffn) ? Code.SmallUlong : Code.Ulong),
    body: (w, v, code) => {
      const n = big(v);
      if (n < 0n || n > UINT64_MAX) throw new EncodeError(`ulong out of range: ${n}`);
      if (code === Code.SmallUlong) w.u8(Number(n));
      else w.u64(n);
    },
  },
  byte: fixed(Code.Byte, (w, v) => w.u8(intRange(v, -0x80, 0x7f) & 0xff)),
  short: fixed(Code.Short, (w, v) => w.u16(intRange(v, -0x8000, 0x7fff) & 0xffff)),
  int: {
    code: (items) =>
      items.every((v) => {
        const n = intRange(v, -0x80000000, 0x7fffffff);
        return n >= -128 && n <= 127;
      })
        ? Code.SmallInt
        : Code.Int,
    body: (w, v, code) => (code === Code.SmallInt ? w.u8(num(v) & 0xff) : w.i32(num(v))),
  },
  long: {
    code: (items) => (items.every((v) => big(v) >= -128n && big(v) <= 127n) ? Code.SmallLong : Code.Long),
    body: (w, v, code) => {
      const n = big(v);
      if (n < INT64_MIN || n > INT64_MAX) throw new EncodeError(`long out of range: ${n}`);
      if (code === Code.SmallLong) w.u8(Number(n) & 0xff);
      else w.i64(n);
    },
  },
  float: fixed(Code.Float, (w, v) => w.f32(num(v))),
  double: fixed(Code.Double, (w, v) => w.f64(num(v))),
  decimal32: fixed(Code.Decimal32, (w, v) => w.bytes(bytesOf(v, 4))),
  decimal64: fixed(Code.Decimal64, (w, v) => w.bytes(bytesOf(v, 8))),
  decimal128: fixed(Code.Decimal128, (w, v) => w.bytes(bytesOf(v, 16))),
  char: fixed(Code.Char, (w, v) => {
    const cp = strOf(v).codePointAt(0);
    if (cp === undefined) throw new EncodeError('empty char');
    w.u32(cp);
  }),
  timestamp: fixed(Code.Timestamp, (w, v) => {
    if (v instanceof Date) w.i64(BigInt(validDate(v)));
    else w.i64(big(v));
  }),
  uuid: fixed(Code.Uuid, (w, v) => writeUuidBody(w, v instanceof Typed ? v.value : v)),
  binary: {
    code: (items) => (items.every((v) => bytesLen(v) <= 255) ? Code.Vbin8 : Code.Vbin32),
    body: (w, v, code) => writeSized(w, v as Uint8Array, code === Code.Vbin8),
  },
  string: {
    code: (items) => (items.every((v) => utf8Length(strOf(v)) <= 255) ? Code.Str8 : Code.Str32),
    body: (w, v, code) => writeSized(w, utf8Encode(strOf(v)), code === Code.Str8),
  },
  symbol: {
    code: (items) =>
      items.every((v) => {
        checkAscii(strOf(v));
        return strOf(v).length <= 255;
      })
        ? Code.Sym8
        : Code.Sym32,
    body: (w, v, code) => writeSized(w, utf8Encode(strOf(v)), code === Code.Sym8),
  },
  // Compound elements use the 32-bit forms: an element's size is not known before it is written.
  // `depth` is the element's own: the array's plus one, as the decoder counts it.
  list: fixed(Code.List32, (w, v, _c, depth) => {
    if (!Array.isArray(v)) throw new EncodeError('array element is not a list');
    checkDepth(depth);
    const at = w.pos;
    w.ensure(8);
    w.pos += 8;
    for (const item of v) encodeValue(w, item, depth + 1);
    w.patchU32(at, w.pos - at - 4);
    w.patchU32(at + 4, v.length);
  }),
  map: fixed(Code.Map32, (w, v, _c, depth) => {
    checkDepth(depth);
    const at = w.pos;
    w.ensure(8);
    w.pos += 8;
    let count = 0;
    if (v instanceof Map) {
      for (const [k, x] of v) {
        encodeValue(w, k, depth + 1);
        encodeValue(w, x, depth + 1);
        count += 2;
      }
    } else if (isPlainObject(v)) {
      for (const k of Object.keys(v)) {
        encodeString(w, k, Code.Str8, Code.Str32);
        encodeValue(w, v[k], depth + 1);
        count += 2;
      }
    } else throw new EncodeError('array element is not a map');
    w.patchU32(at, w.pos - at - 4);
    w.patchU32(at + 4, count);
  }),
  array: fixed(Code.Array32, (w, v, _c, depth) => {
    if (!(v instanceof AmqpArray)) throw new EncodeError('array element is not an AmqpArray');
    checkDepth(depth);
    const at = w.pos;
    w.ensure(8);
    w.pos += 8;
    writeArrayElements(w, v, depth);
    w.patchU32(at, w.pos - at - 4);
    w.patchU32(at + 4, v.items.length);
  }),
};

function bytesLen(v: AmqpValue): number {
  if (!(v instanceof Uint8Array)) throw new EncodeError('array element is not binary');
  return v.length;
}

function writeSized(w: ByteWriter, b: Uint8Array, small: boolean): void {
  if (small) w.u8(b.length);
  else w.u32(b.length);
  w.bytes(b);
}

/** Writes the element constructor (with descriptor, if any) and every element body; `depth` is the array's. */
function writeArrayElements(w: ByteWriter, a: AmqpArray, depth: number): number {
  const codec = ELEMENT_CODECS[a.elementType];
  if (codec === undefined) throw new EncodeError(`unknown array element type: ${String(a.elementType)}`);
  if (a.descriptor !== undefined && a.descriptor !== null) {
    w.u8(Code.Described);
    encodeValue(w, a.descriptor, depth + 1);
  }
  const code = codec.code(a.items);
  w.u8(code);
  for (const item of a.items) codec.body(w, item, code, depth + 1);
  return code;
}

export function encodeArray(w: ByteWriter, a: AmqpArray, depth = 0): void {
  checkDepth(depth);
  const at = beginCompound(w, Code.Array8);
  writeArrayElements(w, a, depth);
  endCompound(w, at, a.items.length, Code.Array32);
}
