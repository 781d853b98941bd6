import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AmqpSymbol, described, ulong } from '../../../src/codec/values.js';
import {
  formatSelectorFilter,
  parseSelectorFilter,
  positionFromFilterSet,
  SELECTOR_FILTER_NAME,
  type EventPosition,
} from '../../../src/iothub/hub/filter.js';

describe('parseSelectorFilter', () => {
  test('the forms event-hubs and uAMQP send', () => {
    expect(parseSelectorFilter("amqp.annotation.x-opt-offset > '-1'")).toEqual({ kind: 'earliest' });
    expect(parseSelectorFilter("amqp.annotation.x-opt-offset >= '-1'")).toEqual({ kind: 'earliest' });
    expect(parseSelectorFilter("amqp.annotation.x-opt-offset > '@latest'")).toEqual({ kind: 'latest' });
    expect(parseSelectorFilter("amqp.annotation.x-opt-offset > '1234'")).toEqual({
      kind: 'offset',
      value: 1234,
      inclusive: false,
    });
    expect(parseSelectorFilter("amqp.annotation.x-opt-offset >= '0'")).toEqual({
      kind: 'offset',
      value: 0,
      inclusive: true,
    });
    expect(parseSelectorFilter('amqp.annotation.x-opt-sequence-number > 41')).toEqual({
      kind: 'sequenceNumber',
      value: 41,
      inclusive: false,
    });
    expect(parseSelectorFilter("amqp.annotation.x-opt-sequence-number >= '41'")).toEqual({
      kind: 'sequenceNumber',
      value: 41,
      inclusive: true,
    });
    expect(parseSelectorFilter("amqp.annotation.x-opt-enqueued-time > '1704110400000'")).toEqual({
      kind: 'enqueuedTime',
      value: 1704110400000,
      inclusive: false,
    });
    expect(parseSelectorFilter('AMQP.Annotation.X-Opt-Sequence-Number=5')).toEqual({
      kind: 'sequenceNumber',
      value: 5,
      inclusive: true,
    });
    expect(parseSelectorFilter('amqp.annotation.x-opt-sequence-number > "-1"')).toEqual({
      kind: 'sequenceNumber',
      value: -1,
      inclusive: false,
    });
  });

  test('bad syntax is HUB_BAD_FILTER (com.microsoft:argument-error)', () => {
    for (const bad of [
      '',
      'x-opt-offset > 5',
      'amqp.annotation.x-opt-offset < 5',
      "amqp.annotation.x-opt-offset > 'abc'",
      "amqp.annotation.x-opt-offset > '-2'",
      "amqp.annotation.x-opt-offset > '1.5'",
      'amqp.annotation.x-opt-sequence-number > ',
      'amqp.annotation.x-opt-sequence-number > 1 AND 2',
      "amqp.annotation.x-opt-sequence-number > '1",
      'amqp.annotation.x-opt-enqueued-time > yesterday',
      'amqp.annotation.x-opt-partition-key > 1',
    ]) {
      expect(() => parseSelectorFilter(bad), bad).toThrow(
        expect.objectContaining({ code: 'HUB_BAD_FILTER', condition: 'com.microsoft:argument-error' }),
      );
    }
  });

  const ws = fc.constantFrom('', ' ', '  ', '\t');
  const quote = fc.constantFrom("'", '"', '');

  test('property: sequence numbers in any quoting and spacing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
        fc.boolean(),
        ws,
        ws,
        quote,
        (n, incl, a, b, q) => {
          const s = `amqp.annotation.x-opt-sequence-number${a}${incl ? '>=' : '>'}${b}${q}${n}${q}`;
          expect(parseSelectorFilter(s)).toEqual({ kind: 'sequenceNumber', value: n, inclusive: incl });
        },
      ),
    );
  });

  test('property: offsets round-trip through formatSelectorFilter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.boolean(), (n, incl) => {
        const p: EventPosition = { kind: 'offset', value: n, inclusive: incl };
        expect(parseSelectorFilter(formatSelectorFilter(p))).toEqual(p);
      }),
    );
  });

  test('property: every position round-trips', () => {
    const pos: fc.Arbitrary<EventPosition> = fc.oneof(
      fc.constant<EventPosition>({ kind: 'earliest' }),
      fc.constant<EventPosition>({ kind: 'latest' }),
      fc.record({
        kind: fc.constant('sequenceNumber' as const),
        value: fc.maxSafeNat(),
        inclusive: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('offset' as const), value: fc.maxSafeNat(), inclusive: fc.boolean() }),
      fc.record({
        kind: fc.constant('enqueuedTime' as const),
        value: fc.maxSafeNat(),
        inclusive: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(pos, (p) => {
        expect(parseSelectorFilter(formatSelectorFilter(p))).toEqual(p);
      }),
    );
  });

  test('property: huge numbers clamp instead of losing precision silently', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: BigInt(Number.MAX_SAFE_INTEGER), max: (1n << 63n) - 1n }), (n) => {
        const p = parseSelectorFilter(`amqp.annotation.x-opt-offset > '${n}'`);
        expect(p).toEqual({ kind: 'offset', value: Number.MAX_SAFE_INTEGER, inclusive: false });
      }),
    );
  });

  test('property: arbitrary strings either parse or throw HUB_BAD_FILTER', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseSelectorFilter(`amqp.annotation.x-opt-offset > ${s}`);
        } catch (e) {
          expect((e as { code: string }).code).toBe('HUB_BAD_FILTER');
        }
      }),
    );
  });
});

describe('positionFromFilterSet', () => {
  const f = "amqp.annotation.x-opt-sequence-number > '7'";
  const want = { kind: 'sequenceNumber', value: 7, inclusive: false };
  test('ulong descriptor (event-hubs), symbol descriptor (uAMQP), bare string, Map keys', () => {
    expect(
      positionFromFilterSet({ [SELECTOR_FILTER_NAME]: described(ulong(0x0000468c00000004n), f) }),
    ).toEqual(want);
    expect(
      positionFromFilterSet({ [SELECTOR_FILTER_NAME]: described(new AmqpSymbol(SELECTOR_FILTER_NAME), f) }),
    ).toEqual(want);
    expect(positionFromFilterSet({ [SELECTOR_FILTER_NAME]: f })).toEqual(want);
    expect(
      positionFromFilterSet(
        new Map([[new AmqpSymbol(SELECTOR_FILTER_NAME), described(ulong(0x468c00000004n), f)]]),
      ),
    ).toEqual(want);
  });
  test('no filter: undefined; a wrong descriptor or value: HUB_BAD_FILTER', () => {
    expect(positionFromFilterSet(undefined)).toBeUndefined();
    expect(positionFromFilterSet({ other: 'x' })).toBeUndefined();
    expect(() => positionFromFilterSet({ [SELECTOR_FILTER_NAME]: described(ulong(1), f) })).toThrow(
      expect.objectContaining({ code: 'HUB_BAD_FILTER' }),
    );
    expect(() => positionFromFilterSet({ [SELECTOR_FILTER_NAME]: 42 })).toThrow(
      expect.objectContaining({ code: 'HUB_BAD_FILTER' }),
    );
  });
});
