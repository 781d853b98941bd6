/** C2D and feedback against the IoT Hub emulator: ServiceClient.send, DeviceClient.messages()/onMessage, feedback(). */
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ServiceClient,
  jsonMessage,
  type C2DMessage,
  type FeedbackBatch,
} from '../../../src/iothub/client/index.js';
import { DeviceNotFoundError, QuotaExceededError } from '../../../src/iothub/errors.js';
import { IotHubConfigError } from '../../../src/iothub/errors.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { collect, nextWithin, until } from './support.js';

afterEach(cleanup);

async function setup(options: Parameters<typeof hubForTest>[0] = {}) {
  const hub = await hubForTest({ devices: ['d1'], feedbackBatchDelayMs: 50, ...options });
  const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
    tls: { ca: hub.caPem },
  });
  const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
    tls: { ca: hub.caPem },
  });
  onCleanup(() => device.close());
  onCleanup(() => service.close());
  return { hub, device, service };
}

function records(batches: FeedbackBatch[]) {
  return batches.flatMap((b) => b.records);
}

describe('C2D and feedback', () => {
  test('ack full: the device completes, the service gets Success feedback with the original message id', async () => {
    const { device, service } = await setup();
    const feedback = service.feedback();
    const messages = device.messages();
    await device.open();
    const { messageId } = await service.send('d1', jsonMessage({ on: true }, { properties: { k: 'v' } }), {
      ack: 'full',
    });
    expect(messageId).toMatch(/^[0-9a-f-]{36}$/);
    const [m] = await collect(messages, (xs) => xs.length >= 1);
    expect(m!.json()).toEqual({ on: true });
    expect(m!.messageIdText).toBe(messageId);
    expect(m!.to).toBe('/devices/d1/messages/devicebound');
    expect(m!.ack).toBe('full');
    expect(m!.properties).toEqual({ k: 'v' });
    expect(m!.contentType).toBe('application/json');
    expect(m!.lockToken).toBeTruthy();
    expect(typeof m!.sequenceNumber).toBe('bigint');
    expect(m!.enqueuedTime).toBeInstanceOf(Date);
    expect(m!.deliveryCount).toBe(0);
    expect(m!.received.tag.length).toBe(16);
    await m!.complete();
    expect(m!.settledAs).toBe('completed');
    const [batch] = await collect(feedback, (xs) => xs.length >= 1);
    expect(batch!.records).toHaveLength(1);
    const r = batch!.records[0]!;
    expect(r).toMatchObject({
      originalMessageId: messageId,
      deviceId: 'd1',
      statusCode: 'Success',
      description: 'Success',
    });
    expect(r.enqueuedTimeUtc).toBeInstanceOf(Date);
    expect(batch!.userId).toBe('amqp-one-hub');
    // the batch was accepted after that step (the loop was left): a new reader gets nothing
    await feedback.return?.();
    const again = service.feedback();
    expect(await nextWithin(again, 600)).toBe('nothing');
    await again.return?.();
  });

  test('reject -> Rejected feedback (ack negative); abandon -> delivered again, then complete', async () => {
    const { device, service } = await setup();
    const feedback = service.feedback();
    const messages = device.messages();
    const a = await service.send('d1', 'to reject', { ack: 'negative' });
    const b = await service.send('d1', 'to abandon', { ack: 'positive' });
    const [first, second] = await collect(messages, (xs) => xs.length >= 2);
    expect(first!.text()).toBe('to reject');
    await first!.reject();
    expect(second!.text()).toBe('to abandon');
    await second!.abandon();
    const [again] = await collect(messages, (xs) => xs.length >= 1);
    expect(again!.messageIdText).toBe(b.messageId);
    expect(again!.deliveryCount).toBe(1);
    await again!.complete();
    const batches = await collect(feedback, (xs) => records(xs).length >= 2);
    const byId = new Map(records(batches).map((r) => [r.originalMessageId, r.statusCode]));
    expect(byId.get(a.messageId)).toBe('Rejected');
    expect(byId.get(b.messageId)).toBe('Success');
  });

  test('the handler form: autoComplete, a throwing handler abandons', async () => {
    const { device, service } = await setup();
    const seen: string[] = [];
    let failOnce = true;
    const stop = device.onMessage(async (m: C2DMessage) => {
      seen.push(`${m.text()}#${m.deliveryCount}`);
      if (failOnce) {
        failOnce = false;
        throw new Error('not now');
      }
    });
    const errors: unknown[] = [];
    device.on('error', (e) => errors.push(e));
    const feedback = service.feedback();
    const sent = await service.send('d1', 'hello', { ack: 'full' });
    const [batch] = await collect(feedback, (xs) => xs.length >= 1);
    expect(batch!.records[0]).toMatchObject({ originalMessageId: sent.messageId, statusCode: 'Success' });
    expect(seen).toEqual(['hello#0', 'hello#1']);
    expect((errors[0] as Error).message).toBe('not now');
    stop();
  });

  test('a completion given later (after other work) reaches the hub at once, with no other traffic', async () => {
    const { hub, device, service } = await setup();
    const messages = device.messages();
    await service.send('d1', 'slow work');
    const [m] = await collect(messages, (xs) => xs.length >= 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(hub.state.c2d.depth('d1')).toBe(1);
    await m!.complete();
    await until(() => hub.state.c2d.depth('d1') === 0, 2000, 'the completion at the hub');
  });

  test('a batch abandoned in its step comes again', async () => {
    const { device, service } = await setup();
    const messages = device.messages();
    const sent = await service.send('d1', 'x', { ack: 'positive' });
    const [m] = await collect(messages, (xs) => xs.length >= 1);
    await m!.complete();
    const first = service.feedback();
    for await (const b of first) {
      expect(b.records[0]!.originalMessageId).toBe(sent.messageId);
      b.abandon();
      break;
    }
    const second = service.feedback();
    const [b] = await collect(second, (xs) => xs.length >= 1);
    expect(b!.records[0]!.originalMessageId).toBe(sent.messageId);
    await second.return?.();
    expect(await nextWithin(service.feedback(), 600)).toBe('nothing');
  });

  test('user message ids keep their text form in feedback; expiry gives Expired feedback', async () => {
    const { service } = await setup();
    const feedback = service.feedback();
    await service.send('d1', { body: 'late', messageId: 'my-id-42' }, { ack: 'full', expiryMs: 100 });
    const [batch] = await collect(feedback, (xs) => xs.length >= 1, 15_000);
    expect(batch!.records[0]).toMatchObject({
      originalMessageId: 'my-id-42',
      statusCode: 'Expired',
      deviceId: 'd1',
    });
  });

  test('errors: unknown device, full queue, bad options', async () => {
    const { service } = await setup({ c2d: { maxQueuedPerDevice: 3 } });
    const err = await service.send('nobody', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceNotFoundError);
    for (let i = 0; i < 3; i++) await service.send('d1', `m${i}`);
    const full = await service.send('d1', 'one too many').catch((e: unknown) => e);
    expect(full).toBeInstanceOf(QuotaExceededError);
    expect((full as QuotaExceededError).retryable).toBe(false);
    await expect(service.send('d1', 'x', { ack: 'sometimes' as never })).rejects.toBeInstanceOf(
      IotHubConfigError,
    );
    await expect(service.send('', 'x')).rejects.toBeInstanceOf(IotHubConfigError);
  });

  test('a message settled twice, or after its connection is gone: MessageLockLostError', async () => {
    const { device, service } = await setup();
    const messages = device.messages();
    await service.send('d1', 'once');
    const [m] = await collect(messages, (xs) => xs.length >= 1);
    await m!.complete();
    await m!.complete(); // same outcome again: a no-op
    await expect(m!.abandon()).rejects.toMatchObject({ code: 'IOTHUB_MESSAGE_LOCK_LOST' });
    await service.send('d1', 'twice');
    const [n] = await collect(messages, (xs) => xs.length >= 1);
    device.hub.restart();
    await expect(n!.complete()).rejects.toMatchObject({ code: 'IOTHUB_MESSAGE_LOCK_LOST' });
    // it comes again on the new connection
    const [again] = await collect(messages, (xs) => xs.length >= 1);
    expect(again!.text()).toBe('twice');
    await again!.complete();
  });
});

export type { IotHubEmulator };
