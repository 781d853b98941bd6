/**
 * Property tests: every AMQP value, message and composite record survives encode → decode with its
 * type intact, and re-encoding what was decoded gives back the very same bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AmqpArray,
  AmqpSymbol,
  ByteWriter,
  Described,
  Typed,
  compositeTypes,
  decodeComposite,
  decodeMessage,
  decodeValue,
  encode,
  encodeComposite,
  encodeMessage,
  type AmqpValue,
  type Message,
} from '../../src/codec/index.js';
import {
  SCALAR_ELEMENT_TYPES,
  amqpValue,
  amqpValues,
  compositeRecordArb,
  fieldKind,
  largeValue,
  messageArb,
  primitiveArbs,
} from './arbitraries.js';

/** Property runs; FC_RUNS=20000 for a longer hunt. */
const RUNS = Math.max(1, Math.round(Number(process.env.FC_RUNS ?? 500)));

/**
 * A type-tagged tree of a value, for comparisons whose failure messages name the AMQP types:
 * [tag, payload]. Buffers compare by content, maps as sorted entry lists.
 */
function tagged(v: unknown): unknown {
  if (v === null) return ['null'];
  if (v === undefined) return ['undefined'];
  switch (typeof v) {
    case 'number':
      return ['number', Object.is(v, -0) ? '-0' : String(v)];
    case 'bigint':
      return ['bigint', v.toString()];
    case 'string':
    case 'boolean':
      return [typeof v, v];
  }
  if (v instanceof Uint8Array)
    return ['binary', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')];
  if (v instanceof Date) return ['date', v.getTime()];
  if (v instanceof AmqpSymbol) return ['symbol', v.value];
  if (v instanceof Typed) return [`typed:${v.type}`, tagged(v.value)];
  if (v instanceof Described) return ['described', tagged(v.descriptor), tagged(v.value)];
  if (v instanceof AmqpArray) {
    return [
      'array',
      v.elementType,
      v.descriptor === undefined ? ['none'] : tagged(v.descriptor),
      v.items.map(tagged),
    ];
  }
  if (Array.isArray(v)) return ['list', v.map(tagged)];
  if (v instanceof Map) {
    const entries = [...v].map(([k, x]) => [tagged(k), tagged(x)]);
    return ['map', entries.map((e) => JSON.stringify(e)).sort()];
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype) return ['unexpected-object', String((v as object).constructor?.name)];
    return [
      'object',
      Object.keys(v)
        .sort()
        .map((k) => [k, tagged((v as Record<string, unknown>)[k])]),
    ];
  }
  return ['unexpected', typeof v];
}

/** Deep equality that tells AMQP types apart and compares Buffers by content. */
function expectSameAmqp(actual: unknown, expected: unknown): void {
  expect(tagged(actual)).toStrictEqual(tagged(expected));
  expect(actual).toStrictEqual(expected);
}

function encodeRecord(rec: { type: string }): Buffer {
  const w = new ByteWriter(64);
  encodeComposite(w, rec);
  return w.copy();
}

describe('values', () => {
  it('decodeValue(encode(v)) deep-equals v, types included', () => {
    fc.assert(
      fc.property(amqpValue, (v) => {
        expectSameAmqp(decodeValue(encode(v)), v);
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('re-encoding a decoded value gives the same bytes', () => {
    fc.assert(
      fc.property(amqpValue, (v) => {
        const bytes = encode(v);
        expect(encode(decodeValue(bytes)).toString('hex')).toBe(bytes.toString('hex'));
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('large values (32-bit list, map, array and binary forms) round-trip', () => {
    fc.assert(
      fc.property(largeValue, (v) => {
        const bytes = encode(v);
        expect([0xd0, 0xd1, 0xf0]).toContain(bytes[0]);
        expectSameAmqp(decodeValue(bytes), v);
        expect(encode(decodeValue(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  for (const [name, arb] of Object.entries(primitiveArbs)) {
    it(`every ${name} round-trips`, () => {
      fc.assert(
        fc.property(arb, (v) => {
          const bytes = encode(v);
          expectSameAmqp(decodeValue(bytes), v);
          expect(encode(decodeValue(bytes)).equals(bytes)).toBe(true);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('arrays of every element type round-trip, described or not', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(amqpValues.array, (a) => {
        seen.add(a.elementType);
        const bytes = encode(a);
        expectSameAmqp(decodeValue(bytes), a);
        expect(encode(decodeValue(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS * 4 },
    );
    for (const t of [...SCALAR_ELEMENT_TYPES, 'list', 'map', 'array']) expect(seen).toContain(t);
  });

  it('described values with ulong and symbol descriptors round-trip', () => {
    fc.assert(
      fc.property(amqpValues.described, (d) => {
        expectSameAmqp(decodeValue(encode(d)), d);
      }),
      { numRuns: RUNS },
    );
  });

  it('maps with keys of any AMQP type round-trip', () => {
    fc.assert(
      fc.property(amqpValues.map, (m) => {
        const bytes = encode(m);
        expectSameAmqp(decodeValue(bytes), m);
        expect(encode(decodeValue(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('messages', () => {
  it('decodeMessage(encodeMessage(m)) deep-equals m', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expectSameAmqp(decodeMessage(encodeMessage(m)), m);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('re-encoding a decoded message gives the same bytes', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeMessage(m);
        expect(encodeMessage(decodeMessage(bytes)).toString('hex')).toBe(bytes.toString('hex'));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('every body kind decodes with its bodyType', () => {
    const kinds = new Set<string>();
    fc.assert(
      fc.property(messageArb, (m) => {
        const d = decodeMessage(encodeMessage(m));
        expect(d.bodyType).toBe(m.bodyType);
        kinds.add(`${m.bodyType}:${Array.isArray(m.body) ? 'many' : 'one'}`);
      }),
      { numRuns: RUNS },
    );
    expect(kinds).toContain('data:one');
    expect(kinds).toContain('data:many');
    expect(kinds).toContain('sequence:many');
  });

  it('a data body is a view of the input, not a copy', () => {
    const input = encodeMessage({ properties: { subject: 's' }, body: Buffer.from('hello world') });
    const m = decodeMessage(input);
    const body = m.body as Buffer;
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(body.toString()).toBe('hello world');
    expect(body.buffer).toBe(input.buffer);
    expect(body.byteOffset).toBe(input.byteOffset + input.length - body.length);
    // Writing through the view changes the input: shared memory.
    body[0] = 0x48;
    expect(input.subarray(input.length - body.length).toString()).toBe('Hello world');
  });

  it('a 1 MiB data body is a view of the input', () => {
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const input = encodeMessage({ header: { durable: true }, body: big, footer: { 'x-end': true } });
    const m = decodeMessage(input);
    const body = m.body as Buffer;
    expect(body.length).toBe(1 << 20);
    expect(body.buffer).toBe(input.buffer);
    expect(body.equals(big)).toBe(true);
    expect(m.footer).toStrictEqual({ 'x-end': true });
  });

  it('each section of several data sections is a view of the input', () => {
    const input = encodeMessage({
      body: [Buffer.from('a'), Buffer.alloc(300, 2), Buffer.alloc(0)],
      bodyType: 'data',
    });
    const m = decodeMessage(input);
    expect(m.bodyType).toBe('data');
    const parts = m.body as Buffer[];
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.buffer).toBe(input.buffer);
    expect(parts[1]!.equals(Buffer.alloc(300, 2))).toBe(true);
  });

  // Regression: the decoder gives a timestamp outside Date's range back as Typed('timestamp',
  // bigint); the field encoder (composite.ts writeField 'timestamp') used to refuse it.
  it('a properties timestamp outside Date range re-encodes as it was decoded', () => {
    // properties(creation-time = 0x7fffffffffffffff), amqp-value "x"
    const bytes = Buffer.from('005373c0130a404040404040404040837fffffffffffffff005377a10178', 'hex');
    const m = decodeMessage(bytes);
    expect(m.properties?.creationTime).toStrictEqual(new Typed('timestamp', (1n << 63n) - 1n));
    expect(encodeMessage(m).toString('hex')).toBe(bytes.toString('hex'));
  });

  // Regression: when a symbol-keyed map turns out to have a key of another type, decoder.ts
  // keyedMap used to copy the keys read so far into the Map via Object.keys, which puts
  // index-like names ('1', '2') first: the entries changed order and re-encoded differently.
  it('annotations that fall back to a Map keep the order of their entries', () => {
    const annotations = new Map<AmqpValue, AmqpValue>([
      [new AmqpSymbol('b'), 1],
      [new AmqpSymbol('2'), 2],
      [new AmqpSymbol('1'), 3],
      [7, 4],
    ]);
    const bytes = encodeMessage({ messageAnnotations: annotations, body: null, bodyType: 'value' });
    expect(bytes.toString('hex')).toBe('005372c11408a301625401a301325402a3013154035407540400537740');
    const decoded = decodeMessage(bytes);
    expect([...(decoded.messageAnnotations as Map<AmqpValue, AmqpValue>).keys()]).toStrictEqual([
      new AmqpSymbol('b'),
      new AmqpSymbol('2'),
      new AmqpSymbol('1'),
      7,
    ]);
    expect(encodeMessage(decoded).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('a message without a body section round-trips without one', () => {
    const m: Message = { header: { priority: 9 }, applicationProperties: { a: 1 } };
    expect(decodeMessage(encodeMessage(m))).toStrictEqual(m);
  });
});

describe('composite records', () => {
  const names = Object.keys(compositeTypes);

  it('the table has composites to test', () => {
    expect(names.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of names) {
    it(`${name} round-trips with arbitrary field values`, () => {
      fc.assert(
        fc.property(compositeRecordArb(name), (rec) => {
          const bytes = encodeRecord(rec as { type: string });
          const { value, offset } = decodeComposite(bytes);
          expect(offset).toBe(bytes.length);
          expectSameAmqp(value, rec);
          expect(encodeRecord(value).equals(bytes)).toBe(true);
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    });
  }

  it('every field kind of the table is exercised', () => {
    const kinds = new Set<string>();
    for (const c of Object.values(compositeTypes)) {
      for (const f of c.fields) kinds.add(f.multiple ? 'multiple' : fieldKind(f));
    }
    for (const k of [
      'boolean',
      'ubyte',
      'ushort',
      'uint',
      'ulong',
      'symbol',
      'string',
      'binary',
      'timestamp',
      'fields',
    ]) {
      expect(kinds).toContain(k);
    }
    expect(kinds).toContain('composite');
    expect(kinds).toContain('multiple');
  });

  it('a multiple field sent as a single value decodes as a one-item array', () => {
    const bytes = encodeRecord({ type: 'open', containerId: 'c', offeredCapabilities: 'one' } as {
      type: string;
    });
    expect(decodeComposite(bytes).value).toStrictEqual({
      type: 'open',
      containerId: 'c',
      offeredCapabilities: ['one'],
    });
  });

  it('mandatory fields are always written (records round-trip with only them)', () => {
    for (const c of Object.values(compositeTypes)) {
      const mandatory = c.fields.filter((f) => f.mandatory);
      const rec = fc.sample(compositeRecordArb(c.name), { numRuns: 1, seed: 42 })[0]!;
      for (const f of mandatory) expect(rec).toHaveProperty(f.key);
    }
  });
});

describe('the arbitraries', () => {
  it('reach every shape the brief asks for', () => {
    const shapes = new Set<string>();
    let maxDepth = 0;
    const walk = (v: unknown, depth: number): void => {
      maxDepth = Math.max(maxDepth, depth);
      if (v instanceof Typed) shapes.add(`typed:${v.type}`);
      else if (v instanceof AmqpSymbol) shapes.add('symbol');
      else if (v instanceof Described) {
        shapes.add(v.descriptor instanceof AmqpSymbol ? 'described:symbol' : 'described:ulong');
        walk(v.value, depth + 1);
      } else if (v instanceof AmqpArray) {
        shapes.add(`array:${v.elementType}${v.descriptor === undefined ? '' : ':described'}`);
        if (v.descriptor !== undefined) shapes.add('array:described');
        for (const x of v.items) walk(x, depth + 1);
      } else if (Array.isArray(v)) {
        shapes.add('list');
        for (const x of v) walk(x, depth + 1);
      } else if (v instanceof Map) {
        shapes.add('map');
        for (const [k, x] of v) {
          if (k instanceof Map || Array.isArray(k) || k instanceof AmqpArray) shapes.add('map:compound-key');
          walk(k, depth + 1);
          walk(x, depth + 1);
        }
      }
    };
    for (const v of fc.sample(amqpValue, { numRuns: 5000, seed: 7 })) walk(v, 0);
    for (const s of [
      'described:symbol',
      'described:ulong',
      'array:described',
      'array:array',
      'array:list',
      'array:map',
      'map:compound-key',
      'typed:timestamp',
      'typed:decimal128',
      'typed:char',
    ]) {
      expect(shapes).toContain(s);
    }
    for (const t of SCALAR_ELEMENT_TYPES) expect(shapes).toContain(`array:${t}`);
    expect(maxDepth).toBeGreaterThanOrEqual(3);
  });
});

describe('decoded values keep their AMQP type', () => {
  it('distinguishes ulong from long, uint from int, symbol from string, double from int', () => {
    const cases: [AmqpValue, string][] = [
      [new Typed('ulong', 5n), 'typed:ulong'],
      [5n, 'bigint'],
      [new Typed('uint', 5), 'typed:uint'],
      [5, 'number'],
      [new AmqpSymbol('s'), 'symbol'],
      ['s', 'string'],
      [new Typed('double', 5), 'typed:double'],
      [5.5, 'number'],
    ];
    for (const [v, tag] of cases) expect((tagged(decodeValue(encode(v))) as string[])[0]).toBe(tag);
  });
});
