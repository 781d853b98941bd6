/**
 * The message encoder's fast paths (src/codec/message-fast.ts, the short-string writer in
 * encoder.ts, encodeMessage's pool) against what they replace:
 *
 * - writeMessage and encodeMessage against writeMessageGeneric, which encodes every section value
 *   by value through the generic encoder: the same bytes, or the same error (class, code and
 *   message), for arbitrary messages, valid or not: strings with any UTF-16 units (lone surrogates
 *   included) and lengths across str8/str32 and the key cache's limit, maps with any keys and
 *   values, large enough for map32, every body kind, fields of every type and of wrong types;
 * - every message encoded twice, so that the second time the keys come from the caches;
 * - the string writer against UTF-8 from Buffer: str8 or str32 with Buffer's bytes, or the same
 *   error for a lone surrogate (or a symbol that is not ASCII);
 * - the pool: what encodeMessage hands out is never written again.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import * as bytes from '../../src/codec/bytes.js';
import { encode } from '../../src/codec/index.js';
import { encodeMessage, writeMessage, writeMessageGeneric, type Message } from '../../src/codec/message.js';
import { AmqpSymbol, type AmqpValue } from '../../src/codec/values.js';
import { DEFAULT_MAX_DEPTH } from '../../src/codec/decoder.js';
import { anyMessage, anyText, ascii, nested, unitsString } from './any-message.js';
import { messageArb } from './arbitraries.js';

const RUNS = Math.max(1, Math.round(Number(process.env.FC_RUNS ?? 500)));

afterEach(() => bytes.useBytesImpl('node'));

/** The outcome of `f` as comparable data: the bytes in hex, or the error's class, code and message. */
function outcome(f: () => Uint8Array): unknown {
  try {
    return { bytes: Buffer.from(f()).toString('hex') };
  } catch (e) {
    const err = e as Error & { code?: string };
    return { threw: err.constructor.name, code: err.code, message: err.message };
  }
}

function generic(m: Message): unknown {
  return outcome(() => {
    const w = new ByteWriter(64);
    writeMessageGeneric(w, m);
    return w.view();
  });
}

/** writeMessage into a writer of `size` bytes (a small one grows item by item). */
function fast(m: Message, size: number): unknown {
  return outcome(() => {
    const w = new ByteWriter(size);
    writeMessage(w, m);
    return w.view();
  });
}

/** Every fast way of encoding `m` gives what the generic writer gives, twice over. */
function expectSame(m: Message, size = 1): void {
  const want = generic(m);
  for (let i = 0; i < 2; i++) {
    expect(fast(m, size)).toEqual(want);
    expect(outcome(() => encodeMessage(m))).toEqual(want);
  }
}

// ------------------------------------------------------------------------------ properties

/** A Date whose getTime answers in turn from `times`, as a subclass may. */
class OddDate extends Date {
  private calls = 0;
  constructor(private readonly times: unknown[]) {
    super(0);
  }
  override getTime(): number {
    return this.times[this.calls++ % this.times.length] as number;
  }
}

/**
 * `o` behind a Proxy that logs every read of it (and of the objects read from it) into `log`: what
 * a message made of getters or proxies would see of an encoder.
 */
function recorded<T extends object>(o: T, log: string[], path = 'm'): T {
  return new Proxy(o, {
    get(t, k, r) {
      log.push(`get ${path}.${String(k)}`);
      const v = Reflect.get(t, k, r) as unknown;
      const plain = v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
      return plain ? recorded(v, log, `${path}.${String(k)}`) : v;
    },
    getPrototypeOf(t) {
      log.push(`getPrototypeOf ${path}`);
      return Reflect.getPrototypeOf(t);
    },
    ownKeys(t) {
      log.push(`ownKeys ${path}`);
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, k) {
      log.push(`getOwnPropertyDescriptor ${path}.${String(k)}`);
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });
}

describe('the fast paths write what the generic writer writes', () => {
  it('reading the message as the generic writer does, read for read', () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        const want: string[] = [];
        const got: string[] = [];
        expect(fast(recorded(m, got), 16)).toEqual(generic(recorded(m, want)));
        expect(got).toEqual(want);
      }),
      { numRuns: RUNS },
    );
  });

  it('read for read, for each kind of body (a plain-object body is the one a Proxy sees asked what it is)', () => {
    const bodies: Message[] = [
      { body: { k: 1 } },
      { body: { k: [[['leaf']]] }, bodyType: 'value' },
      { body: { k: 1 }, bodyType: 'data' },
      { body: [{ k: 1 }], bodyType: 'data' },
      { body: [[{ k: 1 }]], bodyType: 'sequence' },
      { body: Buffer.from('x') },
      { body: Buffer.from('x'), bodyType: 'value' },
    ];
    for (const m of bodies) {
      const want: string[] = [];
      const got: string[] = [];
      expect(fast(recorded(m, got), 16)).toEqual(generic(recorded(m, want)));
      expect(got).toEqual(want);
    }
  });

  it('Date subclasses: asked for their time as the generic writer asks', () => {
    for (const times of [[1.5], [5n], ['x'], [NaN, 7], [7, NaN], [1, 2], [2 ** 53], [-(2 ** 40)]]) {
      const m = (): Message => ({ properties: { creationTime: new OddDate(times) } });
      const want = generic(m());
      expect(fast(m(), 1)).toEqual(want);
      expect(outcome(() => encodeMessage(m()))).toEqual(want);
    }
  });

  it('valid messages of every shape (arbitraries.ts messageArb)', () => {
    fc.assert(
      fc.property(messageArb, fc.constantFrom(1, 16, 4096), (m, size) => expectSame(m, size)),
      { numRuns: RUNS },
    );
  });

  it('any message: the same bytes, or the same error', () => {
    fc.assert(
      fc.property(anyMessage, fc.constantFrom(1, 16, 4096), (m, size) => expectSame(m, size)),
      { numRuns: RUNS * 2 },
    );
  });

  it('with the portable byte layer too', () => {
    bytes.useBytesImpl('portable');
    fc.assert(
      fc.property(anyMessage, (m) => expectSame(m, 16)),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('the telemetry message', () => {
    const m: Message = {
      messageAnnotations: { 'x-opt-partition-key': 'sensor-0042', 'x-opt-enqueued-seq': 98765 },
      properties: {
        messageId: '0f8fad5b-d9cb-469f-a165-70867728950e',
        to: '/devices/sensor-0042/messages/events',
        contentType: 'application/json;charset=utf-8',
        creationTime: new Date(1700000000000),
      },
      applicationProperties: { deviceId: 'sensor-0042', sequence: 123456, region: 'eu-west-1' },
      body: Buffer.alloc(256, 0x78),
    };
    expectSame(m);
  });

  it('keys that change places, keys past the cache size, maps that shrink and grow', () => {
    const keys = Array.from({ length: 1100 }, (_, i) => `key-${i}`);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < keys.length; i += 7) {
        const some = keys.slice(i, i + 1 + (i % 5));
        if (i % 2) some.reverse();
        const o = Object.fromEntries(some.map((k, j) => [k, j]));
        expectSame({ messageAnnotations: o, applicationProperties: o, footer: o });
      }
    }
  });

  it('too deep and invalid values keep their error codes', () => {
    const tooDeep = nested(DEFAULT_MAX_DEPTH);
    const codes = (m: Message): unknown => {
      const got = outcome(() => encodeMessage(m)) as { code?: string };
      expect(got).toEqual(generic(m));
      return got.code;
    };
    expect(codes({ applicationProperties: { k: tooDeep } })).toBe('AMQP_ENCODE_TOO_DEEP');
    expect(codes({ messageAnnotations: { k: tooDeep } })).toBe('AMQP_ENCODE_TOO_DEEP');
    expect(codes({ messageAnnotations: { é: 1 } })).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(codes({ applicationProperties: { k: '\ud800' } })).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(codes({ applicationProperties: { k: Symbol('s') as unknown as AmqpValue } })).toBe(
      'AMQP_ENCODE_INVALID_VALUE',
    );
    expect(codes({ properties: { contentType: 'é' } })).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(codes({ properties: { creationTime: new Date(NaN) } })).toBe('AMQP_ENCODE_INVALID_VALUE');
    expect(codes({ properties: { to: 5 as unknown as string } })).toBe('AMQP_ENCODE_INVALID_VALUE');
  });
});

/** What the string writers must produce: Buffer's UTF-8 with the smallest constructor. */
function expectedString(s: string, symbol: boolean): unknown {
  const notAscii = symbol && /[^\x00-\x7f]/.test(s);
  const loneSurrogate = {
    threw: 'EncodeError',
    code: 'AMQP_ENCODE_INVALID_VALUE',
    message: 'string has a lone surrogate: not valid Unicode',
  };
  // A symbol of up to 85 units is written before it is checked, so a lone surrogate is found first.
  if (notAscii && s.length <= 85 && !s.isWellFormed()) return loneSurrogate;
  if (notAscii) {
    return {
      threw: 'EncodeError',
      code: 'AMQP_ENCODE_INVALID_VALUE',
      message: `symbol ${JSON.stringify(s)} is not ASCII`,
    };
  }
  if (!s.isWellFormed()) return loneSurrogate;
  const utf8 = Buffer.from(s, 'utf8');
  const head =
    utf8.length <= 255
      ? Buffer.from([symbol ? 0xa3 : 0xa1, utf8.length])
      : Buffer.from([symbol ? 0xb3 : 0xb1, 0, 0, 0, 0]);
  if (utf8.length > 255) head.writeUInt32BE(utf8.length, 1);
  return { bytes: Buffer.concat([head, utf8]).toString('hex') };
}

describe('strings', () => {
  const text = fc.oneof(anyText, unitsString(0, 400), ascii(0, 300));

  it('a string is its UTF-8 in str8 or str32, or an error for a lone surrogate', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(outcome(() => encode(s))).toEqual(expectedString(s, false));
        // In a list, past other bytes: the loop's last word reaches past the text.
        const listed = outcome(() => encode(['ab', s, 'c'])) as { bytes?: string };
        if (listed.bytes === undefined) expect(listed).toEqual(expectedString(s, false));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('a symbol is its ASCII in sym8 or sym32, or an error', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(outcome(() => encode(new AmqpSymbol(s)))).toEqual(expectedString(s, true));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('with the portable byte layer too', () => {
    bytes.useBytesImpl('portable');
    fc.assert(
      fc.property(text, (s) => {
        expect(outcome(() => encode(s))).toEqual(expectedString(s, false));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("encodeMessage's pool", () => {
  it('bytes handed out are never written again, whatever comes after them', () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 30 }), (messages) => {
        const kept: [Buffer, string][] = [];
        for (const m of messages) {
          try {
            const b = encodeMessage(m);
            kept.push([b, b.toString('hex')]);
          } catch {
            // an invalid message: nothing handed out
          }
        }
        for (const [b, hex] of kept) expect(b.toString('hex')).toBe(hex);
      }),
      { numRuns: RUNS },
    );
  });

  it('small messages share a pool, a large one gets a buffer of its own, and then small ones again', () => {
    const small: Message = { applicationProperties: { k: 'v' }, body: Buffer.alloc(100) };
    /** Three small messages in a row: at most one of them begins a new pool. */
    const threeShare = (): Buffer => {
      const [a, b, c] = [encodeMessage(small), encodeMessage(small), encodeMessage(small)];
      expect(a.buffer === b.buffer || b.buffer === c.buffer).toBe(true);
      expect(a.buffer.byteLength).toBe(8192);
      expect(b.equals(a) && c.equals(a)).toBe(true);
      return a;
    };
    encodeMessage(small); // after a large one (in a test before this), the next goes through scratch
    const a = threeShare();
    expect(Buffer.isBuffer(a)).toBe(true);
    const big = encodeMessage({ body: Buffer.alloc(100_000, 1) });
    expect(big.byteLength).toBe(big.buffer.byteLength);
    expect(big.length).toBeGreaterThan(100_000);
    encodeMessage(small);
    expect(threeShare().equals(a)).toBe(true);
  });

  it('a message that does not fit the rest of the pool is whole', () => {
    for (let size = 500; size < 9000; size += 373) {
      const m: Message = {
        properties: { to: 'x'.repeat(size % 300) },
        body: Buffer.alloc(size, size & 0xff),
      };
      expect(outcome(() => encodeMessage(m))).toEqual(generic(m));
    }
  });
});

describe('messages that run code while they are encoded', () => {
  it('a getter that encodes another message: neither is written over, the outer is as generic', () => {
    for (const outerFails of [false, true]) {
      let inner: Buffer | undefined;
      const outer: Message = {
        applicationProperties: {
          get a() {
            inner = encodeMessage({ body: 'INNER' });
            return 1;
          },
          // A symbol is no AMQP value: the outer encode then fails after the getter ran.
          b: (outerFails ? Symbol('x') : 2) as unknown as AmqpValue,
        },
        body: 'OUTER',
      };
      const want = generic(outer);
      expect(outcome(() => encodeMessage(outer))).toEqual(want);
      const innerHex = inner!.toString('hex');
      expect(innerHex).toBe(Buffer.from(encodeMessage({ body: 'INNER' })).toString('hex'));
      // Whatever is encoded next goes after the inner message, never over it.
      for (let i = 0; i < 50; i++) encodeMessage({ body: `NEXT-MESSAGE-${i}` });
      expect(inner!.toString('hex')).toBe(innerHex);
    }
  });

  it('a body getter is read once, as the generic writer reads it', () => {
    let reads = 0;
    const m = {
      get body() {
        reads++;
        return `read #${reads}`;
      },
    } as Message;
    const got = outcome(() => {
      const w = new ByteWriter(64);
      writeMessage(w, m);
      return w.view();
    });
    expect(reads).toBe(1);
    reads = 0;
    expect(got).toEqual(generic(m));
  });

  it("a Date subclass whose time is no safe integer fails as the generic writer's does", () => {
    class OddDate extends Date {
      override getTime(): number {
        return 1.5;
      }
    }
    const m: Message = { properties: { creationTime: new OddDate(0) } };
    const want = generic(m);
    expect(want).toMatchObject({ threw: 'EncodeError' });
    expectSame(m);
  });
});
