/**
 * The typical IoT telemetry message every benchmark of the project sends (the codec benchmark,
 * the throughput benchmark, `amqp-one bench` and the Proton C comparison): message annotations
 * as IoT Hub adds them, the properties a device sets, three application properties and a JSON
 * document as one data section. One definition, so every figure is about the same bytes.
 */
import type { Message } from '../codec/message.js';

export const TELEMETRY = {
  messageId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  to: '/devices/sensor-0042/messages/events',
  contentType: 'application/json;charset=utf-8',
  creationTime: new Date(1700000000000),
  bodySize: 256,
  applicationProperties: { deviceId: 'sensor-0042', sequence: 123456, region: 'eu-west-1' },
  messageAnnotations: { 'x-opt-partition-key': 'sensor-0042', 'x-opt-enqueued-seq': 98765 },
} as const;

/**
 * A JSON telemetry document padded (inside a string field) to exactly `size` bytes of UTF-8; when
 * `size` is below the document's own size, `size` bytes of 'x' (still a valid data section).
 */
export function jsonBody(size: number = TELEMETRY.bodySize, unpadded = false): Buffer {
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
  if (unpadded) return Buffer.from(JSON.stringify(doc), 'utf8');
  if (base > size) return Buffer.alloc(size, 0x78);
  doc.pad = 'x'.repeat(size - base);
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** The telemetry message in amqp-one's shape; the body is one data section. */
export function telemetryMessage(body: Buffer = jsonBody()): Message {
  return {
    messageAnnotations: { ...TELEMETRY.messageAnnotations },
    properties: {
      messageId: TELEMETRY.messageId,
      to: TELEMETRY.to,
      contentType: TELEMETRY.contentType,
      creationTime: TELEMETRY.creationTime,
    },
    applicationProperties: { ...TELEMETRY.applicationProperties },
    body,
  };
}

/**
 * The telemetry message's annotations plus the bench's send-time stamp, as an object literal:
 * one fixed shape for every message (a spread with a computed key gave each message a slower,
 * dictionary-mode object and cost the sender about a microsecond per message).
 */
export function stampedAnnotations(sentAt: number): {
  'x-opt-partition-key': string;
  'x-opt-enqueued-seq': number;
  'x-opt-bench-sent': number;
} {
  return {
    'x-opt-partition-key': TELEMETRY.messageAnnotations['x-opt-partition-key'],
    'x-opt-enqueued-seq': TELEMETRY.messageAnnotations['x-opt-enqueued-seq'],
    'x-opt-bench-sent': sentAt, // SENT_AT in options.ts
  };
}
