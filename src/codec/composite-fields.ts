/**
 * The field codecs the generated composite readers and writers (spec/composites.ts) call: one
 * reader and one writer per field kind, and the described-list frame around the fields. A kind is
 * what a field's spec type resolves to (restricted types followed to their source); the generator
 * picks it once per field, so nothing here looks at the spec table at run time.
 *
 * Readers get the constructor byte already read (`c`) and the field's spec name for errors; a null
 * comes back as null, and the generated reader leaves the key absent. Writers check that the value
 * fits the kind, since records come from plain JavaScript too.
 */
import type { ByteWriter } from './byte-writer.js';
import { readU32, readU64, utf8Encode, writeU32 } from './bytes.js';
import type { Decoder } from './decoder.js';
import {
  encodeBinary,
  encodeBoolean,
  encodeObjectMap,
  encodeString,
  encodeSymbol,
  encodeTimestamp,
  encodeUint,
  encodeUlong,
  encodeValue,
} from './encoder.js';
import { DecodeError, EncodeError } from './errors.js';
import { Code } from './format-codes.js';
import type { CompositeRecord } from './spec/records.js';
import type { CompositeType } from './spec/types.js';
import { AmqpArray, AmqpSymbol, Typed, isPlainObject, type AmqpMap, type AmqpValue } from './values.js';

/** One composite's generated codec. */
export interface CompositeCodec {
  /** The spec name: 'open', 'sasl-init', ... */
  name: string;
  /** The numeric descriptor (every spec composite's fits in 32 bits). */
  code: number;
  type: CompositeType;
  /** The number of fields the spec defines. */
  fields: number;
  /** Reads the first `n` list items into `r`, each under its record key; nulls leave the key absent. */
  read(d: Decoder, n: number, r: Record<string, unknown>): void;
  /** Writes the record as a described list; `r.type` is not looked at. */
  write(w: ByteWriter, r: object): void;
  /** The mandatory fields, [record key, spec name], checked after decoding. */
  mandatory: readonly (readonly [string, string])[];
}

export type CodecLookup<K> = (key: K) => CompositeCodec | undefined;

// ---------------------------------------------------------------- decoding

export function wrongType(d: Decoder, field: string, kind: string, c: number): never {
  return d.fail(
    'AMQP_DECODE_WRONG_TYPE',
    `field ${field} (${kind}) cannot be constructor 0x${c.toString(16)}`,
    d.pos - 1,
  );
}

export function readBoolean(d: Decoder, c: number, field: string): boolean | null {
  if (c === Code.BooleanTrue) return true;
  if (c === Code.BooleanFalse) return false;
  if (c === Code.Null) return null;
  if (c === Code.Boolean) return d.readBody(c) as boolean;
  return wrongType(d, field, 'boolean', c);
}

export function readUbyte(d: Decoder, c: number, field: string): number | null {
  if (c === Code.Ubyte) return d.u8();
  if (c === Code.Null) return null;
  return wrongType(d, field, 'ubyte', c);
}

export function readUshort(d: Decoder, c: number, field: string): number | null {
  if (c === Code.Ushort) return d.u16();
  if (c === Code.Null) return null;
  return wrongType(d, field, 'ushort', c);
}

export function readUint(d: Decoder, c: number, field: string): number | null {
  if (c === Code.SmallUint) return d.u8();
  if (c === Code.Uint0) return 0;
  if (c === Code.Uint) return d.u32();
  if (c === Code.Null) return null;
  return wrongType(d, field, 'uint', c);
}

export function readUlong(d: Decoder, c: number, field: string): number | bigint | null {
  if (c === Code.SmallUlong) return d.u8();
  if (c === Code.Ulong0) return 0;
  if (c === Code.Ulong) {
    d.need(8);
    const v = readU64(d.buf, d.pos);
    d.pos += 8;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (c === Code.Null) return null;
  return wrongType(d, field, 'ulong', c);
}

/** Symbols are from a small vocabulary (content types, capabilities...): cached. */
export function readSymbol(d: Decoder, c: number, field: string): string | null {
  if (c === Code.Sym8) return d.cachedString(d.u8(), true);
  if (c === Code.Sym32) return d.utf8(d.u32(), true);
  if (c === Code.Null) return null;
  return wrongType(d, field, 'symbol', c);
}

export function readString(d: Decoder, c: number, field: string): string | null {
  if (c === Code.Str8) return d.utf8(d.u8());
  if (c === Code.Str32) return d.utf8(d.u32());
  if (c === Code.Null) return null;
  return wrongType(d, field, 'string', c);
}

export function readBinary(d: Decoder, c: number, field: string): Buffer | null {
  if (c === Code.Vbin8) return d.slice(d.u8());
  if (c === Code.Vbin32) return d.slice(d.u32());
  if (c === Code.Null) return null;
  return wrongType(d, field, 'binary', c);
}

export function readTimestamp(d: Decoder, c: number, field: string): Date | Typed<bigint> | null {
  if (c === Code.Timestamp) return d.timestamp();
  if (c === Code.Null) return null;
  return wrongType(d, field, 'timestamp', c);
}

/**
 * fields, annotations, filter-set and node-properties: maps keyed by symbols, a plain object of
 * the symbols' names when every key is one (else a Map: Decoder.keyedMap).
 */
export function readFields(d: Decoder, c: number, field: string): Record<string, AmqpValue> | AmqpMap | null {
  if (c === Code.Map8 || c === Code.Map32) {
    return d.objectMaps ? d.keyedMap(c === Code.Map32, true) : d.mapOf(c === Code.Map32);
  }
  if (c === Code.Null) return null;
  return wrongType(d, field, 'fields', c);
}

/** A map field (attach's unsettled, keyed by delivery tags): always a Map, as its record type says. */
export function readMap(d: Decoder, c: number, field: string): AmqpMap | null {
  if (c === Code.Map8 || c === Code.Map32) return d.mapOf(c === Code.Map32);
  if (c === Code.Null) return null;
  return wrongType(d, field, 'map', c);
}

/** message-id is any of four types: read as it came. */
export function readMessageId(d: Decoder, c: number): AmqpValue {
  return d.readBody(c);
}

/** A field of one composite type (an error): anything else is refused. */
export function readCompositeField(
  d: Decoder,
  c: number,
  field: string,
  composite: string,
  readComposite: (d: Decoder) => CompositeRecord | undefined,
): CompositeRecord | null {
  if (c === Code.Null) return null;
  if (c !== Code.Described) return wrongType(d, field, 'composite', c);
  d.pos--;
  const rec = readComposite(d);
  if (!rec || rec.type !== composite) {
    return d.fail('AMQP_DECODE_WRONG_TYPE', `field ${field} must hold ${composite}`);
  }
  return rec;
}

/**
 * A '*' field (and an address: read as anything, so that a peer's oddity is kept, though only
 * strings are written): a known composite as its record, anything else as a value.
 */
export function readAny(
  d: Decoder,
  c: number,
  readComposite: (d: Decoder) => CompositeRecord | undefined,
): AmqpValue | CompositeRecord {
  if (c === Code.Described) {
    d.pos--;
    const rec = readComposite(d);
    if (rec) return rec;
    d.pos++;
  }
  return d.readBody(c);
}

/**
 * A multiple symbol field (capabilities, locales, mechanisms, outcomes: the only multiples in the
 * spec): a single symbol or an array of them, always returned as an array.
 */
export function readSymbols(d: Decoder, field: string): string[] | null {
  const c = d.u8();
  if (c === Code.Null) return null;
  if (c !== Code.Array8 && c !== Code.Array32) return [readSymbol(d, c, field)!];
  const arr = d.array(c === Code.Array32);
  if (arr.elementType !== 'symbol') {
    d.fail('AMQP_DECODE_WRONG_TYPE', `field ${field} cannot be an array of ${arr.elementType}`);
  }
  return arr.items as string[];
}

/** The list constructor at d.pos (list0, list8 or list32) and its header: its count and end. */
export function readListHeader(d: Decoder, name: string): { count: number; end: number } {
  const at = d.pos;
  const code = d.u8();
  if (code === Code.List0) return { count: 0, end: d.pos };
  if (code === Code.List8 || code === Code.List32) return d.compoundHeader(code === Code.List32, 1);
  return d.fail('AMQP_DECODE_WRONG_TYPE', `${name} must be a list, got 0x${code.toString(16)}`, at);
}

/**
 * Reads a described list's header and items as composite `codec`, from its list constructor on;
 * `tagged` adds `type: name` (message sections have none).
 */
export function readListBody(d: Decoder, codec: CompositeCodec, tagged: boolean): CompositeRecord {
  const at = d.pos;
  const { count, end } = readListHeader(d, codec.name);
  const outerEnd = d.end;
  d.end = end;
  d.enter();
  const rec: Record<string, unknown> = tagged ? { type: codec.name } : {};
  const n = Math.min(count, codec.fields);
  codec.read(d, n, rec);
  // Items past the fields the spec knows are skipped (a later version may add fields).
  for (let i = n; i < count; i++) d.readValue();
  if (d.pos !== end) d.fail('AMQP_DECODE_BAD_SIZE', `${codec.name} list has bytes past its items`);
  d.depth--;
  d.end = outerEnd;
  const mandatory = codec.mandatory;
  for (let i = 0; i < mandatory.length; i++) {
    const [key, name] = mandatory[i]!;
    if (rec[key] === undefined) {
      throw new DecodeError(
        'AMQP_DECODE_MISSING_FIELD',
        `${codec.name}: mandatory field ${name} is missing`,
        at,
      );
    }
  }
  return rec as unknown as CompositeRecord;
}

/**
 * Reads a composite at d.pos: the 0x00 constructor, a ulong or symbol descriptor, then a list.
 * Returns undefined (with d.pos unchanged) when the descriptor is not a known composite.
 */
export function readDescribed(
  d: Decoder,
  byCode: CodecLookup<number>,
  bySymbol: CodecLookup<string>,
): CompositeRecord | undefined {
  const start = d.pos;
  if (d.u8() !== Code.Described) d.fail('AMQP_DECODE_WRONG_TYPE', 'expected a described type', start);
  let c: CompositeCodec | undefined;
  const code = d.u8();
  switch (code) {
    case Code.SmallUlong:
      c = byCode(d.u8());
      break;
    case Code.Ulong: {
      d.need(8);
      const hi = readU32(d.buf, d.pos);
      const lo = readU32(d.buf, d.pos + 4);
      d.pos += 8;
      c = hi === 0 ? byCode(lo) : undefined;
      break;
    }
    case Code.Ulong0:
      break;
    case Code.Sym8:
      c = bySymbol(d.utf8(d.u8(), true));
      break;
    case Code.Sym32:
      c = bySymbol(d.utf8(d.u32(), true));
      break;
    default:
      d.readBody(code);
  }
  if (!c) {
    d.pos = start;
    return undefined;
  }
  return readListBody(d, c, true);
}

// ---------------------------------------------------------------- encoding

function fieldError(field: string, v: unknown): EncodeError {
  return new EncodeError(
    `field ${field} cannot hold ${typeof v === 'object' ? String(v) : typeof v}: ${String(v)}`,
  );
}

export function mandatoryError(composite: string, field: string): EncodeError {
  return new EncodeError(`${composite}: ${field} is mandatory`);
}

/**
 * Writes the descriptor and the list header of a composite with `count` items (trailing nulls
 * omitted); returns where the list starts, for endList.
 */
export function beginList(w: ByteWriter, code: number, count: number): number {
  w.ensure(4);
  w.buf[w.pos++] = Code.Described;
  encodeUlong(w, code);
  const at = w.pos;
  if (count === 0) {
    w.buf[w.pos++] = Code.List0;
    return at;
  }
  w.ensure(3);
  w.buf[at] = Code.List8;
  w.pos += 3;
  return at;
}

/** Fills in the list's size and count, widening it to a list32 when the items took over 254 bytes. */
export function endList(w: ByteWriter, at: number, count: number): void {
  if (count === 0) return;
  const size = w.pos - at - 2;
  if (size <= 255) {
    w.buf[at + 1] = size;
    w.buf[at + 2] = count;
  } else {
    const len = w.pos - at - 3;
    w.ensure(6);
    w.buf.copyWithin(at + 9, at + 3, at + 3 + len);
    w.buf[at] = Code.List32;
    writeU32(w.buf, len + 4, at + 1);
    writeU32(w.buf, count, at + 5);
    w.pos = at + 9 + len;
  }
}

export function writeNull(w: ByteWriter): void {
  w.u8(Code.Null);
}

export function writeBoolean(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v !== 'boolean') throw fieldError(field, v);
  encodeBoolean(w, v);
}

export function writeUbyte(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 0xff && Number.isInteger(v))) throw fieldError(field, v);
  w.u8(Code.Ubyte);
  w.u8(v);
}

export function writeUshort(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 0xffff && Number.isInteger(v))) throw fieldError(field, v);
  w.u8(Code.Ushort);
  w.u16(v);
}

export function writeUint(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 0xffffffff && Number.isInteger(v)))
    throw fieldError(field, v);
  encodeUint(w, v);
}

export function writeUlong(w: ByteWriter, v: unknown, field: string): void {
  if (
    typeof v === 'number'
      ? !(v >= 0 && Number.isSafeInteger(v))
      : typeof v !== 'bigint' || v < 0n || v >= 1n << 64n
  ) {
    throw fieldError(field, v);
  }
  encodeUlong(w, v as number | bigint);
}

export function writeSymbol(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v === 'string') return encodeSymbol(w, v);
  if (v instanceof AmqpSymbol) return encodeSymbol(w, v.value);
  throw fieldError(field, v);
}

export function writeString(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v !== 'string') throw fieldError(field, v);
  encodeString(w, v, Code.Str8, Code.Str32);
}

export function writeBinary(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v === 'string') return encodeBinary(w, utf8Encode(v));
  if (!(v instanceof Uint8Array)) throw fieldError(field, v);
  encodeBinary(w, v);
}

export function writeTimestamp(w: ByteWriter, v: unknown, field: string): void {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return encodeTimestamp(w, v.getTime());
  if (typeof v === 'number') return encodeTimestamp(w, v);
  // A timestamp outside Date's range decodes as Typed('timestamp', bigint): write it back as it came.
  if (v instanceof Typed && v.type === 'timestamp' && typeof v.value === 'bigint')
    return encodeTimestamp(w, v.value);
  throw fieldError(field, v);
}

export function writeFields(w: ByteWriter, v: unknown, field: string): void {
  if (isPlainObject(v)) return encodeObjectMap(w, v, 0, true);
  if (v instanceof Map) return encodeValue(w, v);
  throw fieldError(field, v);
}

export function writeMap(w: ByteWriter, v: unknown): void {
  encodeValue(w, v as AmqpValue);
}

/**
 * message-id is ulong | uuid | binary | string (spec 3.2.11-14): a peer would refuse any other
 * type. A plain integer (number or bigint) can only be a ulong.
 */
export function writeMessageId(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v === 'string') return encodeString(w, v, Code.Str8, Code.Str32);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return encodeUlong(w, v);
  if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return encodeUlong(w, v);
  if (v instanceof Uint8Array) return encodeBinary(w, v);
  if (v instanceof Typed && (v.type === 'ulong' || v.type === 'uuid')) return encodeValue(w, v);
  throw fieldError(field, v);
}

/** The only address type is address-string (spec 3.5.8). */
export function writeAddress(w: ByteWriter, v: unknown, field: string): void {
  if (typeof v !== 'string') throw fieldError(field, v);
  encodeString(w, v, Code.Str8, Code.Str32);
}

/**
 * A field of one composite type: any plain object is taken as that record (whatever its `type`
 * says), since the composite's writer checks each of its fields in turn.
 */
export function compositeValue<T extends object>(v: unknown, field: string): T {
  if (!isPlainObject(v)) throw fieldError(field, v);
  return v as T;
}

/** A '*' field: a record naming a known composite (an outcome, a source...) is written as that composite. */
export function writeAny(w: ByteWriter, v: unknown, byName: CodecLookup<string>): void {
  if (isPlainObject(v) && typeof v.type === 'string') {
    const c = byName(v.type);
    if (c) return c.write(w, v);
  }
  encodeValue(w, v as AmqpValue);
}

/** A multiple symbol field: an array is written as an AMQP array of symbols, a single value as itself. */
export function writeSymbols(w: ByteWriter, v: unknown, field: string): void {
  if (!Array.isArray(v)) return writeSymbol(w, v, field);
  for (const x of v) if (x === null || x === undefined) throw fieldError(field, x);
  encodeValue(
    w,
    new AmqpArray(
      'symbol',
      v.map((x) => String(x)),
    ),
  );
}
