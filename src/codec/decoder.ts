/**
 * Decodes AMQP values from one contiguous buffer. Dispatch is a dense switch on the constructor
 * byte (a jump table). Every size and count is checked against the bytes that are actually there
 * before anything is allocated; binary values are zero-copy views of the input.
 *
 * Maps: one whose keys are all strings is a plain object (its keys own data properties, as
 * JSON.parse makes them: '__proto__' included), any other a Map; encoding either gives back the
 * same bytes. `DecodeOptions.maps: 'map'` makes every map a Map.
 */
import {
  asciiSlice,
  readF32,
  readF64,
  readI32,
  readI64,
  readU16,
  readU32,
  readU64,
  utf8Slice,
  view,
} from './bytes.js';
import { AmqpOneError, DecodeError, type DecodeErrorCode } from './errors.js';
import { Code } from './format-codes.js';
import {
  AmqpArray,
  AmqpSymbol,
  Described,
  Typed,
  uuidToString,
  type AmqpMap,
  type AmqpValue,
  type ElementType,
} from './values.js';

/**
 * How deeply lists, maps, arrays and described values may nest before decoding fails (AMQP_DECODE_TOO_DEEP).
 */
export const DEFAULT_MAX_DEPTH = 64;
const MAX_DEPTH_LIMIT = 1000;
const KEY_CACHE_SIZE = 256;
const keyCacheBytes: (Uint8Array | undefined)[] = new Array(KEY_CACHE_SIZE).fill(undefined);
const keyCacheStrings: (string | undefined)[] = new Array(KEY_CACHE_SIZE).fill(undefined);
const MAX_DATE_MS = 8.64e15;

/** Keys longer than this are not cached. */
const MAX_CACHED_KEY = 32;

/**
 * The `n` bytes at `s` (1 to MAX_CACHED_KEY, all present) as a string if they are ASCII, else
 * undefined. Recent ones are kept in a small table and compared byte by byte. Only ASCII is
 * kept, so that a hit is valid for symbol and string keys alike.
 */
export function cachedAscii(buf: Uint8Array, s: number, n: number): string | undefined {
  const slot = (n * 31 + buf[s]! * 7 + buf[s + n - 1]! * 13 + buf[s + (n >> 1)]!) & (KEY_CACHE_SIZE - 1);
  const cached = keyCacheBytes[slot];
  if (cached !== undefined && cached.length === n) {
    let i = 0;
    while (i < n && cached[i] === buf[s + i]) i++;
    if (i === n) return keyCacheStrings[slot]!;
  }
  if (!isAscii(buf, s, s + n)) return undefined;
  const str = asciiSlice(buf, s, s + n);
  keyCacheBytes[slot] = Uint8Array.prototype.slice.call(buf, s, s + n);
  keyCacheStrings[slot] = str;
  return str;
}

/** Whether the bytes from `start` to `end` are all ASCII. */
export function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/**
 * Sets an own data property, as JSON.parse does. A key Object.prototype has ('__proto__',
 * 'toString', 'constructor'...) is defined rather than assigned: assigning '__proto__' would set
 * the prototype, and assigning over a frozen prototype's property would fail. The names are taken
 * once, and looked up only for keys that start like one of them (an `in` test on every key costs
 * about a tenth of a message's decoding).
 */
export function setOwn(o: Record<string, AmqpValue>, key: string, v: AmqpValue): void {
  const c = key.charCodeAt(0);
  if (c < 128 && PROTO_FIRST[c] === 1 && PROTO_NAMES.has(key)) {
    Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  } else o[key] = v;
}
const PROTO_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));
const PROTO_FIRST = new Uint8Array(128);
for (const name of PROTO_NAMES) if (name.charCodeAt(0) < 128) PROTO_FIRST[name.charCodeAt(0)] = 1;

/**
 * The array index a key names ('0', '1', ... up to 2^32 - 2), or -1. A JavaScript object lists
 * such keys first, in ascending order, whatever order they were set in.
 */
function arrayIndex(key: string): number {
  const n = key.length;
  if (n === 0 || n > 10) return -1;
  if (key.charCodeAt(0) === 48) return n === 1 ? 0 : -1; // '0', but not '01'
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= 4294967294 ? v : -1;
}

/** How maps decode: see DecodeOptions.maps. */
export type MapForm = 'object' | 'map';

/** Options of decodeValue and decodeMessage. */
export interface DecodeOptions {
  /**
   * 'object' (the default): a map whose keys are all strings decodes to a plain object (in
   * annotations, the footer and `fields`, where the spec makes keys symbols: all symbols, by
   * name), and any other map to a Map, so that encoding the result gives the same bytes. 'map':
   * every map decodes to a Map, its keys as they came (symbols as AmqpSymbol).
   */
  maps?: MapForm;
  /** Nesting limit (default DEFAULT_MAX_DEPTH). */
  maxDepth?: number;
}

/** Checks options from JavaScript callers: a misspelt form is a bug to report, not a default. */
export function objectMapsOf(options: DecodeOptions | undefined): boolean {
  const maps = options?.maps;
  if (maps === undefined || maps === 'object') return true;
  if (maps === 'map') return false;
  throw new AmqpOneError('AMQP_INVALID_ARGUMENT', `maps must be 'object' or 'map', got ${String(maps)}`);
}

/**
 * Small keyed maps are read into scratch slots first (see keyedMap). A map nested in another's
 * value takes the slots after its parent's, up to SCRATCH_SLOTS; deeper ones use keyed stores.
 */
const SCRATCH_PAIRS = 8;
const SCRATCH_SLOTS = 64;
const scratchKeys: string[] = new Array<string>(SCRATCH_SLOTS).fill('');
const scratchVals: AmqpValue[] = new Array<AmqpValue>(SCRATCH_SLOTS).fill(null);
let scratchEnabled = true;

/** Test hook: read small keyed maps through the scratch arrays (the default) or with keyed stores. */
export function setKeyedMapScratch(on: boolean): void {
  scratchEnabled = on;
}

/** Test hook: how many scratch slots still hold a value (none, between decodes). */
export function heldScratchValues(): number {
  return scratchVals.filter((v) => v !== null).length;
}

/** Reads AMQP values from a buffer, checking every size and count against the bytes present. */
export class Decoder {
  /** In Node a Buffer (see bytes.ts `view`), so that binary values, its subarrays, are Buffers too. */
  buf: Uint8Array;
  pos: number;
  end: number;
  depth = 0;
  maxDepth: number;
  /** Maps as plain objects where their keys allow (DecodeOptions.maps 'object'), else always Maps. */
  objectMaps = true;
  /** The first scratch slot free for a keyed map (see keyedMap). */
  private scratchTop = 0;

  constructor(buf: Uint8Array, pos = 0, end = buf.length, maxDepth = DEFAULT_MAX_DEPTH) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    // Deeper than this, recursion would exhaust the stack before the limit could speak.
    this.maxDepth = Math.min(maxDepth, MAX_DEPTH_LIMIT);
  }

  /** Throws a DecodeError with the offset where decoding failed. */
  fail(code: DecodeErrorCode, message: string, at = this.pos): never {
    // A map being read keeps its values in the shared scratch slots: let them go with the input.
    // Every throw while a map is open comes through here (the composite readers, which throw
    // their own errors, never run inside a map).
    if (this.scratchTop > 0) {
      scratchVals.fill(null, 0, this.scratchTop);
      this.scratchTop = 0;
    }
    throw new DecodeError(code, message, at);
  }

  /** Checks that `n` more bytes are there. */
  need(n: number): void {
    if (this.pos + n > this.end)
      this.fail('AMQP_DECODE_TRUNCATED', `need ${n} bytes, ${this.end - this.pos} left`);
  }

  /** Reads an unsigned byte. */
  u8(): number {
    if (this.pos >= this.end) this.fail('AMQP_DECODE_TRUNCATED', 'unexpected end of input');
    return this.buf[this.pos++]!;
  }

  /** Reads an unsigned 16-bit big-endian integer. */
  u16(): number {
    this.need(2);
    const v = readU16(this.buf, this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads an unsigned 32-bit big-endian integer. */
  u32(): number {
    this.need(4);
    const v = readU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  /** A view of the next `n` bytes. */
  slice(n: number): Buffer {
    this.need(n);
    const s = this.buf.subarray(this.pos, this.pos + n) as Buffer;
    this.pos += n;
    return s;
  }

  /** Decodes `n` bytes of UTF-8, rejecting invalid sequences; `ascii` (symbols) allows ASCII only. */
  utf8(n: number, ascii = false): string {
    this.need(n);
    const buf = this.buf;
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    if (n === 0) return '';
    for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return this.utf8Slow(start, end, ascii);
    // ASCII: in Node, its latin1Slice binding directly, without toString's checks (bytes.ts).
    return asciiSlice(buf, start, end);
  }

  private utf8Slow(start: number, end: number, ascii: boolean): string {
    const s = utf8Slice(this.buf, start, end);
    if (s === undefined) this.fail('AMQP_DECODE_INVALID_UTF8', 'invalid UTF-8', start);
    // Symbols are ASCII (spec 1.6.21): a valid but non-ASCII one would not encode back either.
    if (ascii) this.fail('AMQP_DECODE_INVALID_VALUE', 'symbol is not ASCII', start);
    return s;
  }

  /** Counts one more level of nesting; fails past the maximum depth. */
  enter(): void {
    if (++this.depth > this.maxDepth)
      this.fail('AMQP_DECODE_TOO_DEEP', `nesting deeper than ${this.maxDepth}`);
  }

  /** Reads a compound's size and count; returns the offset where it must end. */
  compoundHeader(wide: boolean, minItemBytes: number): { end: number; count: number } {
    const at = this.pos;
    const size = wide ? this.u32() : this.u8();
    const sizeEnd = this.pos + size;
    if (sizeEnd > this.end)
      this.fail('AMQP_DECODE_BAD_SIZE', `size ${size} exceeds the ${this.end - this.pos} bytes left`, at);
    const widthOfCount = wide ? 4 : 1;
    if (size < widthOfCount) this.fail('AMQP_DECODE_BAD_SIZE', `size ${size} too small for its count`, at);
    const count = wide ? this.u32() : this.u8();
    if (count * minItemBytes > sizeEnd - this.pos) {
      this.fail('AMQP_DECODE_BAD_SIZE', `count ${count} does not fit in size ${size}`, at);
    }
    return { end: sizeEnd, count };
  }

  /** Reads the next value, whatever its type. */
  readValue(): AmqpValue {
    if (this.pos >= this.end) this.fail('AMQP_DECODE_TRUNCATED', 'unexpected end of input');
    return this.readBody(this.buf[this.pos++]!);
  }

  /** Reads the value after constructor `code`. */
  readBody(code: number): AmqpValue {
    const buf = this.buf;
    switch (code) {
      case Code.Null:
        return null;
      case Code.BooleanTrue:
        return true;
      case Code.BooleanFalse:
        return false;
      case Code.Boolean: {
        const b = this.u8();
        if (b > 1) this.fail('AMQP_DECODE_INVALID_VALUE', `boolean byte ${b}`, this.pos - 1);
        return b === 1;
      }
      case Code.Uint0:
        return new Typed('uint', 0);
      case Code.Ulong0:
        return new Typed('ulong', 0n);
      case Code.List0:
        return [];
      case Code.Ubyte:
        return new Typed('ubyte', this.u8());
      case Code.Byte:
        return new Typed('byte', (this.u8() << 24) >> 24);
      case Code.SmallUint:
        return new Typed('uint', this.u8());
      case Code.SmallUlong:
        return new Typed('ulong', BigInt(this.u8()));
      case Code.SmallInt:
        return (this.u8() << 24) >> 24;
      case Code.SmallLong:
        return BigInt((this.u8() << 24) >> 24);
      case Code.Ushort:
        return new Typed('ushort', this.u16());
      case Code.Short:
        return new Typed('short', (this.u16() << 16) >> 16);
      case Code.Uint:
        return new Typed('uint', this.u32());
      case Code.Int:
        this.need(4);
        this.pos += 4;
        return readI32(buf, this.pos - 4);
      case Code.Float:
        this.need(4);
        this.pos += 4;
        return new Typed('float', readF32(buf, this.pos - 4));
      case Code.Char:
        return new Typed('char', this.char());
      case Code.Decimal32:
        return new Typed('decimal32', this.slice(4));
      case Code.Ulong:
        this.need(8);
        this.pos += 8;
        return new Typed('ulong', readU64(buf, this.pos - 8));
      case Code.Long:
        this.need(8);
        this.pos += 8;
        return readI64(buf, this.pos - 8);
      case Code.Double: {
        this.need(8);
        this.pos += 8;
        const d = readF64(buf, this.pos - 8);
        // An integral double would come back as an int: keep its type.
        return (d | 0) === d ? new Typed('double', d) : d;
      }
      case Code.Timestamp:
        return this.timestamp();
      case Code.Decimal64:
        return new Typed('decimal64', this.slice(8));
      case Code.Decimal128:
        return new Typed('decimal128', this.slice(16));
      case Code.Uuid:
        this.need(16);
        this.pos += 16;
        return new Typed('uuid', uuidToString(buf, this.pos - 16));
      case Code.Vbin8:
        return this.slice(this.u8());
      case Code.Vbin32:
        return this.slice(this.u32());
      case Code.Str8:
        return this.utf8(this.u8());
      case Code.Str32:
        return this.utf8(this.u32());
      case Code.Sym8:
        return new AmqpSymbol(this.utf8(this.u8(), true));
      case Code.Sym32:
        return new AmqpSymbol(this.utf8(this.u32(), true));
      case Code.List8:
        return this.list(false);
      case Code.List32:
        return this.list(true);
      case Code.Map8:
        return this.map(false);
      case Code.Map32:
        return this.map(true);
      case Code.Array8:
        return this.array(false);
      case Code.Array32:
        return this.array(true);
      case Code.Described: {
        this.enter();
        const descriptor = this.readValue();
        const value = this.readValue();
        this.depth--;
        return new Described(descriptor, value);
      }
      default:
        return this.fail(
          'AMQP_DECODE_UNKNOWN_CONSTRUCTOR',
          `unknown constructor 0x${code.toString(16)}`,
          this.pos - 1,
        );
    }
  }

  /** Reads a char (a UTF-32 code point). */
  char(): string {
    const at = this.pos;
    const cp = this.u32();
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      this.fail('AMQP_DECODE_INVALID_VALUE', `char ${cp}`, at);
    return String.fromCodePoint(cp);
  }

  /** Reads a timestamp: a Date within the range of Date, else a Typed timestamp of the raw milliseconds. */
  timestamp(): Date | Typed<bigint> {
    this.need(8);
    // Two 32-bit halves: exact for every Date, and much cheaper than a BigInt.
    const hi = readI32(this.buf, this.pos);
    const n = hi * 4294967296 + readU32(this.buf, this.pos + 4);
    this.pos += 8;
    if (n >= -MAX_DATE_MS && n <= MAX_DATE_MS) return new Date(n);
    return new Typed('timestamp', readI64(this.buf, this.pos - 8));
  }

  /** Narrows `end` to a compound's declared size; returns the outer end for `leave`. */
  enterCompound(end: number): number {
    const outer = this.end;
    this.end = end;
    this.enter();
    return outer;
  }

  /** Checks the compound's declared size was used exactly, and restores the outer end. */
  leaveCompound(end: number, outer: number): void {
    if (this.pos !== end)
      this.fail('AMQP_DECODE_BAD_SIZE', `compound has ${end - this.pos} bytes past its items`);
    this.depth--;
    this.end = outer;
  }

  /** Reads a list8 or list32 body. */
  list(wide: boolean): AmqpValue[] {
    const { end, count } = this.compoundHeader(wide, 1);
    const outer = this.enterCompound(end);
    const items: AmqpValue[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = this.readValue();
    this.leaveCompound(end, outer);
    return items;
  }

  /** A map: a plain object when its keys are all strings and objectMaps is on (see keyedMap), else a Map. */
  map(wide: boolean): Record<string, AmqpValue> | AmqpMap {
    return this.objectMaps ? this.keyedMap(wide, false) : this.mapOf(wide);
  }

  /** A map as a Map, its keys as they came. */
  mapOf(wide: boolean): AmqpMap {
    const at = this.pos;
    const { end, count } = this.compoundHeader(wide, 1);
    if (count % 2 !== 0) this.fail('AMQP_DECODE_BAD_SIZE', `map with odd count ${count}`, at);
    const outer = this.enterCompound(end);
    const m = this.mapEntries(count);
    this.leaveCompound(end, outer);
    return m;
  }

  /**
   * `count` keys and values into a Map. A repeated key (one JavaScript compares by value: a string,
   * number, bigint, boolean or null) is refused, as in the object form: the Map would drop an entry.
   */
  private mapEntries(count: number): AmqpMap {
    return this.mapEntriesInto(new Map<AmqpValue, AmqpValue>(), count);
  }

  /** `count` more keys and values into `m` (see mapEntries). */
  private mapEntriesInto(m: AmqpMap, count: number): AmqpMap {
    for (let i = 0; i < count; i += 2) {
      const k = this.readValue();
      const v = this.readValue();
      if (m.has(k)) this.fail('AMQP_DECODE_INVALID_VALUE', `duplicate map key ${String(k)}`);
      m.set(k, v);
    }
    return m;
  }

  /**
   * A map whose keys are all strings (`symbolKeys` false: values, application properties) or all
   * symbols (`symbolKeys` true: annotations, the footer, fields), as a plain object whose own data
   * properties are the keys. Any other key, or keys in an order an object would not keep (array
   * indexes such as '1' after '2' or after a name: an object lists those first, ascending), makes
   * it a Map, so that nothing the peer sent is lost and it encodes back to the same bytes. A
   * repeated key is refused in either form.
   */
  keyedMap(wide: boolean, symbolKeys: boolean): Record<string, AmqpValue> | AmqpMap {
    const at = this.pos;
    const { end, count } = this.compoundHeader(wide, 1);
    if (count % 2 !== 0) this.fail('AMQP_DECODE_BAD_SIZE', `map with odd count ${count}`, at);
    const code8 = symbolKeys ? Code.Sym8 : Code.Str8;
    const code32 = symbolKeys ? Code.Sym32 : Code.Str32;
    const outer = this.enterCompound(end);
    const pairs = count >> 1;
    // Small maps: keys and values into scratch slots first, then into the object in one pass. A
    // map in one of the values (read by readValue, which comes back here) takes the next slots.
    const base = this.scratchTop;
    const small = scratchEnabled && pairs <= SCRATCH_PAIRS && base + pairs <= SCRATCH_SLOTS;
    if (small) this.scratchTop = base + pairs;
    const keys = scratchKeys;
    const vals = scratchVals;
    let o: Record<string, AmqpValue> | undefined = small ? undefined : {};
    let lastIndex = -1; // the last array-index key
    let named = false; // a key that is not an array index came
    for (let i = 0; i < pairs; i++) {
      const keyAt = this.pos;
      const code = this.u8();
      let key =
        code === code8 || code === code32
          ? this.cachedString(code === code8 ? this.u8() : this.u32(), symbolKeys)
          : undefined;
      if (key !== undefined) {
        const c = key.charCodeAt(0);
        const index = c >= 48 && c <= 57 ? arrayIndex(key) : -1;
        if (index < 0) named = true;
        else if (named || index <= lastIndex) key = undefined;
        else lastIndex = index;
      }
      // Not an object: the map is a Map. The entries read so far move into it in wire order (an
      // object lists them in that order too: indexes first, ascending, then names), and the rest
      // is read from this key on. Nothing is decoded twice: a rewind to the first entry would
      // read every nested value again, and maps nested n deep 2^n times.
      if (key === undefined) {
        const m = new Map<AmqpValue, AmqpValue>();
        const asKey = (k: string): AmqpValue => (symbolKeys ? new AmqpSymbol(k) : k);
        if (small) {
          for (let j = base; j < base + i; j++) m.set(asKey(keys[j]!), vals[j]!);
          for (let j = base; j < base + i; j++) vals[j] = null;
          this.scratchTop = base;
        } else {
          for (const k of Object.keys(o!)) m.set(asKey(k), o![k]!);
        }
        this.pos = keyAt;
        this.mapEntriesInto(m, count - 2 * i);
        this.leaveCompound(end, outer);
        return m;
      }
      const v = this.readValue();
      if (o === undefined) {
        for (let j = base; j < base + i; j++)
          if (keys[j] === key) this.fail('AMQP_DECODE_INVALID_VALUE', `duplicate map key ${key}`);
        keys[base + i] = key;
        vals[base + i] = v;
        continue;
      }
      // Decoded values are never undefined, so this is a cheap first test for a repeated key.
      if (o[key] !== undefined && Object.prototype.hasOwnProperty.call(o, key)) {
        this.fail('AMQP_DECODE_INVALID_VALUE', `duplicate map key ${key}`);
      }
      setOwn(o, key, v);
    }
    if (o === undefined) {
      o = {};
      for (let i = base; i < base + pairs; i++) setOwn(o, keys[i]!, vals[i]!);
      for (let i = base; i < base + pairs; i++) vals[i] = null; // hold no reference to the input
      this.scratchTop = base;
    }
    this.leaveCompound(end, outer);
    return o;
  }

  /**
   * A map key (or symbol field) of `n` bytes. Maps in messages repeat the same few keys, and
   * symbol fields the same few values, so recent ones are kept (see cachedAscii): a hit costs no
   * string building or UTF-8 check.
   */
  cachedString(n: number, ascii: boolean): string {
    if (n === 0 || n > MAX_CACHED_KEY) return this.utf8(n, ascii);
    this.need(n);
    const str = cachedAscii(this.buf, this.pos, n);
    if (str === undefined) return this.utf8(n, ascii);
    this.pos += n;
    return str;
  }

  /** Reads an array8 or array32 body. */
  array(wide: boolean): AmqpArray {
    const at = this.pos;
    const { end, count } = this.compoundHeader(wide, 0);
    const outer = this.enterCompound(end);
    let descriptor: AmqpValue | undefined;
    let code = this.u8();
    if (code === Code.Described) {
      descriptor = this.readValue();
      code = this.u8();
      if (code === Code.Described) this.fail('AMQP_DECODE_INVALID_VALUE', 'array of doubly described values');
    }
    const el = ELEMENT_OF_CODE[code];
    if (el === undefined)
      this.fail('AMQP_DECODE_UNKNOWN_CONSTRUCTOR', `0x${code.toString(16)} as array element`);
    const [elementType, width] = el;
    // Zero-width elements cost no bytes: bound their count by the input's size (8 per byte, and
    // any array8), so that a few bytes cannot make us build billions of items.
    if (width === 0 ? count > 255 && count > 8 * this.buf.length : count * width > end - this.pos) {
      this.fail('AMQP_DECODE_BAD_SIZE', `array count ${count} does not fit in its size`, at);
    }
    const items: AmqpValue[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = this.element(code);
    this.leaveCompound(end, outer);
    return new AmqpArray(elementType, items, descriptor);
  }

  /** An array element in its plain form (no wrapper: the type lives on the array). */
  element(code: number): AmqpValue {
    switch (code) {
      case Code.Uint0:
        return 0;
      case Code.Ulong0:
        return 0n;
      case Code.Ubyte:
      case Code.SmallUint:
        return this.u8();
      case Code.Byte:
        return (this.u8() << 24) >> 24;
      case Code.Ushort:
        return this.u16();
      case Code.Short:
        return (this.u16() << 16) >> 16;
      case Code.Uint:
        return this.u32();
      case Code.SmallUlong:
        return BigInt(this.u8());
      case Code.Ulong:
        this.need(8);
        this.pos += 8;
        return readU64(this.buf, this.pos - 8);
      case Code.Float:
        this.need(4);
        this.pos += 4;
        return readF32(this.buf, this.pos - 4);
      case Code.Double:
        this.need(8);
        this.pos += 8;
        return readF64(this.buf, this.pos - 8);
      case Code.Char:
        return this.char();
      case Code.Timestamp: {
        const t = this.timestamp();
        return t instanceof Typed ? t.value : t;
      }
      case Code.Decimal32:
        return this.slice(4);
      case Code.Decimal64:
        return this.slice(8);
      case Code.Decimal128:
        return this.slice(16);
      case Code.Uuid:
        this.need(16);
        this.pos += 16;
        return uuidToString(this.buf, this.pos - 16);
      case Code.Sym8:
        return this.utf8(this.u8(), true);
      case Code.Sym32:
        return this.utf8(this.u32(), true);
      default:
        return this.readBody(code);
    }
  }
}

/** Element type and fixed width (0 for zero-width, 1 as the minimum for variable ones) per code. */
export const ELEMENT_OF_CODE: Partial<Record<number, readonly [ElementType, number]>> = {
  [Code.BooleanTrue]: ['boolean', 0],
  [Code.BooleanFalse]: ['boolean', 0],
  [Code.Boolean]: ['boolean', 1],
  [Code.Uint0]: ['uint', 0],
  [Code.Ulong0]: ['ulong', 0],
  [Code.List0]: ['list', 0],
  [Code.Ubyte]: ['ubyte', 1],
  [Code.Byte]: ['byte', 1],
  [Code.SmallUint]: ['uint', 1],
  [Code.SmallUlong]: ['ulong', 1],
  [Code.SmallInt]: ['int', 1],
  [Code.SmallLong]: ['long', 1],
  [Code.Ushort]: ['ushort', 2],
  [Code.Short]: ['short', 2],
  [Code.Uint]: ['uint', 4],
  [Code.Int]: ['int', 4],
  [Code.Float]: ['float', 4],
  [Code.Char]: ['char', 4],
  [Code.Decimal32]: ['decimal32', 4],
  [Code.Ulong]: ['ulong', 8],
  [Code.Long]: ['long', 8],
  [Code.Double]: ['double', 8],
  [Code.Timestamp]: ['timestamp', 8],
  [Code.Decimal64]: ['decimal64', 8],
  [Code.Decimal128]: ['decimal128', 16],
  [Code.Uuid]: ['uuid', 16],
  [Code.Vbin8]: ['binary', 1],
  [Code.Vbin32]: ['binary', 4],
  [Code.Str8]: ['string', 1],
  [Code.Str32]: ['string', 4],
  [Code.Sym8]: ['symbol', 1],
  [Code.Sym32]: ['symbol', 4],
  [Code.List8]: ['list', 2],
  [Code.List32]: ['list', 8],
  [Code.Map8]: ['map', 2],
  [Code.Map32]: ['map', 8],
  [Code.Array8]: ['array', 3],
  [Code.Array32]: ['array', 9],
};

/**
 * Decodes exactly one value from `bytes`. Maps come back as plain objects where their keys allow
 * (see DecodeOptions.maps); a number as the second argument is the nesting limit.
 */
export function decodeValue(
  bytes: Uint8Array,
  options: number | DecodeOptions = DEFAULT_MAX_DEPTH,
): AmqpValue {
  const buf = view(bytes);
  const o = typeof options === 'number' ? undefined : options;
  const d = new Decoder(
    buf,
    0,
    buf.length,
    typeof options === 'number' ? options : (o?.maxDepth ?? DEFAULT_MAX_DEPTH),
  );
  d.objectMaps = objectMapsOf(o);
  const v = d.readValue();
  if (d.pos !== buf.length)
    d.fail('AMQP_DECODE_TRAILING_BYTES', `${buf.length - d.pos} bytes after the value`);
  return v;
}
