/**
 * The official Azure SDKs, unchanged, over WebSockets against the emulator on IoT Hub's own ports:
 * HTTPS/WSS on 443 and AMQPS on 5671, so that the connection strings say `HostName=localhost`
 * and the SDKs build `wss://localhost:443/$iothub/websocket` themselves. Each scenario runs in a
 * child process trusting the emulator's CA through NODE_EXTRA_CA_CERTS (sdk-support.ts):
 * - azure-iot-device with azure-iot-device-amqp's AmqpWs sends telemetry and completes a C2D
 *   message that azure-iothub's Client with AmqpWs sent;
 * - the same device connection string over AMQPS (Amqp) reaches 5671;
 * - uAMQP (python3-uamqp) with TransportType.AmqpOverWebsocket sends telemetry: it connects to
 *   port 443 at `/$servicebus/websocket/`, with its trailing slash, whatever the entity;
 * - @azure/event-hubs' EventHubConsumerClient with `webSocketOptions` (the `ws` package) reads the
 *   telemetry from the Event Hubs-compatible connection string, at /$servicebus/websocket.
 *
 * Binding 443 needs root (or CAP_NET_BIND_SERVICE): CI runs as root and must run these; elsewhere,
 * without root, they are skipped with the reason printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { ann } from './helpers.js';
import { runSdkScenario } from './sdk-support.js';
import { runUamqp } from '../../interop/support/peers.js';

const canBind443 = process.getuid?.() === 0 || process.env.CI === 'true';
if (!canBind443)
  console.warn(
    'azure-sdks-websocket.test.ts skipped: binding ports 443 and 5671 needs root, and this is neither root nor CI',
  );

let hub: IotHubEmulator;

describe.runIf(canBind443)('the official SDKs over WebSockets on ports 443 and 5671', () => {
  beforeAll(async () => {
    hub = await startHub({ port: 0, tlsPort: 5671, httpsPort: 443, devices: ['ws-sdk-dev'] });
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('the connection strings name the host alone', () => {
    expect(hub.officialPorts).toBe(true);
    expect(hub.hostName).toBe('localhost');
    expect(hub.deviceConnectionString('ws-sdk-dev')).toMatch(/^HostName=localhost;DeviceId=ws-sdk-dev;/);
    expect(hub.eventHubsConnectionString()).toMatch(/^Endpoint=sb:\/\/localhost\/;/);
    expect(hub.webSocketUrl).toBe('wss://localhost:443/$iothub/websocket');
  });

  it('AmqpWs: device telemetry, and C2D from azure-iothub completed by the device', async () => {
    const { result } = await runSdkScenario<{ received: { id: string; data: string }[] }>(
      `
const { Client: DeviceClient, Message } = require('azure-iot-device');
const { AmqpWs } = require('azure-iot-device-amqp');
const { Client: ServiceClient, AmqpWs: ServiceAmqpWs } = require('azure-iothub');
const { Message: ServiceMessage } = require('azure-iot-common');

const device = DeviceClient.fromConnectionString(input.deviceCs, AmqpWs);
await device.open();
const tel = new Message(JSON.stringify({ over: 'websockets' }));
tel.messageId = 'ws-tel-1';
tel.properties.add('transport', 'amqp-ws');
await device.sendEvent(tel);

const received = [];
const got = new Promise((resolve) => {
  device.on('message', async (m) => {
    received.push({ id: m.messageId, data: m.data.toString() });
    await device.complete(m);
    resolve();
  });
});
const service = ServiceClient.fromConnectionString(input.serviceCs, ServiceAmqpWs);
await service.open();
// Let the device's C2D receiver attach (it attaches on the 'message' listener).
await new Promise((r) => setTimeout(r, 200));
const m = new ServiceMessage('hello over websockets');
m.messageId = 'ws-c2d-1';
await service.send(input.deviceId, m);
await got;
await service.close();
await device.close();
done({ received });
`,
      {
        deviceCs: hub.deviceConnectionString('ws-sdk-dev'),
        serviceCs: hub.serviceConnectionString('iothubowner'),
        deviceId: 'ws-sdk-dev',
      },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result.received).toEqual([{ id: 'ws-c2d-1', data: 'hello over websockets' }]);
    expect(hub.state.c2d.depth('ws-sdk-dev')).toBe(0);
    const e = hub.state.openEventCursor(hub.state.telemetry.partitionOf('ws-sdk-dev')).next()!;
    expect(e.message.properties?.messageId).toBe('ws-tel-1');
    expect((e.message.applicationProperties as { transport?: string }).transport).toBe('amqp-ws');
    expect(ann(e.message, 'iothub-connection-device-id')).toBe('ws-sdk-dev');
  });

  it('the same connection string over AMQPS (Amqp) reaches 5671', async () => {
    hub.addDevice('amqps-sdk-dev');
    const { result } = await runSdkScenario<{ sent: boolean }>(
      `
const { Client, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const device = Client.fromConnectionString(input.deviceCs, Amqp);
await device.open();
const m = new Message('over amqps');
m.messageId = 'amqps-tel-1';
await device.sendEvent(m);
await device.close();
done({ sent: true });
`,
      { deviceCs: hub.deviceConnectionString('amqps-sdk-dev') },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result.sent).toBe(true);
    const e = hub.state.openEventCursor(hub.state.telemetry.partitionOf('amqps-sdk-dev'));
    let found = false;
    for (let ev = e.next(); ev && !found; ev = e.next())
      found = ev.message.properties?.messageId === 'amqps-tel-1';
    expect(found).toBe(true);
  });

  it('uAMQP with TransportType.AmqpOverWebsocket sends telemetry', async () => {
    const d = hub.addDevice('py-ws-dev');
    const snippet = `
import json, sys
import uamqp
from uamqp import authentication
from uamqp.constants import TransportType
from base64 import b64encode, b64decode
from hashlib import sha256
from time import time
from urllib.parse import quote_plus, urlencode
from hmac import HMAC

cfg = json.loads(sys.argv[1])

def generate_sas_token(uri, key, policy_name, expiry=3600):
    ttl = time() + expiry
    sign_key = "%s\\n%d" % ((quote_plus(uri)), int(ttl))
    signature = b64encode(HMAC(b64decode(key), sign_key.encode('utf-8'), sha256).digest())
    rawtoken = {'sr': uri, 'sig': signature, 'se': str(int(ttl))}
    if policy_name is not None:
        rawtoken['skn'] = policy_name
    return 'SharedAccessSignature ' + urlencode(rawtoken)

hostname = 'localhost'
device_id = cfg['deviceId']
username = '{}@sas.{}'.format(device_id, cfg['hubName'])
sas_token = generate_sas_token('{}/devices/{}'.format(hostname, device_id), cfg['deviceKey'], None)
uri = 'amqps://{}/devices/{}/messages/events'.format(hostname, device_id)
auth = authentication.SASLPlain(hostname, username, sas_token, verify=cfg['ca'],
                                transport_type=TransportType.AmqpOverWebsocket)
send_client = uamqp.SendClient(uri, auth=auth, debug=False)
props = uamqp.message.MessageProperties()
props.message_id = 'py-ws-1'
send_client.queue_message(uamqp.Message(b'{"over": "uamqp websockets"}', properties=props))
results = send_client.send_all_messages()
send_client.close()
print('RESULT ' + json.dumps({'sent': [str(r) for r in results]}))
`;
    const r = await runUamqp(snippet, {
      args: [
        JSON.stringify({
          deviceId: 'py-ws-dev',
          deviceKey: d.primaryKey,
          hubName: hub.hubName,
          ca: hub.caFile,
        }),
      ],
      timeoutMs: 40_000,
    });
    const line = r.stdout
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('RESULT '));
    if (r.timedOut || r.code !== 0 || !line)
      throw new Error(`uAMQP ${r.timedOut ? 'timed out' : `exited ${r.code}`}:\n${r.output.slice(-6000)}`);
    expect(JSON.parse(line.slice(7))).toEqual({ sent: ['MessageState.SendComplete'] });
    const cursor = hub.state.openEventCursor(hub.state.telemetry.partitionOf('py-ws-dev'));
    const ids: unknown[] = [];
    for (let e = cursor.next(); e; e = cursor.next()) ids.push(e.message.properties?.messageId);
    expect(ids).toContain('py-ws-1');
  });

  it('@azure/event-hubs with webSocketOptions reads the telemetry', async () => {
    hub.addDevice('ws-eh-dev');
    const partition = hub.state.telemetry.partitionOf('ws-eh-dev');
    const first = hub.state.partitionInfo(partition).lastEnqueuedSequenceNumber + 1;
    for (let i = 0; i < 2; i++)
      await hub.state.sendTelemetry('ws-eh-dev', { body: Buffer.from(JSON.stringify({ ws: i })) });
    const { result } = await runSdkScenario<{ name: string; events: { body: unknown; seq: number }[] }>(
      `
const { EventHubConsumerClient } = require('@azure/event-hubs');
const WebSocket = require('ws');
const consumer = new EventHubConsumerClient('$Default', input.ehCs, { webSocketOptions: { webSocket: WebSocket } });
const props = await consumer.getEventHubProperties();
const events = [];
const all = new Promise((resolve, reject) => {
  const sub = consumer.subscribe(input.partition, {
    processEvents: async (batch) => {
      for (const e of batch) events.push({ body: e.body, seq: e.sequenceNumber });
      if (events.length >= 2) resolve(sub);
    },
    processError: async (err) => { if (!String(err && err.message).includes('closed')) reject(err); },
  }, { startPosition: { sequenceNumber: input.from, isInclusive: true }, maxWaitTimeInSeconds: 1 });
});
const sub = await all;
await sub.close();
await consumer.close();
done({ name: props.name, events });
`,
      { ehCs: hub.eventHubsConnectionString(), partition: String(partition), from: first },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result.name).toBe(hub.eventHubName);
    expect(result.events).toEqual([
      { body: { ws: 0 }, seq: first },
      { body: { ws: 1 }, seq: first + 1 },
    ]);
  });
});
