/**
 * Lazy decoding (readMessage) against the eager decoder (decodeMessage): for any message, and for
 * any corruption of one, readMessage fails exactly when decodeMessage fails, with the same error,
 * and otherwise every section and every properties field reads back as decodeMessage gives it, in
 * whatever order they are read. Run twice: with the fast path (quick-scan.ts) and with the careful
 * scan alone (value-scan.ts), so each is held to the Decoder.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Decoder, type DecodeOptions } from '../../src/codec/decoder.js';
import { DecodeError } from '../../src/codec/errors.js';
import { decodeMessage, encodeMessage, type Message } from '../../src/codec/message.js';
import { MessageView, readMessage, setQuickScan } from '../../src/codec/message-view.js';
import { readFlatMap, setFlatMaps } from '../../src/codec/flat-map.js';
import { shortAscii } from '../../src/codec/short-ascii.js';
import { asciiSlice } from '../../src/codec/bytes.js';
import { telemetryMessage } from '../../src/bench/telemetry.js';
import { encode } from '../../src/codec/index.js';
import { AmqpSymbol, Typed, type AmqpValue } from '../../src/codec/values.js';
import { amqpValue, binaryBuf, messageArb } from './arbitraries.js';

const SECTIONS = [
  'header',
  'deliveryAnnotations',
  'messageAnnotations',
  'properties',
  'applicationProperties',
  'body',
  'bodyType',
  'footer',
] as const;
const PROPERTY_FIELDS = [
  'messageId',
  'userId',
  'to',
  'subject',
  'replyTo',
  'correlationId',
  'contentType',
  'contentEncoding',
  'absoluteExpiryTime',
  'creationTime',
  'groupId',
  'groupSequence',
  'replyToGroupId',
] as const;

const MAP_SECTIONS = new Set([
  'deliveryAnnotations',
  'messageAnnotations',
  'applicationProperties',
  'footer',
]);
const isPlainObject = (x: unknown): boolean =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

type Outcome = { ok: true; m: Message } | { ok: false; code: string; offset: number; message: string };

function outcome(f: () => Message): Outcome {
  try {
    return { ok: true, m: f() };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { ok: false, code: e.code, offset: e.offset ?? -1, message: e.message };
  }
}

/** Reads the lazy message's sections and fields in the order given by `order`, then compares. */
function expectSame(bytes: Buffer, order: number[], options?: DecodeOptions): void {
  const eager = outcome(() => decodeMessage(bytes, options));
  const lazy = outcome(() => readMessage(bytes, options));
  if (!eager.ok || !lazy.ok) {
    expect(lazy).toStrictEqual(eager);
    return;
  }
  const v = lazy.m;
  expect(v).toBeInstanceOf(MessageView);
  const e = eager.m as Record<string, unknown>;
  const names = [...SECTIONS];
  for (const i of order) {
    const name = names[i % names.length]!;
    if (name === 'properties' && e.properties !== undefined) {
      const p = v.properties as Record<string, unknown>;
      for (const f of PROPERTY_FIELDS) {
        expect(p[f]).toStrictEqual((e.properties as Record<string, unknown>)[f]);
      }
    } else {
      const got = (v as Record<string, unknown>)[name];
      expect(got).toStrictEqual(e[name]);
      // toEqual ignores the order of an object's keys; a map section must keep the wire order.
      if (MAP_SECTIONS.has(name) && isPlainObject(e[name])) {
        expect(Object.keys(got as object)).toEqual(Object.keys(e[name] as object));
      }
    }
  }
  expect((v as MessageView).toMessage()).toStrictEqual(eager.m);
}

/** A few bytes changed, cut or added: the ways a message arrives broken. */
const corruption = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('overwrite' as const),
    at: fc.nat(),
    bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 4 }),
  }),
);

function corrupt(input: Buffer, c: CorruptionT): Buffer {
  const b = Buffer.from(input);
  const len = b.length;
  if (len === 0) return b;
  switch (c.kind) {
    case 'flip':
      b[c.at % len]! ^= 1 << c.bit;
      return b;
    case 'truncate':
      return b.subarray(0, c.at % len);
    case 'overwrite':
      c.bytes.forEach((x, i) => {
        if ((c.at % len) + i < len) b[(c.at % len) + i] = x;
      });
      return b;
    case 'insert': {
      const at = c.at % (len + 1);
      return Buffer.concat([b.subarray(0, at), Buffer.from(c.bytes), b.subarray(at)]);
    }
  }
}
type CorruptionT =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'overwrite'; at: number; bytes: number[] }
  | { kind: 'insert'; at: number; bytes: number[] };

const orderArb = fc.array(fc.nat(63), { minLength: 1, maxLength: 12 });

describe.each([
  ['the fast path', true],
  ['the careful scan alone', false],
])('readMessage with %s', (_name, quick) => {
  afterEach(() => setQuickScan(true));

  it('reads every section and field as decodeMessage decodes it, in any order', () => {
    setQuickScan(quick);
    fc.assert(
      fc.property(messageArb, orderArb, (m, order) => expectSame(encodeMessage(m), order)),
      { numRuns: 300 },
    );
  });

  it('fails exactly when decodeMessage fails, with the same error, for any corruption', () => {
    setQuickScan(quick);
    fc.assert(
      fc.property(
        messageArb,
        fc.array(corruption, { minLength: 1, maxLength: 3 }),
        orderArb,
        (m, cs, order) => {
          let b = encodeMessage(m);
          for (const c of cs) b = corrupt(b, c as CorruptionT);
          expectSame(b, order);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('fails exactly when decodeMessage fails under any maxDepth, down to none at all', () => {
    setQuickScan(quick);
    const depth = fc.constantFrom(-1, 0, 0.5, 1, 2, 3, 5, 64, Number.NaN);
    fc.assert(
      fc.property(messageArb, depth, orderArb, (m, maxDepth, order) =>
        expectSame(encodeMessage(m), order, { maxDepth }),
      ),
      { numRuns: 600 },
    );
  });

  it('keeps each view to its own bytes while other messages are read, well-formed or not', () => {
    setQuickScan(quick);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(messageArb, fc.option(corruption, { nil: undefined })), {
          minLength: 2,
          maxLength: 5,
        }),
        orderArb,
        (items, order) => {
          // Read every message first, keeping the views, then read each one's sections.
          const bytes = items.map(([m, c]) =>
            c ? corrupt(encodeMessage(m), c as CorruptionT) : encodeMessage(m),
          );
          const views = bytes.map((b) => outcome(() => readMessage(b)));
          bytes.forEach((b, i) => {
            const v = views[i]!;
            if (!v.ok) return;
            expect((v.m as MessageView).toMessage()).toStrictEqual(decodeMessage(b));
            expectSame(b, order);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails as decodeMessage does on random bytes behind a section descriptor', () => {
    setQuickScan(quick);
    const section = fc.constantFrom(0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78);
    fc.assert(
      fc.property(section, fc.uint8Array({ maxLength: 40 }), orderArb, (s, tail, order) => {
        expectSame(Buffer.concat([Buffer.from([0x00, 0x53, s]), tail]), order);
      }),
      { numRuns: 1500 },
    );
  });
});

/** A key in one of the four forms a map may carry it, from a small set so that keys repeat. */
const keyArb = fc.record({
  // A leading U+FEFF is a character of the key, not a byte-order mark to drop: '\uFEFFa' is not 'a'.
  text: fc.constantFrom('a', 'b', 'ab', '1', '01', '10', 'x-opt-k', '', 'é', '\uFEFFa', '\uFEFF'),
  code: fc.constantFrom(0xa1, 0xb1, 0xa3, 0xb3),
});

function keyBytes(k: { text: string; code: number }): Buffer {
  const t = Buffer.from(k.text, 'utf8');
  if (k.code === 0xa1 || k.code === 0xa3) return Buffer.concat([Buffer.from([k.code, t.length]), t]);
  const n = Buffer.alloc(4);
  n.writeUInt32BE(t.length);
  return Buffer.concat([Buffer.from([k.code]), n, t]);
}

/** A map section (application properties or annotations) built by hand: any keys, small values. */
const mapSectionArb = fc
  .tuple(
    fc.constantFrom(0x71, 0x72, 0x74, 0x78),
    fc.array(fc.tuple(keyArb, fc.constantFrom(0x40, 0x41, 0x42, 0x45)), { maxLength: 20 }),
  )
  .map(([section, pairs]) => {
    const items = Buffer.concat(pairs.map(([k, v]) => Buffer.concat([keyBytes(k), Buffer.from([v])])));
    const head = Buffer.alloc(9);
    head[0] = 0xd1; // map32: room for any number of pairs
    head.writeUInt32BE(items.length + 4, 1);
    head.writeUInt32BE(pairs.length * 2, 5);
    return Buffer.concat([Buffer.from([0x00, 0x53, section]), head, items]);
  });

/** Each field of the right type mostly, else null or any value: right up to a wrong one. */
const fieldOf = (right: fc.Arbitrary<AmqpValue>): fc.Arbitrary<AmqpValue> =>
  fc.oneof(
    { weight: 8, arbitrary: right },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: amqpValue },
  );
const str = fc.string({ maxLength: 12 });
const sym = fc.string({ maxLength: 12 }).map((s) => new AmqpSymbol(s));
const date = fc.integer({ min: 0, max: 2 ** 40 }).map((n) => new Date(n));
const propertiesListArb = fc
  .tuple(
    fieldOf(fc.oneof(str, amqpValue)),
    fieldOf(binaryBuf),
    fieldOf(str),
    fieldOf(str),
    fieldOf(str),
    fieldOf(amqpValue),
    fieldOf(sym),
    fieldOf(sym),
    fieldOf(date),
    fieldOf(date),
    fieldOf(str),
    fieldOf(fc.nat().map((n) => new Typed('uint', n))),
    fieldOf(str),
    fc.array(amqpValue, { maxLength: 2 }),
  )
  .chain(([...all]) => {
    const extra = all.pop() as AmqpValue[];
    const fields = all as AmqpValue[];
    return fc
      .nat(fields.length)
      .map((n) => (n === fields.length ? [...fields, ...extra] : fields.slice(0, n)));
  });

describe.each([
  ['the fast path', true],
  ['the careful scan alone', false],
])('readMessage with %s, on hand-built sections', (_name, quick) => {
  afterEach(() => setQuickScan(true));

  it('judges repeated, digit, empty and mixed-form map keys as decodeMessage does', () => {
    setQuickScan(quick);
    fc.assert(
      fc.property(mapSectionArb, orderArb, (b, order) => expectSame(b, order)),
      { numRuns: 1500 },
    );
  });

  it('judges a properties list of any values (right and wrong types) as decodeMessage does', () => {
    setQuickScan(quick);
    fc.assert(
      fc.property(propertiesListArb, orderArb, (items, order) => {
        expectSame(Buffer.concat([Buffer.from([0x00, 0x53, 0x73]), encode(items)]), order);
      }),
      { numRuns: 1500 },
    );
  });
});

/**
 * A map8 section built by hand as readFlatMap (flat-map.ts) reads it, and around it: keys that are
 * ASCII or not, empty, too long, digits, Object.prototype names, in str8, sym8 or str32 form; values
 * of the kinds it reads and of kinds it leaves to the Decoder. Small, so that it fits a map8.
 */
const flatKeyArb = fc.record({
  text: fc.constantFrom(
    'a',
    'b',
    'deviceId',
    'x-opt-k',
    '1',
    '01',
    '__proto__',
    'toString',
    '',
    '\uFEFFa',
    'é',
    'k'.repeat(33),
  ),
  code: fc.constantFrom(0xa1, 0xa1, 0xa1, 0xa3, 0xa3, 0xb1),
});
const flatValueArb = fc.constantFrom(
  [0xa1, 1, 0x76], // str8 "v"
  [0xa1, 0], // str8 ""
  [0xa1, 2, 0xc3, 0xa9], // str8 "é"
  [0xa1, 1, 0xff], // str8, invalid UTF-8
  [0x71, 0x00, 0x01, 0xe2, 0x40], // int 123456
  [0x71, 0xff, 0xff, 0xff, 0xfe], // int -2
  [0x54, 0x80], // smallint -128
  [0x54, 0x05],
  [0x40],
  [0x41],
  [0x42],
  [0x52, 0x07], // smalluint: a Typed, left to the Decoder
  [0xa3, 1, 0x73], // sym8
  [0x81, 0, 0, 0, 0, 0, 0, 0, 1], // long
  [0x72, 0x3f, 0x80, 0, 0], // float: as wide as an int
  [0x73, 0, 0, 0, 0x41], // char "A": as wide as an int
  [0x73, 0, 0x11, 0, 0], // char past U+10FFFF: invalid
);
const flatMapSectionArb = fc
  .tuple(
    fc.constantFrom(0x71, 0x72, 0x74, 0x78),
    fc.array(fc.tuple(flatKeyArb, flatValueArb), { maxLength: 18 }),
  )
  .map(([section, pairs]) => {
    const items = Buffer.concat(pairs.map(([k, v]) => Buffer.concat([keyBytes(k), Buffer.from(v)])));
    const body = items.subarray(0, Math.min(items.length, 253)); // a map8's size is one byte
    return Buffer.concat([Buffer.from([0x00, 0x53, section, 0xc1, body.length + 1, pairs.length * 2]), body]);
  });

describe.each([
  ['the fast path', true],
  ['the careful scan alone', false],
])('readMessage with %s, on flat map sections', (_name, quick) => {
  afterEach(() => {
    setQuickScan(true);
    setFlatMaps(true);
  });

  it.each([
    ['read flat', true],
    ['read by the Decoder', false],
  ])('reads them as decodeMessage does, %s', (_how, flat) => {
    setQuickScan(quick);
    setFlatMaps(flat);
    fc.assert(
      fc.property(flatMapSectionArb, orderArb, (b, order) => expectSame(b, order)),
      { numRuns: 2000 },
    );
  });
});

describe('readFlatMap', () => {
  it('reads the telemetry sections, as the Decoder does', () => {
    const bytes = encodeMessage(telemetryMessage());
    const e = decodeMessage(bytes);
    // The application properties' map8 follows its descriptor 0x00 0x53 0x74.
    const ap = bytes.indexOf(Buffer.from([0x00, 0x53, 0x74])) + 3;
    const ma = bytes.indexOf(Buffer.from([0x00, 0x53, 0x72])) + 3;
    const flatAp = readFlatMap(bytes, ap, false, false);
    const flatMa = readFlatMap(bytes, ma, true, false);
    expect(flatAp).toEqual(e.applicationProperties);
    expect(Object.keys(flatAp!)).toEqual(Object.keys(e.applicationProperties as object));
    expect(flatMa).toEqual(e.messageAnnotations);
  });

  it('reads an Object.prototype name as an own key, and leaves a digit key to the Decoder', () => {
    const ap = (key: string): Buffer => encodeMessage({ applicationProperties: { [key]: 1 } });
    const at = (b: Buffer): number => b.indexOf(Buffer.from([0x00, 0x53, 0x74])) + 3;
    const proto = ap('__proto__');
    const flat = readFlatMap(proto, at(proto), false, false)!;
    expect(Object.getPrototypeOf(flat)).toBe(Object.prototype);
    expect(Object.keys(flat)).toEqual(['__proto__']);
    const digit = ap('7');
    expect(readFlatMap(digit, at(digit), false, false)).toBeUndefined();
  });
});

describe('readMessage, by hand', () => {
  it('the careful scan decodes a nested map whose keys it cannot judge once, not once per level', () => {
    // { a: { a: ... { a: null, '1': null } ..., '1': null }, '1': null }: the key '1' comes after
    // each nested map, so a scan that only met it there would decode every inner map again.
    const levels = 30;
    // Maps, to keep that key order (an object would list '1' first).
    let inner: AmqpValue = new Map<AmqpValue, AmqpValue>([
      ['a', null],
      ['1', null],
    ]);
    for (let i = 1; i < levels; i++) {
      inner = new Map<AmqpValue, AmqpValue>([
        ['a', inner],
        ['1', null],
      ]);
    }
    const bytes = encodeMessage({ body: inner });
    {
      // The fast path takes such maps without decoding; the careful scan is what might repeat work.
      setQuickScan(false);
      const keyed = vi.spyOn(Decoder.prototype, 'keyedMap');
      let view: Message;
      try {
        view = readMessage(bytes);
        // Checking it decodes each level once, as decodeMessage does.
        expect(keyed.mock.calls.length).toBe(levels);
      } finally {
        keyed.mockRestore();
        setQuickScan(true);
      }
      expect(view.body).toStrictEqual(decodeMessage(bytes).body);
    }
  });

  it('counts the properties list as a level of nesting, as decodeMessage does', () => {
    // An empty list, a list of one empty string, and an empty list before a malformed body.
    for (const hex of ['00537345', '005373c00301a100', '00537345005377c1ff00']) {
      const bytes = Buffer.from(hex, 'hex');
      for (const quick of [true, false]) {
        setQuickScan(quick);
        try {
          for (const maxDepth of [0, -1, 0.5]) {
            expect(() => decodeMessage(bytes, { maxDepth })).toThrow(
              expect.objectContaining({ code: 'AMQP_DECODE_TOO_DEEP' }),
            );
            expect(() => readMessage(bytes, { maxDepth })).toThrow(
              expect.objectContaining({ code: 'AMQP_DECODE_TOO_DEEP' }),
            );
          }
        } finally {
          setQuickScan(true);
        }
      }
    }
  });

  it("keeps a leading U+FEFF in keys and strings, so '\\uFEFFa' and 'a' are two keys", () => {
    const m: Message = { applicationProperties: { '\uFEFFa': 1, a: 2 }, body: '\uFEFFhello' };
    const bytes = encodeMessage(m);
    expect(decodeMessage(bytes)).toStrictEqual({ ...m, bodyType: 'value' });
    const v = readMessage(bytes);
    expect(v.applicationProperties).toStrictEqual({ '\uFEFFa': 1, a: 2 });
    expect(v.body).toBe('\uFEFFhello');
  });

  const dup = (section: number, a: number[], b: number[]): Buffer =>
    Buffer.from([0x00, 0x53, section, 0xc1, 3 + a.length + b.length, 4, ...a, 0x40, ...b, 0x40]);

  it('refuses a key repeated in another width, as decodeMessage does', () => {
    // "k" as str8, then "k" as str32: one key to JavaScript.
    const b = dup(0x74, [0xa1, 1, 0x6b], [0xb1, 0, 0, 0, 1, 0x6b]);
    expect(() => decodeMessage(b)).toThrow(expect.objectContaining({ code: 'AMQP_DECODE_INVALID_VALUE' }));
    expect(() => readMessage(b)).toThrow(expect.objectContaining({ code: 'AMQP_DECODE_INVALID_VALUE' }));
  });

  it('hands out nothing for a message whose unread section is malformed', () => {
    // Application properties with invalid UTF-8 in a value, which the reader would never read.
    const b = Buffer.from([0x00, 0x53, 0x74, 0xc1, 7, 2, 0xa1, 1, 0x6b, 0xa1, 1, 0xff]);
    expect(() => readMessage(b)).toThrow(expect.objectContaining({ code: 'AMQP_DECODE_INVALID_UTF8' }));
  });

  it('gives assigned sections back, and encodes as the eager message does', () => {
    const m: Message = {
      messageAnnotations: { 'x-opt-a': 'v' },
      properties: { messageId: 'id-1', to: '/q', creationTime: new Date(5) },
      applicationProperties: { k: 1 },
      body: Buffer.from('hello'),
    };
    const bytes = encodeMessage(m);
    const v = readMessage(bytes);
    expect(encodeMessage(v)).toEqual(bytes);
    v.applicationProperties = { k: 2 };
    v.properties!.messageId = 'id-2';
    v.body = Buffer.from('bye');
    expect(v.applicationProperties).toEqual({ k: 2 });
    expect(v.properties!.messageId).toBe('id-2');
    expect(JSON.parse(JSON.stringify(v))).toEqual(
      JSON.parse(
        JSON.stringify({
          ...m,
          ...{ applicationProperties: { k: 2 }, body: Buffer.from('bye'), bodyType: 'data' },
          properties: { ...m.properties, messageId: 'id-2' },
        }),
      ),
    );
  });

  it("is decodeMessage with maps: 'map'", () => {
    const bytes = encodeMessage({ applicationProperties: { k: 1 }, body: 'x' });
    const v = readMessage(bytes, { maps: 'map' });
    expect(v).not.toBeInstanceOf(MessageView);
    expect(v).toEqual(decodeMessage(bytes, { maps: 'map' }));
  });
});

describe('the fast check reads text through a view of the whole ArrayBuffer', () => {
  // The view is kept between messages for buffers up to 64 KiB and let go after each larger one:
  // messages in large and small buffers, at any offset, in turn, with a byte of text made
  // non-ASCII or not, read as decodeMessage reads them.
  it('in buffers over and under 64 KiB, at any offset, in turn, reads and fails as decodeMessage', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(messageArb, fc.boolean(), fc.nat(4096), fc.option(fc.nat())), {
          minLength: 1,
          maxLength: 6,
        }),
        orderArb,
        (items, order) => {
          for (const [m, large, offset, spoil] of items) {
            const bytes = encodeMessage(m);
            const whole = Buffer.alloc((large ? 70 * 1024 : bytes.length) + offset + 7, 0x41);
            const at = large ? offset : Math.min(offset, 7);
            const b = whole.subarray(at, at + bytes.length);
            b.set(bytes);
            // Sets the high bit of one byte: inside a string, text that is not ASCII.
            if (spoil !== null && b.length > 0) b[spoil % b.length]! |= 0x80;
            expectSame(b, order);
            // Again: after a large buffer's view is let go, the same buffer gets a new one.
            expectSame(b, order);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('shortAscii', () => {
  it('gives the string asciiSlice gives, for ASCII text of any length at any offset', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 0x7f }), { maxLength: 40 }),
        (before, text) => {
          const b = Buffer.concat([Buffer.from(before), Buffer.from(text), Buffer.from([0x41])]);
          const s = before.length;
          expect(shortAscii(b, s, text.length)).toBe(asciiSlice(b, s, s + text.length));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
