/**
 * What the encoder refuses, with a typed error instead of a TypeError or bytes a peer would
 * refuse: a message that is not an object, a message-id of a type the spec does not allow, a
 * non-string address, and nesting deeper than the decoder's limit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AmqpArray,
  AmqpSymbol,
  DEFAULT_MAX_DEPTH,
  Described,
  EncodeError,
  Typed,
  decodeMessage,
  decodeValue,
  encode,
  encodeMessage,
  type AmqpValue,
  type Message,
} from '../../src/codec/index.js';

const RUNS = Math.max(1, Math.round(Number(process.env.FC_RUNS ?? 500)));

function encodeError(f: () => unknown): EncodeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EncodeError);
    return e as EncodeError;
  }
  throw new Error('expected an EncodeError, but it encoded');
}

describe('messages that are not objects', () => {
  for (const m of [null, undefined, 42, 'text', [], true]) {
    it(`encodeMessage(${JSON.stringify(m) ?? 'undefined'}) throws EncodeError`, () => {
      expect(encodeError(() => encodeMessage(m as unknown as Message)).code).toBe(
        'AMQP_ENCODE_INVALID_VALUE',
      );
    });
  }
});

/** message-id is ulong | uuid | binary | string (spec 3.2.11-14). */
const validId = fc.oneof(
  fc.string(),
  fc.nat(),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
  fc.uuid().map((u) => new Typed('uuid', u)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => new Typed('ulong', n)),
);
const invalidId = fc.oneof(
  fc.constant({}),
  fc.boolean(),
  fc.double({ noInteger: true, noNaN: true }),
  fc.integer({ max: -1 }),
  fc.bigInt({ min: -(1n << 70n), max: -1n }),
  fc.bigInt({ min: 1n << 64n, max: 1n << 70n }),
  fc.date({ noInvalidDate: true }),
  fc.string().map((s) => new AmqpSymbol(s)),
  fc.integer({ min: 0, max: 255 }).map((n) => new Typed('ubyte', n)),
  fc.constant([1, 2]),
);
const validAddress = fc.string();
const invalidAddress = fc.oneof(
  fc.integer(),
  fc.constant({}),
  fc.boolean(),
  fc.string().map((s) => new AmqpSymbol(s)),
);

/** A field value, and whether the spec allows it. */
const field = (
  valid: fc.Arbitrary<unknown>,
  invalid: fc.Arbitrary<unknown>,
): fc.Arbitrary<[unknown, boolean]> =>
  fc.oneof(
    fc.constant<[unknown, boolean]>([undefined, true]),
    valid.map((v): [unknown, boolean] => [v, true]),
    invalid.map((v): [unknown, boolean] => [v, false]),
  );

describe('message properties', () => {
  it('a message the spec allows encodes and decodes back; any other fails with EncodeError', () => {
    fc.assert(
      fc.property(
        field(validId, invalidId),
        field(validId, invalidId),
        field(validAddress, invalidAddress),
        field(validAddress, invalidAddress),
        (id, corr, to, replyTo) => {
          const m = {
            properties: { messageId: id[0], correlationId: corr[0], to: to[0], replyTo: replyTo[0] },
            body: 'b',
          } as unknown as Message;
          const allowed = id[1] && corr[1] && to[1] && replyTo[1];
          if (allowed) {
            const back = decodeMessage(encodeMessage(m));
            expect(back.properties?.to).toBe(to[0]);
          } else {
            expect(encodeError(() => encodeMessage(m)).code).toBe('AMQP_ENCODE_INVALID_VALUE');
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** Wrappers with the nesting levels the decoder counts for each. */
const WRAPS: [string, number, (v: AmqpValue) => AmqpValue][] = [
  ['list', 1, (v) => [v]],
  ['map', 1, (v) => new Map<AmqpValue, AmqpValue>([['k', v]])],
  ['object', 1, (v) => ({ k: v })],
  ['described', 1, (v) => new Described(new AmqpSymbol('d'), v)],
  ['array of lists', 2, (v) => new AmqpArray('list', [[v]])],
];

describe('nesting depth', () => {
  it(`encodes iff nested at most ${DEFAULT_MAX_DEPTH} deep, and what it encodes decodes`, () => {
    fc.assert(
      fc.property(
        // Lengths around the limit (fast-check's default sizes would stay far below it).
        fc
          .integer({ min: 0, max: 90 })
          .chain((n) =>
            fc.array(fc.integer({ min: 0, max: WRAPS.length - 1 }), { minLength: n, maxLength: n }),
          ),
        fc.oneof(fc.constant<AmqpValue>('leaf'), fc.constant<AmqpValue>(null), fc.constant<AmqpValue>([])),
        (wraps, leaf) => {
          let v: AmqpValue = leaf;
          // An empty list leaf is itself a level (the decoder enters it).
          let depth = Array.isArray(leaf) ? 1 : 0;
          for (const i of wraps) {
            v = WRAPS[i]![2](v);
            depth += WRAPS[i]![1];
          }
          if (depth <= DEFAULT_MAX_DEPTH) {
            expect(() => decodeValue(encode(v))).not.toThrow();
          } else {
            expect(encodeError(() => encode(v)).code).toBe('AMQP_ENCODE_TOO_DEEP');
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a body at the limit decodes; one level more is refused before anything is sent', () => {
    let v: AmqpValue = 'x';
    for (let i = 0; i < DEFAULT_MAX_DEPTH; i++) v = [v];
    expect(decodeMessage(encodeMessage({ body: v })).body).toEqual(v);
    expect(encodeError(() => encodeMessage({ body: [v] })).code).toBe('AMQP_ENCODE_TOO_DEEP');
  });
});

describe('Typed values of a type the encoder does not know', () => {
  // From plain JavaScript, any string can be a Typed's type; one the encoder had no case for was
  // written as nothing, which left its map or list one item short.
  for (const type of ['long', 'int', 'string', '']) {
    it(`Typed(${JSON.stringify(type)}) is refused, alone, in a list, and as an application property`, () => {
      const t = new Typed(type as never, 5n);
      expect(encodeError(() => encode(t)).message).toContain('unknown Typed type');
      encodeError(() => encode([1, t]));
      encodeError(() => encodeMessage({ applicationProperties: { k: t } }));
      encodeError(() => encodeMessage({ messageAnnotations: { 'x-opt-k': t } }));
      encodeError(() => encodeMessage({ body: [t] }));
    });
  }
});
