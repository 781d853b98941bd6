/**
 * Property tests for the decoder's fast paths: the generated composite readers
 * (src/codec/spec/composites.ts) must read what a loop over the spec table reads, and small keyed
 * maps (read through scratch arrays) must come out as keyed stores make them: same values, same
 * key order, same DecodeError code and offset, for well-formed and corrupted input alike.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import * as fields from '../../src/codec/composite-fields.js';
import type { CompositeCodec } from '../../src/codec/composite-fields.js';
import { Decoder, setKeyedMapScratch } from '../../src/codec/decoder.js';
import { compositeCodecs } from '../../src/codec/spec/composites.js';
import type { CompositeRecord } from '../../src/codec/spec/records.js';
import {
  DecodeError,
  compositeTypes,
  decodeComposite,
  decodeMessage,
  encode,
  encodeComposite,
  ByteWriter,
  type AmqpValue,
} from '../../src/codec/index.js';
import { kindOf, readSpec } from '../../scripts/gen-spec/spec.mjs';
import { compositeRecordArb, valueArbs } from './arbitraries.js';

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

/** Decodes with keyed stores only, then with the scratch arrays. */
function compareKeyedMaps(f: () => unknown): void {
  setKeyedMapScratch(false);
  const generic = run(f);
  setKeyedMapScratch(true);
  expect(run(f)).toStrictEqual(generic);
}

afterEach(() => {
  setKeyedMapScratch(true);
});

// ---------------------------------------------------------------------------------------------
// The generic reader: every composite's fields read in a loop over the spec, each with the field
// codec its kind names. Nested composites are read the same way.

const spec = readSpec(new URL('../../spec/amqp-1.0/', import.meta.url).pathname);

type FieldRead = (d: Decoder, c: number, name: string, type: string) => unknown;
const readGenericComposite = (d: Decoder): CompositeRecord | undefined =>
  fields.readDescribed(
    d,
    (code) => genericByCode.get(code),
    (s) => genericBySymbol.get(s),
  );
const READ: Record<string, FieldRead> = {
  boolean: fields.readBoolean,
  ubyte: fields.readUbyte,
  ushort: fields.readUshort,
  uint: fields.readUint,
  ulong: fields.readUlong,
  symbol: fields.readSymbol,
  string: fields.readString,
  binary: fields.readBinary,
  timestamp: fields.readTimestamp,
  fields: fields.readFields,
  map: fields.readMap,
  'message-id': (d, c) => fields.readMessageId(d, c),
  address: (d, c) => fields.readAny(d, c, readGenericComposite),
  any: (d, c) => fields.readAny(d, c, readGenericComposite),
  composite: (d, c, name, type) => fields.readCompositeField(d, c, name, type, readGenericComposite),
};

const genericCodecs: CompositeCodec[] = compositeCodecs.map((codec) => {
  const table = compositeTypes[codec.name]!;
  const kinds = spec.composites.find((c) => c.name === codec.name)!.fields.map((f) => kindOf(spec, f));
  return {
    ...codec,
    read(d: Decoder, n: number, r: Record<string, unknown>): void {
      for (let i = 0; i < n; i++) {
        const f = table.fields[i]!;
        const v = f.multiple ? fields.readSymbols(d, f.name) : READ[kinds[i]!]!(d, d.u8(), f.name, f.type);
        if (v !== null) r[f.key] = v;
      }
    },
  };
});
const genericByCode = new Map(genericCodecs.map((c) => [c.code, c]));
const genericBySymbol = new Map(genericCodecs.map((c) => [compositeTypes[c.name]!.descriptorName, c]));

function decodeGeneric(bytes: Buffer): CompositeRecord {
  const d = new Decoder(bytes);
  const rec = readGenericComposite(d);
  if (!rec) return d.fail('AMQP_DECODE_WRONG_TYPE', 'not a known composite type', 0);
  return rec;
}

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

describe('generated composite readers', () => {
  for (const name of Object.keys(compositeTypes)) {
    it(`${name}: same record as the loop over the spec, corrupted or not`, () => {
      fc.assert(
        fc.property(
          compositeRecordArb(name).chain((rec) => {
            const w = new ByteWriter(256);
            encodeComposite(w, rec as { type: string });
            const bytes = Buffer.from(w.buf.subarray(0, w.pos));
            return fc.oneof(fc.constant(bytes), corrupt(bytes));
          }),
          (bytes) => {
            expect(run(() => decodeComposite(bytes).value)).toStrictEqual(run(() => decodeGeneric(bytes)));
          },
        ),
        { numRuns: Math.max(1, RUNS >> 2) },
      );
    });
  }

  it('the loop over the spec reads a known flow', () => {
    const bytes = Buffer.from([0x00, 0x53, 0x13, 0xc0, 0x07, 0x04, 0x52, 0x07, 0x43, 0x52, 0x70, 0x43]);
    expect(decodeGeneric(bytes)).toStrictEqual({
      type: 'flow',
      nextIncomingId: 7,
      incomingWindow: 0,
      nextOutgoingId: 0x70,
      outgoingWindow: 0,
    });
    expect(decodeComposite(bytes).value).toStrictEqual(decodeGeneric(bytes));
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

describe('keyed maps read through scratch arrays', () => {
  it('annotations and application properties: same as keyed stores, duplicates included', () => {
    const entries = (symbol: boolean) =>
      fc.array(fc.tuple(keyBytes(symbol), value), { maxLength: 10 }).filter((e) => {
        const n = e.reduce((s, [k, v]) => s + k.length + encode(v).length, 0);
        return n < 250;
      });
    fc.assert(
      fc.property(entries(true), entries(false), fc.boolean(), (ma, ap, wide) => {
        const bytes = Buffer.concat([mapSection(0x72, ma, wide), mapSection(0x74, ap, wide)]);
        compareKeyedMaps(() => decodeMessage(bytes));
      }),
      { numRuns: RUNS },
    );
  });
});
