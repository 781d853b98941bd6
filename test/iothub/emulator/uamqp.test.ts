/**
 * uAMQP (Debian python3-uamqp, Azure's C library) against the emulator over TLS, written as in
 * Microsoft's "Communicate with your IoT hub using the AMQP protocol" guide (its
 * generate_sas_token helper, SendClient / ReceiveClient, LinkRedirect, from_shared_access_key).
 * Local adaptations, the same in every snippet: the host is `localhost` and the port the
 * emulator's, so the clients get an explicit SASLPlain / SASTokenAuth with `port=` and
 * `verify=<the emulator's CA>` (uAMQP hangs on an untrusted certificate: every run has a hard
 * timeout). Feedback is cut per record (feedback.maxBatch 1): nothing waits for a batching delay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { runUamqp } from '../../interop/support/peers.js';
import { ann } from './helpers.js';

let hub: IotHubEmulator;

beforeAll(async () => {
  hub = await startHub({ tlsPort: 0, devices: ['py-dev'], feedback: { maxBatch: 1 } });
});

afterAll(async () => {
  await hub?.close();
});

const PRELUDE = `
import json, sys, uuid
import uamqp
from uamqp import authentication, errors
from base64 import b64encode, b64decode
from hashlib import sha256
from time import time
from urllib.parse import quote_plus, urlencode
from hmac import HMAC

cfg = json.loads(sys.argv[1])
port = cfg['port']
ca = cfg['ca']

# From the guide (IoT Hub security docs): the SAS token helper.
def generate_sas_token(uri, key, policy_name, expiry=3600):
    ttl = time() + expiry
    sign_key = "%s\\n%d" % ((quote_plus(uri)), int(ttl))
    signature = b64encode(HMAC(b64decode(key), sign_key.encode('utf-8'), sha256).digest())
    rawtoken = {'sr' :  uri, 'sig': signature, 'se' : str(int(ttl))}
    if policy_name is not None:
        rawtoken['skn'] = policy_name
    return 'SharedAccessSignature ' + urlencode(rawtoken)

iot_hub_name = cfg['hubName']
hostname = 'localhost'

def text(v):
    return v.decode() if isinstance(v, bytes) else v

def result(v):
    print('RESULT ' + json.dumps(v, default=str))
`;

function run(snippet: string, cfg: object): Promise<unknown> {
  return runUamqp(PRELUDE + snippet, {
    args: [JSON.stringify({ port: hub.tlsPort, ca: hub.caFile, hubName: hub.hubName, ...cfg })],
    timeoutMs: 40_000,
  }).then((r) => {
    const line = r.stdout
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('RESULT '));
    if (r.timedOut || r.code !== 0 || !line)
      throw new Error(
        `uAMQP snippet ${r.timedOut ? 'timed out' : `exited ${r.code}`}:\n${r.output.slice(-6000)}`,
      );
    return JSON.parse(line.slice(7));
  });
}

describe('uAMQP, as in the IoT Hub AMQP guide', () => {
  it('service C2D with an ack, device receive, feedback with Success and the original message id', async () => {
    const snippet = `
device_id = cfg['deviceId']

# --- Service: send a C2D message with iothub-ack ---
policy_name = 'service'
access_key = cfg['serviceKey']
operation = '/messages/devicebound'
username = '{policy_name}@sas.root.{iot_hub_name}'.format(iot_hub_name=iot_hub_name, policy_name=policy_name)
sas_token = generate_sas_token(hostname, access_key, policy_name)
uri = 'amqps://{}:{}{}'.format(hostname, port, operation)
auth = authentication.SASLPlain(hostname, username, sas_token, port=port, verify=ca)
send_client = uamqp.SendClient(uri, auth=auth, debug=False)
msg_id = str(uuid.uuid4())
app_properties = {}
msg_props = uamqp.message.MessageProperties()
msg_props.to = '/devices/{}/messages/devicebound'.format(device_id)
msg_props.message_id = msg_id
msg_content = b"Your message payload goes here"
message = uamqp.Message(msg_content, properties=msg_props)
app_properties['iothub-ack'] = 'full'
message.application_properties = app_properties
send_client.queue_message(message)
results = send_client.send_all_messages()
send_client.close()

# --- Device: receive it and accept ---
device_key = cfg['deviceKey']
d_username = '{device_id}@sas.{iot_hub_name}'.format(device_id=device_id, iot_hub_name=iot_hub_name)
d_token = generate_sas_token('{hostname}/devices/{device_id}'.format(hostname=hostname, device_id=device_id), device_key, None)
d_operation = '/devices/{device_id}/messages/devicebound'.format(device_id=device_id)
d_uri = 'amqps://{}:{}{}'.format(hostname, port, d_operation)
d_auth = authentication.SASLPlain(hostname, d_username, d_token, port=port, verify=ca)
receive_client = uamqp.ReceiveClient(d_uri, auth=d_auth, debug=False, timeout=10000, auto_complete=False)
received = []
batch = receive_client.receive_message_batch(max_batch_size=5)
for msg in batch:
    received.append({
        'data': b''.join(msg.get_data()).decode(),
        'to': text(msg.properties.to),
        'message_id': text(msg.properties.message_id),
        'application_properties': {text(k): text(v) for k, v in (msg.application_properties or {}).items()},
        'lock_token': text((msg.annotations or {}).get(b'x-opt-lock-token')),
        'tag_len': len(msg.delivery_tag) if msg.delivery_tag else None,
    })
    msg.accept()
receive_client.close()

# --- Service: read the feedback ---
f_uri = 'amqps://{}:{}{}'.format(hostname, port, '/messages/serviceBound/feedback')
f_auth = authentication.SASLPlain(hostname, username, generate_sas_token(hostname, access_key, policy_name), port=port, verify=ca)
feedback_client = uamqp.ReceiveClient(f_uri, auth=f_auth, debug=False, timeout=10000, auto_complete=False)
records = []
content_types = []
for msg in feedback_client.receive_message_batch(max_batch_size=10):
    content_types.append(text(msg.properties.content_type))
    msg_body = json.loads(b''.join(msg.get_data()).decode())
    records.extend(msg_body)
    msg.accept()
feedback_client.close()
result({'sent': [str(r) for r in results], 'msg_id': msg_id, 'received': received, 'records': records, 'content_types': content_types})
`;
    const d = hub.addDevice('py-dev');
    const r = (await run(snippet, {
      deviceId: 'py-dev',
      deviceKey: d.primaryKey,
      serviceKey: hub.state.registry.getPolicy('service')!.primaryKey,
    })) as {
      sent: string[];
      msg_id: string;
      received: {
        data: string;
        to: string;
        message_id: string;
        application_properties: object;
        lock_token: string;
        tag_len: number;
      }[];
      records: { originalMessageId: string; statusCode: string; deviceId: string }[];
      content_types: string[];
    };
    expect(r.sent).toEqual(['MessageState.SendComplete']);
    expect(r.received).toHaveLength(1);
    expect(r.received[0]).toMatchObject({
      data: 'Your message payload goes here',
      to: '/devices/py-dev/messages/devicebound',
      message_id: r.msg_id,
      application_properties: { 'iothub-ack': 'full' },
      tag_len: 16,
    });
    expect(r.received[0]!.lock_token).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.content_types).toEqual(['application/vnd.microsoft.iothub.feedback.json']);
    expect(r.records).toMatchObject([
      { originalMessageId: r.msg_id, statusCode: 'Success', deviceId: 'py-dev' },
    ]);
    expect(hub.state.c2d.depth('py-dev')).toBe(0);
  });

  it('device telemetry with a content type and application properties', async () => {
    const snippet = `
device_id = cfg['deviceId']
device_key = cfg['deviceKey']
username = '{device_id}@sas.{iot_hub_name}'.format(device_id=device_id, iot_hub_name=iot_hub_name)
sas_token = generate_sas_token('{hostname}/devices/{device_id}'.format(hostname=hostname, device_id=device_id), device_key, None)
operation = '/devices/{device_id}/messages/events'.format(device_id=device_id)
uri = 'amqps://{}:{}{}'.format(hostname, port, operation)
auth = authentication.SASLPlain(hostname, username, sas_token, port=port, verify=ca)
send_client = uamqp.SendClient(uri, auth=auth, debug=False)
msg_props = uamqp.message.MessageProperties()
msg_props.message_id = 'py-telemetry-1'
msg_props.content_type = 'application/json'
application_properties = { "prop1": "value1" }
msg_data = b'{"temperature": 25}'
message = uamqp.Message(msg_data, properties=msg_props, application_properties=application_properties)
send_client.queue_message(message)
results = send_client.send_all_messages()
send_client.close()
result({'sent': [str(r) for r in results]})
`;
    const d = hub.addDevice('py-dev');
    const before = hub.state.partitionInfo(
      hub.state.telemetry.partitionOf('py-dev'),
    ).lastEnqueuedSequenceNumber;
    const r = (await run(snippet, { deviceId: 'py-dev', deviceKey: d.primaryKey })) as { sent: string[] };
    expect(r.sent).toEqual(['MessageState.SendComplete']);
    const cursor = hub.state.openEventCursor(hub.state.telemetry.partitionOf('py-dev'), {
      kind: 'sequenceNumber',
      value: before,
      inclusive: false,
    });
    const m = cursor.next()!.message;
    expect(m.properties?.messageId).toBe('py-telemetry-1');
    expect(String(m.properties?.contentType)).toBe('application/json');
    expect(m.applicationProperties).toEqual({ prop1: 'value1' });
    expect(ann(m, 'iothub-connection-device-id')).toBe('py-dev');
    expect(Buffer.from(m.body as Uint8Array).toString()).toBe('{"temperature": 25}');
  });

  it('service telemetry receive that follows LinkRedirect and filters by sequence number', async () => {
    hub.addDevice('py-events');
    const p = hub.state.telemetry.partitionOf('py-events');
    for (let i = 0; i < 4; i++)
      await hub.state.sendTelemetry('py-events', { body: Buffer.from(`event ${i}`) });
    const last = hub.state.partitionInfo(p).lastEnqueuedSequenceNumber;
    const snippet = `
policy_name = 'service'
access_key = cfg['serviceKey']
operation = '/messages/events/ConsumerGroups/{consumer_group}/Partitions/{p_id}'.format(consumer_group='$Default', p_id=cfg['partition'])
username = '{policy_name}@sas.root.{iot_hub_name}'.format(policy_name=policy_name, iot_hub_name=iot_hub_name)
sas_token = generate_sas_token(hostname, access_key, policy_name)
uri = 'amqps://{}:{}{}'.format(hostname, port, operation)
auth = authentication.SASLPlain(hostname, username, sas_token, port=port, verify=ca)
filter_expression = 'amqp.annotation.x-opt-sequence-number > {}'.format(cfg['after'])
receive_client = uamqp.ReceiveClient(uri, auth=auth, debug=False, timeout=10000)
redirected = None
try:
    batch = receive_client.receive_message_batch(max_batch_size=5)
except errors.LinkRedirect as redirect:
    # Once a redirect error is received, close the original client and recreate a new one to the re-directed address
    receive_client.close()
    address = text(redirect.address)
    redirected = {'hostname': text(redirect.hostname), 'port': redirect.port, 'address': address}
    sas_auth = authentication.SASTokenAuth.from_shared_access_key(address, policy_name, access_key, port=port, verify=ca)
    source = uamqp.address.Source(address)
    source.set_filter(filter_expression.encode())
    receive_client = uamqp.ReceiveClient(source, auth=sas_auth, debug=False, timeout=10000, prefetch=10)
events = []
batch = receive_client.receive_message_batch(max_batch_size=5)
for msg in batch:
    events.append({
        'data': b''.join(msg.get_data()).decode(),
        'seq': msg.annotations.get(b'x-opt-sequence-number'),
        'device': text(msg.annotations.get(b'iothub-connection-device-id')),
    })
receive_client.close()
result({'redirected': redirected, 'events': events})
`;
    const r = (await run(snippet, {
      serviceKey: hub.state.registry.getPolicy('service')!.primaryKey,
      partition: p,
      after: last - 2,
    })) as {
      redirected: { hostname: string; port: number; address: string };
      events: { data: string; seq: number; device: string }[];
    };
    expect(r.redirected).toEqual({
      hostname: 'localhost',
      port: hub.tlsPort,
      address: `amqps://localhost:${hub.tlsPort}/${hub.eventHubName}/ConsumerGroups/$Default/Partitions/${p}`,
    });
    expect(r.events.map((e) => e.seq)).toEqual([last - 1, last]);
    expect(r.events.map((e) => e.data)).toEqual(['event 2', 'event 3']);
    expect(r.events.every((e) => e.device === 'py-events')).toBe(true);
  });
});
