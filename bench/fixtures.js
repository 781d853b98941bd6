// Shared fixtures for the codec benchmark (bench/codec.js) and the profiling driver
// (bench/profile-codec.js): the typical IoT telemetry message, built once for amqp-one and once
// for rhea, with identical content.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const rhea = require('rhea');
export const rheaFrames = require('rhea/lib/frames.js');

export const MESSAGE_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
export const TO = '/devices/sensor-0042/messages/events';
export const CONTENT_TYPE = 'application/json;charset=utf-8';
export const CREATION_TIME = new Date(1700000000000);
export const BODY_SIZE = 256;

/** A JSON telemetry document padded (inside a string field) to exactly `size` bytes of UTF-8. */
export function jsonBody(size = BODY_SIZE) {
  const doc = {
    deviceId: 'sensor-0042',
    ts: 1700000000000,
    temperature: 21.5,
    humidity: 48.2,
    pressure: 1013.25,
    battery: 3.71,
    status: 'ok',
    pad: '',
  };
  const base = Buffer.byteLength(JSON.stringify(doc));
  if (base > size) throw new Error(`JSON body template is ${base} bytes, more than ${size}`);
  doc.pad = 'x'.repeat(size - base);
  const buf = Buffer.from(JSON.stringify(doc), 'utf8');
  if (buf.length !== size) throw new Error(`JSON body is ${buf.length} bytes, wanted ${size}`);
  JSON.parse(buf.toString('utf8')); // it is valid JSON
  return buf;
}

export const APPLICATION_PROPERTIES = { deviceId: 'sensor-0042', sequence: 123456, region: 'eu-west-1' };
export const MESSAGE_ANNOTATIONS = { 'x-opt-partition-key': 'sensor-0042', 'x-opt-enqueued-seq': 98765 };

/** The telemetry message in amqp-one's shape (src/codec/message.ts `Message`). */
export function amqpOneMessage(body = jsonBody()) {
  return {
    messageAnnotations: { ...MESSAGE_ANNOTATIONS },
    properties: {
      messageId: MESSAGE_ID,
      to: TO,
      contentType: CONTENT_TYPE,
      creationTime: CREATION_TIME,
    },
    applicationProperties: { ...APPLICATION_PROPERTIES },
    body,
  };
}

/** The same message in rhea's shape (lib/message.js: flat property names, data_section body). */
export function rheaMessage(body = jsonBody()) {
  return {
    message_annotations: { ...MESSAGE_ANNOTATIONS },
    message_id: MESSAGE_ID,
    to: TO,
    content_type: CONTENT_TYPE,
    creation_time: CREATION_TIME,
    application_properties: { ...APPLICATION_PROPERTIES },
    body: rhea.message.data_section(body),
  };
}

export const DELIVERY_TAG = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
