/**
 * Cross-checks between our IoT Hub clients (src/iothub/client) and the official Azure SDKs, both
 * against the local IoT Hub emulator over TLS (a hub per test, feedback batched after 100 ms). Each
 * SDK side runs in a child node process (NODE_EXTRA_CA_CERTS, see ../emulator/sdk-support.ts)
 * killed after CHILD_TIMEOUT_MS; every wait on our side has its own limit and fails early, with the
 * child's output, when the child fails.
 * 1. azure-iot-device (AMQP) telemetry -> our ServiceClient.events() through the redirect (a live
 *    reader and one from 'earliest'): body, application properties, content type/encoding, ids.
 * 1b. our DeviceClient telemetry -> @azure/event-hubs (Event Hubs-compatible connection string).
 * 2. azure-iothub C2D (ack 'full') -> our DeviceClient completes / rejects / abandons ->
 *    azure-iothub's getFeedbackReceiver sees Success / Rejected with the original message ids.
 * 3. our ServiceClient C2D -> azure-iot-device rejects / completes -> our feedback() shows
 *    Rejected / Success with the original message ids (string, ulong and uuid ids).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ServiceClient,
  eventJson,
  jsonMessage,
  type C2DMessage,
  type FeedbackRecord,
  type IotHubEvent,
} from '../../../src/iothub/client/index.js';
import { Typed, uuid } from '../../../src/codec/values.js';
import { runSdkScenario } from '../emulator/sdk-support.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from '../client/hub-fixture.js';
import { collect, nextWithin } from '../client/support.js';

afterEach(cleanup);

/** Every SDK child is killed after this long (the test timeout is 60 s). */
const CHILD_TIMEOUT_MS = 30_000;
/** Every wait on our side fails after this long. */
const WAIT_MS = 20_000;

async function setup(devices: string[]): Promise<IotHubEmulator> {
  return hubForTest({ devices, feedbackBatchDelayMs: 100 });
}

/** `wait`, unless the SDK child fails first: then its failure (with the child's output). */
function orChildFailure<T>(wait: Promise<T>, child: Promise<unknown>): Promise<T> {
  return Promise.race([wait, child.then(() => wait)]);
}

function ourService(hub: IotHubEmulator): ServiceClient {
  const s = ServiceClient.fromConnectionString(hub.serviceConnectionString(), { tls: { ca: hub.caPem } });
  onCleanup(() => s.close());
  return s;
}

function ourDevice(hub: IotHubEmulator, deviceId: string): DeviceClient {
  const d = DeviceClient.fromConnectionString(hub.deviceConnectionString(deviceId), {
    tls: { ca: hub.caPem },
  });
  onCleanup(() => d.close());
  return d;
}

// ---------------------------------------------------------------------------------------------
// 1. azure-iot-device telemetry -> our ServiceClient.events()

const SDK_DEVICE_TELEMETRY = `
const { Client, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const fs = require('node:fs');

const device = Client.fromConnectionString(input.deviceCs, Amqp);
await device.setOptions({ ca: fs.readFileSync(input.caFile, 'utf8') });
await device.open();

// A JSON body, string ids, content type and encoding, several application properties.
const a = new Message(JSON.stringify({ temperature: 21.5, unit: 'C' }));
a.messageId = 'tel-1';
a.correlationId = 'corr-1';
a.contentType = 'application/json';
a.contentEncoding = 'utf-8';
a.properties.add('level', 'high');
a.properties.add('city', 'Z\\u00fcrich \\u2713');
a.properties.add('with space', 'x y');
await device.sendEvent(a);

// uuid-shaped ids (the SDK sends them as AMQP uuids) and a binary body.
const b = new Message(Buffer.from([0, 1, 2, 254, 255]));
b.messageId = input.uuidId;
b.correlationId = input.uuidCorr;
b.contentType = 'application/octet-stream';
b.properties.add('kind', 'binary');
await device.sendEvent(b);

await device.close();
done({ sent: 2 });
`;

describe('azure-iot-device telemetry read by our ServiceClient', () => {
  test('events() through the redirect: body, application properties, content type/encoding, ids', async () => {
    const hub = await setup(['sdk-tel']);
    const uuidId = randomUUID();
    const uuidCorr = randomUUID();
    const service = ourService(hub);
    // a reader at 'latest', attached to every partition before the SDK sends
    const live = service.events();
    onCleanup(() => live.close());
    await live.start();
    await runSdkScenario<{ sent: number }>(
      SDK_DEVICE_TELEMETRY,
      { deviceCs: hub.deviceConnectionString('sdk-tel'), caFile: hub.caFile, uuidId, uuidCorr },
      { caFile: hub.caFile!, timeoutMs: CHILD_TIMEOUT_MS },
    );

    const liveEvents = await collect(live, (xs) => xs.length >= 2, WAIT_MS);
    // and a reader from the start, after the fact
    const stream = service.events({ from: 'earliest' });
    onCleanup(() => stream.close());
    const events: IotHubEvent[] = await collect(stream, (xs) => xs.length >= 2, WAIT_MS);
    expect(events).toHaveLength(2);
    expect(liveEvents.map((e) => e.systemProperties.sequenceNumber)).toEqual([0n, 1n]);
    expect(liveEvents.map((e) => e.body)).toEqual(events.map((e) => e.body));
    const [a, b] = events as [IotHubEvent, IotHubEvent];
    expect(stream.endpoint?.port).toBe(hub.tlsPort);
    expect(a.partitionId).toBe(String(hub.state.telemetry.partitionOf('sdk-tel')));
    expect(b.partitionId).toBe(a.partitionId);

    // the first: JSON, string ids
    expect(eventJson(a)).toEqual({ temperature: 21.5, unit: 'C' });
    expect(a.properties).toEqual({ level: 'high', city: 'Zürich ✓', 'with space': 'x y' });
    expect(a.systemProperties).toMatchObject({
      messageId: 'tel-1',
      correlationId: 'corr-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deviceId: 'sdk-tel',
      messageSource: 'Telemetry',
    });
    expect(a.systemProperties.sequenceNumber).toBe(0n);
    expect(a.systemProperties.iothubEnqueuedTime).toBeInstanceOf(Date);
    expect(a.systemProperties.authMethod).toMatchObject({ scope: 'device' });

    // the second: binary body, uuid ids (typed uuid on the wire)
    expect(b.body).toEqual(Buffer.from([0, 1, 2, 254, 255]));
    expect(b.properties).toEqual({ kind: 'binary' });
    expect(b.systemProperties.contentType).toBe('application/octet-stream');
    expect(b.systemProperties.contentEncoding).toBeUndefined();
    expect(b.systemProperties.sequenceNumber).toBe(1n);
    const mid = b.systemProperties.messageId;
    expect(mid).toBeInstanceOf(Typed);
    expect(mid).toMatchObject({ type: 'uuid', value: uuidId });
    expect(b.systemProperties.correlationId).toMatchObject({ type: 'uuid', value: uuidCorr });
  });
});

// ---------------------------------------------------------------------------------------------
// 1b. the other way: our DeviceClient telemetry read by @azure/event-hubs

const SDK_EVENT_HUBS_READ = `
const { EventHubConsumerClient } = require('@azure/event-hubs');
const consumer = new EventHubConsumerClient('$Default', input.ehCs);
const events = [];
// the raw message keeps a timestamp as a Date (EventData.properties turns dates into numbers)
const raw = (props) => props.when instanceof Date ? { date: props.when.toISOString() } : props.when;
const all = new Promise((resolve, reject) => {
  const sub = consumer.subscribe(input.partition, {
    processEvents: async (batch) => {
      for (const e of batch) {
        const p = e.properties || {};
        events.push({
          body: Buffer.isBuffer(e.body) ? { buffer: e.body.toString('hex') } : e.body,
          messageId: e.messageId,
          correlationId: e.correlationId,
          contentType: e.contentType,
          contentEncoding: e.getRawAmqpMessage().properties.contentEncoding,
          rawWhen: raw(e.getRawAmqpMessage().applicationProperties || {}),
          properties: p,
          deviceId: e.systemProperties['iothub-connection-device-id'],
          seq: e.sequenceNumber,
        });
      }
      if (events.length >= input.expected) resolve(sub);
    },
    processError: async (err) => { if (!String(err && err.message).includes('closed')) reject(err); },
  }, { startPosition: { sequenceNumber: 0, isInclusive: true }, maxWaitTimeInSeconds: 1 });
});
const sub = await all;
await sub.close();
await consumer.close();
done({ events });
`;

describe('our DeviceClient telemetry read by @azure/event-hubs', () => {
  test('body, ids, content type/encoding and typed application properties', async () => {
    const hub = await setup(['our-tel']);
    const device = ourDevice(hub, 'our-tel');
    const when = new Date('2024-05-06T07:08:09.123Z');
    await device.sendEvent(
      jsonMessage(
        { temperature: 19.25 },
        {
          messageId: 'our-tel-1',
          correlationId: 'our-corr-1',
          properties: { level: 'low', n: 42, ok: true, when, city: 'Zürich ✓' },
        },
      ),
    );
    await device.sendEvent({
      body: Buffer.from([9, 8, 7, 0, 255]),
      messageId: 7,
      contentType: 'application/octet-stream',
    });
    // pipelined on the link, in order
    await device.sendEventBatch([
      { body: 'batch-0', properties: { i: 0 } },
      { body: 'batch-1', properties: { i: 1 } },
    ]);
    const { result } = await runSdkScenario<{
      events: {
        body: unknown;
        messageId: unknown;
        correlationId: unknown;
        contentType?: string;
        contentEncoding?: string;
        rawWhen?: unknown;
        properties: Record<string, unknown>;
        deviceId: string;
        seq: number;
      }[];
    }>(
      SDK_EVENT_HUBS_READ,
      {
        ehCs: hub.eventHubsConnectionString(),
        partition: String(hub.state.telemetry.partitionOf('our-tel')),
        expected: 4,
      },
      { caFile: hub.caFile!, timeoutMs: CHILD_TIMEOUT_MS },
    );
    expect(result.events).toHaveLength(4);
    const [a, b, c, d] = result.events;
    expect(a).toMatchObject({
      body: { temperature: 19.25 },
      messageId: 'our-tel-1',
      correlationId: 'our-corr-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deviceId: 'our-tel',
      seq: 0,
    });
    expect(a!.properties).toEqual({
      level: 'low',
      n: 42,
      ok: true,
      when: when.getTime(), // @azure/event-hubs turns Date properties into epoch ms on purpose
      city: 'Zürich ✓',
    });
    expect(a!.rawWhen).toEqual({ date: when.toISOString() }); // an AMQP timestamp on the wire
    // a non-negative integer id goes as a ulong
    expect(b).toMatchObject({
      body: { buffer: '090807' + '00ff' },
      messageId: 7,
      contentType: 'application/octet-stream',
      deviceId: 'our-tel',
      seq: 1,
    });
    // a text body that is not JSON: the SDK gives the bytes
    expect(c).toMatchObject({
      body: { buffer: Buffer.from('batch-0').toString('hex') },
      properties: { i: 0 },
    });
    expect(d).toMatchObject({
      body: { buffer: Buffer.from('batch-1').toString('hex') },
      properties: { i: 1 },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// 2. azure-iothub C2D -> our DeviceClient completes -> azure-iothub feedback receiver

const SDK_SERVICE_C2D_WITH_FEEDBACK = `
const { Client } = require('azure-iothub');
const { Message } = require('azure-iot-common');

const service = Client.fromConnectionString(input.serviceCs);
await service.open();
const records = [];
const feedbackDone = new Promise((resolve, reject) => {
  service.getFeedbackReceiver((err, receiver) => {
    if (err) return reject(err);
    receiver.on('errorReceived', reject);
    receiver.on('message', (msg) => {
      const body = Buffer.isBuffer(msg.data) ? msg.data.toString() : typeof msg.data === 'string' ? msg.data : JSON.stringify(msg.data);
      records.push(...JSON.parse(body));
      receiver.complete(msg, () => {});
      if (input.ids.every((id) => records.some((r) => r.originalMessageId === id))) resolve();
    });
  });
});
for (const [i, id] of input.ids.entries()) {
  const m = new Message(JSON.stringify({ command: 'on', n: i }));
  m.messageId = id;
  m.correlationId = 'corr-' + i;
  m.ack = 'full';
  m.contentType = 'application/json';
  m.contentEncoding = 'utf-8';
  // A number: a Date here makes the SDK's rhea 1.0.24 fail while encoding (value.copy is not a function).
  m.expiryTimeUtc = Date.now() + 10 * 60 * 1000;
  m.properties.add('kind', 'command');
  await service.send(input.deviceId, m);
}
await feedbackDone;
await service.close();
done({ records });
`;

describe('azure-iothub C2D to our DeviceClient', () => {
  test('our device completes, rejects, abandons; getFeedbackReceiver sees the outcomes with the original ids', async () => {
    const hub = await setup(['our-dev']);
    const device = ourDevice(hub, 'our-dev');
    const messages = device.messages();
    onCleanup(() => messages.close());
    await device.open();
    // a plain string id and a uuid-shaped one (the SDK sends it as an AMQP uuid): completed;
    // one rejected; one abandoned, then completed when it comes again
    const [plainId, uuidId, rejectId, abandonId] = [
      'c2d-from-sdk-1',
      randomUUID(),
      'c2d-reject',
      'c2d-abandon',
    ];
    const ids = [plainId, uuidId, rejectId, abandonId];
    const child = runSdkScenario<{ records: FeedbackRecordJson[] }>(
      SDK_SERVICE_C2D_WITH_FEEDBACK,
      { serviceCs: hub.serviceConnectionString('iothubowner'), deviceId: 'our-dev', ids },
      { caFile: hub.caFile!, timeoutMs: CHILD_TIMEOUT_MS },
    );
    const got: C2DMessage[] = await orChildFailure(
      collect(messages, (xs) => xs.length >= 4, WAIT_MS),
      child,
    );
    expect(got.map((m) => m.messageIdText)).toEqual(ids);
    const before = Date.now();
    for (const [i, m] of got.entries()) {
      expect(m.json()).toEqual({ command: 'on', n: i });
      expect(m.ack).toBe('full');
      expect(m.properties).toEqual({ kind: 'command' });
      expect(m.contentType).toBe('application/json');
      expect(m.contentEncoding).toBe('utf-8');
      expect(m.to).toBe('/devices/our-dev/messages/devicebound');
      expect(m.correlationId).toBe(`corr-${i}`);
      expect(m.deliveryCount).toBe(0);
      expect(m.lockToken).toBeTruthy();
      expect(m.expiryTime).toBeInstanceOf(Date);
      expect(m.expiryTime!.getTime()).toBeGreaterThan(before + 5 * 60 * 1000);
    }
    expect(got[1]!.messageId).toMatchObject({ type: 'uuid', value: uuidId });
    await got[0]!.complete();
    await got[1]!.complete();
    await got[2]!.reject();
    await got[3]!.abandon();
    const [again] = await orChildFailure(
      collect(messages, (xs) => xs.length >= 1, WAIT_MS),
      child,
    );
    expect(again!.messageIdText).toBe(abandonId);
    expect(again!.deliveryCount).toBe(1);
    await again!.complete();

    const { result } = await child;
    const byId = new Map(result.records.map((r) => [r.originalMessageId, r]));
    expect(result.records).toHaveLength(4);
    for (const id of [plainId, uuidId, abandonId])
      expect(byId.get(id)).toMatchObject({ statusCode: 'Success', deviceId: 'our-dev' });
    expect(byId.get(rejectId)).toMatchObject({ statusCode: 'Rejected', deviceId: 'our-dev' });
    for (const r of result.records) expect(Date.parse(r.enqueuedTimeUtc)).not.toBeNaN();
    expect(hub.state.c2d.depth('our-dev')).toBe(0);
    // the SDK completed the feedback messages: nothing is left for another reader
    const service = ourService(hub);
    const feedback = service.feedback();
    onCleanup(() => feedback.close());
    expect(await nextWithin(feedback, 600)).toBe('nothing');
  });
});

interface FeedbackRecordJson {
  originalMessageId: string;
  statusCode: string;
  deviceId: string;
  description: string;
  enqueuedTimeUtc: string;
}

// ---------------------------------------------------------------------------------------------
// 3. our ServiceClient C2D -> azure-iot-device rejects / completes -> our feedback()

const SDK_DEVICE_C2D = `
const { Client } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const fs = require('node:fs');

const device = Client.fromConnectionString(input.deviceCs, Amqp);
await device.setOptions({ ca: fs.readFileSync(input.caFile, 'utf8') });
await device.open();
const seen = [];
await new Promise((resolve, reject) => {
  device.on('error', reject);
  device.on('message', async (m) => {
    try {
      seen.push({
        id: m.messageId,
        data: m.data.toString(),
        ack: m.ack,
        contentType: m.contentType,
        contentEncoding: m.contentEncoding,
        correlationId: m.correlationId,
        props: m.properties.propertyList,
      });
      if (input.reject.includes(m.messageId)) await device.reject(m);
      else await device.complete(m);
      if (seen.length === input.expected) resolve();
    } catch (e) {
      reject(e);
    }
  });
});
// Closing gets the dispositions written before the process exits.
await device.close();
done({ seen });
`;

describe('our ServiceClient C2D to azure-iot-device', () => {
  test('the SDK device rejects one and completes three (string, ulong, uuid ids); our feedback() shows them', async () => {
    const hub = await setup(['sdk-c2d']);
    const service = ourService(hub);
    const feedback = service.feedback();
    onCleanup(() => feedback.close());
    const rejected = await service.send(
      'sdk-c2d',
      { body: 'please reject', properties: { kind: 'bad' }, correlationId: 'corr-r' },
      { ack: 'negative' },
    );
    const child = runSdkScenario<{ seen: SeenBySdk[] }>(
      SDK_DEVICE_C2D,
      {
        deviceCs: hub.deviceConnectionString('sdk-c2d'),
        caFile: hub.caFile,
        reject: [rejected.messageId],
        expected: 4,
      },
      { caFile: hub.caFile!, timeoutMs: CHILD_TIMEOUT_MS },
    );
    const records: FeedbackRecord[] = [];
    const feedbackFor = async (id: string): Promise<FeedbackRecord | undefined> => {
      const find = () => records.find((r) => r.originalMessageId === id);
      if (!find()) {
        const batches = await orChildFailure(
          collect(
            feedback,
            (xs) => xs.some((x) => x.records.some((r) => r.originalMessageId === id)),
            WAIT_MS,
          ),
          child,
        );
        records.push(...batches.flatMap((x) => x.records));
      }
      return find();
    };
    // The second message is sent once the first is settled: rhea 1.0.24 (in the SDK) writes two
    // dispositions made in the same turn as one range with the first one's outcome.
    expect(await feedbackFor(rejected.messageId)).toMatchObject({
      statusCode: 'Rejected',
      deviceId: 'sdk-c2d',
    });
    const completed = await service.send(
      'sdk-c2d',
      { body: { please: 'complete' }, messageId: 'our-c2d-2', properties: { kind: 'good', n: 7 } },
      { ack: 'full' },
    );
    expect(completed.messageId).toBe('our-c2d-2');
    expect(await feedbackFor('our-c2d-2')).toMatchObject({ statusCode: 'Success', deviceId: 'sdk-c2d' });
    // a number id goes as a ulong, a Typed uuid as a uuid: the feedback has their text forms
    const numeric = await service.send('sdk-c2d', { body: 'n', messageId: 12345 }, { ack: 'positive' });
    expect(numeric.messageId).toBe('12345');
    expect(await feedbackFor('12345')).toMatchObject({ statusCode: 'Success' });
    const u = randomUUID();
    const typedUuid = await service.send('sdk-c2d', { body: 'u', messageId: uuid(u) }, { ack: 'full' });
    expect(typedUuid.messageId).toBe(u);
    expect(await feedbackFor(u)).toMatchObject({ statusCode: 'Success' });

    const { result } = await child;
    expect(result.seen).toHaveLength(4);
    const [r, c, n, t] = result.seen as [SeenBySdk, SeenBySdk, SeenBySdk, SeenBySdk];
    expect(n).toMatchObject({ id: 12345, data: 'n', ack: 'positive' });
    expect(t).toMatchObject({ id: u, data: 'u', ack: 'full' });
    expect(r).toMatchObject({ id: rejected.messageId, data: 'please reject', ack: 'negative' });
    expect(r.correlationId).toBe('corr-r');
    expect(r.props).toEqual([{ key: 'kind', value: 'bad' }]);
    expect(c).toMatchObject({
      id: 'our-c2d-2',
      ack: 'full',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
    });
    expect(JSON.parse(c.data)).toEqual({ please: 'complete' });
    expect(c.props).toEqual(
      expect.arrayContaining([
        { key: 'kind', value: 'good' },
        { key: 'n', value: 7 },
      ]),
    );
    expect(hub.state.c2d.depth('sdk-c2d')).toBe(0);
  });
});

interface SeenBySdk {
  id: string | number;
  data: string;
  ack?: string;
  contentType?: string;
  contentEncoding?: string;
  correlationId?: string;
  props: { key: string; value: unknown }[];
}
