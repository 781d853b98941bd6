/**
 * A full partition, end to end: the emulator refuses telemetry past its limits with
 * com.microsoft:quota-exceeded, the DeviceClient surfaces it as QuotaExceededError, and every event
 * it accepted is read back through the Event Hubs endpoint. Once retention passes, sends are
 * accepted again.
 */
import { afterEach, expect, test } from 'vitest';
import { DeviceClient, ServiceClient, jsonMessage } from '../../../src/iothub/client/index.js';
import { QuotaExceededError } from '../../../src/iothub/errors.js';
import { cleanup, hubForTest, onCleanup } from './hub-fixture.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { collect } from './support.js';

afterEach(cleanup);

const RETENTION_MS = 60_000;

test('sends past the partition limit are refused with a typed error; accepted ones are all read back', async () => {
  const clock = new ManualTimers();
  const hub = await hubForTest({
    devices: ['d1'],
    clock,
    retentionMs: RETENTION_MS,
    maxEventsPerPartition: 5,
  });
  const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
    tls: { ca: hub.caPem },
  });
  const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
    tls: { ca: hub.caPem },
  });
  onCleanup(() => device.close());
  onCleanup(() => service.close());
  await device.open();

  const accepted: string[] = [];
  const refused: QuotaExceededError[] = [];
  const sent = Array.from({ length: 12 }, (_, i) => `m${i}`);
  for (const id of sent) {
    try {
      await device.sendEvent(jsonMessage({ id }, { messageId: id }));
      accepted.push(id);
    } catch (e) {
      if (!(e instanceof QuotaExceededError)) throw e;
      refused.push(e);
    }
  }
  expect(accepted.length + refused.length).toBe(sent.length);
  expect(accepted).toEqual(sent.slice(0, 5));
  for (const e of refused) {
    expect(e).toMatchObject({ code: 'IOTHUB_QUOTA_EXCEEDED', condition: 'com.microsoft:quota-exceeded' });
  }

  const stream = service.events({ from: 'earliest' });
  const read = await collect(stream, (xs) => xs.length >= accepted.length);
  expect(read.map((e) => e.systemProperties.messageId)).toEqual(accepted);

  // Retention ends for the first five: the partition has room again.
  clock.advance(RETENTION_MS);
  await device.sendEvent(jsonMessage({}, { messageId: 'after' }));
  const [late] = await collect(stream, (xs) => xs.length >= 1);
  expect(late!.systemProperties.messageId).toBe('after');
});
