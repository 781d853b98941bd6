/**
 * The official Azure SDKs against the emulator over TLS (issue 4), each scenario in a child node
 * process with NODE_EXTRA_CA_CERTS = the emulator's CA (see sdk-support.ts):
 * - azure-iot-device + azure-iot-device-amqp: telemetry; C2D complete, reject, abandon;
 * - azure-iothub: C2D with ack 'full', feedback with getFeedbackReceiver;
 * - @azure/event-hubs: the telemetry through the IoT Hub redirect (the iothubConnectionString
 *   sample's approach) and through the Event Hubs-compatible connection string; what a device and
 *   its module send through azure-iot-device, with the system properties IoT Hub stamps.
 * Feedback is cut per record (feedback.maxBatch 1) so that no batching delay is waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { ann } from './helpers.js';
import { runSdkScenario } from './sdk-support.js';

let hub: IotHubEmulator;

beforeAll(async () => {
  hub = await startHub({ tlsPort: 0, devices: ['sdk-dev'], feedback: { maxBatch: 1 } });
});

afterAll(async () => {
  await hub?.close();
});

const DEVICE_AND_SERVICE = `
const { Client: DeviceClient, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const { Client: ServiceClient } = require('azure-iothub');
const { Message: ServiceMessage } = require('azure-iot-common');
const fs = require('node:fs');

const device = DeviceClient.fromConnectionString(input.deviceCs, Amqp);
await device.setOptions({ ca: fs.readFileSync(input.caFile, 'utf8') });
await device.open();

const tel = new Message(JSON.stringify({ temperature: 21.5 }));
tel.messageId = 'tel-1';
tel.contentType = 'application/json';
tel.contentEncoding = 'utf-8';
tel.properties.add('level', 'high');
await device.sendEvent(tel);

const seen = [];
const gotAll = new Promise((resolve) => {
  device.on('message', async (m) => {
    const id = m.messageId;
    seen.push({ id, data: m.data.toString(), props: m.properties.propertyList });
    if (id === 'c2d-complete') await device.complete(m);
    else if (id === 'c2d-reject') await device.reject(m);
    else if (id === 'c2d-abandon') {
      if (seen.filter((s) => s.id === id).length === 1) await device.abandon(m);
      else await device.complete(m);
    }
    if (seen.length === 4) resolve();
  });
});

const service = ServiceClient.fromConnectionString(input.serviceCs);
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
      if (records.length >= 3) resolve();
    });
  });
});
// Let the device's C2D receiver attach before sending (it attaches on the 'message' listener).
await new Promise((r) => setTimeout(r, 200));
for (const id of ['c2d-complete', 'c2d-reject', 'c2d-abandon']) {
  const m = new ServiceMessage('hello ' + id);
  m.messageId = id;
  m.ack = 'full';
  m.properties.add('kind', 'test');
  await service.send(input.deviceId, m);
}
await gotAll;
await feedbackDone;
await device.close();
await service.close();
done({ seen, records });
`;

describe('azure-iot-device + azure-iothub over TLS', () => {
  it('telemetry; C2D completed, rejected and abandoned then completed; feedback with the original ids', async () => {
    const { result } = await runSdkScenario<{
      seen: { id: string; data: string }[];
      records: { originalMessageId: string; statusCode: string; deviceId: string; description: string }[];
    }>(
      DEVICE_AND_SERVICE,
      {
        deviceCs: hub.deviceConnectionString('sdk-dev'),
        serviceCs: hub.serviceConnectionString('iothubowner'),
        deviceId: 'sdk-dev',
        caFile: hub.caFile,
      },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result.seen.map((s) => s.id)).toEqual([
      'c2d-complete',
      'c2d-reject',
      'c2d-abandon',
      'c2d-abandon',
    ]);
    expect(result.seen[0]!.data).toBe('hello c2d-complete');
    const byId = new Map(result.records.map((r) => [r.originalMessageId, r]));
    expect(byId.get('c2d-complete')).toMatchObject({ statusCode: 'Success', deviceId: 'sdk-dev' });
    expect(byId.get('c2d-reject')).toMatchObject({ statusCode: 'Rejected' });
    expect(byId.get('c2d-abandon')).toMatchObject({ statusCode: 'Success' });
    expect(hub.state.c2d.depth('sdk-dev')).toBe(0);

    const e = hub.state.openEventCursor(hub.state.telemetry.partitionOf('sdk-dev')).next()!;
    const m = e.message;
    expect(m.properties?.messageId).toBe('tel-1');
    expect(m.properties?.contentType).toBe('application/json');
    expect((m.applicationProperties as { level?: string }).level).toBe('high');
    expect(ann(m, 'iothub-connection-device-id')).toBe('sdk-dev');
    expect(JSON.parse(Buffer.from(m.body as Uint8Array).toString())).toEqual({ temperature: 21.5 });
  });
});

/** The iothubConnectionString sample's approach: PLAIN on the hub, catch the redirect, build the EH string. */
const THROUGH_REDIRECT = `
const crypto = require('node:crypto');
const { Connection, ReceiverEvents, isAmqpError } = require('rhea-promise');
const { EventHubConsumerClient, earliestEventPosition } = require('@azure/event-hubs');

function generateSasToken(resourceUri, signingKey, policyName, expiresInMins) {
  resourceUri = encodeURIComponent(resourceUri);
  const expiresOn = Math.ceil(Date.now() / 1000 + expiresInMins * 60);
  const toSign = resourceUri + '\\n' + expiresOn;
  const hmac = crypto.createHmac('sha256', Buffer.from(signingKey, 'base64'));
  hmac.update(toSign);
  const base64UriEncoded = encodeURIComponent(hmac.digest('base64'));
  return 'SharedAccessSignature sr=' + resourceUri + '&sig=' + base64UriEncoded + '&se=' + expiresOn + '&skn=' + policyName;
}

async function convertIotHubToEventHubsConnectionString(connectionString) {
  const parts = Object.fromEntries(connectionString.split(';').map((p) => { const i = p.indexOf('='); return [p.slice(0, i), p.slice(i + 1)]; }));
  const { HostName, SharedAccessKeyName, SharedAccessKey } = parts;
  // HostName=localhost:PORT: the port goes to the connection, the name is what the sample derives.
  const [host, port] = HostName.split(':');
  const [iotHubName] = HostName.split('.');
  const token = generateSasToken(HostName + '/messages/events', SharedAccessKey, SharedAccessKeyName, 5);
  const connection = new Connection({
    transport: 'tls',
    host,
    hostname: host,
    username: SharedAccessKeyName + '@sas.root.' + iotHubName,
    port: Number(port),
    reconnect: false,
    password: token,
  });
  await connection.open();
  console.error('opened');
  const receiver = await connection.createReceiver({ source: { address: 'amqps://' + HostName + '/messages/events/$management' } });
  console.error('receiver created');
  return new Promise((resolve, reject) => {
    receiver.on(ReceiverEvents.receiverError, (context) => {
      const error = context.receiver && context.receiver.error;
      if (isAmqpError(error) && error.condition === 'amqp:link:redirect') {
        const hostname = error.info && error.info.hostname;
        const redirectPort = error.info && error.info.port;
        // The sample matches /5671\\/(.*)\\/\\$management/: here the port is the emulator's.
        const parsedAddress = error.info.address.match(/:\\d+\\/(.*)\\/\\$management/i);
        if (!hostname || !parsedAddress) reject(new Error('bad redirect ' + JSON.stringify(error.info)));
        else resolve({
          info: error.info,
          connectionString: 'Endpoint=sb://' + hostname + ':' + redirectPort + '/;EntityPath=' + parsedAddress[1] +
            ';SharedAccessKeyName=' + SharedAccessKeyName + ';SharedAccessKey=' + SharedAccessKey,
        });
      } else reject(error);
      connection.close().catch(() => {});
    });
  });
}

const { info, connectionString } = await convertIotHubToEventHubsConnectionString(input.serviceCs);
console.error('converted', connectionString);
const consumer = new EventHubConsumerClient('$Default', connectionString);
const events = [];
const all = new Promise((resolve, reject) => {
  const sub = consumer.subscribe({
    processEvents: async (batch, ctx) => {
      for (const e of batch) events.push({ partition: ctx.partitionId, body: e.body, seq: e.sequenceNumber,
        deviceId: e.systemProperties['iothub-connection-device-id'], props: e.properties, offset: e.offset });
      if (events.length >= input.expected) resolve(sub);
    },
    processError: async (err) => { if (!String(err && err.message).includes('closed')) reject(err); },
  }, { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
});
const sub = await all;
await sub.close();
await consumer.close();
done({ info, connectionString, events });
`;

const EH_CONNECTION_STRING = `
const { EventHubConsumerClient } = require('@azure/event-hubs');
const consumer = new EventHubConsumerClient('$Default', input.ehCs);
const props = await consumer.getEventHubProperties();
const partition = await consumer.getPartitionProperties(input.partition);
const events = [];
const all = new Promise((resolve, reject) => {
  const sub = consumer.subscribe(input.partition, {
    processEvents: async (batch) => {
      for (const e of batch) events.push({ body: e.body, seq: e.sequenceNumber });
      if (events.length >= input.expected) resolve(sub);
    },
    processError: async (err) => { if (!String(err && err.message).includes('closed')) reject(err); },
  }, { startPosition: { sequenceNumber: input.from, isInclusive: true }, maxWaitTimeInSeconds: 1 });
});
const sub = await all;
await sub.close();
await consumer.close();
done({ props: { name: props.name, partitionIds: props.partitionIds }, partition, events });
`;

interface SentEvent {
  body: unknown;
  properties: Record<string, unknown>;
  messageId: unknown;
  seq: number;
  system: Record<string, unknown>;
}

/** A device and its module send with azure-iot-device; the Event Hubs consumer reads both back. */
const DEVICE_AND_MODULE_TO_EVENT_HUBS = `
const { Client, ModuleClient, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const { EventHubConsumerClient } = require('@azure/event-hubs');
const fs = require('node:fs');
const ca = fs.readFileSync(input.caFile, 'utf8');
const message = (from, id) => {
  const m = new Message(JSON.stringify({ from }));
  m.messageId = id;
  m.contentType = 'application/json';
  m.contentEncoding = 'utf-8';
  m.properties.add('kind', 'reading');
  return m;
};

const device = Client.fromConnectionString(input.deviceCs, Amqp);
await device.setOptions({ ca });
await device.open();
await device.sendEvent(message('device', 'eh-device-1'));
await device.close();
const module = ModuleClient.fromConnectionString(input.moduleCs, Amqp);
await module.setOptions({ ca });
await module.open();
await new Promise((resolve, reject) =>
  module.sendOutputEvent('temperature', message('module', 'eh-module-1'), (e) => (e ? reject(e) : resolve())),
);
await module.close();

const consumer = new EventHubConsumerClient('$Default', input.ehCs);
const events = [];
const all = new Promise((resolve, reject) => {
  const sub = consumer.subscribe(input.partition, {
    processEvents: async (batch) => {
      for (const e of batch)
        events.push({ body: e.body, properties: e.properties, messageId: e.messageId, seq: e.sequenceNumber, system: e.systemProperties });
      if (events.length >= 2) resolve(sub);
    },
    processError: async (err) => { if (!String(err && err.message).includes('closed')) reject(err); },
  }, { startPosition: { sequenceNumber: input.from, isInclusive: true }, maxWaitTimeInSeconds: 1 });
});
const sub = await all;
await sub.close();
await consumer.close();
done({ events });
`;

describe('@azure/event-hubs over TLS', () => {
  let partition: number;
  beforeAll(async () => {
    hub.addDevice('eh-dev');
    partition = hub.state.telemetry.partitionOf('eh-dev');
    for (let i = 0; i < 3; i++)
      await hub.state.sendTelemetry('eh-dev', {
        applicationProperties: { n: i },
        body: Buffer.from(JSON.stringify({ n: i })),
      });
  });

  it('reads telemetry through the IoT Hub redirect (the iothubConnectionString sample approach)', async () => {
    const expected = [0, 1, 2, 3].reduce((n, p) => n + hub.state.telemetry.size(p), 0);
    const { result } = await runSdkScenario<{
      info: { hostname: string; port: number; address: string };
      connectionString: string;
      events: { deviceId: string; body: unknown; partition: string }[];
    }>(
      THROUGH_REDIRECT,
      { serviceCs: hub.serviceConnectionString('service'), expected },
      { caFile: hub.caFile! },
    );
    expect(result.info.hostname).toBe('localhost');
    expect(result.info.port).toBe(hub.tlsPort);
    expect(result.info.address).toBe(`amqps://localhost:${hub.tlsPort}/${hub.eventHubName}/$management`);
    const mine = result.events.filter((e) => e.deviceId === 'eh-dev');
    expect(mine.map((e) => e.body)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(mine.every((e) => e.partition === String(partition))).toBe(true);
  });

  it('reads telemetry and management data with the Event Hubs-compatible connection string', async () => {
    const first = hub.state.partitionInfo(partition).lastEnqueuedSequenceNumber - 1;
    const { result } = await runSdkScenario<{
      props: { name: string; partitionIds: string[] };
      partition: { lastEnqueuedSequenceNumber: number; isEmpty: boolean };
      events: { body: unknown; seq: number }[];
    }>(
      EH_CONNECTION_STRING,
      { ehCs: hub.eventHubsConnectionString(), partition: String(partition), expected: 2, from: first },
      { caFile: hub.caFile! },
    );
    expect(result.props).toEqual({ name: hub.eventHubName, partitionIds: ['0', '1', '2', '3'] });
    expect(result.partition.isEmpty).toBe(false);
    expect(result.partition.lastEnqueuedSequenceNumber).toBe(first + 1);
    expect(result.events.map((e) => e.seq)).toEqual([first, first + 1]);
    expect(result.events.map((e) => e.body)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("reads what a device and its module send (azure-iot-device), with IoT Hub's system properties", async () => {
    hub.addDevice('eh-edge');
    const mod = hub.state.registry.addModule('eh-edge', 'eh-mod');
    const p = hub.state.telemetry.partitionOf('eh-edge');
    const from = hub.state.partitionInfo(p).lastEnqueuedSequenceNumber + 1;
    const { result } = await runSdkScenario<{ events: SentEvent[] }>(
      DEVICE_AND_MODULE_TO_EVENT_HUBS,
      {
        deviceCs: hub.deviceConnectionString('eh-edge'),
        moduleCs: `HostName=${hub.hostName};DeviceId=eh-edge;ModuleId=eh-mod;SharedAccessKey=${mod.primaryKey}`,
        caFile: hub.caFile,
        ehCs: hub.eventHubsConnectionString(),
        partition: String(p),
        from,
      },
      { caFile: hub.caFile! },
    );
    const authMethod = (scope: string) =>
      JSON.stringify({ scope, type: 'sas', issuer: 'iothub', acceptingIpFilterRule: null });
    const generation = (id: string, m?: string) =>
      (m === undefined ? hub.state.registry.getDevice(id) : hub.state.registry.getModule(id, m))!
        .generationId;
    const [fromDevice, fromModule] = result.events;
    expect(result.events).toHaveLength(2);
    expect(fromDevice).toMatchObject({
      body: { from: 'device' },
      properties: { kind: 'reading' },
      messageId: 'eh-device-1',
      seq: from,
      system: {
        'iothub-connection-device-id': 'eh-edge',
        'iothub-connection-auth-method': authMethod('device'),
        'iothub-connection-auth-generation-id': generation('eh-edge'),
        'iothub-message-source': 'Telemetry',
      },
    });
    expect(fromDevice!.system).not.toHaveProperty('iothub-connection-module-id');
    expect(fromDevice!.properties).not.toHaveProperty('iothub-outputname');
    expect(fromModule).toMatchObject({
      body: { from: 'module' },
      properties: { 'iothub-outputname': 'temperature', kind: 'reading' },
      messageId: 'eh-module-1',
      seq: from + 1,
      system: {
        'iothub-connection-device-id': 'eh-edge',
        'iothub-connection-module-id': 'eh-mod',
        'iothub-connection-auth-method': authMethod('module'),
        'iothub-connection-auth-generation-id': generation('eh-edge', 'eh-mod'),
        'iothub-message-source': 'Telemetry',
      },
    });
    for (const e of result.events) expect(typeof e.system['iothub-enqueuedtime']).toBe('number');
  });
});
