/** Telemetry against the IoT Hub emulator over TLS: DeviceClient.sendEvent, read back through the redirect. */
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ServiceClient,
  eventJson,
  eventText,
  jsonMessage,
} from '../../../src/iothub/client/index.js';
import { BatchSendError, MessageTooLargeError, UnauthorizedError } from '../../../src/iothub/errors.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { INVALID_SIGNATURE } from '../../../src/iothub/emulator/index.js';
import { collect } from './support.js';

afterEach(cleanup);

function clients(hub: IotHubEmulator, deviceId = 'd1') {
  const device = DeviceClient.fromConnectionString(hub.deviceConnectionString(deviceId), {
    tls: { ca: hub.caPem },
  });
  const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
    tls: { ca: hub.caPem },
  });
  onCleanup(() => device.close());
  onCleanup(() => service.close());
  return { device, service };
}

describe('telemetry', () => {
  test('sendEvent resolves once accepted; the service reads it with its properties through the redirect', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const { device, service } = clients(hub);
    await device.open();
    await device.sendEvent(
      jsonMessage(
        { temperature: 21.5 },
        { messageId: 'msg-1', correlationId: 'corr-1', properties: { alert: 'false', level: 3 } },
      ),
    );
    const stream = service.events({ from: 'earliest' });
    const [e] = await collect(stream, (xs) => xs.length >= 1);
    expect(stream.endpoint).toMatchObject({
      hostname: 'localhost',
      port: hub.tlsPort,
      tls: true,
      entityPath: hub.eventHubName,
    });
    expect(stream.partitionIds).toEqual(['0', '1', '2', '3']);
    expect(eventJson(e!)).toEqual({ temperature: 21.5 });
    expect(e!.properties).toEqual({ alert: 'false', level: 3 });
    const s = e!.systemProperties;
    expect(s).toMatchObject({
      deviceId: 'd1',
      messageId: 'msg-1',
      correlationId: 'corr-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      messageSource: 'Telemetry',
    });
    expect(typeof s.sequenceNumber).toBe('bigint');
    expect(s.sequenceNumber).toBe(0n);
    expect(s.offset).toMatch(/^\d+$/);
    expect(s.enqueuedTime).toBeInstanceOf(Date);
    expect(Math.abs(s.enqueuedTime.getTime() - Date.now())).toBeLessThan(60_000);
    expect(s.authMethod).toMatchObject({ scope: 'device', type: 'sas' });
    expect(s.authGenerationId).toMatch(/^\d+$/);
  });

  test('a batch: all accepted, read in order; strings and bytes as bodies', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const { device, service } = clients(hub);
    await device.sendEventBatch(['one', Buffer.from('two'), { body: 'three', properties: { n: 3 } }]);
    const events = await collect(service.events({ from: 'earliest' }), (xs) => xs.length >= 3);
    expect(events.map(eventText)).toEqual(['one', 'two', 'three']);
    expect(events.map((e) => e.systemProperties.sequenceNumber)).toEqual([0n, 1n, 2n]);
    expect(new Set(events.map((e) => e.partitionId)).size).toBe(1);
    expect(events[2]!.properties).toEqual({ n: 3 });
  });

  test('a message over 256 KB: MessageTooLargeError (not retried), and the link still works after', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const { device, service } = clients(hub);
    const err = await device.sendEvent(Buffer.alloc(300 * 1024, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect((err as MessageTooLargeError).retryable).toBe(false);
    // over the link's 1 MB limit: refused before it is even sent
    const huge = await device.sendEvent(Buffer.alloc(1_100_000, 1)).catch((e: unknown) => e);
    expect(huge).toBeInstanceOf(MessageTooLargeError);
    await device.sendEvent('small');
    const events = await collect(service.events({ from: 'earliest' }), (xs) => xs.length >= 1);
    expect(events.map(eventText)).toEqual(['small']);
  });

  test('a batch with one message too large: BatchSendError says which', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const { device } = clients(hub);
    const err = (await device
      .sendEventBatch(['a', Buffer.alloc(300 * 1024), 'c'])
      .catch((e: unknown) => e)) as BatchSendError;
    expect(err).toBeInstanceOf(BatchSendError);
    expect(err.errors[0]).toBeUndefined();
    expect(err.errors[1]).toBeInstanceOf(MessageTooLargeError);
    expect(err.errors[2]).toBeUndefined();
  });

  test('an unregistered device is refused like a wrong key: UnauthorizedError (CBS 401) from open', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const cs = hub.deviceConnectionString('d1').replace('DeviceId=d1', 'DeviceId=ghost');
    const device = DeviceClient.fromConnectionString(cs, { tls: { ca: hub.caPem } });
    onCleanup(() => device.close());
    const err = await device.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    // The emulator does not tell who exists: the same answer as for a wrong key.
    expect((err as UnauthorizedError).statusCode).toBe(401);
    expect((err as UnauthorizedError).description).toBe(INVALID_SIGNATURE);
  });

  test('a wrong key: UnauthorizedError with the hub description', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const cs = hub
      .deviceConnectionString('d1')
      .replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`);
    const device = DeviceClient.fromConnectionString(cs, { tls: { ca: hub.caPem } });
    onCleanup(() => device.close());
    const err = await device.sendEvent('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).description).toMatch(/invalid signature/);
  });

  test('several devices: events from every partition, each tagged with its device', async () => {
    const hub = await hubForTest({ partitions: 4 });
    const ids = Array.from({ length: 12 }, (_, i) => `dev-${i}`);
    const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: hub.caPem },
    });
    onCleanup(() => service.close());
    for (const id of ids) {
      const d = DeviceClient.fromConnectionString(hub.deviceConnectionString(id), { tls: { ca: hub.caPem } });
      onCleanup(() => d.close());
      await d.sendEvent(`from ${id}`);
    }
    const events = await collect(service.events({ from: 'earliest' }), (xs) => xs.length >= ids.length);
    expect(new Set(events.map((e) => e.systemProperties.deviceId))).toEqual(new Set(ids));
    for (const e of events) expect(eventText(e)).toBe(`from ${e.systemProperties.deviceId}`);
    expect(new Set(events.map((e) => e.partitionId)).size).toBeGreaterThan(1);
  });
});
