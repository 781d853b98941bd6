/**
 * fast-check arbitraries for AMQP values in their canonical JS form: the exact form decodeValue
 * returns, so that `decodeValue(encode(v))` can be compared with `v` by deep strict equality.
 *
 * Canonical forms (see src/codec/values.ts and decoder.ts):
 *  - null, boolean, string, Buffer (binary), bigint (long), number (int: integral, int32, not -0)
 *  - double: a plain number unless `(d | 0) === d`, in which case Typed('double', d)
 *  - ubyte/ushort/uint/byte/short/float: Typed(type, number); ulong: Typed('ulong', bigint)
 *  - char: Typed('char', one code point); uuid: Typed('uuid', lower-case string)
 *  - decimal32/64/128: Typed(type, Buffer of 4/8/16 bytes)
 *  - timestamp: a Date inside Date's range, Typed('timestamp', bigint) outside it
 *  - symbol: AmqpSymbol; list: Array; map: Map; described: Described
 *  - array: AmqpArray(elementType, plain items, descriptor?)
 */
import fc from 'fast-check';
import {
  AmqpArray,
  AmqpSymbol,
  Described,
  Typed,
  compositeTypes,
  restrictedTypes,
  uuidToString,
  type AmqpValue,
  type CompositeType,
  type ElementType,
  type FieldSpec,
  type Message,
} from '../../src/codec/index.js';

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;
/** Date's range in ms: inside it a timestamp decodes as a Date. */
export const MAX_DATE_MS = 8_640_000_000_000_000;

// ------------------------------------------------------------------------------ scalars

export const ubyteNum = fc.integer({ min: 0, max: 0xff });
export const ushortNum = fc.integer({ min: 0, max: 0xffff });
export const uintNum = fc.oneof(
  fc.constantFrom(0, 1, 0xff, 0x100, 0xffff, 0xffffffff),
  fc.integer({ min: 0, max: 0xff }),
  fc.integer({ min: 0, max: 0xffffffff }),
);
export const byteNum = fc.integer({ min: -0x80, max: 0x7f });
export const shortNum = fc.integer({ min: -0x8000, max: 0x7fff });
export const intNum = fc.oneof(
  fc.constantFrom(0, -1, 127, -128, 128, -129, 0x7fffffff, -0x80000000),
  fc.integer({ min: -128, max: 127 }),
  fc.integer(),
);
export const ulongBig = fc.oneof(
  fc.constantFrom(0n, 1n, 0xffn, 0x100n, UINT64_MAX, BigInt(Number.MAX_SAFE_INTEGER) + 1n),
  fc.bigInt({ min: 0n, max: 0xffn }),
  fc.bigInt({ min: 0n, max: UINT64_MAX }),
);
export const longBig = fc.oneof(
  fc.constantFrom(0n, -1n, 127n, -128n, 128n, -129n, INT64_MAX, INT64_MIN),
  fc.bigInt({ min: -128n, max: 127n }),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
);
/** 32-bit floats (NaN, ±0 and ±Infinity included): exactly representable, so they survive f32. */
export const floatNum = fc.float();
export const doubleNum = fc.oneof(
  fc.double(),
  fc.constantFrom(-0, 0.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e300),
);
/** A Unicode scalar value (no surrogates). */
export const codePoint = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0x10ffff }),
);
export const charStr = codePoint.map((cp) => String.fromCodePoint(cp));
export const dateInRange = fc
  .oneof(
    fc.constantFrom(0, -1, 1, MAX_DATE_MS, -MAX_DATE_MS, 1_700_000_000_000),
    fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
    fc.bigInt({ min: BigInt(-MAX_DATE_MS), max: BigInt(MAX_DATE_MS) }).map(Number),
  )
  .map((ms) => new Date(ms));
/** Timestamps Date cannot hold: they stay a bigint. */
export const timestampOutOfRange = fc.oneof(
  fc.constantFrom(INT64_MAX, INT64_MIN, BigInt(MAX_DATE_MS) + 1n, BigInt(-MAX_DATE_MS) - 1n),
  fc.bigInt({ min: BigInt(MAX_DATE_MS) + 1n, max: INT64_MAX }),
  fc.bigInt({ min: INT64_MIN, max: BigInt(-MAX_DATE_MS) - 1n }),
);
export const uuidStr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => uuidToString(b, 0));
export const bytes = (min: number, max: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));
/** Binaries, mostly short, sometimes past the 255 bytes of vbin8. */
export const binaryBuf = fc.oneof(
  { weight: 5, arbitrary: bytes(0, 40) },
  { weight: 1, arbitrary: bytes(250, 400) },
);
/** Strings of any code points (no lone surrogates: those are not UTF-8), sometimes past str8. */
export const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 60, maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 250, maxLength: 300 }) },
);
/** Symbol names: ASCII as the spec says, with some longer than 255 bytes. */
export const asciiString = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 250, maxLength: 300 }) },
);
/** Symbol names: the encoder only writes ASCII symbols (spec 1.6.21). */
export const symbolName = asciiString;

/** A double in canonical form: integral int32-range doubles (and -0) keep a Typed wrapper. */
export const canonicalDouble = (d: number): AmqpValue => ((d | 0) === d ? new Typed('double', d) : d);

/** One arbitrary per AMQP primitive type, in canonical form. */
export const primitiveArbs = {
  null: fc.constant(null),
  boolean: fc.boolean(),
  ubyte: ubyteNum.map((n) => new Typed('ubyte', n)),
  ushort: ushortNum.map((n) => new Typed('ushort', n)),
  uint: uintNum.map((n) => new Typed('uint', n)),
  ulong: ulongBig.map((n) => new Typed('ulong', n)),
  byte: byteNum.map((n) => new Typed('byte', n)),
  short: shortNum.map((n) => new Typed('short', n)),
  int: intNum,
  long: longBig,
  float: floatNum.map((n) => new Typed('float', n)),
  double: doubleNum.map(canonicalDouble),
  decimal32: bytes(4, 4).map((b) => new Typed('decimal32', b)),
  decimal64: bytes(8, 8).map((b) => new Typed('decimal64', b)),
  decimal128: bytes(16, 16).map((b) => new Typed('decimal128', b)),
  char: charStr.map((c) => new Typed('char', c)),
  timestamp: fc.oneof(
    { weight: 4, arbitrary: dateInRange },
    { weight: 1, arbitrary: timestampOutOfRange.map((t) => new Typed('timestamp', t)) },
  ),
  uuid: uuidStr.map((u) => new Typed('uuid', u)),
  binary: binaryBuf,
  string: anyString,
  symbol: symbolName.map((s) => new AmqpSymbol(s)),
} satisfies Record<string, fc.Arbitrary<AmqpValue>>;

export const primitiveValue: fc.Arbitrary<AmqpValue> = fc.oneof(...Object.values(primitiveArbs));

/** Descriptors as the spec uses them: a ulong (domain:id) or a symbol. */
export const descriptorArb: fc.Arbitrary<AmqpValue> = fc.oneof(
  fc.bigInt({ min: 0n, max: UINT64_MAX }).map((n) => new Typed('ulong', n)),
  fc.bigInt({ min: 0n, max: 0xffn }).map((n) => new Typed('ulong', n)),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }).map((s) => new AmqpSymbol(s)),
);

// ------------------------------------------------------------------------------ arrays

/** Plain-form items for each fixed/variable element type (arrays hold no wrappers). */
const scalarElementArbs: Record<Exclude<ElementType, 'list' | 'map' | 'array'>, fc.Arbitrary<AmqpValue>> = {
  boolean: fc.boolean(),
  ubyte: ubyteNum,
  ushort: ushortNum,
  uint: uintNum,
  ulong: ulongBig,
  byte: byteNum,
  short: shortNum,
  int: intNum,
  long: longBig,
  float: floatNum,
  double: doubleNum,
  decimal32: bytes(4, 4),
  decimal64: bytes(8, 8),
  decimal128: bytes(16, 16),
  char: charStr,
  timestamp: fc.oneof({ weight: 4, arbitrary: dateInRange }, { weight: 1, arbitrary: timestampOutOfRange }),
  uuid: uuidStr,
  binary: binaryBuf,
  string: anyString,
  symbol: symbolName,
};

export const SCALAR_ELEMENT_TYPES = Object.keys(scalarElementArbs) as (keyof typeof scalarElementArbs)[];

function arrayOf(
  elementType: ElementType,
  item: fc.Arbitrary<AmqpValue>,
  maxLength: number,
): fc.Arbitrary<AmqpArray> {
  return fc
    .tuple(fc.array(item, { maxLength }), fc.option(descriptorArb, { freq: 4, nil: undefined }))
    .map(([items, d]) => new AmqpArray(elementType, items, d));
}

/** Arrays of every scalar element type, described or not. */
export const scalarArray: fc.Arbitrary<AmqpArray> = fc.oneof(
  ...SCALAR_ELEMENT_TYPES.map((t) => arrayOf(t, scalarElementArbs[t], 8)),
);

// ------------------------------------------------------------------------------ any value

const DEPTH = 'amqp-value';

export type ValueArbs = {
  value: AmqpValue;
  list: AmqpValue[];
  map: Map<AmqpValue, AmqpValue> | Record<string, AmqpValue>;
  array: AmqpArray;
  described: Described;
};

/** Every AMQP value in canonical form, nested at most `maxDepth` compound levels deep. */
export function valueArbs(maxDepth = 3): fc.LetrecValue<ValueArbs> {
  return fc.letrec<ValueArbs>((tie) => ({
    value: fc.oneof(
      { maxDepth, depthIdentifier: DEPTH, depthSize: 'small' },
      { weight: 6, arbitrary: primitiveValue },
      { weight: 1, arbitrary: tie('list') },
      { weight: 1, arbitrary: tie('map') },
      { weight: 1, arbitrary: tie('array') },
      { weight: 1, arbitrary: tie('described') },
    ),
    list: fc.array(tie('value'), { maxLength: 5, depthIdentifier: DEPTH }),
    map: fc
      .array(fc.tuple(tie('value'), tie('value')), { maxLength: 4, depthIdentifier: DEPTH })
      .map((entries) => decodedForm(new Map(entries))),
    array: fc.oneof(
      { maxDepth, depthIdentifier: DEPTH, depthSize: 'small' },
      { weight: 4, arbitrary: scalarArray },
      {
        weight: 1,
        arbitrary: arrayOf('list', fc.array(tie('value'), { maxLength: 3, depthIdentifier: DEPTH }), 3),
      },
      { weight: 1, arbitrary: arrayOf('map', tie('map'), 3) },
      { weight: 1, arbitrary: arrayOf('array', tie('array'), 3) },
    ),
    described: fc.tuple(descriptorArb, tie('value')).map(([d, v]) => new Described(d, v)),
  }));
}

export const amqpValues = valueArbs(3);
/** Any AMQP value, canonical form. */
export const amqpValue: fc.Arbitrary<AmqpValue> = amqpValues.value;
/** Values whose encodings are large: long lists and maps that need the 32-bit forms. */
export const largeValue: fc.Arbitrary<AmqpValue> = fc.oneof(
  fc.array(primitiveValue, { minLength: 200, maxLength: 300 }),
  fc
    .array(fc.tuple(primitiveValue, primitiveValue), { minLength: 130, maxLength: 200 })
    .map((e) => decodedForm(new Map(e))),
  fc.array(fc.boolean(), { minLength: 256, maxLength: 400 }).map((items) => new AmqpArray('boolean', items)),
  fc
    .array(binaryBuf, { minLength: 1, maxLength: 4 })
    .map((items) => new AmqpArray('binary', [Buffer.alloc(300, 1), ...items])),
);

// ------------------------------------------------------------------------------ keyed maps

/** A plain object built from entries, with '__proto__' as an own key, like the decoder builds it. */
export function objectFrom(entries: [string, AmqpValue][]): Record<string, AmqpValue> {
  const o: Record<string, AmqpValue> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

/**
 * Whether a plain object keeps `keys` in this order: JavaScript itself is asked (it lists array
 * indexes such as '0' and '1' first, ascending), not the decoder.
 */
export function objectKeepsOrder(keys: string[]): boolean {
  const o = objectFrom(keys.map((k) => [k, null]));
  const got = Object.keys(o);
  return got.length === keys.length && got.every((k, i) => k === keys[i]);
}

/**
 * A map as the decoder gives it back by default: a plain object when every key is a string and an
 * object keeps their order (so that it encodes to the same bytes), else the Map itself.
 */
export function decodedForm(
  m: Map<AmqpValue, AmqpValue>,
): Map<AmqpValue, AmqpValue> | Record<string, AmqpValue> {
  const keys = [...m.keys()];
  if (!keys.every((k) => typeof k === 'string') || !objectKeepsOrder(keys as string[])) return m;
  return objectFrom([...m] as [string, AmqpValue][]);
}

/**
 * A value with every map as a Map (what `{ maps: 'map' }` decodes to), from its default decoded
 * form; `symbolKeys` for the top level of annotations and fields, whose object keys are symbols.
 */
export function allMaps(v: AmqpValue, symbolKeys = false): AmqpValue {
  if (Array.isArray(v)) return v.map((x) => allMaps(x));
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [allMaps(k), allMaps(x)]));
  if (v instanceof Described) return new Described(allMaps(v.descriptor), allMaps(v.value));
  if (v instanceof AmqpArray) {
    const items = v.elementType === 'map' || v.elementType === 'list' || v.elementType === 'array';
    return items
      ? new AmqpArray(
          v.elementType,
          v.items.map((x) => allMaps(x)),
          v.descriptor,
        )
      : v;
  }
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, AmqpValue>;
    return new Map(Object.keys(o).map((k) => [symbolKeys ? new AmqpSymbol(k) : k, allMaps(o[k])]));
  }
  return v;
}

/** A symbol-keyed map (annotations, fields) in its decoded form: a plain object keyed by name. */
export function symbolKeyedObject(
  value: fc.Arbitrary<AmqpValue>,
  maxKeys = 5,
): fc.Arbitrary<Record<string, AmqpValue>> {
  return fc
    .uniqueArray(
      fc.tuple(fc.oneof(symbolName, fc.constant('__proto__'), fc.constantFrom('x-opt-a', '1', '0')), value),
      {
        maxLength: maxKeys,
        selector: (e) => e[0],
      },
    )
    .map(objectFrom);
}

/**
 * A symbol- or string-keyed map with at least one key of another type: decoded as a Map, in wire
 * order (AmqpSymbol keys when `symbolKeys`). Names like '1' and '0' are included on purpose: a
 * plain object would move them to the front.
 */
export function mixedKeyedMap(
  value: fc.Arbitrary<AmqpValue>,
  symbolKeys: boolean,
): fc.Arbitrary<Map<AmqpValue, AmqpValue>> {
  const name = fc.oneof(symbolKeys ? symbolName : anyString, fc.constantFrom('1', '0', '10', '__proto__'));
  return fc
    .tuple(
      fc.uniqueArray(fc.tuple(name, value), { maxLength: 3, selector: (e) => e[0] }),
      fc.array(
        fc.tuple(
          fc.oneof(primitiveArbs.int, primitiveArbs.ulong, primitiveArbs.binary, primitiveArbs.boolean),
          value,
        ),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
    )
    .map(([named, other]) => {
      const m = new Map<AmqpValue, AmqpValue>();
      for (const [k, v] of named) m.set(symbolKeys ? new AmqpSymbol(k) : k, v);
      for (const [k, v] of other) m.set(k, v);
      return m;
    });
}

/** A string-keyed map (application properties) in its decoded form. */
export function stringKeyedObject(
  value: fc.Arbitrary<AmqpValue>,
  maxKeys = 5,
): fc.Arbitrary<Record<string, AmqpValue>> {
  return fc
    .uniqueArray(fc.tuple(fc.oneof(anyString, fc.constant('__proto__')), value), {
      maxLength: maxKeys,
      selector: (e) => e[0],
    })
    .map(objectFrom);
}

// ------------------------------------------------------------------------------ composites

/** The codec kind of a composite field, resolved from the spec table alone. */
export type FieldKind =
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
  | 'composite'
  | 'any';

const PRIMITIVE_FIELD_KINDS = new Set([
  'boolean',
  'ubyte',
  'ushort',
  'uint',
  'ulong',
  'symbol',
  'string',
  'binary',
  'timestamp',
  'map',
]);
const SYMBOL_KEYED = new Set(['fields', 'annotations', 'filter-set']);

export function fieldKind(f: FieldSpec): FieldKind {
  if (f.type === '*') return 'any';
  if (compositeTypes[f.type]) return 'composite';
  let t = f.type;
  for (let i = 0; i < 10; i++) {
    if (SYMBOL_KEYED.has(t)) return 'fields';
    if (PRIMITIVE_FIELD_KINDS.has(t)) return t as FieldKind;
    const r = restrictedTypes[t];
    if (!r) break;
    t = r.source;
  }
  throw new Error(`test cannot resolve field type ${f.type}`);
}

/** The composites that provide an archetype ('outcome', 'delivery-state', 'source', ...). */
export function providersOf(archetype: string): CompositeType[] {
  return Object.values(compositeTypes).filter((c) => c.provides.includes(archetype));
}

/** A leaf value for untyped ('*') fields: no Described (a known descriptor would decode as a record). */
const anyLeaf = fc.oneof(
  primitiveArbs.string,
  primitiveArbs.binary,
  primitiveArbs.ulong,
  primitiveArbs.uuid,
  primitiveArbs.int,
  primitiveArbs.symbol,
  primitiveArbs.boolean,
);
/** Values inside fields maps and similar: canonical values, shallow. */
export const fieldValue: fc.Arbitrary<AmqpValue> = valueArbs(2).value;

const compositeCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

function kindArb(f: FieldSpec, depth: number): fc.Arbitrary<unknown> {
  const kind = fieldKind(f);
  switch (kind) {
    case 'boolean':
      return fc.boolean();
    case 'ubyte':
      return ubyteNum;
    case 'ushort':
      return ushortNum;
    case 'uint':
      return uintNum;
    case 'ulong':
      // Decoded as a number while it is a safe integer, as a bigint above.
      return fc.oneof(
        fc.constantFrom(0, 1, 255, 256, Number.MAX_SAFE_INTEGER),
        fc.maxSafeNat(),
        fc.bigInt({ min: BigInt(Number.MAX_SAFE_INTEGER) + 1n, max: UINT64_MAX }),
      );
    case 'symbol':
      return asciiString;
    case 'string':
      return anyString;
    case 'binary':
      return binaryBuf;
    case 'timestamp':
      return dateInRange;
    case 'fields':
      return symbolKeyedObject(fieldValue, 4);
    case 'map':
      // A map field (attach's unsettled) is always read as a Map, its values as everywhere.
      return amqpValues.map.map((m) => (m instanceof Map ? m : new Map(Object.entries(m))));
    case 'composite':
      return compositeRecordArb(f.type, depth + 1);
    case 'any': {
      const req = f.requires;
      const providers = req ? providersOf(req) : [];
      if (providers.length > 0 && depth < 4) {
        return fc.oneof(...providers.map((c) => compositeRecordArb(c.name, depth + 1)));
      }
      if (req === 'message-id')
        return fc.oneof(primitiveArbs.ulong, primitiveArbs.uuid, primitiveArbs.binary, primitiveArbs.string);
      if (req === 'address') return anyString;
      if (req === 'txn-id') return bytes(0, 32);
      return anyLeaf;
    }
  }
}

/** A record of composite `name` (with its `type` key) whose fields are arbitrary values of the right JS type. */
export function compositeRecordArb(name: string, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const key = `${name}@${depth}`;
  const cached = compositeCache.get(key);
  if (cached) return cached;
  const c = compositeTypes[name];
  if (!c) throw new Error(`unknown composite ${name}`);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const f of c.fields) {
    if (depth >= 4 && !f.mandatory && (fieldKind(f) === 'composite' || fieldKind(f) === 'any')) continue;
    const base = kindArb(f, depth);
    model[f.key] = f.multiple ? fc.array(base, { maxLength: 4 }) : base;
    if (f.mandatory) required.push(f.key);
  }
  const arb = fc
    .record(model, { requiredKeys: required })
    .map((r) => ({ type: name, ...r }) as Record<string, unknown>);
  compositeCache.set(key, arb);
  return arb;
}

// ------------------------------------------------------------------------------ messages

const headerArb = fc
  .record(
    {
      durable: fc.boolean(),
      priority: ubyteNum,
      ttl: uintNum,
      firstAcquirer: fc.boolean(),
      deliveryCount: uintNum,
    },
    { requiredKeys: [] },
  )
  .map((r) => ({ ...r }));

const messageIdArb = fc.oneof(
  primitiveArbs.ulong,
  primitiveArbs.uuid,
  primitiveArbs.binary,
  primitiveArbs.string,
);

const propertiesArb = fc
  .record(
    {
      messageId: messageIdArb,
      userId: binaryBuf,
      to: anyString,
      subject: anyString,
      replyTo: anyString,
      correlationId: messageIdArb,
      contentType: asciiString,
      contentEncoding: asciiString,
      absoluteExpiryTime: dateInRange,
      creationTime: dateInRange,
      groupId: anyString,
      groupSequence: uintNum,
      replyToGroupId: anyString,
    },
    { requiredKeys: [] },
  )
  .map((r) => ({ ...r }));

const sectionValue = valueArbs(2).value;

/** A message body of each kind, as decodeMessage returns it. */
export const bodyArb: fc.Arbitrary<Pick<Message, 'body' | 'bodyType'>> = fc.oneof(
  binaryBuf.map((b) => ({ body: b, bodyType: 'data' as const })),
  fc.array(binaryBuf, { minLength: 2, maxLength: 4 }).map((b) => ({ body: b, bodyType: 'data' as const })),
  fc
    .array(fc.array(sectionValue, { maxLength: 4 }), { minLength: 1, maxLength: 3 })
    .map((b) => ({ body: b, bodyType: 'sequence' as const })),
  amqpValue.map((b) => ({ body: b, bodyType: 'value' as const })),
);

/** A message with any subset of sections and a body of any kind, in decoded form. */
export const messageArb: fc.Arbitrary<Message> = fc
  .tuple(
    fc.record(
      {
        header: headerArb,
        deliveryAnnotations: symbolKeyedObject(sectionValue),
        messageAnnotations: fc.oneof(symbolKeyedObject(sectionValue), mixedKeyedMap(sectionValue, true)),
        properties: propertiesArb,
        applicationProperties: fc.oneof(stringKeyedObject(sectionValue), mixedKeyedMap(sectionValue, false)),
        footer: fc.oneof(symbolKeyedObject(sectionValue), mixedKeyedMap(sectionValue, true)),
      },
      { requiredKeys: [] },
    ),
    bodyArb,
  )
  .map(([sections, body]) => ({ ...sections, ...body }) as Message);
