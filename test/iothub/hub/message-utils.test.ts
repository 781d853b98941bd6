import { describe, expect, test } from 'vitest';
import { AmqpSymbol } from '../../../src/codec/values.js';
import {
  ackModeOf,
  isSystemAnnotation,
  withMessageAnnotations,
} from '../../../src/iothub/hub/message-utils.js';
import { entry } from '../../../src/iothub/message-values.js';

describe('message helpers', () => {
  test('ackModeOf: case-insensitive name and value, default none', () => {
    expect(ackModeOf({ applicationProperties: { 'iothub-ack': 'full' } })).toBe('full');
    expect(ackModeOf({ applicationProperties: { 'IoTHub-Ack': 'Positive' } })).toBe('positive');
    expect(ackModeOf({ applicationProperties: new Map([['iothub-ack', 'negative']]) })).toBe('negative');
    expect(ackModeOf({ applicationProperties: { 'iothub-ack': 'sometimes' } })).toBe('none');
    expect(ackModeOf({})).toBe('none');
  });

  test('withMessageAnnotations merges into objects and Maps, never mutating the original', () => {
    const orig = { messageAnnotations: { a: 1, 'x-opt-offset': 'fake' } };
    const out = withMessageAnnotations(orig, { b: 2 }, isSystemAnnotation);
    expect(out.messageAnnotations).toEqual({ a: 1, b: 2 });
    expect(orig.messageAnnotations).toEqual({ a: 1, 'x-opt-offset': 'fake' });
    const map = new Map<unknown, unknown>([
      [new AmqpSymbol('a'), 1],
      [42, 'numeric key kept'],
      [new AmqpSymbol('b'), 'replaced'],
    ]);
    const m2 = withMessageAnnotations({ messageAnnotations: map as never }, { b: 2 });
    expect(entry(m2.messageAnnotations, 'a')).toBe(1);
    expect(entry(m2.messageAnnotations, 'b')).toBe(2);
    expect((m2.messageAnnotations as Map<unknown, unknown>).get(42)).toBe('numeric key kept');
    expect(withMessageAnnotations({}, { c: 3 }).messageAnnotations).toEqual({ c: 3 });
  });
});
