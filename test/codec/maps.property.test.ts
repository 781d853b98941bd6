/**
 * How maps decode, through every reader that builds one: a value (a body), application
 * properties, annotations, the footer and the `fields` of a composite, each with the small-map
 * scratch slots and with keyed stores. A map whose keys are all strings (all symbols, where the
 * spec makes keys symbols) is a plain object when an object keeps the wire order, any other a Map;
 * encoding the result gives back the same bytes; `{ maps: 'map' }` makes every map a Map. Keys a
 * peer chooses ('__proto__', 'constructor', ...) are own data properties, never prototype changes,
 * and a repeated key is refused the same way on every path.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { setKeyedMapScratch } from '../../src/codec/decoder.js';
import {
  AmqpSymbol,
  DecodeError,
  ByteWriter,
  decodeComposite,
  decodeMessage,
  decodeValue,
  encode,
  encodeComposite,
  encodeMessage,
  Typed,
  ulong,
  type AmqpValue,
  type Message,
} from '../../src/codec/index.js';
import {
  allMaps,
  anyString,
  decodedForm,
  objectFrom,
  objectKeepsOrder,
  primitiveArbs,
} from './arbitraries.js';

const RUNS = Math.max(1, Math.round(Number(process.env.FC_RUNS ?? 300)));

afterEach(() => {
  setKeyedMapScratch(true);
});

/** Names Object.prototype has, and names a JavaScript object would reorder (array indexes) or not. */
const HOSTILE = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineSetter__',
];
const INDEXES = ['0', '1', '2', '10', '01', '-1', '4294967294', '4294967295', '1.5', ''];
/** Symbols are ASCII: every pool name is, and some arbitrary strings. */
const keyName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE, ...INDEXES, 'a', 'b') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }) },
);
const leaf = fc.oneof(primitiveArbs.int, primitiveArbs.string, primitiveArbs.ulong, fc.constant(null));

/** Maps with keys from the pool (string keys, up to 12: past the 8 the scratch slots take), nested. */
const { node } = fc.letrec<{ node: AmqpValue; map: Map<AmqpValue, AmqpValue> }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('map'),
    fc.array(tie('node'), { maxLength: 2 }),
  ),
  map: fc
    .uniqueArray(fc.tuple(keyName, tie('node')), { maxLength: 12, selector: (e) => e[0] })
    .map((entries) => new Map<AmqpValue, AmqpValue>(entries)),
}));
const stringKeyedMap = fc
  .uniqueArray(fc.tuple(keyName, node), { maxLength: 12, selector: (e) => e[0] })
  .map((entries) => new Map<AmqpValue, AmqpValue>(entries));

/** What the decoder gives back by default for a value built with Maps. */
function expected(v: AmqpValue): AmqpValue {
  if (Array.isArray(v)) return v.map(expected);
  if (v instanceof Map) return decodedForm(new Map([...v].map(([k, x]) => [k, expected(x)])));
  return v;
}

/** The same with the top level keyed by symbols (annotations, fields): an object of their names. */
function expectedSymbolKeyed(m: Map<AmqpValue, AmqpValue>): AmqpValue {
  const keys = [...m.keys()] as string[];
  const values = [...m.values()].map(expected);
  if (!objectKeepsOrder(keys)) return new Map(keys.map((k, i) => [new AmqpSymbol(k), values[i]]));
  return objectFrom(keys.map((k, i) => [k, values[i]]));
}

const symbolKeyed = (m: Map<AmqpValue, AmqpValue>): Map<AmqpValue, AmqpValue> =>
  new Map([...m].map(([k, v]) => [new AmqpSymbol(k as string), v]));

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort().join();

/**
 * Every plain object in `v` has Object.prototype as its prototype and its keys as own data
 * properties, in the order `source` (the Map it was sent as) has them; nothing reached
 * Object.prototype.
 */
function expectSafe(v: unknown): void {
  if (Array.isArray(v)) return v.forEach(expectSafe);
  if (v instanceof Map) return [...v.values()].forEach(expectSafe);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof AmqpSymbol)) {
    if (Object.getPrototypeOf(v) === Object.prototype) {
      for (const k of Object.keys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, k)!;
        expect(d).toMatchObject({ enumerable: true, writable: true, configurable: true });
        expect('value' in d).toBe(true);
        expectSafe(d.value);
      }
    }
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join()).toBe(PROTOTYPE_NAMES);
}

/**
 * A value as a tree of arrays, every object's keys and every Map's entries in their order, for
 * comparisons: toStrictEqual ignores the order of keys, and reads `constructor`, which a peer's
 * key may have made a value.
 */
function shape(v: unknown): unknown {
  if (v === null || v === undefined) return [String(v)];
  switch (typeof v) {
    case 'bigint':
      return ['bigint', v.toString()];
    case 'number':
    case 'string':
    case 'boolean':
      return [typeof v, v];
  }
  if (Array.isArray(v)) return ['list', v.map(shape)];
  if (v instanceof Map) return ['map', [...v].map(([k, x]) => [shape(k), shape(x)])];
  if (v instanceof AmqpSymbol) return ['symbol', v.value];
  if (v instanceof Typed) return ['typed', v.type, shape(v.value)];
  if (v instanceof Uint8Array) return ['binary', Buffer.from(v).toString('hex')];
  if (Object.getPrototypeOf(v) !== Object.prototype) return ['unexpected', String(v)];
  const o = v as Record<string, unknown>;
  return ['object', Object.keys(o).map((k) => [k, shape(o[k])])];
}

const expectSame = (actual: unknown, wanted: unknown): void => {
  expect(shape(actual)).toStrictEqual(shape(wanted));
};

/** Runs `decode` with keyed stores and with scratch slots: both must give the same thing. */
function bothPaths<T>(decode: () => T): T {
  setKeyedMapScratch(false);
  const stores = decode();
  setKeyedMapScratch(true);
  const scratch = decode();
  expectSame(scratch, stores);
  return scratch;
}

function encodeOpen(properties: AmqpValue): Buffer {
  const w = new ByteWriter(64);
  encodeComposite(w, { type: 'open', containerId: 'c', properties } as never);
  return w.copy();
}

describe('maps decode to plain objects where their keys allow, and encode back to the same bytes', () => {
  it('a value (a body): through decodeValue and decodeMessage', () => {
    fc.assert(
      fc.property(stringKeyedMap, (m) => {
        const bytes = encode(m);
        const v = bothPaths(() => decodeValue(bytes));
        expectSame(v, expected(m));
        expectSafe(v);
        expect(encode(v).equals(bytes)).toBe(true);

        const message = encodeMessage({ body: m, bodyType: 'value' });
        const got = bothPaths(() => decodeMessage(message));
        expectSame(got.body, expected(m));
        expect(encodeMessage(got).equals(message)).toBe(true);

        const asMaps = decodeValue(bytes, { maps: 'map' });
        expectSame(asMaps, allMaps(m));
        expect(encode(asMaps).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('application properties, annotations and the footer', () => {
    fc.assert(
      fc.property(stringKeyedMap, stringKeyedMap, (ap, ma) => {
        const sent: Message = {
          deliveryAnnotations: symbolKeyed(ma),
          messageAnnotations: symbolKeyed(ma),
          applicationProperties: ap,
          body: null,
          bodyType: 'value',
          footer: symbolKeyed(ma),
        };
        const bytes = encodeMessage(sent);
        const got = bothPaths(() => decodeMessage(bytes));
        expectSame(got.applicationProperties, expected(ap));
        for (const a of [got.deliveryAnnotations, got.messageAnnotations, got.footer]) {
          expectSame(a, expectedSymbolKeyed(ma));
        }
        expectSafe(got);
        expect(encodeMessage(got).equals(bytes)).toBe(true);

        const asMaps = decodeMessage(bytes, { maps: 'map' });
        expectSame(asMaps.applicationProperties, allMaps(ap));
        expectSame(asMaps.messageAnnotations, allMaps(symbolKeyed(ma)));
        expect(encodeMessage(asMaps).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("a composite's fields (the generated readers)", () => {
    fc.assert(
      fc.property(stringKeyedMap, (m) => {
        const bytes = encodeOpen(symbolKeyed(m));
        const rec = bothPaths(() => decodeComposite(bytes).value) as { properties?: AmqpValue };
        expectSame(rec.properties, expectedSymbolKeyed(m));
        expectSafe(rec);
        expect(encodeOpen(rec.properties!).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('a map with a key of another type stays a Map, and one in its values is still an object', () => {
    const inner = new Map<AmqpValue, AmqpValue>([['__proto__', 1]]);
    const m = new Map<AmqpValue, AmqpValue>([
      ['a', inner],
      [new AmqpSymbol('s'), 2],
    ]);
    const v = decodeValue(encode(m)) as Map<AmqpValue, AmqpValue>;
    expect(v).toBeInstanceOf(Map);
    const o = v.get('a') as Record<string, unknown>;
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toStrictEqual(['__proto__']);
    expect(encode(v).equals(encode(m))).toBe(true);
  });
});

describe('hostile keys', () => {
  it("'__proto__' is an own property on every path, and the prototype is Object.prototype", () => {
    const evil = new Map<AmqpValue, AmqpValue>([
      ['__proto__', new Map<AmqpValue, AmqpValue>([['polluted', 'yes']])],
      ['constructor', 'c'],
      ['hasOwnProperty', 'h'],
    ]);
    const body = decodeValue(encode(evil)) as Record<string, unknown>;
    const m = decodeMessage(
      encodeMessage({ applicationProperties: evil, messageAnnotations: symbolKeyed(evil), body: evil }),
    );
    const open = decodeComposite(encodeOpen(symbolKeyed(evil))).value as { properties?: unknown };
    for (const o of [body, m.applicationProperties, m.messageAnnotations, m.body, open.properties]) {
      const r = o as Record<string, unknown>;
      expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
      expect(Object.keys(r)).toStrictEqual(['__proto__', 'constructor', 'hasOwnProperty']);
      expectSame(Object.getOwnPropertyDescriptor(r, '__proto__')?.value, { polluted: 'yes' });
      expect(r.polluted).toBeUndefined();
      expect(r.constructor).toBe('c');
      expect(JSON.stringify(r)).toBe(
        '{"__proto__":{"polluted":"yes"},"constructor":"c","hasOwnProperty":"h"}',
      );
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a name Object.prototype has is defined, not assigned: a setter there is not called', () => {
    const original = Object.getOwnPropertyDescriptor(Object.prototype, 'toLocaleString')!;
    let called = 0;
    Object.defineProperty(Object.prototype, 'toLocaleString', {
      get: () => original.value,
      set() {
        called++;
      },
      configurable: true,
    });
    try {
      const bytes = encode(new Map<AmqpValue, AmqpValue>([['toLocaleString', 1]]));
      for (const scratch of [true, false]) {
        setKeyedMapScratch(scratch);
        const o = decodeValue(bytes) as Record<string, unknown>;
        expect(Object.getOwnPropertyDescriptor(o, 'toLocaleString')?.value).toBe(1);
      }
      expect(called).toBe(0);
    } finally {
      Object.defineProperty(Object.prototype, 'toLocaleString', original);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Repeated keys, written by hand (our encoder cannot write them).

function str8(k: string, symbol = false): Buffer {
  const b = Buffer.from(k, 'utf8');
  return Buffer.concat([Buffer.from([symbol ? 0xa3 : 0xa1, b.length]), b]);
}

/** A map8 (map32 when the items need it) of these pairs, repeated keys and all. */
function rawMap(pairs: [Buffer, Buffer][]): Buffer {
  const items = Buffer.concat(pairs.flat());
  if (items.length < 255)
    return Buffer.concat([Buffer.from([0xc1, items.length + 1, pairs.length * 2]), items]);
  const head = Buffer.from([0xd1, 0, 0, 0, 0, 0, 0, 0, 0]);
  head.writeUInt32BE(items.length + 4, 1);
  head.writeUInt32BE(pairs.length * 2, 5);
  return Buffer.concat([head, items]);
}

type Outcome = { ok: true } | { ok: false; code: string; offset: number };
function outcome(f: () => unknown): Outcome {
  try {
    f();
    return { ok: true };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { ok: false, code: e.code, offset: e.offset };
  }
}

describe('repeated keys', () => {
  it('are refused on every path, in either form, with the same error with and without scratch slots', () => {
    const names = fc.constantFrom('a', 'b', '__proto__', 'toString', '0', '1');
    fc.assert(
      fc.property(fc.array(fc.tuple(names, leaf), { maxLength: 10 }), fc.boolean(), (pairs, otherKey) => {
        const keys = pairs.map(([k]) => k);
        const repeated = new Set(keys).size !== keys.length;
        const entries = pairs.map(([k, v]): [Buffer, Buffer] => [str8(k), encode(v)]);
        // A ulong key in front makes it a Map from the start.
        if (otherKey) entries.unshift([encode(ulong(7)), encode(null)]);
        const value = rawMap(entries);
        const symbolEntries = pairs.map(([k, v]): [Buffer, Buffer] => [str8(k, true), encode(v)]);
        const section = (code: number, body: Buffer) =>
          Buffer.concat([Buffer.from([0x00, 0x53, code]), body]);
        const message = Buffer.concat([
          section(0x72, rawMap(symbolEntries)),
          section(0x74, value),
          section(0x77, value),
        ]);
        const runs = [
          () => decodeValue(value),
          () => decodeValue(value, { maps: 'map' }),
          () => decodeMessage(message),
          () => decodeMessage(message, { maps: 'map' }),
        ];
        for (const run of runs) {
          setKeyedMapScratch(false);
          const stores = outcome(run);
          setKeyedMapScratch(true);
          const scratch = outcome(run);
          expect(scratch).toStrictEqual(stores);
          expect(scratch.ok).toBe(!repeated);
          if (!scratch.ok) expect(scratch.code).toBe('AMQP_DECODE_INVALID_VALUE');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('keys JavaScript compares by value collide in a Map too: int 1 written two ways', () => {
    const bytes = rawMap([
      [Buffer.from([0x54, 0x01]), encode('x')],
      [Buffer.from([0x71, 0, 0, 0, 1]), encode('y')],
    ]);
    expect(() => decodeValue(bytes)).toThrow(expect.objectContaining({ code: 'AMQP_DECODE_INVALID_VALUE' }));
  });
});

describe('an empty map', () => {
  it('is {} (or an empty Map with maps: map); {} and new Map() encode alike, to map8 with count 0', () => {
    const bytes = Buffer.from([0xc1, 0x01, 0x00]);
    expect(decodeValue(bytes)).toStrictEqual({});
    expect(decodeValue(bytes, { maps: 'map' })).toStrictEqual(new Map());
    expect(encode({}).equals(bytes)).toBe(true);
    expect(encode(new Map()).equals(bytes)).toBe(true);
    expect(decodeMessage(encodeMessage({ applicationProperties: {} })).applicationProperties).toStrictEqual(
      {},
    );
  });

  it('a misspelt maps option is a typed error (from JavaScript)', () => {
    expect(() => decodeValue(encode(1), { maps: 'Map' as never })).toThrow(
      expect.objectContaining({ code: 'AMQP_INVALID_ARGUMENT' }),
    );
    expect(() => decodeMessage(encodeMessage({ body: 1 }), { maps: 1 as never })).toThrow(
      expect.objectContaining({ code: 'AMQP_INVALID_ARGUMENT' }),
    );
  });
});

// A long random string key is not cached by the decoder (over 32 bytes): the uncached path too.
it('long and non-ASCII keys take the same rule', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(anyString, leaf), { maxLength: 10, selector: (e) => e[0] }),
      (entries) => {
        const m = new Map<AmqpValue, AmqpValue>(entries);
        const bytes = encode(m);
        const v = bothPaths(() => decodeValue(bytes));
        expect(v).toStrictEqual(expected(m));
        expect(encode(v).equals(bytes)).toBe(true);
      },
    ),
    { numRuns: RUNS },
  );
});
