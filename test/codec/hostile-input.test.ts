/**
 * Hostile input: random bytes, mutated valid encodings and hand-made attacks. Whatever the bytes,
 * decodeValue / decodeMessage / decodeComposite either return or throw a DecodeError (code
 * 'AMQP_DECODE_*', condition 'amqp:decode-error'), never a RangeError or TypeError, and every call
 * returns quickly: sizes and counts are checked before anything is allocated or looped over.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import {
  AmqpArray,
  AmqpSymbol,
  ByteWriter,
  Described,
  DEFAULT_MAX_DEPTH,
  DecodeError,
  compositeTypes,
  decodeComposite,
  decodeMessage,
  decodeValue,
  encode,
  encodeComposite,
  encodeMessage,
  type AmqpMap,
  type AmqpValue,
} from '../../src/codec/index.js';
import { amqpValue, compositeRecordArb, largeValue, messageArb } from './arbitraries.js';
import { metered, workBound } from './decode-work.js';
import { heldScratchValues } from '../../src/codec/decoder.js';

/** Property runs; FC_RUNS=20000 for a longer hunt. */
const RUNS = Math.max(1, Math.round(Number(process.env.FC_RUNS ?? 3000)));

type Outcome = { ok: true; value: unknown } | { ok: false; error: DecodeError };

function assertDecodeError(e: unknown): asserts e is DecodeError {
  if (!(e instanceof DecodeError)) {
    const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
    throw new Error(`expected a DecodeError, got ${what}`, { cause: e });
  }
  expect(typeof e.code).toBe('string');
  expect(e.code.startsWith('AMQP_DECODE_')).toBe(true);
  expect(e.condition).toBe('amqp:decode-error');
  expect(e.name).toBe('DecodeError');
}

/** Inputs here are small unless a test says otherwise. */
const SMALL_INPUT = 4096;

/**
 * Runs one decode: it returns or throws a DecodeError, within work linear in `inputBytes` (see
 * decode-work.ts): sizes and counts are checked before anything is looped over.
 */
function attempt(decode: () => unknown, inputBytes = SMALL_INPUT): Outcome {
  const o = metered(decode, workBound(inputBytes));
  if (o.ok) return o;
  assertDecodeError(o.error);
  return { ok: false, error: o.error };
}

function expectDecodeError(decode: () => unknown, code?: string): DecodeError {
  const o = attempt(decode);
  if (o.ok) throw new Error(`expected a DecodeError${code ? ` ${code}` : ''}, but it decoded`);
  if (code) expect(o.error.code).toBe(code);
  return o.error;
}

const decoders: [string, (b: Buffer) => unknown][] = [
  ['decodeValue', (b) => decodeValue(b)],
  ['decodeMessage', (b) => decodeMessage(b)],
  ['decodeComposite', (b) => decodeComposite(b)],
];

function everyDecoder(b: Buffer): void {
  for (const [, decode] of decoders) attempt(() => decode(b));
}

function encodeRecord(rec: { type: string }): Buffer {
  const w = new ByteWriter(64);
  encodeComposite(w, rec);
  return w.copy();
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Every constructor byte the spec defines. */
const CONSTRUCTORS = [
  0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x60, 0x61, 0x70, 0x71,
  0x72, 0x73, 0x74, 0x80, 0x81, 0x82, 0x83, 0x84, 0x94, 0x98, 0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3, 0xc0, 0xc1,
  0xd0, 0xd1, 0xe0, 0xf0,
];
/** Constructors followed by a size (1 or 4 bytes). */
const SIZED = new Set([0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3, 0xc0, 0xc1, 0xd0, 0xd1, 0xe0, 0xf0]);
const WIDE = new Set([0xb0, 0xb1, 0xb3, 0xd0, 0xd1, 0xf0]);

// ------------------------------------------------------------------------------ inputs

/** Bytes that look like AMQP often enough to get past the first constructor. */
const amqpishByte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...CONSTRUCTORS) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(0x00, 0x01, 0x02, 0x04, 0x10, 0x53, 0x70, 0x75, 0x77, 0xff) },
);
const randomBytes = fc.oneof(
  fc.uint8Array({ maxLength: 128 }).map((b) => Buffer.from(b)),
  fc.array(amqpishByte, { maxLength: 128 }).map((b) => Buffer.from(b)),
  // A described header first, so message sections and composites get read further.
  fc
    .tuple(
      fc.constantFrom(
        0x10,
        0x11,
        0x12,
        0x13,
        0x14,
        0x15,
        0x16,
        0x17,
        0x18,
        0x1d,
        0x23,
        0x25,
        0x28,
        0x41,
        0x70,
        0x73,
        0x75,
        0x77,
      ),
      fc.array(amqpishByte, { maxLength: 96 }),
    )
    .map(([code, tail]) => Buffer.from([0x00, 0x53, code, ...tail])),
);

const performativeNames = Object.values(compositeTypes).map((c) => c.name);
const validEncoding: fc.Arbitrary<Buffer> = fc.oneof(
  amqpValue.map((v) => encode(v)),
  largeValue.map((v) => encode(v)),
  messageArb.map((m) => encodeMessage(m)),
  fc
    .constantFrom(...performativeNames)
    .chain((n) => compositeRecordArb(n).map((r) => encodeRecord(r as { type: string }))),
);

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'overwrite'; at: number; bytes: number[] }
  | { kind: 'size'; nth: number; value: number }
  | { kind: 'constructor'; at: number; code: number };

const HUGE = [0xffffffff, 0x7fffffff, 0x80000000, 0xfffffff0, 0x10000, 0xff, 0xfe, 0x80, 0];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(amqpishByte, { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('overwrite' as const),
    at: fc.nat(),
    bytes: fc.array(amqpishByte, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('size' as const),
    nth: fc.nat(),
    value: fc.oneof(fc.constantFrom(...HUGE), fc.nat()),
  }),
  fc.record({
    kind: fc.constant('constructor' as const),
    at: fc.nat(),
    code: fc.oneof(fc.constantFrom(...CONSTRUCTORS), fc.nat(255)),
  }),
);

/** Offsets of the size fields: the byte after each sized constructor (a guess: it may be data). */
function sizeFieldOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < b.length; i++) if (SIZED.has(b[i]!)) out.push(i);
  return out;
}

function mutate(input: Buffer, m: Mutation): Buffer {
  const b = Buffer.from(input);
  const len = b.length;
  switch (m.kind) {
    case 'flip':
      if (len === 0) return b;
      b[m.at % len]! ^= 1 << m.bit;
      return b;
    case 'insert': {
      const at = m.at % (len + 1);
      return Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    }
    case 'delete': {
      if (len === 0) return b;
      const at = m.at % len;
      return Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
    }
    case 'truncate':
      return b.subarray(0, m.at % (len + 1));
    case 'overwrite': {
      if (len === 0) return b;
      const at = m.at % len;
      m.bytes.forEach((x, i) => {
        if (at + i < len) b[at + i] = x;
      });
      return b;
    }
    case 'size': {
      const offsets = sizeFieldOffsets(b);
      if (offsets.length === 0) return b;
      const at = offsets[m.nth % offsets.length]!;
      const wide = WIDE.has(b[at]!);
      // The size, or (every other time) the count after it.
      const field = at + 1 + (m.nth % 2 === 1 && b[at]! >= 0xc0 ? (wide ? 4 : 1) : 0);
      if (wide) {
        if (field + 4 <= len) b.writeUInt32BE(m.value >>> 0, field);
      } else if (field < len) b[field] = m.value & 0xff;
      return b;
    }
    case 'constructor': {
      const offsets = sizeFieldOffsets(b);
      const at =
        offsets.length > 0 && m.at % 2 === 0 ? offsets[m.at % offsets.length]! : m.at % Math.max(len, 1);
      if (at < len) b[at] = m.code;
      return b;
    }
  }
}

// ------------------------------------------------------------------------------ properties

describe('random input', () => {
  it('random bytes: every decoder returns or throws a DecodeError, quickly', () => {
    fc.assert(fc.property(randomBytes, everyDecoder), { numRuns: RUNS });
  });

  it('random bytes as a Uint8Array (not a Buffer) behave the same', () => {
    fc.assert(
      fc.property(randomBytes, (b) => {
        const u8 = new Uint8Array(b);
        attempt(() => decodeValue(u8));
        attempt(() => decodeMessage(u8));
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it('random bytes inside a larger buffer (offset, end) only read their own range', () => {
    fc.assert(
      fc.property(randomBytes, fc.nat(16), fc.nat(16), (b, pre, post) => {
        const outer = Buffer.concat([Buffer.alloc(pre, 0x45), b, Buffer.alloc(post, 0x40)]);
        const o = attempt(() => decodeComposite(outer, pre, pre + b.length));
        if (o.ok) expect((o.value as { offset: number }).offset).toBeLessThanOrEqual(pre + b.length);
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

describe('mutated valid encodings', () => {
  it('values, messages and composites with 1-3 mutations: return or DecodeError', () => {
    const kinds = new Set<string>();
    fc.assert(
      fc.property(validEncoding, fc.array(mutation, { minLength: 1, maxLength: 3 }), (valid, ms) => {
        let b = valid;
        for (const m of ms) {
          b = mutate(b, m);
          kinds.add(m.kind);
        }
        everyDecoder(b);
      }),
      { numRuns: RUNS },
    );
    expect(kinds.size).toBe(7);
  });

  it('size fields overwritten with huge values: return or DecodeError', () => {
    fc.assert(
      fc.property(validEncoding, fc.nat(), fc.constantFrom(...HUGE), (valid, nth, value) => {
        everyDecoder(mutate(valid, { kind: 'size', nth, value }));
      }),
      { numRuns: RUNS },
    );
  });

  it('every single-bit flip of a performative: return or DecodeError', () => {
    const rec = {
      type: 'attach',
      name: 'link-1',
      handle: 3,
      role: true,
      source: { type: 'source', address: 'q1', filter: { f: 'x' }, outcomes: ['amqp:accepted:list'] },
      target: { type: 'target', address: 'q2', capabilities: ['a', 'b'] },
      initialDeliveryCount: 5,
      maxMessageSize: 1n << 60n,
      properties: { p: [1, 2, 3] },
    };
    const valid = encodeRecord(rec);
    expect(decodeComposite(valid).value).toMatchObject({ type: 'attach', name: 'link-1' });
    for (let i = 0; i < valid.length; i++) {
      for (let bit = 0; bit < 8; bit++) everyDecoder(mutate(valid, { kind: 'flip', at: i, bit }));
    }
  });
});

// ------------------------------------------------------------------------------ truncation

describe('truncated input', () => {
  const samples: [string, Buffer][] = [
    [
      'nested value',
      encode([1, 'two', new Map<AmqpValue, AmqpValue>([['k', [Buffer.alloc(300), 5n]]]), null]),
    ],
    [
      'message',
      encodeMessage({
        header: { durable: true, priority: 4 },
        deliveryAnnotations: { 'x-d': 1 },
        messageAnnotations: { 'x-opt-seq': 7n },
        properties: { messageId: 'id', to: 'q', creationTime: new Date(1_700_000_000_000) },
        applicationProperties: { a: 'b', n: 1.5 },
        body: Buffer.from('payload'),
        footer: { 'x-f': true },
      }),
    ],
    [
      'open',
      encodeRecord({
        type: 'open',
        containerId: 'c',
        maxFrameSize: 65536,
        offeredCapabilities: ['x'],
        properties: { a: 1 },
      } as { type: string }),
    ],
  ];

  for (const [name, valid] of samples) {
    it(`${name}: every strict prefix fails with DecodeError or (messages) stops at a section`, () => {
      for (let n = 0; n < valid.length; n++) {
        const prefix = valid.subarray(0, n);
        // A message is a sequence of values: a prefix may be one whole section.
        if (name === 'message') attempt(() => decodeValue(prefix));
        else expectDecodeError(() => decodeValue(prefix));
        if (name === 'open') expectDecodeError(() => decodeComposite(prefix));
        // A message may end at any section boundary: decodes or fails cleanly.
        attempt(() => decodeMessage(prefix));
        // The same prefix copied into a buffer of its own (no bytes past the end to peek at).
        attempt(() => decodeValue(Buffer.from(prefix)));
      }
    });
  }

  it('arbitrary values: every strict prefix fails with DecodeError', () => {
    fc.assert(
      fc.property(amqpValue, (v) => {
        const valid = encode(v);
        for (let n = 0; n < valid.length; n++) expectDecodeError(() => decodeValue(valid.subarray(0, n)));
      }),
      { numRuns: Math.ceil(RUNS / 10) },
    );
  });

  it('arbitrary messages: every prefix returns or fails with DecodeError', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const valid = encodeMessage(m);
        for (let n = 0; n < valid.length; n += 1 + (valid.length >> 8))
          attempt(() => decodeMessage(valid.subarray(0, n)));
      }),
      { numRuns: Math.ceil(RUNS / 30) },
    );
  });

  it('bytes after a complete value are trailing bytes', () => {
    expectDecodeError(() => decodeValue(hex('40 40')), 'AMQP_DECODE_TRAILING_BYTES');
  });

  it('an empty input is truncated', () => {
    expectDecodeError(() => decodeValue(Buffer.alloc(0)), 'AMQP_DECODE_TRUNCATED');
  });
});

// ------------------------------------------------------------------------------ named attacks

describe('unknown constructors', () => {
  const known = new Set(CONSTRUCTORS);
  const unknown = Array.from({ length: 256 }, (_, i) => i).filter((c) => !known.has(c));

  it('every byte the spec does not define is AMQP_DECODE_UNKNOWN_CONSTRUCTOR', () => {
    expect(unknown.length).toBe(256 - CONSTRUCTORS.length);
    for (const code of unknown) {
      const err = expectDecodeError(
        () => decodeValue(Buffer.from([code, 0, 0, 0, 0, 0, 0, 0, 0])),
        'AMQP_DECODE_UNKNOWN_CONSTRUCTOR',
      );
      expect(err.offset).toBe(0);
    }
  });

  it('inside a list and as an array element constructor', () => {
    for (const code of unknown) {
      expectDecodeError(
        () => decodeValue(Buffer.from([0xc0, 0x03, 0x02, 0x40, code])),
        'AMQP_DECODE_UNKNOWN_CONSTRUCTOR',
      );
      expectDecodeError(
        () => decodeValue(Buffer.from([0xe0, 0x03, 0x01, code, 0x00])),
        'AMQP_DECODE_UNKNOWN_CONSTRUCTOR',
      );
    }
    // null is no element type
    expectDecodeError(() => decodeValue(hex('e0 02 01 40')), 'AMQP_DECODE_UNKNOWN_CONSTRUCTOR');
  });

  it('in a message section and in a performative field', () => {
    expectDecodeError(() => decodeMessage(hex('00 53 77 ff')), 'AMQP_DECODE_UNKNOWN_CONSTRUCTOR');
    // disposition { role: true, first: 0, state: <0xff> }
    expectDecodeError(
      () => decodeComposite(hex('00 53 15 c0 06 05 41 43 40 40 ff')),
      'AMQP_DECODE_UNKNOWN_CONSTRUCTOR',
    );
  });
});

describe('sizes and counts larger than the input', () => {
  function memory(): number {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers + m.external;
  }

  it('list32 announcing 4 GB with 10 bytes present fails fast without allocating', () => {
    const input = hex('d0 ffffffff 0000000a 40'); // 10 bytes
    expect(input.length).toBe(10);
    const before = memory();
    for (let i = 0; i < 1000; i++) {
      // One unit of work: the list's constructor. The size is refused before any item is read.
      expect(metered(() => decodeValue(input), workBound(input.length))).toMatchObject({
        ok: false,
        work: 1,
        error: { code: 'AMQP_DECODE_BAD_SIZE' },
      });
    }
    expect(memory() - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a count far beyond what the size holds fails fast', () => {
    const before = memory();
    for (const input of [
      hex('d0 00000006 ffffffff 40 40'), // list32: 4 G items in 2 bytes
      hex('d1 00000006 fffffffe 40 40'), // map32
      hex('c0 02 ff 40'), // list8: 255 items in 1 byte
      hex('c1 02 fe 40'), // map8
      hex('f0 00000006 ffffffff 50 01'), // array32 of 4 G ubytes in 1 byte
      hex('e0 03 ff 70 01'), // array8 of 255 uints in 1 byte
    ]) {
      expectDecodeError(() => decodeValue(input), 'AMQP_DECODE_BAD_SIZE');
    }
    expect(memory() - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('variable-width values announcing more bytes than there are', () => {
    for (const c of ['a0', 'a1', 'a3'])
      expectDecodeError(() => decodeValue(hex(`${c} ff 41 42`)), 'AMQP_DECODE_TRUNCATED');
    for (const c of ['b0', 'b1', 'b3'])
      expectDecodeError(() => decodeValue(hex(`${c} ffffffff 41 42`)), 'AMQP_DECODE_TRUNCATED');
    // a data section of 4 GB with 3 bytes present
    expectDecodeError(() => decodeMessage(hex('00 53 75 b0 ffffffff 01 02 03')), 'AMQP_DECODE_TRUNCATED');
  });

  it('a compound size that runs past the enclosing compound', () => {
    // outer list8 of size 4 holds an inner list8 claiming 200 bytes
    expectDecodeError(() => decodeValue(hex('c0 04 01 c0 c8 01 40 40 40')), 'AMQP_DECODE_BAD_SIZE');
    // a size too small for its own count field
    expectDecodeError(() => decodeValue(hex('d0 00000002 0000')), 'AMQP_DECODE_BAD_SIZE');
    expectDecodeError(() => decodeValue(hex('c0 00')), 'AMQP_DECODE_BAD_SIZE');
  });

  it('a performative whose list announces more than the frame holds', () => {
    expectDecodeError(
      () => decodeComposite(hex('00 53 10 d0 ffffff00 00000001 a1 01 63')),
      'AMQP_DECODE_BAD_SIZE',
    );
  });
});

describe('zero-width array elements', () => {
  it('an array8 of 255 zero-width elements in a 2-byte size decodes to those 255 items', () => {
    const cases: [number, string, unknown][] = [
      [0x41, 'boolean', true],
      [0x42, 'boolean', false],
      [0x43, 'uint', 0],
      [0x44, 'ulong', 0n],
      [0x45, 'list', []],
    ];
    for (const [el, type, item] of cases) {
      const o = attempt(() => decodeValue(Buffer.from([0xe0, 0x02, 0xff, el])), 4);
      expect(o.ok, `element 0x${el.toString(16)}`).toBe(true);
      const a = (o as { value: AmqpArray }).value;
      expect(a).toBeInstanceOf(AmqpArray);
      expect(a.elementType).toBe(type);
      expect(a.items).toEqual(new Array(255).fill(item));
    }
    // null is no array element type
    expectDecodeError(
      () => decodeValue(Buffer.from([0xe0, 0x02, 0xff, 0x40])),
      'AMQP_DECODE_UNKNOWN_CONSTRUCTOR',
    );
  });

  it('array32 with count 2^32-1 of zero-width elements is refused before any element is built', () => {
    for (const el of [0x41, 0x42, 0x43, 0x44, 0x45]) {
      // One unit of work: the array's constructor.
      expect(
        metered(
          () => decodeValue(Buffer.from([0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, el])),
          workBound(10),
        ),
      ).toMatchObject({
        ok: false,
        work: 1,
        error: { code: 'AMQP_DECODE_BAD_SIZE' },
      });
    }
  });

  it('nested arrays of zero-width elements cannot multiply the item count', () => {
    // array32 of 1000 array8s, each [size 2, count 3, uint0]: 3000 items from 3 kB, no more
    const w = Buffer.alloc(10 + 3 * 1000);
    w[0] = 0xf0;
    w.writeUInt32BE(w.length - 5, 1);
    w.writeUInt32BE(1000, 5);
    w[9] = 0xe0;
    for (let i = 0; i < 1000; i++) w.set([0x02, 0x03, 0x43], 10 + i * 3);
    const items = (o: Outcome): number[] => {
      expect(o.ok).toBe(true);
      return (o as { value: AmqpArray }).value.items.map((a) => (a as AmqpArray).items.length);
    };
    expect(items(attempt(() => decodeValue(w), w.length))).toEqual(new Array(1000).fill(3));
    // the same with count 255 in every inner array: each is bounded by its own size
    for (let i = 0; i < 1000; i++) w[11 + i * 3] = 0xff;
    expect(items(attempt(() => decodeValue(w), w.length))).toEqual(new Array(1000).fill(255));
  });
});

describe('nesting deeper than the limit', () => {
  function nestedList32(levels: number): Buffer {
    const parts: Buffer[] = [];
    let size = 1; // the innermost list0
    const headers: Buffer[] = [];
    for (let i = 0; i < levels; i++) {
      const h = Buffer.alloc(9);
      h[0] = 0xd0;
      h.writeUInt32BE(size + 4, 1);
      h.writeUInt32BE(1, 5);
      headers.push(h);
      size += 9;
    }
    for (let i = headers.length - 1; i >= 0; i--) parts.push(headers[i]!);
    parts.push(Buffer.from([0x45]));
    return Buffer.concat(parts);
  }

  /** list8s as deep as sizes allow (each level 3 bytes smaller than its parent). */
  function nestedList8(levels: number): Buffer {
    const b = Buffer.alloc(levels * 3 + 1);
    for (let i = 0; i < levels; i++) {
      b[i * 3] = 0xc0;
      b[i * 3 + 1] = (levels - i) * 3 - 1;
      b[i * 3 + 2] = 1;
    }
    b[levels * 3] = 0x45;
    return b;
  }

  it('10000 nested list32s → AMQP_DECODE_TOO_DEEP', () => {
    expectDecodeError(() => decodeValue(nestedList32(10000)), 'AMQP_DECODE_TOO_DEEP');
  });

  it('list8s nested past the limit → AMQP_DECODE_TOO_DEEP', () => {
    expectDecodeError(() => decodeValue(nestedList8(80)), 'AMQP_DECODE_TOO_DEEP');
  });

  it('10000 list8 headers (sizes cannot nest) fail cleanly', () => {
    expectDecodeError(() =>
      decodeValue(Buffer.from(Array.from({ length: 10000 }, () => [0xc0, 0xff, 0x01]).flat())),
    );
  });

  it('10000 nested described constructors → AMQP_DECODE_TOO_DEEP', () => {
    expectDecodeError(
      () => decodeValue(Buffer.concat([Buffer.alloc(10000, 0x00), hex('40 40')])),
      'AMQP_DECODE_TOO_DEEP',
    );
  });

  it('deep maps and arrays → AMQP_DECODE_TOO_DEEP', () => {
    // map32 { null: map32 { null: ... } }
    let m: Buffer = hex('40');
    for (let i = 0; i < 200; i++) {
      const h = Buffer.alloc(10);
      h[0] = 0xd1;
      h.writeUInt32BE(m.length + 5, 1);
      h.writeUInt32BE(2, 5);
      h[9] = 0x40;
      m = Buffer.concat([h, m]);
    }
    expectDecodeError(() => decodeValue(m), 'AMQP_DECODE_TOO_DEEP');
    // array32 of one array32 of one ... (the element constructor is written once per level)
    let a: Buffer = hex('e0 02 00 50');
    for (let i = 0; i < 200; i++) {
      const h = Buffer.alloc(10);
      h[0] = 0xf0;
      h.writeUInt32BE(a.length + 4, 1);
      h.writeUInt32BE(1, 5);
      h[9] = a[0]!;
      a = Buffer.concat([h, a.subarray(1)]);
    }
    expectDecodeError(() => decodeValue(a), 'AMQP_DECODE_TOO_DEEP');
  });

  it('the limit is the documented one: depth 64 decodes, 65 does not', () => {
    expect(DEFAULT_MAX_DEPTH).toBe(64);
    expect(Array.isArray(decodeValue(nestedList32(DEFAULT_MAX_DEPTH)))).toBe(true);
    expectDecodeError(() => decodeValue(nestedList32(DEFAULT_MAX_DEPTH + 1)), 'AMQP_DECODE_TOO_DEEP');
  });

  it('deep nesting inside a message body and a performative → AMQP_DECODE_TOO_DEEP', () => {
    expectDecodeError(
      () => decodeMessage(Buffer.concat([hex('00 53 77'), nestedList32(10000)])),
      'AMQP_DECODE_TOO_DEEP',
    );
    const deep = nestedList32(10000);
    // open { container-id: "c", ... properties: { "k": <deep> } }
    const props = Buffer.concat([hex('a3 01 6b'), deep]);
    const map = Buffer.alloc(9);
    map[0] = 0xd1;
    map.writeUInt32BE(props.length + 4, 1);
    map.writeUInt32BE(2, 5);
    const items = Buffer.concat([hex('a1 01 63 40 40 40 40 40 40 40 40'), map, props]);
    const list = Buffer.alloc(9);
    list[0] = 0xd0;
    list.writeUInt32BE(items.length + 4, 1);
    list.writeUInt32BE(10, 5);
    expectDecodeError(
      () => decodeComposite(Buffer.concat([hex('00 53 10'), list, items])),
      'AMQP_DECODE_TOO_DEEP',
    );
  });
});

describe('invalid UTF-8', () => {
  const invalid = [
    'c3', // truncated two-byte sequence
    '80', // lone continuation byte
    'c0 80', // overlong NUL
    'e0 80 af', // overlong
    'ed a0 80', // UTF-16 surrogate
    'f4 90 80 80', // past U+10FFFF
    'ff',
    'fe',
    'c3 28',
  ].map(hex);

  const withPrefix = (ascii: number, bad: Buffer): Buffer => Buffer.concat([Buffer.alloc(ascii, 0x61), bad]);

  it('in a symbol → AMQP_DECODE_INVALID_UTF8 (sym8 and sym32, short and long)', () => {
    for (const bad of invalid) {
      for (const pre of [0, 5, 30]) {
        const s = withPrefix(pre, bad);
        expectDecodeError(
          () => decodeValue(Buffer.concat([Buffer.from([0xa3, s.length]), s])),
          'AMQP_DECODE_INVALID_UTF8',
        );
        const len = Buffer.alloc(4);
        len.writeUInt32BE(s.length);
        expectDecodeError(
          () => decodeValue(Buffer.concat([Buffer.from([0xb3]), len, s])),
          'AMQP_DECODE_INVALID_UTF8',
        );
      }
    }
  });

  it('in a string → AMQP_DECODE_INVALID_UTF8 (str8 and str32, short and long)', () => {
    for (const bad of invalid) {
      for (const pre of [0, 5, 30]) {
        const s = withPrefix(pre, bad);
        expectDecodeError(
          () => decodeValue(Buffer.concat([Buffer.from([0xa1, s.length]), s])),
          'AMQP_DECODE_INVALID_UTF8',
        );
        const len = Buffer.alloc(4);
        len.writeUInt32BE(s.length);
        expectDecodeError(
          () => decodeValue(Buffer.concat([Buffer.from([0xb1]), len, s])),
          'AMQP_DECODE_INVALID_UTF8',
        );
      }
    }
  });

  it('in array elements, map keys, annotation keys and performative fields', () => {
    expectDecodeError(() => decodeValue(hex('e0 06 02 a3 01 61 01 c3')), 'AMQP_DECODE_INVALID_UTF8');
    expectDecodeError(() => decodeValue(hex('e0 06 02 a1 01 61 01 ff')), 'AMQP_DECODE_INVALID_UTF8');
    expectDecodeError(() => decodeValue(hex('c1 05 02 a1 01 ff 40')), 'AMQP_DECODE_INVALID_UTF8');
    // message-annotations { <bad symbol>: null }
    expectDecodeError(() => decodeMessage(hex('00 53 72 c1 05 02 a3 01 ff 40')), 'AMQP_DECODE_INVALID_UTF8');
    // application-properties { <bad string>: null }
    expectDecodeError(() => decodeMessage(hex('00 53 74 c1 05 02 a1 01 ff 40')), 'AMQP_DECODE_INVALID_UTF8');
    // properties { subject: <bad> }
    expectDecodeError(
      () => decodeMessage(hex('00 53 73 c0 07 04 40 40 40 a1 01 ff')),
      'AMQP_DECODE_INVALID_UTF8',
    );
    // open { container-id: <bad> }
    expectDecodeError(() => decodeComposite(hex('00 53 10 c0 04 01 a1 01 ff')), 'AMQP_DECODE_INVALID_UTF8');
    // open { container-id: "c", ..., offered-capabilities: [<bad symbol>] }
    expectDecodeError(
      () => decodeComposite(hex('00 53 10 c0 10 08 a1 01 63 40 40 40 40 40 40 e0 04 01 a3 01 ff')),
      'AMQP_DECODE_INVALID_UTF8',
    );
    // a symbol descriptor
    expectDecodeError(() => decodeComposite(hex('00 a3 02 61 ff 45')), 'AMQP_DECODE_INVALID_UTF8');
  });

  it('valid multi-byte UTF-8 still decodes', () => {
    expect(decodeValue(hex('a1 04 f0 9f 98 80'))).toBe('😀');
    expect(decodeValue(Buffer.concat([hex('a1 20'), Buffer.alloc(28, 0x61), hex('f0 9f 98 80')]))).toBe(
      'a'.repeat(28) + '😀',
    );
  });
});

describe('other malformed values', () => {
  it('boolean bytes other than 0 and 1, and invalid chars', () => {
    expectDecodeError(() => decodeValue(hex('56 02')), 'AMQP_DECODE_INVALID_VALUE');
    expectDecodeError(() => decodeValue(hex('73 00 11 00 00')), 'AMQP_DECODE_INVALID_VALUE');
    expectDecodeError(() => decodeValue(hex('73 00 00 d8 00')), 'AMQP_DECODE_INVALID_VALUE');
  });

  it('maps with an odd count', () => {
    expectDecodeError(() => decodeValue(hex('c1 02 01 40')), 'AMQP_DECODE_BAD_SIZE');
  });

  it('an array of doubly described elements', () => {
    expectDecodeError(() => decodeValue(hex('e0 06 01 00 53 01 00 53 02 40')));
  });

  it('performatives missing mandatory fields, or of the wrong shape', () => {
    expectDecodeError(() => decodeComposite(hex('00 53 10 45')), 'AMQP_DECODE_MISSING_FIELD');
    expectDecodeError(() => decodeComposite(hex('00 53 10 a1 01 63')), 'AMQP_DECODE_WRONG_TYPE');
    expectDecodeError(() => decodeComposite(hex('00 53 10 c0 03 01 71 00')), 'AMQP_DECODE_WRONG_TYPE');
    expectDecodeError(() => decodeComposite(hex('40')), 'AMQP_DECODE_WRONG_TYPE');
    expectDecodeError(() => decodeComposite(hex('00 53 ee 45')), 'AMQP_DECODE_WRONG_TYPE');
  });

  it('messages with sections out of order or of the wrong type', () => {
    expectDecodeError(() => decodeMessage(hex('00 53 77 40 00 53 70 45')), 'AMQP_DECODE_INVALID_VALUE');
    expectDecodeError(() => decodeMessage(hex('00 53 75 a0 00 00 53 77 40')), 'AMQP_DECODE_INVALID_VALUE');
    expectDecodeError(() => decodeMessage(hex('00 53 75 a1 00')), 'AMQP_DECODE_WRONG_TYPE');
    expectDecodeError(() => decodeMessage(hex('40')), 'AMQP_DECODE_WRONG_TYPE');
    expectDecodeError(() => decodeMessage(hex('00 53 99 40')), 'AMQP_DECODE_WRONG_TYPE');
  });
});

describe('whatever decodes can be encoded again', () => {
  /** True when `v` holds a symbol with non-ASCII characters (covered by the named test below). */
  function hasNonAsciiSymbol(v: unknown): boolean {
    if (v instanceof AmqpSymbol) return /[^\x00-\x7f]/.test(v.value);
    if (v instanceof AmqpArray) {
      if (v.elementType === 'symbol' && v.items.some((x) => /[^\x00-\x7f]/.test(String(x)))) return true;
      return hasNonAsciiSymbol(v.descriptor) || v.items.some(hasNonAsciiSymbol);
    }
    if (v instanceof Described) return hasNonAsciiSymbol(v.descriptor) || hasNonAsciiSymbol(v.value);
    if (Array.isArray(v)) return v.some(hasNonAsciiSymbol);
    if (v instanceof Map) return [...v].some(([k, x]) => hasNonAsciiSymbol(k) || hasNonAsciiSymbol(x));
    return false;
  }

  it('random bytes that decode as a value re-encode to an equal value', () => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.array(amqpishByte, { maxLength: 48 }), (arr) => {
        const o = attempt(() => decodeValue(Buffer.from(arr)));
        if (!o.ok || hasNonAsciiSymbol(o.value)) return;
        decoded++;
        const again = decodeValue(encode(o.value as AmqpValue));
        expect(isDeepStrictEqual(again, o.value)).toBe(true);
      }),
      { numRuns: RUNS * 10 },
    );
    expect(decoded).toBeGreaterThan(RUNS / 10);
  });

  // Symbols are ASCII (spec 1.6.21): the encoder refuses others, and so does the decoder, so that
  // every symbol it returns can be written back.
  it('a non-ASCII symbol is refused by the decoder, alone, in an array and as a descriptor', () => {
    for (const input of [hex('a3 02 c3 a9'), hex('e0 05 01 a3 02 c3 a9'), hex('00 a3 02 c3 a9 40')]) {
      expectDecodeError(() => decodeValue(input), 'AMQP_DECODE_INVALID_VALUE');
    }
  });
});

describe('maps that turn out to be Maps are read once', () => {
  // Each level is a map whose first entry holds the next level and whose second has a number as
  // its key, so the decoder learns that the map is a Map only after it has read the nested one.
  // Reading from the first entry again at that point doubled the work per level: 2^40 here.
  const LEVELS = 40;

  /** A Map nested `levels` deep: key 'a' (a string, or a symbol at the top if `topSymbol`) and key 1. */
  function nested(levels: number, topSymbol = false): AmqpMap {
    let v: AmqpValue = null;
    for (let i = 0; i < levels; i++) {
      const key = topSymbol && i === levels - 1 ? new AmqpSymbol('a') : 'a';
      v = new Map<AmqpValue, AmqpValue>([
        [key, v],
        [1, null],
      ]);
    }
    return v as AmqpMap;
  }

  /** The work a decode of these bytes may take: a few units per level, far below 2^levels. */
  const LINEAR = 8 * LEVELS;

  function depthOf(m: unknown, key: unknown): number {
    let n = 0;
    while (m instanceof Map) {
      n++;
      m = n === 1 ? m.get(key) : m.get('a');
    }
    return n;
  }

  it('through decodeValue: linear work, the same Maps back, the same bytes again', () => {
    const bytes = encode(nested(LEVELS));
    const o = metered(() => decodeValue(bytes), LINEAR);
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    expect(depthOf(o.value, 'a')).toBe(LEVELS);
    expect(encode(o.value as AmqpValue).equals(bytes)).toBe(true);
  });

  it('through decodeComposite: an attach whose properties nest them', () => {
    const attach = { type: 'attach', name: 'l', handle: 0, role: false, properties: nested(LEVELS, true) };
    const bytes = encodeRecord(attach);
    const o = metered(() => decodeComposite(bytes), LINEAR);
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    const props = (o.value as { value: { properties: unknown } }).value.properties;
    expect(props).toBeInstanceOf(Map);
    const top = [...(props as AmqpMap).entries()];
    expect(top[0]![0]).toEqual(new AmqpSymbol('a'));
    expect(depthOf(top[0]![1], 'a')).toBe(LEVELS - 1);
    expect(encodeRecord((o.value as { value: { type: string } }).value).equals(bytes)).toBe(true);
  });

  it('through decodeMessage: in the annotations, the application properties and the body', () => {
    const annotations = nested(LEVELS, true);
    const bytes = encodeMessage({
      messageAnnotations: annotations as never,
      applicationProperties: nested(LEVELS),
      body: nested(LEVELS),
    });
    const o = metered(() => decodeMessage(bytes), 3 * LINEAR);
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    const m = o.value as { applicationProperties: unknown; body: unknown; messageAnnotations: unknown };
    expect(depthOf(m.applicationProperties, 'a')).toBe(LEVELS);
    expect(depthOf(m.body, 'a')).toBe(LEVELS);
    expect(m.messageAnnotations).toBeInstanceOf(Map);
    expect(encodeMessage(m as never).equals(bytes)).toBe(true);
  });

  it('a decode that fails inside a map keeps none of its values in the shared scratch slots', () => {
    const big = Buffer.alloc(100_000, 7);
    const whole = encode({ outer: { a: big, b: 'x' } } as never);
    // The inner map's last value, 'x', made invalid UTF-8: both maps hold a value in their slots
    // when it fails.
    const bad = Buffer.from(whole);
    bad[bad.length - 1] = 0xff;
    expectDecodeError(() => decodeValue(bad));
    expect(heldScratchValues()).toBe(0);
    expect(decodeValue(whole)).toEqual({ outer: { a: big, b: 'x' } });
  });

  it('a large map that turns into a Map half way keeps every entry in wire order', () => {
    // More pairs than the scratch slots hold, so the entries so far come from the object form.
    const entries: [AmqpValue, AmqpValue][] = Array.from({ length: 200 }, (_, i) => [`k${i}`, i]);
    entries.push([7, 'seven'], ['after', { x: 1 }]);
    const bytes = encode(new Map(entries));
    const back = decodeValue(bytes) as AmqpMap;
    expect([...back.keys()]).toEqual(entries.map(([k]) => k));
    expect(encode(back).equals(bytes)).toBe(true);
  });
});
