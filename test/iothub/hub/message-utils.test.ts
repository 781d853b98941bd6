import { describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/codec/message.js';
import { AmqpSymbol } from '../../../src/codec/values.js';
import { toRecord } from '../../../src/iothub/client/amqp-utils.js';
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

  test("a peer's '__proto__' annotation is copied as an own property, not as a prototype", () => {
    const decoded = decodeMessage(
      encodeMessage({ messageAnnotations: JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') }),
    );
    const out = withMessageAnnotations(decoded, { b: 2 }).messageAnnotations as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a', 'b']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: true });
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    const record = toRecord(decoded.messageAnnotations);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.keys(record)).toEqual(['__proto__', 'a']);
  });
});
