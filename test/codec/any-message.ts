/**
 * Arbitrary messages for comparing two encoders. `anyMessage` is mostly messages that encode
 * (strings of any well-formed text at the lengths the writers branch on, maps with any keys and
 * values, large enough for map32, every body kind, every properties field of a type it allows),
 * and some that do not: a lone surrogate, a symbol that is not ASCII, a value nested too deep, a JS
 * symbol, a function, a class instance, an invalid Date, a field of a type it does not allow.
 */
import fc from 'fast-check';
import { DEFAULT_MAX_DEPTH } from '../../src/codec/decoder.js';
import type { Message } from '../../src/codec/message.js';
import { AmqpSymbol, Typed, type AmqpValue } from '../../src/codec/values.js';
import { INT64_MAX, INT64_MIN, UINT64_MAX, amqpValue, largeValue, objectFrom } from './arbitraries.js';

// ------------------------------------------------------------------------------ strings

/** A UTF-16 unit: mostly ASCII, then latin1 and the BMP; lone surrogates only when `lone`. */
const unit = (lone: boolean): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x7f, max: 0x7ff }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x800, max: 0xd7ff }) },
    { weight: lone ? 1 : 0, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }) },
  );

/** Any UTF-16 units, lone surrogates included. */
export const unitsString = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.array(unit(true), { minLength, maxLength }).map((u) => String.fromCharCode(...u));

/** Well-formed text: UTF-16 units, surrogates only in pairs (emoji). */
const wellFormed = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof({ weight: 9, arbitrary: unit(false) }, { weight: 1, arbitrary: fc.constant(-1) }), {
      minLength,
      maxLength,
    })
    .map((u) => u.map((c) => (c < 0 ? '\ud83d\ude00' : String.fromCharCode(c))).join(''));

/** Pure ASCII. */
export const ascii = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary-ascii', minLength, maxLength });

/**
 * Text around every length the writers branch on: the short-string loop (32 units), the key cache
 * (64 bytes of text), str8 by units (85) and by bytes (255); mostly ASCII.
 */
const textOf = (str: (min: number, max: number) => fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: str(0, 40) },
    { weight: 1, arbitrary: str(60, 70) },
    { weight: 1, arbitrary: str(80, 90) },
    { weight: 1, arbitrary: str(250, 260) },
    { weight: 1, arbitrary: str(0, 300) },
  );

/** Well-formed text that is often ASCII. */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: textOf(ascii) },
  { weight: 2, arbitrary: textOf(wellFormed) },
  { weight: 1, arbitrary: fc.constantFrom('', '\ud83d\ude00', 'é', '0', '1', '__proto__', 'x'.repeat(31)) },
);

/** Any text, lone surrogates included. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 1, arbitrary: textOf(unitsString) },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', 'a\udc00', 'x'.repeat(40) + '\udbff') },
);

/** Keys that repeat across messages (so that the caches hit), at the cache's limits. */
const familiarKey = fc.constantFrom(
  'x-opt-partition-key',
  'x-opt-enqueued-seq',
  'deviceId',
  'sequence',
  'region',
  'k',
  'x'.repeat(64),
  'x'.repeat(65),
  'y'.repeat(255),
  'y'.repeat(256),
);
/** Symbol keys: ASCII. */
const symbolKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: familiarKey },
  { weight: 2, arbitrary: textOf(ascii) },
);
/** String keys: any well-formed text. */
const stringKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: familiarKey },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom('é'.repeat(32), 'é'.repeat(33)) },
);

// ------------------------------------------------------------------------------ values

/** A value nested `n` lists deep. */
export function nested(n: number): AmqpValue {
  let v: AmqpValue = 'leaf';
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

/** Numbers around every branch: small ints, int32, -0, doubles, NaN, the infinities. */
const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -130, max: 130 }),
  fc.integer(),
  fc.constantFrom(
    -0,
    0,
    127,
    128,
    -128,
    -129,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 31,
    -(2 ** 31) - 1,
    NaN,
    Infinity,
  ),
  fc.double(),
);

/** Values a map in a section holds that encode. */
const goodValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 3, arbitrary: anyNumber },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, undefined) },
  { weight: 2, arbitrary: amqpValue },
  { weight: 1, arbitrary: largeValue },
  { weight: 1, arbitrary: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }) },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }) },
  { weight: 1, arbitrary: fc.constant(nested(DEFAULT_MAX_DEPTH - 1)) },
);

/** Values that do not. */
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  anyText.filter((s) => !s.isWellFormed()),
  fc.constantFrom(
    Symbol('s'),
    () => 1,
    new (class Foo {})(),
    new Date(NaN),
    1n << 64n,
    nested(DEFAULT_MAX_DEPTH),
    { k: nested(DEFAULT_MAX_DEPTH - 1) },
    new AmqpSymbol('é'),
  ),
);

const mapValue = (bad: boolean): fc.Arbitrary<unknown> =>
  bad ? fc.oneof({ weight: 5, arbitrary: goodValue }, { weight: 1, arbitrary: badValue }) : goodValue;

function toObject(entries: [string, unknown][]): Record<string, AmqpValue> {
  return objectFrom(entries as [string, AmqpValue][]);
}

/** A plain object (sometimes without a prototype), a Map; when `bad`, sometimes neither. */
const mapLike = (key: fc.Arbitrary<string>, maxKeys: number, bad: boolean): fc.Arbitrary<unknown> => {
  const entries = fc.array(fc.tuple(key, mapValue(bad)), { maxLength: maxKeys });
  return fc.oneof(
    { weight: 6, arbitrary: entries.map(toObject) },
    {
      weight: 1,
      arbitrary: entries.map((e) => Object.assign(Object.create(null) as object, toObject(e))),
    },
    // Enough entries for map32 (over 255 bytes, and over 255 items).
    {
      weight: 1,
      arbitrary: fc.array(fc.tuple(ascii(1, 12), anyNumber), { minLength: 40, maxLength: 140 }).map(toObject),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(goodValue, goodValue), { maxLength: 4 })
        .map((e) => new Map(e as [AmqpValue, AmqpValue][])),
    },
    {
      weight: bad ? 1 : 0,
      arbitrary: fc.constantFrom([], 'text', 5, new (class Foo {})(), new Date(0)),
    },
  );
};

// ------------------------------------------------------------------------------ properties

const messageId = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 1, arbitrary: fc.maxSafeNat() },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: UINT64_MAX }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new Typed('ulong', 7n),
      new Typed('uuid', '0f8fad5b-d9cb-469f-a165-70867728950e'),
    ),
  },
);
const symbolField = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('application/json;charset=utf-8', 'text/plain', 'utf-8', 'gzip') },
  { weight: 2, arbitrary: textOf(ascii) },
  { weight: 1, arbitrary: textOf(ascii).map((s) => new AmqpSymbol(s)) },
);
const timeField = fc.oneof(
  { weight: 4, arbitrary: fc.date({ noInvalidDate: true }) },
  { weight: 1, arbitrary: fc.constantFrom(new Date(8.64e15), new Date(-8.64e15), new Date(0), new Date(-1)) },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }) },
  { weight: 1, arbitrary: fc.constant(new Typed('timestamp', 1n << 62n)) },
);
const binaryField = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));
const uintField = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(0xffffffff));

/** Each field of a type it allows. */
const goodFields = {
  messageId,
  userId: binaryField,
  to: text,
  subject: text,
  replyTo: text,
  correlationId: messageId,
  contentType: symbolField,
  contentEncoding: symbolField,
  absoluteExpiryTime: timeField,
  creationTime: timeField,
  groupId: text,
  groupSequence: uintField,
  replyToGroupId: text,
};

/** A value of a type a field may not allow. */
const wrongField: fc.Arbitrary<unknown> = fc.oneof(
  anyText,
  anyNumber,
  fc.bigInt({ min: -1n, max: 1n << 65n }),
  fc.constantFrom(new Date(NaN), new AmqpSymbol('x'), new Typed('uint', 3), {}, [1], true, 'é'),
);

const properties = (bad: boolean): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(
    Object.fromEntries(
      Object.entries(goodFields).map(([k, good]) => [
        k,
        bad
          ? fc.oneof(
              { weight: 8, arbitrary: good as fc.Arbitrary<unknown> },
              { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
              { weight: 1, arbitrary: wrongField },
            )
          : fc.oneof(
              { weight: 9, arbitrary: good as fc.Arbitrary<unknown> },
              { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
            ),
      ]),
    ),
    { requiredKeys: [] },
  );

/** The telemetry message's shape, with other values. */
const telemetryProperties = fc.record(
  {
    messageId: text,
    to: text,
    contentType: symbolField,
    creationTime: fc.date({ noInvalidDate: true }),
  },
  { requiredKeys: ['messageId', 'to', 'contentType', 'creationTime'] },
);

// ------------------------------------------------------------------------------ bodies

const body = (bad: boolean): fc.Arbitrary<Pick<Message, 'body' | 'bodyType'>> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ body: Buffer.from(b) })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 250, maxLength: 300 }).map((b) => ({ body: b })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(undefined, null, 'data', 'value'))
        .map(([b, t]) => ({ body: Buffer.from(b), bodyType: t as Message['bodyType'] })),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.uint8Array({ maxLength: 20 }), { maxLength: 3 })
        .map((b) => ({ body: b, bodyType: 'data' as const })),
    },
    { weight: 1, arbitrary: mapValue(bad).map((b) => ({ body: b as AmqpValue })) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.array(mapValue(bad), { maxLength: 3 }), { maxLength: 2 })
        .map((b) => ({ body: b as AmqpValue, bodyType: 'sequence' as const })),
    },
    { weight: 1, arbitrary: fc.constantFrom({}, { bodyType: 'value' as const }) },
    {
      weight: bad ? 1 : 0,
      arbitrary: fc.constantFrom(
        { body: 'x', bodyType: 'other' as Message['bodyType'] },
        { body: Buffer.from('x'), bodyType: 'sequence' as const },
        { body: 'x', bodyType: 'data' as const },
      ),
    },
  );

// ------------------------------------------------------------------------------ messages

const message = (bad: boolean): fc.Arbitrary<Message> =>
  fc
    .tuple(
      fc.record(
        {
          header: bad
            ? fc.constantFrom({ durable: true }, { priority: 4, ttl: 1000 }, { priority: 300 })
            : fc.constantFrom({ durable: true }, { priority: 4, ttl: 1000 }),
          deliveryAnnotations: mapLike(symbolKey, 4, bad),
          messageAnnotations: mapLike(
            bad
              ? fc.oneof({ weight: 9, arbitrary: symbolKey }, { weight: 1, arbitrary: anyText })
              : symbolKey,
            6,
            bad,
          ),
          properties: fc.oneof(properties(bad), telemetryProperties),
          applicationProperties: mapLike(
            bad
              ? fc.oneof({ weight: 9, arbitrary: stringKey }, { weight: 1, arbitrary: anyText })
              : stringKey,
            6,
            bad,
          ),
          footer: mapLike(symbolKey, 3, bad),
        },
        { requiredKeys: [] },
      ),
      body(bad),
    )
    .map(([sections, b]) => ({ ...sections, ...b }) as Message);

/** Messages that encode (about two in three) and messages that do not. */
export const anyMessage: fc.Arbitrary<Message> = fc.oneof(
  { weight: 1, arbitrary: message(false) },
  { weight: 1, arbitrary: message(true) },
);
