/**
 * Property tests for the decoder's fast paths: the generated composite field readers
 * (composite.ts makeFieldReader) and the generated keyed-map shapes (decoder.ts learnShape) must
 * give exactly what the generic loops give (same values, same key order, same DecodeError code and
 * offset), for well-formed and corrupted input alike.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { setGenericCompositeReader } from '../../src/codec/composite.js';
import { setKeyedMapShapes } from '../../src/codec/decoder.js';
import {
  DecodeError,
  compositeTypes,
  decodeComposite,
  decodeMessage,
  encode,
  encodeComposite,
  encodeMessage,
  ByteWriter,
  type AmqpValue,
} from '../../src/codec/index.js';
import { compositeRecordArb, messageArb, valueArbs } from './arbitraries.js';

const RUNS = Math.max(1, Math.round(Number(process.env.FC_RUNS ?? 300)));

type Outcome = { ok: true; value: unknown; keys: string } | { ok: false; code: string; offset: number };

/** Key order of every plain object in a value, as one string (toStrictEqual ignores key order). */
function keyOrder(v: unknown, seen = new Set<unknown>()): string {
  if (v === null || typeof v !== 'object' || seen.has(v) || Buffer.isBuffer(v)) return '';
  seen.add(v);
  if (Array.isArray(v)) return `[${v.map((x) => keyOrder(x, seen)).join(',')}]`;
  if (v instanceof Map) return `M(${[...v.values()].map((x) => keyOrder(x, seen)).join(',')})`;
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${keyOrder((v as Record<string, unknown>)[k], seen)}`)
    .join(',')}}`;
}

function run(f: () => unknown): Outcome {
  try {
    const value = f();
    return { ok: true, value, keys: keyOrder(value) };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { ok: false, code: e.code, offset: e.offset };
  }
}

/** Decodes with the generic paths, then three times with the fast paths (shapes learn on repeats). */
function compare(f: () => unknown): void {
  setGenericCompositeReader(true);
  setKeyedMapShapes(false);
  const generic = run(f);
  setGenericCompositeReader(false);
  setKeyedMapShapes(true);
  for (let i = 0; i < 3; i++) {
    const fast = run(f);
    expect(fast).toStrictEqual(generic);
  }
}

afterEach(() => {
  setGenericCompositeReader(false);
  setKeyedMapShapes(true);
});

/** A byte of a buffer replaced, or the buffer cut short. */
const corrupt = (b: Buffer) =>
  fc.oneof(
    fc.tuple(fc.nat(b.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, x]) => {
      const c = Buffer.from(b);
      c[i] = x;
      return c;
    }),
    fc.nat(b.length - 1).map((n) => b.subarray(0, n)),
  );

describe('generated composite field readers', () => {
  for (const name of Object.keys(compositeTypes)) {
    it(`${name}: same record as the generic loop`, () => {
      fc.assert(
        fc.property(compositeRecordArb(name), (rec) => {
          const w = new ByteWriter(256);
          encodeComposite(w, rec as { type: string });
          const bytes = Buffer.from(w.buf.subarray(0, w.pos));
          compare(() => decodeComposite(bytes).value);
        }),
        { numRuns: Math.max(1, RUNS >> 3) },
      );
    });
  }

  it('messages: same value as the generic loop, corrupted or not', () => {
    fc.assert(
      fc.property(
        messageArb.chain((m) => {
          const b = encodeMessage(m);
          return b.length === 0 ? fc.constant(b) : fc.oneof(fc.constant(b), corrupt(b));
        }),
        (bytes) => compare(() => decodeMessage(bytes)),
      ),
      { numRuns: RUNS },
    );
  });
});

// Keys from a small pool, so that key sets repeat, collide (duplicates) and hit the odd names.
const KEYS = ['a', 'b', 'x-opt-partition-key', 'deviceId', '__proto__', 'toString', '1', '0', 'é', ''];
const value = valueArbs(1).value;

/** A map8/map32 section written by hand: duplicate keys and any key type are allowed. */
function mapSection(section: number, entries: [Buffer, AmqpValue][], wide: boolean): Buffer {
  const items = Buffer.concat(entries.flatMap(([k, v]) => [k, encode(v)]));
  const head = wide ? Buffer.alloc(9) : Buffer.alloc(3);
  if (wide) {
    head[0] = 0xd1;
    head.writeUInt32BE(items.length + 4, 1);
    head.writeUInt32BE(entries.length * 2, 5);
  } else {
    head[0] = 0xc1;
    head[1] = items.length + 1;
    head[2] = entries.length * 2;
  }
  return Buffer.concat([Buffer.from([0x00, 0x53, section]), head, items]);
}

/** A sym8 or str8 key written by hand (a non-ASCII symbol too: both paths must reject it). */
function key8(symbol: boolean, k: string): Buffer {
  const b = Buffer.from(k, 'utf8');
  return Buffer.concat([Buffer.from([symbol ? 0xa3 : 0xa1, b.length]), b]);
}

const keyBytes = (symbol: boolean) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...KEYS).map((k) => key8(symbol, k)) },
    { weight: 1, arbitrary: value.map((v) => encode(v)) },
  );

describe('generated keyed-map shapes', () => {
  it('annotations and application properties: same as keyed stores, duplicates included', () => {
    const entries = (symbol: boolean) =>
      fc.array(fc.tuple(keyBytes(symbol), value), { maxLength: 10 }).filter((e) => {
        const n = e.reduce((s, [k, v]) => s + k.length + encode(v).length, 0);
        return n < 250;
      });
    fc.assert(
      fc.property(entries(true), entries(false), fc.boolean(), (ma, ap, wide) => {
        const bytes = Buffer.concat([mapSection(0x72, ma, wide), mapSection(0x74, ap, wide)]);
        compare(() => decodeMessage(bytes));
      }),
      { numRuns: RUNS },
    );
  });
});
