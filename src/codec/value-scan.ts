/**
 * Checks encoded values without building them: the validating half of lazy decoding
 * (message-view.ts). Each scan makes exactly the checks the Decoder makes on the same bytes, in the
 * same order, and fails with the same DecodeError, so that a value that scans cleanly is known to
 * decode later without an error. The Decoder's own methods do the reading (sizes, counts, UTF-8,
 * depth), so the rules live in one place; only the walk is repeated here.
 *
 * Maps are the one place where a scan must judge values rather than bytes (a repeated key is an
 * error). A map whose keys are all strings (symbols in annotations) that start with no digit is
 * scanned, comparing the keys' bytes: for valid UTF-8, equal bytes and equal strings are the same
 * thing (the decoder keeps a leading byte-order mark, see bytes.ts). Any other map (digit keys,
 * mixed keys, many pairs, `maps: 'map'`) is handed to the Decoder and decoded for real, so its
 * verdict is the Decoder's by construction. The keys are judged before any value is scanned, so a
 * map is never scanned and then decoded too.
 */
import { readU32 } from './bytes.js';
import { Code } from './format-codes.js';
import { valueEnd } from './value-end.js';
import { ELEMENT_OF_CODE, type Decoder } from './decoder.js';

/** Maps with more pairs than this are decoded rather than scanned (the key comparison is quadratic). */
const MAX_SCANNED_PAIRS = 16;
/** Key offsets and lengths of the maps being scanned; a nested map takes the slots after its parent's. */
const KEY_SLOTS = 256;
const keyAt = new Int32Array(KEY_SLOTS);
const keyLen = new Int32Array(KEY_SLOTS);
let keyTop = 0;

/** Forgets the key slots a failed scan left taken (each scan of a whole message starts with this). */
export function resetScan(): void {
  keyTop = 0;
}

/** Checks the next value, as `d.readValue()` would, and moves past it. */
export function scanValue(d: Decoder): void {
  if (d.pos >= d.end) d.fail('AMQP_DECODE_TRUNCATED', 'unexpected end of input');
  scanBody(d, d.buf[d.pos++]!);
}

/** Checks the value after constructor `code`, as `d.readBody(code)` would. */
export function scanBody(d: Decoder, code: number): void {
  switch (code) {
    case Code.Null:
    case Code.BooleanTrue:
    case Code.BooleanFalse:
    case Code.Uint0:
    case Code.Ulong0:
    case Code.List0:
      return;
    case Code.Boolean: {
      const b = d.u8();
      if (b > 1) d.fail('AMQP_DECODE_INVALID_VALUE', `boolean byte ${b}`, d.pos - 1);
      return;
    }
    case Code.Ubyte:
    case Code.Byte:
    case Code.SmallUint:
    case Code.SmallUlong:
    case Code.SmallInt:
    case Code.SmallLong:
      d.u8();
      return;
    case Code.Ushort:
    case Code.Short:
      d.u16();
      return;
    case Code.Uint:
      d.u32();
      return;
    case Code.Int:
    case Code.Float:
    case Code.Decimal32:
      skip(d, 4);
      return;
    case Code.Char:
      d.char();
      return;
    case Code.Ulong:
    case Code.Long:
    case Code.Double:
    case Code.Timestamp:
    case Code.Decimal64:
      skip(d, 8);
      return;
    case Code.Decimal128:
    case Code.Uuid:
      skip(d, 16);
      return;
    case Code.Vbin8:
      skip(d, d.u8());
      return;
    case Code.Vbin32:
      skip(d, d.u32());
      return;
    case Code.Str8:
      scanUtf8(d, d.u8(), false);
      return;
    case Code.Str32:
      scanUtf8(d, d.u32(), false);
      return;
    case Code.Sym8:
      scanUtf8(d, d.u8(), true);
      return;
    case Code.Sym32:
      scanUtf8(d, d.u32(), true);
      return;
    case Code.List8:
    case Code.List32:
      scanList(d, code === Code.List32);
      return;
    case Code.Map8:
    case Code.Map32:
      scanMap(d, code === Code.Map32, false);
      return;
    case Code.Array8:
    case Code.Array32:
      scanArray(d, code === Code.Array32);
      return;
    case Code.Described:
      d.enter();
      scanValue(d);
      scanValue(d);
      d.depth--;
      return;
    default:
      d.fail('AMQP_DECODE_UNKNOWN_CONSTRUCTOR', `unknown constructor 0x${code.toString(16)}`, d.pos - 1);
  }
}

function skip(d: Decoder, n: number): void {
  d.need(n);
  d.pos += n;
}

/** Checks `n` bytes of UTF-8 (ASCII only for symbols); only text that is not ASCII is decoded. */
export function scanUtf8(d: Decoder, n: number, ascii: boolean): void {
  d.need(n);
  const buf = d.buf;
  const start = d.pos;
  const end = start + n;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      d.utf8(n, ascii); // the Decoder's own verdict, and its error
      return;
    }
  }
  d.pos = end;
}

function scanList(d: Decoder, wide: boolean): void {
  const { end, count } = d.compoundHeader(wide, 1);
  const outer = d.enterCompound(end);
  for (let i = 0; i < count; i++) scanValue(d);
  d.leaveCompound(end, outer);
}

function scanArray(d: Decoder, wide: boolean): void {
  const at = d.pos;
  const { end, count } = d.compoundHeader(wide, 0);
  const outer = d.enterCompound(end);
  let code = d.u8();
  if (code === Code.Described) {
    scanValue(d);
    code = d.u8();
    if (code === Code.Described) d.fail('AMQP_DECODE_INVALID_VALUE', 'array of doubly described values');
  }
  const el = ELEMENT_OF_CODE[code];
  if (el === undefined) d.fail('AMQP_DECODE_UNKNOWN_CONSTRUCTOR', `0x${code.toString(16)} as array element`);
  const width = el[1];
  if (width === 0 ? count > 255 && count > 8 * d.buf.length : count * width > end - d.pos) {
    d.fail('AMQP_DECODE_BAD_SIZE', `array count ${count} does not fit in its size`, at);
  }
  // An element is checked as a value of its constructor: Decoder.element makes the same checks.
  for (let i = 0; i < count; i++) scanBody(d, code);
  d.leaveCompound(end, outer);
}

/**
 * Checks a map body (after its map8/map32 constructor) as the Decoder reads it in a message: keyed
 * by strings, or by symbols for annotations and the footer (`symbolKeys`).
 */
export function scanMap(d: Decoder, wide: boolean, symbolKeys: boolean): void {
  const at = d.pos;
  const base = keyTop;
  if (!d.objectMaps) return decodeMap(d, at, d.depth, d.end, base, wide, symbolKeys);
  const depth = d.depth;
  const outerEnd = d.end;
  const { end, count } = d.compoundHeader(wide, 1);
  if (count % 2 !== 0) d.fail('AMQP_DECODE_BAD_SIZE', `map with odd count ${count}`, at);
  const pairs = count >> 1;
  if (pairs > MAX_SCANNED_PAIRS || base + pairs > KEY_SLOTS) {
    return decodeMap(d, at, depth, outerEnd, base, wide, symbolKeys);
  }
  const code8 = symbolKeys ? Code.Sym8 : Code.Str8;
  const code32 = symbolKeys ? Code.Sym32 : Code.Str32;
  const buf = d.buf;
  // Judge the keys before scanning any value: finding a key the scan cannot judge after the values
  // before it were scanned would mean decoding them again, at every level of a nested map.
  if (!keysScannable(buf, d.pos, end, pairs, code8, code32)) {
    return decodeMap(d, at, depth, outerEnd, base, wide, symbolKeys);
  }
  const outer = d.enterCompound(end);
  keyTop = base + pairs;
  for (let i = 0; i < pairs; i++) {
    const code = d.u8();
    if (code !== code8 && code !== code32) return decodeMap(d, at, depth, outerEnd, base, wide, symbolKeys);
    const n = code === code8 ? d.u8() : d.u32();
    const start = d.pos;
    scanUtf8(d, n, symbolKeys);
    // A digit first may be an array index, which would make the map a Map with other rules.
    const c = n > 0 ? buf[start]! : 0;
    if (c >= 48 && c <= 57) return decodeMap(d, at, depth, outerEnd, base, wide, symbolKeys);
    scanValue(d);
    for (let j = base; j < base + i; j++) {
      if (keyLen[j] === n && sameBytes(buf, keyAt[j]!, start, n)) {
        d.fail('AMQP_DECODE_INVALID_VALUE', `duplicate map key ${keyText(d, start, n)}`);
      }
    }
    keyAt[base + i] = start;
    keyLen[base + i] = n;
  }
  keyTop = base;
  d.leaveCompound(end, outer);
}

/**
 * Whether every key of the map body at `pos` is a string (or symbol) that starts with no digit,
 * found by stepping over the values by their widths alone (spec 1.2). Anything it cannot step over
 * (a malformed or deeply described value) is a no: the Decoder then decides.
 */
function keysScannable(
  buf: Uint8Array,
  pos: number,
  end: number,
  pairs: number,
  code8: number,
  code32: number,
): boolean {
  for (let i = 0; i < pairs; i++) {
    if (pos + 2 > end) return false;
    const code = buf[pos]!;
    let start: number;
    let n: number;
    if (code === code8) {
      n = buf[pos + 1]!;
      start = pos + 2;
    } else if (code === code32) {
      if (pos + 5 > end) return false;
      n = readU32(buf, pos + 1);
      start = pos + 5;
    } else return false;
    if (n > end - start) return false;
    if (n > 0 && buf[start]! >= 48 && buf[start]! <= 57) return false;
    pos = stepOver(buf, start + n);
    if (pos < 0 || pos > end) return false;
  }
  return true;
}

/** valueEnd, with a constructor it does not know as -1: the Decoder will give the error. */
function stepOver(buf: Uint8Array, pos: number): number {
  try {
    return valueEnd(buf, pos);
  } catch {
    return -1;
  }
}

/** Hands the whole map to the Decoder, from its first byte, as if nothing had been scanned. */
function decodeMap(
  d: Decoder,
  at: number,
  depth: number,
  outerEnd: number,
  base: number,
  wide: boolean,
  symbolKeys: boolean,
): void {
  keyTop = base;
  d.pos = at;
  d.depth = depth;
  d.end = outerEnd;
  if (!d.objectMaps) d.mapOf(wide);
  else d.keyedMap(wide, symbolKeys);
}

function sameBytes(buf: Uint8Array, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/** A key's text, for the error message only. */
function keyText(d: Decoder, at: number, n: number): string {
  const pos = d.pos;
  d.pos = at;
  const s = d.utf8(n);
  d.pos = pos;
  return s;
}
