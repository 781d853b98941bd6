/**
 * Encodes and decodes every composite type (performatives, sections, outcomes, terminus, SASL,
 * transactions) from the declarative table in spec-types.ts. Each field's codec is chosen once,
 * at load, from its spec type; records are plain objects `{ type: 'open', containerId, ... }`.
 */
import type { ByteWriter } from './byte-writer.js';
import { Decoder } from './decoder.js';
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
import { compositeTypes, restrictedTypes, type CompositeType, type FieldSpec } from './spec-types.js';
import type { CompositeRecord, Transfer } from './records.js';
import { AmqpArray, AmqpSymbol, Typed, isPlainObject, type AmqpValue } from './values.js';

/** How a field's value is written and read, by its resolved spec type. */
type Kind =
  | 'boolean'
  | 'ubyte'
  | 'ushort'
  | 'uint'
  | 'ulong'
  | 'symbol'
  | 'string'
  | 'binary'
  | 'timestamp'
  | 'fields'
  | 'map'
  | 'message-id'
  | 'address'
  | 'composite'
  | 'any';

interface FieldCodec {
  key: string;
  name: string;
  kind: Kind;
  mandatory: boolean;
  multiple: boolean;
  /** For kind 'composite': the one composite type the field holds. */
  composite?: string;
}

interface CompiledType {
  type: CompositeType;
  code: bigint;
  codeNumber: number;
  fields: FieldCodec[];
  /** Reads the record's fields, in list order, into an array. */
  extract: (rec: Record<string, unknown>) => unknown[];
  /** Reads the first `n` list items into `rec` with named stores (see makeFieldReader). */
  readFields: FieldReader | undefined;
  /** The mandatory fields, checked after decoding. */
  mandatory: FieldCodec[];
}

type FieldReader = (
  d: Decoder,
  n: number,
  rec: Record<string, unknown>,
  fields: FieldCodec[],
  readField: (d: Decoder, f: FieldCodec, code: number) => unknown,
  readMultiple: (d: Decoder, f: FieldCodec) => unknown[] | null,
) => void;

/**
 * Builds a field extractor with plain named property reads (`r.handle, r.deliveryId, ...`): V8
 * optimises these far better than `rec[key]` in a loop over varying record shapes. The keys come
 * from our own table (camelCase identifiers). Where code generation is not allowed (a CSP), the
 * generic loop is used instead.
 */
function makeExtractor(keys: string[]): (rec: Record<string, unknown>) => unknown[] {
  if (keys.every((k) => /^[A-Za-z_$][\w$]*$/.test(k))) {
    try {
      return new Function('r', `return [${keys.map((k) => `r.${k}`).join(', ')}];`) as (
        rec: Record<string, unknown>,
      ) => unknown[];
    } catch {
      /* code generation refused: fall through */
    }
  }
  return (rec) => keys.map((k) => rec[k]);
}

/**
 * The usual encoding of a field of each kind, read inline by the generated readers (`c` is the
 * constructor byte); anything else, null included, goes to readField as $GENERIC. Each must give
 * what readField gives for that constructor.
 */
const FAST_READS: Partial<Record<Kind, string>> = {
  boolean: `c === ${Code.BooleanTrue} ? true : c === ${Code.BooleanFalse} ? false : $GENERIC`,
  uint: `c === ${Code.SmallUint} ? d.u8() : c === ${Code.Uint0} ? 0 : $GENERIC`,
  string: `c === ${Code.Str8} ? d.utf8(d.u8(), false) : $GENERIC`,
  symbol: `c === ${Code.Sym8} ? d.cachedString(d.u8(), true) : $GENERIC`,
  timestamp: `c === ${Code.Timestamp} ? d.timestamp() : $GENERIC`,
  'message-id': `c === ${Code.Str8} ? d.utf8(d.u8(), false) : $GENERIC`,
};

/**
 * Builds the decode counterpart of makeExtractor: one straight-line function per composite that
 * reads field i and stores it as `rec.key` (a named, monomorphic store) instead of `rec[f.key]` in a
 * loop (a megamorphic keyed store). Undefined where code generation is not allowed: the generic
 * loop in readCompositeBody is used then (and always under `setGenericCompositeReader(true)`).
 */
function makeFieldReader(fields: FieldCodec[]): FieldReader | undefined {
  if (!fields.every((f) => /^[A-Za-z_$][\w$]*$/.test(f.key) && f.key !== '__proto__')) return undefined;
  const body = fields
    .map((f, i) => {
      const generic = `rf(d, F[${i}], c)`;
      const fast = f.multiple ? undefined : FAST_READS[f.kind];
      const read =
        fast === undefined
          ? f.multiple
            ? `rm(d, F[${i}])`
            : `rf(d, F[${i}], d.u8())`
          : `(c = d.u8(), ${fast.replace('$GENERIC', generic)})`;
      return `if (n <= ${i}) return; v = ${read}; if (v !== null) r.${f.key} = v;`;
    })
    .join('\n');
  try {
    return new Function('d', 'n', 'r', 'F', 'rf', 'rm', `let v, c;\n${body}`) as FieldReader;
  } catch {
    return undefined;
  }
}

let genericReader = false;

/** Test hook: decode composites through the generic field loop instead of the generated readers. */
export function setGenericCompositeReader(on: boolean): void {
  genericReader = on;
}

const PRIMITIVE_KINDS: Partial<Record<string, Kind>> = {
  boolean: 'boolean',
  ubyte: 'ubyte',
  ushort: 'ushort',
  uint: 'uint',
  ulong: 'ulong',
  symbol: 'symbol',
  string: 'string',
  binary: 'binary',
  timestamp: 'timestamp',
  map: 'map',
};

function kindOf(f: FieldSpec): { kind: Kind; composite?: string } {
  if (f.type === '*') {
    if (f.requires === 'message-id') return { kind: 'message-id' };
    return { kind: f.requires === 'address' ? 'address' : 'any' };
  }
  if (compositeTypes[f.type]) return { kind: 'composite', composite: f.type };
  let t = f.type;
  for (let i = 0; i < 8; i++) {
    // fields, annotations, filter-set and node-properties are maps keyed by symbols.
    if (t === 'fields' || t === 'annotations' || t === 'filter-set') return { kind: 'fields' };
    const k = PRIMITIVE_KINDS[t];
    if (k) return { kind: k };
    const r = restrictedTypes[t];
    if (!r) break;
    t = r.source;
  }
  throw new Error(`no codec for spec type ${f.type}`);
}

const byName = new Map<string, CompiledType>();
const byCode = new Map<number, CompiledType>();
const bySymbol = new Map<string, CompiledType>();

for (const type of Object.values(compositeTypes)) {
  const compiled: CompiledType = {
    type,
    code: type.code,
    codeNumber: Number(type.code),
    fields: type.fields.map((f) => ({
      key: f.key,
      name: f.name,
      mandatory: f.mandatory,
      multiple: f.multiple,
      ...kindOf(f),
    })),
    extract: makeExtractor(type.fields.map((f) => f.key)),
    readFields: undefined,
    mandatory: [],
  };
  compiled.mandatory = compiled.fields.filter((f) => f.mandatory);
  compiled.readFields = makeFieldReader(compiled.fields);
  byName.set(type.name, compiled);
  byCode.set(compiled.codeNumber, compiled);
  bySymbol.set(type.descriptorName, compiled);
}

/** Looks up a composite by numeric descriptor. */
export function compositeForCode(code: number | bigint): CompositeType | undefined {
  return byCode.get(Number(code))?.type;
}

// ---------------------------------------------------------------- encoding

/** Writes a composite record as a described list (descriptor as smallulong/ulong). */
export function encodeComposite(w: ByteWriter, rec: CompositeRecord | { type: string }): void {
  encodeCompositeAs(w, rec.type, rec);
}

/** Writes `rec` as the composite `name`, whatever its `type` key says (message sections have none). */
export function encodeCompositeAs(w: ByteWriter, name: string, rec: object): void {
  const c = byName.get(name);
  if (!c) throw new EncodeError(`unknown composite type: ${String(name)}`);
  writeComposite(w, c, rec as Record<string, unknown>);
}

function writeComposite(w: ByteWriter, c: CompiledType, rec: Record<string, unknown>): void {
  const fields = c.fields;
  const values = c.extract(rec);
  // Trailing nulls are omitted: find the last present field.
  let last = -1;
  for (let i = fields.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== undefined && v !== null) {
      last = i;
      break;
    }
  }
  w.ensure(4);
  w.buf[w.pos++] = Code.Described;
  encodeUlong(w, c.codeNumber);
  if (last < 0) {
    for (const f of fields) if (f.mandatory) throw new EncodeError(`${c.type.name}: ${f.name} is mandatory`);
    w.buf[w.pos++] = Code.List0;
    return;
  }
  const at = w.pos;
  w.ensure(3);
  w.buf[at] = Code.List8;
  w.pos += 3;
  for (let i = 0; i <= last; i++) {
    const f = fields[i]!;
    const v = values[i];
    if (v === undefined || v === null) {
      if (f.mandatory) throw new EncodeError(`${c.type.name}: ${f.name} is mandatory`);
      w.u8(Code.Null);
    } else if (f.multiple) writeMultiple(w, f, v);
    else writeField(w, f, v);
  }
  for (let i = last + 1; i < fields.length; i++) {
    if (fields[i]!.mandatory) throw new EncodeError(`${c.type.name}: ${fields[i]!.name} is mandatory`);
  }
  const count = last + 1;
  const size = w.pos - at - 2;
  if (size <= 255) {
    w.buf[at + 1] = size;
    w.buf[at + 2] = count;
  } else {
    const len = w.pos - at - 3;
    w.ensure(6);
    w.buf.copyWithin(at + 9, at + 3, at + 3 + len);
    w.buf[at] = Code.List32;
    w.buf.writeUInt32BE(len + 4, at + 1);
    w.buf.writeUInt32BE(count, at + 5);
    w.pos = at + 9 + len;
  }
}

function fieldError(f: FieldCodec, v: unknown): EncodeError {
  return new EncodeError(
    `field ${f.name} cannot hold ${typeof v === 'object' ? String(v) : typeof v}: ${String(v)}`,
  );
}

function writeField(w: ByteWriter, f: FieldCodec, v: unknown): void {
  switch (f.kind) {
    case 'boolean':
      if (typeof v !== 'boolean') throw fieldError(f, v);
      return encodeBoolean(w, v);
    case 'ubyte':
      if (typeof v !== 'number' || !(v >= 0 && v <= 0xff && Number.isInteger(v))) throw fieldError(f, v);
      w.u8(Code.Ubyte);
      return w.u8(v);
    case 'ushort':
      if (typeof v !== 'number' || !(v >= 0 && v <= 0xffff && Number.isInteger(v))) throw fieldError(f, v);
      w.u8(Code.Ushort);
      return w.u16(v);
    case 'uint':
      if (typeof v !== 'number' || !(v >= 0 && v <= 0xffffffff && Number.isInteger(v)))
        throw fieldError(f, v);
      return encodeUint(w, v);
    case 'ulong':
      if (
        typeof v === 'number'
          ? !(v >= 0 && Number.isSafeInteger(v))
          : typeof v !== 'bigint' || v < 0n || v >= 1n << 64n
      ) {
        throw fieldError(f, v);
      }
      return encodeUlong(w, v as number | bigint);
    case 'symbol':
      if (typeof v === 'string') return encodeSymbol(w, v);
      if (v instanceof AmqpSymbol) return encodeSymbol(w, v.value);
      throw fieldError(f, v);
    case 'string':
      if (typeof v !== 'string') throw fieldError(f, v);
      return encodeString(w, v, Code.Str8, Code.Str32);
    case 'binary':
      if (typeof v === 'string') return encodeBinary(w, Buffer.from(v, 'utf8'));
      if (!(v instanceof Uint8Array)) throw fieldError(f, v);
      return encodeBinary(w, v);
    case 'timestamp':
      if (v instanceof Date && !Number.isNaN(v.getTime())) return encodeTimestamp(w, v.getTime());
      if (typeof v === 'number') return encodeTimestamp(w, v);
      // A timestamp outside Date's range decodes as Typed('timestamp', bigint): write it back as it came.
      if (v instanceof Typed && v.type === 'timestamp' && typeof v.value === 'bigint')
        return encodeTimestamp(w, v.value);
      throw fieldError(f, v);
    case 'fields':
      if (isPlainObject(v)) return encodeObjectMap(w, v, 0, true);
      if (v instanceof Map) return encodeValue(w, v);
      throw fieldError(f, v);
    case 'map':
      return encodeValue(w, v as AmqpValue);
    case 'message-id':
      // message-id is ulong | uuid | binary | string (spec 3.2.11-14): a peer would refuse any other
      // type. A plain integer (number or bigint) can only be a ulong.
      if (typeof v === 'string') return encodeString(w, v, Code.Str8, Code.Str32);
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return encodeUlong(w, v);
      if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return encodeUlong(w, v);
      if (v instanceof Uint8Array) return encodeBinary(w, v);
      if (v instanceof Typed && (v.type === 'ulong' || v.type === 'uuid')) return encodeValue(w, v);
      throw fieldError(f, v);
    case 'address':
      // The only address type is address-string (spec 3.5.8).
      if (typeof v !== 'string') throw fieldError(f, v);
      return encodeString(w, v, Code.Str8, Code.Str32);
    case 'composite': {
      const c = byName.get(f.composite!)!;
      if (!isPlainObject(v)) throw fieldError(f, v);
      return writeComposite(w, c, v);
    }
    case 'any':
      // A record naming a known composite (an outcome, a source...) is written as that composite.
      if (isPlainObject(v) && typeof v.type === 'string') {
        const c = byName.get(v.type);
        if (c) return writeComposite(w, c, v);
      }
      return encodeValue(w, v as AmqpValue);
  }
}

const ARRAY_ELEMENT_OF_KIND: Partial<Record<Kind, AmqpArray['elementType']>> = {
  boolean: 'boolean',
  ubyte: 'ubyte',
  ushort: 'ushort',
  uint: 'uint',
  ulong: 'ulong',
  symbol: 'symbol',
  string: 'string',
  binary: 'binary',
  timestamp: 'timestamp',
};

/** A multiple field: an array is written as an AMQP array; a single value as itself. */
function writeMultiple(w: ByteWriter, f: FieldCodec, v: unknown): void {
  if (!Array.isArray(v)) return writeField(w, f, v);
  const el = ARRAY_ELEMENT_OF_KIND[f.kind];
  if (el === undefined) {
    // Composite or untyped elements: as a list of values is not allowed, so write them one type.
    throw new EncodeError(`field ${f.name}: arrays of ${f.kind} are not supported`);
  }
  for (const x of v) if (x === null || x === undefined) throw fieldError(f, x);
  encodeValue(w, new AmqpArray(el, f.kind === 'symbol' ? v.map((x) => String(x)) : v));
}

// ---------------------------------------------------------------- decoding

/**
 * Reads a composite at d.pos: the 0x00 constructor, a ulong or symbol descriptor, then a list.
 * Returns undefined (with d.pos unchanged) when the descriptor is not a known composite.
 */
export function readComposite(d: Decoder): CompositeRecord | undefined {
  const start = d.pos;
  if (d.u8() !== Code.Described) d.fail('AMQP_DECODE_WRONG_TYPE', 'expected a described type', start);
  const c = readDescriptor(d);
  if (!c) {
    d.pos = start;
    return undefined;
  }
  return readCompositeBody(d, c);
}

function readDescriptor(d: Decoder): CompiledType | undefined {
  const code = d.u8();
  switch (code) {
    case Code.SmallUlong:
      return byCode.get(d.u8());
    case Code.Ulong: {
      d.need(8);
      const hi = d.buf.readUInt32BE(d.pos);
      const lo = d.buf.readUInt32BE(d.pos + 4);
      d.pos += 8;
      return hi === 0 ? byCode.get(lo) : undefined;
    }
    case Code.Ulong0:
      return undefined;
    case Code.Sym8:
      return bySymbol.get(d.utf8(d.u8(), true));
    case Code.Sym32:
      return bySymbol.get(d.utf8(d.u32(), true));
    default:
      d.readBody(code);
      return undefined;
  }
}

/** Reads the list of composite `name` at d.pos (its descriptor already read). */
export function readCompositeListAs(d: Decoder, name: string, tagged: boolean): Record<string, unknown> {
  return readCompositeBody(d, byName.get(name)!, tagged) as unknown as Record<string, unknown>;
}

function readCompositeBody(d: Decoder, c: CompiledType, tagged = true): CompositeRecord {
  const at = d.pos;
  const code = d.u8();
  let count: number;
  let end: number;
  if (code === Code.List0) {
    count = 0;
    end = d.pos;
  } else if (code === Code.List8 || code === Code.List32) {
    ({ count, end } = d.compoundHeader(code === Code.List32, 1));
  } else {
    return d.fail('AMQP_DECODE_WRONG_TYPE', `${c.type.name} must be a list, got 0x${code.toString(16)}`, at);
  }
  const outerEnd = d.end;
  d.end = end;
  d.enter();
  const rec: Record<string, unknown> = tagged ? { type: c.type.name } : {};
  const fields = c.fields;
  const n = Math.min(count, fields.length);
  const readFields = c.readFields;
  if (readFields !== undefined && !genericReader) readFields(d, n, rec, fields, readField, readMultiple);
  else {
    for (let i = 0; i < n; i++) {
      const f = fields[i]!;
      const v = f.multiple ? readMultiple(d, f) : readField(d, f, d.u8());
      if (v !== null) rec[f.key] = v;
    }
  }
  // Items past the fields the spec knows are skipped (a later version may add fields).
  for (let i = n; i < count; i++) d.readValue();
  if (d.pos !== end) d.fail('AMQP_DECODE_BAD_SIZE', `${c.type.name} list has bytes past its items`);
  d.depth--;
  d.end = outerEnd;
  const mandatory = c.mandatory;
  for (let i = 0; i < mandatory.length; i++) {
    const f = mandatory[i]!;
    if (rec[f.key] === undefined) {
      throw new DecodeError(
        'AMQP_DECODE_MISSING_FIELD',
        `${c.type.name}: mandatory field ${f.name} is missing`,
        at,
      );
    }
  }
  return rec as unknown as CompositeRecord;
}

function wrongType(d: Decoder, f: FieldCodec, code: number): never {
  return d.fail(
    'AMQP_DECODE_WRONG_TYPE',
    `field ${f.name} (${f.kind}) cannot be constructor 0x${code.toString(16)}`,
    d.pos - 1,
  );
}

function readField(d: Decoder, f: FieldCodec, code: number): unknown {
  if (code === Code.Null) return null;
  switch (f.kind) {
    case 'boolean':
      if (code === Code.BooleanTrue) return true;
      if (code === Code.BooleanFalse) return false;
      if (code === Code.Boolean) return d.readBody(code);
      return wrongType(d, f, code);
    case 'ubyte':
      if (code === Code.Ubyte) return d.u8();
      return wrongType(d, f, code);
    case 'ushort':
      if (code === Code.Ushort) return d.u16();
      return wrongType(d, f, code);
    case 'uint':
      if (code === Code.SmallUint) return d.u8();
      if (code === Code.Uint0) return 0;
      if (code === Code.Uint) return d.u32();
      return wrongType(d, f, code);
    case 'ulong':
      if (code === Code.SmallUlong) return d.u8();
      if (code === Code.Ulong0) return 0;
      if (code === Code.Ulong) {
        d.need(8);
        const v = d.buf.readBigUInt64BE(d.pos);
        d.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      return wrongType(d, f, code);
    case 'symbol':
      // Symbols are from a small vocabulary (content types, capabilities...): cached.
      if (code === Code.Sym8) return d.cachedString(d.u8(), true);
      if (code === Code.Sym32) return d.utf8(d.u32(), true);
      return wrongType(d, f, code);
    case 'string':
      if (code === Code.Str8) return d.utf8(d.u8());
      if (code === Code.Str32) return d.utf8(d.u32());
      return wrongType(d, f, code);
    case 'binary':
      if (code === Code.Vbin8) return d.slice(d.u8());
      if (code === Code.Vbin32) return d.slice(d.u32());
      return wrongType(d, f, code);
    case 'timestamp':
      if (code === Code.Timestamp) return d.timestamp();
      return wrongType(d, f, code);
    case 'fields':
      if (code === Code.Map8 || code === Code.Map32) return d.keyedMap(code === Code.Map32, true);
      return wrongType(d, f, code);
    case 'map':
      if (code === Code.Map8 || code === Code.Map32) return d.map(code === Code.Map32);
      return wrongType(d, f, code);
    case 'composite': {
      if (code !== Code.Described) return wrongType(d, f, code);
      d.pos--;
      const rec = readComposite(d);
      if (!rec || rec.type !== f.composite) {
        return d.fail('AMQP_DECODE_WRONG_TYPE', `field ${f.name} must hold ${f.composite}`);
      }
      return rec;
    }
    case 'message-id':
      return d.readBody(code);
    // Addresses are read as anything (a peer's oddity is kept), but only strings are written.
    case 'address':
    case 'any':
      if (code === Code.Described) {
        d.pos--;
        const rec = readComposite(d);
        if (rec) return rec;
        d.pos++;
      }
      return d.readBody(code);
  }
}

/** Reads a multiple field: a single value or an array of them, always returned as an array. */
function readMultiple(d: Decoder, f: FieldCodec): unknown[] | null {
  const code = d.u8();
  if (code === Code.Null) return null;
  if (code !== Code.Array8 && code !== Code.Array32) return [readField(d, f, code)];
  const arr = d.array(code === Code.Array32);
  if (arr.descriptor !== undefined || ARRAY_ELEMENT_OF_KIND[f.kind] !== arr.elementType) {
    // Only symbol multiples (capabilities, locales, mechanisms, outcomes) occur in the spec.
    if (!(f.kind === 'symbol' && arr.elementType === 'symbol')) {
      d.fail('AMQP_DECODE_WRONG_TYPE', `field ${f.name} cannot be an array of ${arr.elementType}`);
    }
  }
  return arr.items;
}

/** Decodes exactly one composite from `bytes`. */
export function decodeComposite(
  bytes: Buffer,
  offset = 0,
  end = bytes.length,
): { value: CompositeRecord; offset: number } {
  const d = new Decoder(bytes, offset, end);
  const rec = readComposite(d);
  if (!rec) return d.fail('AMQP_DECODE_WRONG_TYPE', 'not a known composite type', offset);
  return { value: rec, offset: d.pos };
}

// ---------------------------------------------------------------- the transfer fast path

const isUint = (v: unknown): v is number =>
  typeof v === 'number' && v >= 0 && v <= 0xffffffff && Number.isInteger(v);

function putUint(b: Buffer, p: number, v: number): number {
  if (v === 0) b[p++] = Code.Uint0;
  else if (v <= 0xff) {
    b[p++] = Code.SmallUint;
    b[p++] = v;
  } else {
    b[p++] = Code.Uint;
    b.writeUInt32BE(v, p);
    p += 4;
  }
  return p;
}

/**
 * Writes a transfer performative (one per message sent: the hot path) straight into the buffer when
 * it has only its usual fields (handle, delivery-id, delivery-tag, message-format, settled, more);
 * anything else goes through the generic writer. The bytes are the same either way.
 */
export function encodeTransfer(w: ByteWriter, t: Transfer): void {
  const { handle, deliveryId, deliveryTag, messageFormat, settled, more } = t;
  if (
    t.rcvSettleMode != null ||
    t.state != null ||
    t.resume != null ||
    t.aborted != null ||
    t.batchable != null ||
    !isUint(handle) ||
    (deliveryId != null && !isUint(deliveryId)) ||
    (messageFormat != null && !isUint(messageFormat)) ||
    (deliveryTag != null && !(deliveryTag instanceof Uint8Array && deliveryTag.length <= 32)) ||
    (settled != null && typeof settled !== 'boolean') ||
    (more != null && typeof more !== 'boolean')
  ) {
    return encodeCompositeAs(w, 'transfer', t);
  }
  // Trailing absent fields are omitted, as the generic writer does.
  const last =
    more != null
      ? 5
      : settled != null
        ? 4
        : messageFormat != null
          ? 3
          : deliveryTag != null
            ? 2
            : deliveryId != null
              ? 1
              : 0;
  // descriptor (3) + list8 header (3) + 3 uints (5 each) + tag (2 + 32) + 2 booleans
  w.ensure(3 + 3 + 15 + 34 + 2);
  const b = w.buf;
  let p = w.pos;
  b[p++] = Code.Described;
  b[p++] = Code.SmallUlong;
  b[p++] = TRANSFER_CODE;
  b[p++] = Code.List8;
  const at = p;
  p += 2;
  p = putUint(b, p, handle);
  if (last >= 1) p = deliveryId == null ? ((b[p] = Code.Null), p + 1) : putUint(b, p, deliveryId);
  if (last >= 2) {
    if (deliveryTag == null) b[p++] = Code.Null;
    else {
      b[p++] = Code.Vbin8;
      b[p++] = deliveryTag.length;
      b.set(deliveryTag, p);
      p += deliveryTag.length;
    }
  }
  if (last >= 3) p = messageFormat == null ? ((b[p] = Code.Null), p + 1) : putUint(b, p, messageFormat);
  if (last >= 4) b[p++] = settled == null ? Code.Null : settled ? Code.BooleanTrue : Code.BooleanFalse;
  if (last >= 5) b[p++] = more ? Code.BooleanTrue : Code.BooleanFalse;
  b[at] = p - at - 1; // list size: the count byte and the items
  b[at + 1] = last + 1;
  w.pos = p;
}

const TRANSFER_CODE = Number(byName.get('transfer')!.code);
