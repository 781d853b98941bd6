/**
 * The fast path of the up-front check of lazy decoding (message-view.ts): a walk over the bytes
 * with plain locals, no Decoder and no exceptions, for the values messages are made of. It answers
 * either "valid, and it ends here" or UNSURE. UNSURE covers every error and every rare form
 * (arrays, chars, non-ASCII text, mixed or repeated map keys, deep nesting); the caller then runs the
 * careful scan (value-scan.ts), which gives the Decoder's own verdict and error. So the fast path
 * can only be wrong by saying UNSURE too often, never by passing bad bytes: a property test
 * (test/codec/message-view.property.test.ts) holds it to the careful scan on random and corrupted input.
 */
import { Code } from './format-codes.js';

/** Not judged here: the careful scan decides. */
export const UNSURE = -1;

/** Maps with more pairs than this are left to the careful scan (the key comparison is quadratic). */
const MAX_PAIRS = 16;
const KEY_SLOTS = 256;
const keyAt = new Int32Array(KEY_SLOTS);
const keyLen = new Int32Array(KEY_SLOTS);
let keyTop = 0;
/** The nesting limit of the walk in progress (DecodeOptions.maxDepth). */
let maxDepth = 64;

const NO_BUFFER = new ArrayBuffer(0);
/**
 * The message being walked, read as 32-bit words: the text check takes four bytes a load, where a
 * Uint8Array takes one. The view is of the whole ArrayBuffer, and is kept for the next message
 * while the buffer is small (messages cut from one socket read share its buffer, and making a
 * DataView is a call into C++ that costs about a quarter of what it saves on the telemetry
 * message); a larger one is let go at quickEnd.
 */
let words: DataView = new DataView(NO_BUFFER);
let wordsBuffer: ArrayBufferLike = NO_BUFFER;
/** The walk's bytes (`words` applies only to them), and where they begin in `words`. */
let wordsOf: Uint8Array | undefined;
let wordsBase = 0;
/** The largest buffer whose view is kept between messages: a socket read's 64 KiB. */
const KEEP_WORDS_MAX = 64 * 1024;

/** Starts the walk of a message's bytes. */
export function quickBegin(buf: Uint8Array): void {
  const ab = buf.buffer;
  if (ab !== wordsBuffer) {
    words = new DataView(ab);
    wordsBuffer = ab;
  }
  wordsOf = buf;
  wordsBase = buf.byteOffset;
}

/** Ends the walk: the message, and a large buffer's view, are let go. */
export function quickEnd(): void {
  wordsOf = undefined;
  if (wordsBuffer.byteLength > KEEP_WORDS_MAX) {
    words = new DataView(NO_BUFFER);
    wordsBuffer = NO_BUFFER;
  }
}

/** Starts a section's walk: the nesting limit, and no key slots taken. */
export function quickStart(limit: number): void {
  maxDepth = limit;
  keyTop = 0;
}

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

/** The end of `n` bytes of ASCII text at `p`, or UNSURE (past `end`, or not ASCII). */
function ascii(buf: Uint8Array, p: number, n: number, end: number): number {
  const e = p + n;
  if (e > end) return UNSURE;
  let or = 0;
  let i = p;
  if (buf === wordsOf) {
    const dv = words;
    const base = wordsBase;
    for (; i + 4 <= e; i += 4) or |= dv.getInt32(base + i);
  } else {
    for (; i + 4 <= e; i += 4) or |= buf[i]! | buf[i + 1]! | buf[i + 2]! | buf[i + 3]!;
  }
  for (; i < e; i++) or |= buf[i]!;
  return (or & 0x80808080) === 0 ? e : UNSURE;
}

/** The end of the value at `p` (nested `depth` deep), or UNSURE. */
export function quickValue(buf: Uint8Array, p: number, end: number, depth: number): number {
  if (p >= end) return UNSURE;
  const c = buf[p]!;
  p++;
  let e: number;
  switch (c) {
    case Code.Null:
    case Code.BooleanTrue:
    case Code.BooleanFalse:
    case Code.Uint0:
    case Code.Ulong0:
    case Code.List0:
      return p;
    case Code.Boolean:
      return p < end && buf[p]! <= 1 ? p + 1 : UNSURE;
    case Code.Ubyte:
    case Code.Byte:
    case Code.SmallUint:
    case Code.SmallUlong:
    case Code.SmallInt:
    case Code.SmallLong:
      e = p + 1;
      break;
    case Code.Ushort:
    case Code.Short:
      e = p + 2;
      break;
    case Code.Uint:
    case Code.Int:
    case Code.Float:
    case Code.Decimal32:
      e = p + 4;
      break;
    case Code.Ulong:
    case Code.Long:
    case Code.Double:
    case Code.Timestamp:
    case Code.Decimal64:
      e = p + 8;
      break;
    case Code.Decimal128:
    case Code.Uuid:
      e = p + 16;
      break;
    case Code.Vbin8:
      e = p < end ? p + 1 + buf[p]! : UNSURE;
      break;
    case Code.Vbin32:
      e = p + 4 <= end ? p + 4 + u32(buf, p) : UNSURE;
      break;
    case Code.Str8:
    case Code.Sym8:
      return p < end ? ascii(buf, p + 1, buf[p]!, end) : UNSURE;
    case Code.Str32:
    case Code.Sym32:
      return p + 4 <= end ? ascii(buf, p + 4, u32(buf, p), end) : UNSURE;
    case Code.List8:
    case Code.List32:
      return quickList(buf, p, end, depth, c === Code.List32);
    case Code.Map8:
    case Code.Map32:
      return quickMap(buf, p, end, depth, c === Code.Map32, false);
    case Code.Described: {
      if (depth + 1 > maxDepth) return UNSURE;
      const d = quickValue(buf, p, end, depth + 1);
      return d === UNSURE ? UNSURE : quickValue(buf, d, end, depth + 1);
    }
    default:
      return UNSURE;
  }
  return e !== UNSURE && e <= end ? e : UNSURE;
}

/**
 * quickValue, with the commonest items, short text and ints, checked here: a call per map value
 * or field costs more than the check of a dozen bytes.
 */
export function quickItem(buf: Uint8Array, p: number, end: number, depth: number): number {
  const c = buf[p];
  if (c === Code.Str8 && p + 1 < end) return ascii(buf, p + 2, buf[p + 1]!, end);
  if (c === Code.Int) return p + 5 <= end ? p + 5 : UNSURE;
  return quickValue(buf, p, end, depth);
}

/**
 * A compound's header at `p` (after its constructor): sets `cEnd` and `cCount` and returns where
 * its items start, or UNSURE.
 */
let cEnd = 0;
let cCount = 0;
function compound(buf: Uint8Array, p: number, end: number, wide: boolean): number {
  let first: number;
  if (wide) {
    if (p + 8 > end) return UNSURE;
    cEnd = p + 4 + u32(buf, p);
    cCount = u32(buf, p + 4);
    first = p + 8;
    if (cEnd < first) return UNSURE;
  } else {
    if (p + 2 > end) return UNSURE;
    cEnd = p + 1 + buf[p]!;
    cCount = buf[p + 1]!;
    first = p + 2;
    if (cEnd < first) return UNSURE;
  }
  return cEnd > end || cCount > cEnd - first ? UNSURE : first;
}

function quickList(buf: Uint8Array, p: number, end: number, depth: number, wide: boolean): number {
  if (depth + 1 > maxDepth) return UNSURE;
  p = compound(buf, p, end, wide);
  if (p === UNSURE) return UNSURE;
  const listEnd = cEnd;
  const count = cCount;
  for (let i = 0; i < count; i++) {
    p = quickValue(buf, p, listEnd, depth + 1);
    if (p === UNSURE) return UNSURE;
  }
  return p === listEnd ? p : UNSURE;
}

/**
 * A map (after its constructor) whose keys are all strings, or all symbols with `symbolKeys`, none
 * repeated; anything else is UNSURE. Keys that are array indexes ('1', '2') make the Decoder build a
 * Map, where a repeated symbol key is no error: a repeat is UNSURE here, so the careful scan judges.
 */
export function quickMap(
  buf: Uint8Array,
  p: number,
  end: number,
  depth: number,
  wide: boolean,
  symbolKeys: boolean,
): number {
  if (depth + 1 > maxDepth) return UNSURE;
  p = compound(buf, p, end, wide);
  if (p === UNSURE) return UNSURE;
  const mapEnd = cEnd;
  const count = cCount;
  const pairs = count >> 1;
  const base = keyTop;
  if ((count & 1) !== 0 || pairs > MAX_PAIRS || base + pairs > KEY_SLOTS) return UNSURE;
  const code8 = symbolKeys ? Code.Sym8 : Code.Str8;
  const code32 = symbolKeys ? Code.Sym32 : Code.Str32;
  keyTop = base + pairs;
  for (let i = 0; i < pairs; i++) {
    if (p >= mapEnd) return UNSURE;
    const c = buf[p]!;
    let start: number;
    let n: number;
    if (c === code8) {
      if (p + 2 > mapEnd) return UNSURE;
      n = buf[p + 1]!;
      start = p + 2;
    } else if (c === code32) {
      if (p + 5 > mapEnd) return UNSURE;
      n = u32(buf, p + 1);
      start = p + 5;
    } else return UNSURE;
    p = ascii(buf, start, n, mapEnd);
    if (p === UNSURE) return UNSURE;
    for (let j = base; j < base + i; j++) {
      if (keyLen[j] === n && sameBytes(buf, keyAt[j]!, start, n)) return UNSURE;
    }
    keyAt[base + i] = start;
    keyLen[base + i] = n;
    p = quickItem(buf, p, mapEnd, depth + 1);
    if (p === UNSURE) return UNSURE;
  }
  keyTop = base;
  return p === mapEnd ? p : UNSURE;
}

function sameBytes(buf: Uint8Array, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}
