import { describe, expect, test } from 'vitest';
import { ByteWriter } from '../../../src/codec/byte-writer.js';
import { encodeComposite, decodeComposite } from '../../../src/codec/composite.js';
import { decodeMessage, encodeMessage } from '../../../src/codec/message.js';
import { Described, Typed, AmqpSymbol } from '../../../src/codec/values.js';
import { RedirectError } from '../../../src/protocol/errors.js';
import {
  endpointFromRedirect,
  eventFromMessage,
  eventJson,
  eventText,
  partitionAddress,
  selectorFilterExpression,
  selectorFilterSet,
} from '../../../src/iothub/client/events.js';
import { InsecureRedirectError, IotHubConfigError } from '../../../src/iothub/errors.js';

describe('selector filters (contract section 8)', () => {
  test('expressions', () => {
    expect(selectorFilterExpression('earliest')).toBe("amqp.annotation.x-opt-offset > '-1'");
    expect(selectorFilterExpression('latest')).toBe("amqp.annotation.x-opt-offset > '@latest'");
    expect(selectorFilterExpression({ sequenceNumber: 41n })).toBe(
      'amqp.annotation.x-opt-sequence-number > 41',
    );
    expect(selectorFilterExpression({ sequenceNumber: 7, inclusive: true })).toBe(
      'amqp.annotation.x-opt-sequence-number >= 7',
    );
    expect(selectorFilterExpression({ offset: '1024' })).toBe("amqp.annotation.x-opt-offset > '1024'");
    expect(selectorFilterExpression({ offset: '0', inclusive: true })).toBe(
      "amqp.annotation.x-opt-offset >= '0'",
    );
    expect(selectorFilterExpression({ enqueuedTime: new Date(1_700_000_000_123) })).toBe(
      "amqp.annotation.x-opt-enqueued-time > '1700000000123'",
    );
    expect(selectorFilterExpression({ enqueuedTime: 5, inclusive: true })).toBe(
      "amqp.annotation.x-opt-enqueued-time >= '5'",
    );
    expect(() => selectorFilterExpression({ offset: "1' or 1=1" })).toThrow(IotHubConfigError);
    expect(() => selectorFilterExpression({ enqueuedTime: NaN })).toThrow(IotHubConfigError);
    expect(() => selectorFilterExpression({} as never)).toThrow(IotHubConfigError);
  });

  test('the filter set on the wire: symbol key, value described by ulong 0x0000468C00000004', () => {
    const source = {
      type: 'source' as const,
      address: 'h/ConsumerGroups/$Default/Partitions/0',
      filter: selectorFilterSet({ sequenceNumber: 3 }),
    };
    const w = new ByteWriter(256);
    encodeComposite(w, source);
    const bytes = w.copy();
    // the descriptor is written as a full ulong: 0x80 then the 8 bytes
    expect(bytes.includes(Buffer.from([0x80, 0x00, 0x00, 0x46, 0x8c, 0x00, 0x00, 0x00, 0x04]))).toBe(true);
    // the key is a symbol (0xa3), not a string
    const key = Buffer.from('apache.org:selector-filter:string');
    const at = bytes.indexOf(key);
    expect(bytes[at - 2]).toBe(0xa3);
    const back = decodeComposite(bytes).value as unknown as { filter: Record<string, unknown> };
    const v = back.filter['apache.org:selector-filter:string'] as Described;
    expect(v).toBeInstanceOf(Described);
    expect(v.descriptor).toBeInstanceOf(Typed);
    expect((v.descriptor as Typed<bigint>).value).toBe(0x0000468c00000004n);
    expect(v.value).toBe('amqp.annotation.x-opt-sequence-number > 3');
  });

  test('partition addresses', () => {
    expect(partitionAddress('myhub', '$Default', '2')).toBe('myhub/ConsumerGroups/$Default/Partitions/2');
  });
});

describe('the redirect (contract section 7)', () => {
  const redirect = (info: Record<string, unknown> | Map<unknown, unknown>) =>
    new RedirectError('link', { condition: 'amqp:link:redirect', info: info as never });

  test('the real hub form', () => {
    const e = endpointFromRedirect(
      redirect({
        hostname: 'iothub-ns-myhub-123-abc.servicebus.windows.net',
        'network-host': 'iothub-ns-myhub-123-abc.servicebus.windows.net',
        port: 5671,
        address:
          'amqps://iothub-ns-myhub-123-abc.servicebus.windows.net:5671/myhub/ConsumerGroups/$Default/Partitions/0',
      }),
      true,
    );
    expect(e).toEqual({
      host: 'iothub-ns-myhub-123-abc.servicebus.windows.net',
      hostname: 'iothub-ns-myhub-123-abc.servicebus.windows.net',
      port: 5671,
      tls: true,
      entityPath: 'myhub',
      address:
        'amqps://iothub-ns-myhub-123-abc.servicebus.windows.net:5671/myhub/ConsumerGroups/$Default/Partitions/0',
    });
  });

  test('a local emulator: localhost, the port from the error, network-host preferred for the socket', () => {
    const e = endpointFromRedirect(
      redirect(
        new Map<unknown, unknown>([
          [new AmqpSymbol('hostname'), 'localhost'],
          ['network-host', '127.0.0.1'],
          ['port', 40123],
          ['address', 'amqp://localhost:40123/amqp-one-hub/ConsumerGroups/cg1/Partitions/3'],
        ]),
      ),
      false,
    );
    expect(e).toMatchObject({
      host: '127.0.0.1',
      hostname: 'localhost',
      port: 40123,
      tls: false,
      entityPath: 'amqp-one-hub',
    });
    const noScheme = endpointFromRedirect(
      redirect({ hostname: 'h', port: 1, address: 'hub%20x/ConsumerGroups/a/Partitions/0' }),
      true,
    );
    expect(noScheme).toMatchObject({ host: 'h', tls: true, entityPath: 'hub x', port: 1 });
    const noPort = endpointFromRedirect(
      redirect({ address: 'amqps://ns.example:5999/eh/$management' }),
      false,
    );
    expect(noPort).toMatchObject({ host: 'ns.example', port: 5999, tls: true, entityPath: 'eh' });
    expect(() => endpointFromRedirect(redirect({ port: 5671 }), true)).toThrow(IotHubConfigError);
    // From a TLS connection, a plain endpoint is refused: the token would follow in clear text.
    expect(() =>
      endpointFromRedirect(redirect({ hostname: 'h', address: 'amqp://h:5672/eh' }), true),
    ).toThrow(InsecureRedirectError);
    expect(() => endpointFromRedirect(redirect({ hostname: 'h', address: 'amqps://h/' }), true)).toThrow(
      IotHubConfigError,
    );
  });
});

describe('events: typed system properties (contract section 5)', () => {
  test('an event as the hub stamps it, through the codec', () => {
    const enq = new Date(1_700_000_000_000);
    const bytes = encodeMessage({
      messageAnnotations: {
        'iothub-connection-device-id': 'd1',
        'iothub-connection-module-id': 'm1',
        'iothub-connection-auth-generation-id': '638000000000000000',
        'iothub-connection-auth-method':
          '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
        'iothub-enqueuedtime': enq,
        'iothub-message-source': 'Telemetry',
        'x-opt-sequence-number': 9007199254740993n,
        'x-opt-offset': '4096',
        'x-opt-enqueued-time': enq,
        'x-opt-partition-key': 'pk',
      },
      properties: {
        messageId: 'm-1',
        correlationId: 'c-1',
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        userId: Buffer.from('me'),
        to: '/devices/d1/messages/events',
      },
      applicationProperties: { alert: 'yes', level: 3 },
      body: Buffer.from('{"t":21}'),
    });
    const e = eventFromMessage(decodeMessage(bytes), '2');
    expect(e.partitionId).toBe('2');
    const s = e.systemProperties;
    expect(s.sequenceNumber).toBe(9007199254740993n);
    expect(typeof s.sequenceNumber).toBe('bigint');
    expect(s.offset).toBe('4096');
    expect(s.enqueuedTime).toEqual(enq);
    expect(s.deviceId).toBe('d1');
    expect(s.moduleId).toBe('m1');
    expect(s.authGenerationId).toBe('638000000000000000');
    expect(s.authMethod).toEqual({
      scope: 'device',
      type: 'sas',
      issuer: 'iothub',
      acceptingIpFilterRule: null,
    });
    expect(s.iothubEnqueuedTime).toEqual(enq);
    expect(s.messageSource).toBe('Telemetry');
    expect(s.partitionKey).toBe('pk');
    expect(s).toMatchObject({
      messageId: 'm-1',
      correlationId: 'c-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      userId: 'me',
      to: '/devices/d1/messages/events',
    });
    expect(s.annotations['x-opt-offset']).toBe('4096');
    expect(e.properties).toEqual({ alert: 'yes', level: 3 });
    expect(eventText(e)).toBe('{"t":21}');
    expect(eventJson(e)).toEqual({ t: 21 });
  });

  test('numbers in other encodings; a missing position gives the documented defaults', () => {
    const e = eventFromMessage(
      {
        messageAnnotations: {
          'x-opt-sequence-number': 5,
          'x-opt-offset': 10 as never,
          'x-opt-enqueued-time': 1000 as never,
        },
      },
      '0',
    );
    expect(e.systemProperties.sequenceNumber).toBe(5n);
    expect(e.systemProperties.offset).toBe('10');
    expect(e.systemProperties.enqueuedTime).toEqual(new Date(1000));
    const none = eventFromMessage({ body: 'text', bodyType: 'value' }, '1');
    expect(none.systemProperties.sequenceNumber).toBe(-1n);
    expect(none.systemProperties.offset).toBe('');
    expect(none.body?.toString()).toBe('text');
  });
});
