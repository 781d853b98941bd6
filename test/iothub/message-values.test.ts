/** Reading map entries and ids as the hub's peers send them (shared by the clients and the hub). */
import { describe, expect, test } from 'vitest';
import { AmqpSymbol, ulong, uuid } from '../../src/codec/values.js';
import { entry, idText, stringOf } from '../../src/iothub/message-values.js';

describe('message values', () => {
  test('idText: the id in text form for every id type', () => {
    expect(idText('abc')).toBe('abc');
    expect(idText(uuid('0F8FAD5B-D9CB-469F-A165-70867728950E'))).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(idText(ulong(18446744073709551615n))).toBe('18446744073709551615');
    expect(idText(Buffer.from([0xde, 0xad]))).toBe('dead');
    expect(idText(undefined)).toBeUndefined();
    expect(idText(null)).toBeUndefined();
  });

  test('entry: by name from objects and Maps, symbol or string keys, optionally case-insensitive', () => {
    const map = new Map<unknown, unknown>([
      [new AmqpSymbol('x-opt-offset'), '42'],
      ['Status-Code', 200],
      [7, 'numeric key'],
    ]) as never;
    expect(entry(map, 'x-opt-offset')).toBe('42');
    expect(entry(map, 'status-code')).toBeUndefined();
    expect(entry(map, 'status-code', true)).toBe(200);
    expect(entry({ 'IoTHub-Ack': 'full' }, 'iothub-ack')).toBeUndefined();
    expect(entry({ 'IoTHub-Ack': 'full' }, 'iothub-ack', true)).toBe('full');
    expect(entry({}, 'toString')).toBeUndefined();
    expect(entry(undefined, 'a')).toBeUndefined();
  });

  test('stringOf: strings and symbols only', () => {
    expect(stringOf('a')).toBe('a');
    expect(stringOf(new AmqpSymbol('b'))).toBe('b');
    expect(stringOf(1)).toBeUndefined();
  });
});
