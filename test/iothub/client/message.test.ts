import { describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/codec/message.js';
import { Typed } from '../../../src/codec/values.js';
import { jsonMessage, toAmqpMessage, toMessageId } from '../../../src/iothub/client/message.js';
import { IotHubConfigError } from '../../../src/iothub/errors.js';

describe('outgoing messages', () => {
  test('jsonMessage: JSON body, application/json in utf-8, properties kept', () => {
    const m = toAmqpMessage(jsonMessage({ t: 21 }, { properties: { alert: 'no' }, messageId: 'x' }), {
      to: '/devices/d1/messages/events',
    });
    const back = decodeMessage(encodeMessage(m));
    expect(back.properties).toMatchObject({
      messageId: 'x',
      to: '/devices/d1/messages/events',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
    });
    expect(back.applicationProperties).toEqual({ alert: 'no' });
    expect(back.bodyType).toBe('data');
    expect(JSON.parse((back.body as Buffer).toString())).toEqual({ t: 21 });
  });

  test("a property named '__proto__' (from JSON.parse) is sent as a property, the prototype untouched", () => {
    const properties = JSON.parse('{"__proto__": "x", "constructor": "y", "a": "1"}') as Record<
      string,
      string
    >;
    const m = toAmqpMessage({ body: 'b', properties }, { applicationProperties: properties });
    const app = m.applicationProperties as Record<string, unknown>;
    expect(Object.getPrototypeOf(app)).toBe(Object.prototype);
    expect(Object.keys(app)).toEqual(['__proto__', 'constructor', 'a']);
    const back = decodeMessage(encodeMessage(m)).applicationProperties as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe('x');
    expect(Object.getOwnPropertyDescriptor(back, 'constructor')?.value).toBe('y');
  });

  test('a uuid message id by default; bytes and strings as data; objects as JSON', () => {
    const a = toAmqpMessage(Buffer.from([1, 2]));
    expect(a.properties!.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.body).toEqual(Buffer.from([1, 2]));
    expect(a.properties!.contentType).toBeUndefined();
    const s = toAmqpMessage('héllo');
    expect((s.body as Buffer).toString('utf8')).toBe('héllo');
    const o = toAmqpMessage({ body: { a: 1n } });
    expect((o.body as Buffer).toString()).toBe('{"a":"1"}');
    expect(o.properties!.contentType).toBe('application/json');
    const custom = toAmqpMessage({ body: { a: 1 }, contentType: 'application/x', contentEncoding: 'utf-16' });
    expect(custom.properties).toMatchObject({ contentType: 'application/x', contentEncoding: 'utf-16' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toAmqpMessage({ body: cyclic })).toThrow(IotHubConfigError);
  });

  test('ids keep an AMQP message-id type; expiry, correlation, user id, app properties merged', () => {
    expect(toMessageId(5)).toEqual(new Typed('ulong', 5n));
    expect(toMessageId(-1)).toBe('-1');
    expect(toMessageId(1.5)).toBe('1.5');
    expect(toMessageId(7n)).toEqual(new Typed('ulong', 7n));
    expect(toMessageId('s')).toBe('s');
    const exp = new Date(2_000_000_000_000);
    const m = toAmqpMessage(
      {
        body: 'x',
        correlationId: 'c',
        expiryTime: exp,
        userId: 'u',
        properties: { a: 1, b: true },
        annotations: { k: 'v' },
      },
      { to: '/devices/d/messages/devicebound', applicationProperties: { 'iothub-ack': 'full' } },
    );
    const back = decodeMessage(encodeMessage(m));
    expect(back.properties).toMatchObject({
      correlationId: 'c',
      absoluteExpiryTime: exp,
      to: '/devices/d/messages/devicebound',
    });
    expect(Buffer.from(back.properties!.userId!).toString()).toBe('u');
    expect(back.applicationProperties).toEqual({ a: 1, b: true, 'iothub-ack': 'full' });
    expect(back.messageAnnotations).toEqual({ k: 'v' });
  });
});
