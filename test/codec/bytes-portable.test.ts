/**
 * The portable byte layer (TextEncoder / TextDecoder / plain typed arrays, for runtimes without
 * Node's Buffer) against Node's (src/codec/bytes.ts): every codec entry point gives the same bytes
 * and the same values through either, including invalid UTF-8, lone surrogates, floats, timestamps
 * and binary. And in Node the bytes the core hands out are Buffers; in the portable mode they are
 * plain Uint8Arrays.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import * as bytes from '../../src/codec/bytes.js';
import { decodeComposite, encodeComposite } from '../../src/codec/composite.js';
import { decodeValue } from '../../src/codec/decoder.js';
import { encodeValue } from '../../src/codec/encoder.js';
import { decodeMessage, encodeMessage, type Message } from '../../src/codec/message.js';
import { Typed, type AmqpValue } from '../../src/codec/values.js';
import { FrameReader } from '../../src/frames/frame-reader.js';
import type { Receiver } from '../../src/link/receiver.js';
import { makePair } from '../engine/pair.js';
import {
  amqpValue,
  anyString,
  compositeRecordArb,
  dateInRange,
  doubleNum,
  floatNum,
  longBig,
  messageArb,
  timestampOutOfRange,
} from './arbitraries.js';

afterEach(() => bytes.useBytesImpl('node'));

/** Runs `f` with one implementation selected. */
function withImpl<T>(impl: bytes.BytesImpl, f: () => T): T {
  bytes.useBytesImpl(impl);
  try {
    return f();
  } finally {
    bytes.useBytesImpl('node');
  }
}

/** The outcome of `f` as comparable data: its result, or its error's class, code and message. */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: plain(f()) };
  } catch (e) {
    const err = e as Error & { code?: string };
    return { threw: err.constructor.name, code: err.code, message: err.message };
  }
}

/** A value with every byte array as a plain number array, so Buffer and Uint8Array compare equal. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [plain(k), plain(x)]) };
  if (v instanceof Date) return { date: v.getTime() };
  if (typeof v === 'number' && Number.isNaN(v)) return { nan: true };
  if (typeof v === 'number' && Object.is(v, -0)) return { negativeZero: true };
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = { class: v.constructor?.name };
    for (const k of Object.keys(v)) o[k] = plain((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

/** Every byte array inside `v`. */
function byteArrays(v: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (v instanceof Uint8Array) out.push(v);
  else if (Array.isArray(v)) for (const x of v) byteArrays(x, out);
  else if (v instanceof Map) for (const [k, x] of v) byteArrays([k, x], out);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) byteArrays(x, out);
  return out;
}

const encodeWith = (impl: bytes.BytesImpl, v: AmqpValue): unknown =>
  withImpl(impl, () =>
    outcome(() => {
      const w = new ByteWriter(16);
      encodeValue(w, v);
      return w.copy();
    }),
  );
const decodeWith = (impl: bytes.BytesImpl, b: Uint8Array): unknown =>
  withImpl(impl, () => outcome(() => decodeValue(b)));

describe('the platform module', () => {
  it('is Node by default in Node, and can be switched', () => {
    expect(bytes.bytesImpl()).toBe('node');
    bytes.useBytesImpl('portable');
    expect(bytes.bytesImpl()).toBe('portable');
    expect(Buffer.isBuffer(bytes.allocUnsafe(4))).toBe(false);
    bytes.useBytesImpl('node');
    expect(Buffer.isBuffer(bytes.allocUnsafe(4))).toBe(true);
  });

  it('utf8Length agrees with Buffer.byteLength, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const node = bytes.utf8Length(s);
        const portable = withImpl('portable', () => bytes.utf8Length(s));
        expect(portable).toBe(node);
        expect(node).toBe(Buffer.byteLength(s, 'utf8'));
      }),
    );
  });

  it('utf8Write and utf8Encode write what Buffer writes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.nat(7), (s, at) => {
        const want = Buffer.from(s, 'utf8');
        for (const impl of ['node', 'portable'] as const) {
          withImpl(impl, () => {
            const buf = new Uint8Array(at + s.length * 3);
            expect(bytes.utf8Write(buf, s, at)).toBe(want.length);
            expect([...buf.subarray(at, at + want.length)]).toEqual([...want]);
            expect([...bytes.utf8Encode(s)]).toEqual([...want]);
          });
        }
      }),
    );
  });

  it('utf8Slice accepts exactly what Node accepts as UTF-8, and decodes it the same', () => {
    const utf8ish = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
      // A leading byte-order mark is a character to keep, as Node keeps it.
      fc
        .string({ unit: 'binary', maxLength: 20 })
        .map((s) => new Uint8Array(Buffer.from(`\uFEFF${s}`, 'utf8'))),
    );
    fc.assert(
      fc.property(utf8ish, (b) => {
        const got = bytes.utf8Slice(b, 0, b.length);
        const reference = Buffer.from(b).toString('utf8');
        // Node's decoder replaces what is invalid; a string that encodes back to the same bytes was valid.
        const roundTrips = Buffer.from(reference, 'utf8').equals(b);
        expect(got).toBe(roundTrips ? reference : undefined);
      }),
    );
  });

  it('reads and writes integers and floats as Buffer does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (raw) => {
        const b = Buffer.from(raw);
        expect(bytes.readU16(b, 0)).toBe(b.readUInt16BE(0));
        expect(bytes.readU32(b, 0)).toBe(b.readUInt32BE(0));
        expect(bytes.readI32(b, 0)).toBe(b.readInt32BE(0));
        expect(bytes.readU64(b, 0)).toBe(b.readBigUInt64BE(0));
        expect(bytes.readI64(b, 0)).toBe(b.readBigInt64BE(0));
        expect(Object.is(bytes.readF32(b, 0), b.readFloatBE(0))).toBe(true);
        expect(Object.is(bytes.readF64(b, 0), b.readDoubleBE(0))).toBe(true);
      }),
    );
    fc.assert(
      fc.property(
        fc.double(),
        fc.float(),
        fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
        (d, f, n) => {
          const ours = new Uint8Array(20);
          const theirs = Buffer.alloc(20);
          bytes.writeF64(ours, d, 0);
          theirs.writeDoubleBE(d, 0);
          bytes.writeF32(ours, f, 8);
          theirs.writeFloatBE(f, 8);
          bytes.writeU64(ours, n, 12);
          if (n < 0n) theirs.writeBigInt64BE(n, 12);
          else theirs.writeBigUInt64BE(n, 12);
          expect([...ours]).toEqual([...theirs]);
        },
      ),
    );
  });
});

describe('the codec through either implementation', () => {
  it('encodes every value to the same bytes, and decodes them to the same value', () => {
    fc.assert(
      fc.property(amqpValue, (v) => {
        const node = encodeWith('node', v);
        expect(encodeWith('portable', v)).toEqual(node);
        const encoded = (node as { ok?: { bytes: number[] } }).ok;
        if (encoded) {
          const b = new Uint8Array(encoded.bytes);
          expect(decodeWith('portable', b)).toEqual(decodeWith('node', b));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('strings, lone surrogates included, encode the same or fail the same', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.string({ unit: 'binary', maxLength: 400 })), (s) => {
        expect(encodeWith('portable', s)).toEqual(encodeWith('node', s));
      }),
    );
  });

  it('str8, str32 and sym8 bodies of any bytes decode the same or fail with the same error', () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
    );
    fc.assert(
      fc.property(body, fc.constantFrom(0xa1, 0xb1, 0xa3), (b, code) => {
        if (code !== 0xb1 && b.length > 255) b = b.subarray(0, 255);
        const head = code === 0xb1 ? [code, 0, 0, b.length >> 8, b.length & 0xff] : [code, b.length];
        const wire = new Uint8Array([...head, ...b]);
        const node = decodeWith('node', wire);
        expect(decodeWith('portable', wire)).toEqual(node);
      }),
    );
  });

  it('floats, doubles and timestamps', () => {
    const v = fc.oneof(
      floatNum.map((f) => new Typed('float', f) as AmqpValue),
      doubleNum.map((d) => d as AmqpValue),
      fc.double().map((d) => new Typed('double', d) as AmqpValue),
      dateInRange.map((d) => d as AmqpValue),
      timestampOutOfRange.map((t) => new Typed('timestamp', t) as AmqpValue),
      longBig.map((n) => n as AmqpValue),
    );
    fc.assert(
      fc.property(v, (x) => {
        const node = encodeWith('node', x);
        expect(encodeWith('portable', x)).toEqual(node);
        const b = new Uint8Array((node as { ok: { bytes: number[] } }).ok.bytes);
        expect(decodeWith('portable', b)).toEqual(decodeWith('node', b));
      }),
    );
  });

  it('messages: the same bytes, the same decoded message', () => {
    fc.assert(
      fc.property(messageArb, (m: Message) => {
        const node = withImpl('node', () => outcome(() => encodeMessage(m)));
        expect(withImpl('portable', () => outcome(() => encodeMessage(m)))).toEqual(node);
        const encoded = (node as { ok?: { bytes: number[] } }).ok;
        if (encoded) {
          const b = new Uint8Array(encoded.bytes);
          const a = withImpl('node', () => outcome(() => decodeMessage(b)));
          expect(withImpl('portable', () => outcome(() => decodeMessage(b)))).toEqual(a);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('performatives: the same bytes, the same record', () => {
    const rec = fc
      .constantFrom('open', 'attach', 'transfer', 'flow', 'disposition')
      .chain((n) => compositeRecordArb(n));
    fc.assert(
      fc.property(rec, (r) => {
        const enc = (impl: bytes.BytesImpl) =>
          withImpl(impl, () =>
            outcome(() => {
              const w = new ByteWriter(8);
              encodeComposite(w, r as { type: string });
              return w.copy();
            }),
          );
        const node = enc('node');
        expect(enc('portable')).toEqual(node);
        const encoded = (node as { ok?: { bytes: number[] } }).ok;
        if (encoded) {
          const b = new Uint8Array(encoded.bytes);
          const dec = (impl: bytes.BytesImpl) =>
            withImpl(impl, () => outcome(() => decodeComposite(b).value));
          expect(dec('portable')).toEqual(dec('node'));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('what kind of bytes the core hands out', () => {
  const message: Message = {
    properties: { messageId: 'm1', userId: Buffer.from('u') },
    applicationProperties: { k: 'v' },
    body: Buffer.from('{"t":21.5}'),
  };

  it('in Node, decoded binary and message bodies are Buffers even from a plain Uint8Array', () => {
    const wire = new Uint8Array(encodeMessage(message));
    const m = decodeMessage(wire);
    expect(Buffer.isBuffer(m.body)).toBe(true);
    expect(Buffer.isBuffer(m.properties!.userId)).toBe(true);
    expect(Buffer.isBuffer(decodeValue(new Uint8Array([0xa0, 2, 1, 2])))).toBe(true);
    expect(Buffer.isBuffer(encodeMessage(message))).toBe(true);
  });

  it('portable: plain Uint8Arrays, never a Buffer', () => {
    withImpl('portable', () => {
      const encoded = encodeMessage(message);
      expect(Buffer.isBuffer(encoded)).toBe(false);
      const m = decodeMessage(new Uint8Array(encoded));
      expect(m.body).toBeInstanceOf(Uint8Array);
      expect(byteArrays(m).some((b) => Buffer.isBuffer(b))).toBe(false);
      expect(new TextDecoder().decode(m.body as Uint8Array)).toBe('{"t":21.5}');
    });
  });

  it('frames read from plain Uint8Array chunks have Buffer bodies in Node, plain ones in portable', () => {
    const frame = new Uint8Array([0, 0, 0, 12, 2, 0, 0, 0, 0x53, 0x10, 0x45, 0x40]);
    for (const [impl, isBuffer] of [
      ['node', true],
      ['portable', false],
    ] as const) {
      withImpl(impl, () => {
        const r = new FrameReader();
        r.push(frame.subarray(0, 5));
        r.push(frame.subarray(5)); // spans two chunks: the body is a fresh copy
        const f = r.next() as { body: Uint8Array };
        expect(Buffer.isBuffer(f.body)).toBe(isBuffer);
        expect([...f.body]).toEqual([0x53, 0x10, 0x45, 0x40]);
      });
    }
  });

  for (const impl of ['node', 'portable'] as const) {
    it(`an engine pair moves a message (${impl}): payloads, tags and output are ${impl === 'node' ? 'Buffers' : 'plain'}`, () => {
      withImpl(impl, () => {
        const p = makePair();
        p.client.open();
        const sender = p.client.beginSession().openSender({ target: { address: 'q' } });
        p.pump();
        (p.server.allSessions[0]!.allLinks[0] as Receiver).setCredit(10);
        p.pump();
        const payload = encodeMessage(message);
        const d = sender.send(payload);
        expect(Buffer.isBuffer(d.tag)).toBe(impl === 'node');
        const out = p.client.takeOutput();
        expect(out).toBeDefined();
        expect(Buffer.isBuffer(out)).toBe(impl === 'node');
        p.server.receive(out!);
        p.pump();
        const got = p.serverEvents.find((e) => e.type === 'delivery') as {
          delivery: { payload: Uint8Array };
        };
        expect(Buffer.isBuffer(got.delivery.payload)).toBe(impl === 'node');
        expect([...got.delivery.payload]).toEqual([...payload]);
      });
    });
  }
});
