/**
 * Messages as the IoT Hub layer takes them (telemetry, C2D): a body, the system properties the hub
 * routes on (message id, content type and encoding, correlation id, expiry) and application
 * properties; turned into AMQP messages whose body is one data section (as every SDK sends).
 */
import type { Message, MessageProperties } from '../../codec/message.js';
import { ulong, type AmqpValue } from '../../codec/values.js';
import { alloc, utf8Encode, view } from '../../codec/bytes.js';
// A v4 uuid from Web Crypto, which Node and browsers both have.
import { randomContainerId as randomUUID } from '../../connection/container-id.js';
import { IotHubConfigError } from '../errors.js';
import { putOwn } from '../message-values.js';
import { checkOptions, opt, type OptionSchema } from '../../protocol/options.js';

/** What routing on the body needs (IoT Hub message routing): JSON, UTF-8. */
export const JSON_CONTENT_TYPE = 'application/json';
/** The content encoding of JSON bodies. */
export const UTF8_CONTENT_ENCODING = 'utf-8';

/** An application property value: what the hub keeps and routes on. */
export type PropertyValue = string | number | boolean | bigint | Date | null;

/** A telemetry or C2D message in the IoT Hub SDKs' terms: a body, ids, properties. */
export interface IotHubMessage {
  /**
   * Bytes (a Buffer or a Uint8Array, sent as they are), a string (sent as UTF-8 bytes), or any
   * other value, sent as JSON with content type `application/json` and encoding `utf-8` unless given.
   */
  body?: Uint8Array | string | unknown;
  /** Default: a new uuid (a string). */
  messageId?: string | number | bigint | AmqpValue;
  correlationId?: string | number | bigint | AmqpValue;
  contentType?: string;
  contentEncoding?: string;
  /** Application properties (user properties). */
  properties?: Record<string, PropertyValue>;
  /** Absolute expiry time. */
  expiryTime?: Date;
  creationTime?: Date;
  userId?: string | Uint8Array;
  /** Extra message annotations (rarely needed). */
  annotations?: Record<string, AmqpValue>;
}

/**
 * The fields of an IotHubMessage, checked at run time so that a field under another SDK's name
 * (`message_id`, `application_properties`) is an error naming ours, not silently dropped. The
 * values are judged where they are used (toMessageId and the encoder).
 */
const IOTHUB_MESSAGE_FIELDS = {
  body: opt.any,
  messageId: opt.any,
  correlationId: opt.any,
  contentType: opt.string,
  contentEncoding: opt.string,
  properties: opt.object,
  expiryTime: opt.instanceOf(Date, 'a Date'),
  creationTime: opt.instanceOf(Date, 'a Date'),
  userId: opt.any,
  annotations: opt.object,
} satisfies OptionSchema<IotHubMessage>;

/** A telemetry or C2D message whose body is `value` as JSON, `application/json` in `utf-8`. */
export function jsonMessage(value: unknown, extra: Omit<IotHubMessage, 'body'> = {}): IotHubMessage {
  checkOptions(extra, IOTHUB_MESSAGE_FIELDS, 'jsonMessage', 'field');
  return {
    ...extra,
    body: utf8Encode(JSON.stringify(value) ?? 'null'),
    contentType: extra.contentType ?? JSON_CONTENT_TYPE,
    contentEncoding: extra.contentEncoding ?? UTF8_CONTENT_ENCODING,
  };
}

/** The body's bytes: in Node a Buffer (the caller's own, or a view of its bytes), as before. */
function bodyOf(m: IotHubMessage): { bytes: Uint8Array; json: boolean } {
  const b = m.body;
  if (b === undefined) return { bytes: alloc(0), json: false };
  if (b instanceof Uint8Array) return { bytes: view(b), json: false };
  if (typeof b === 'string') return { bytes: utf8Encode(b), json: false };
  let text: string | undefined;
  try {
    text = JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (e) {
    throw new IotHubConfigError(
      `the message body cannot be written as JSON: ${(e as Error).message}`,
      'body',
    );
  }
  if (text === undefined) throw new IotHubConfigError('the message body cannot be written as JSON', 'body');
  return { bytes: utf8Encode(text), json: true };
}

/**
 * A message id as AMQP allows it (string, ulong, uuid, binary): a non-negative integer becomes a
 * ulong, any other number its decimal string; wrapped values are kept as they are.
 */
export function toMessageId(id: unknown): AmqpValue {
  if (typeof id === 'bigint') return id >= 0n ? ulong(id) : id.toString();
  if (typeof id === 'number') return Number.isSafeInteger(id) && id >= 0 ? ulong(id) : String(id);
  return id as AmqpValue;
}

/** Accepts the shorthand forms: bytes or a string alone. */
export function normalizeMessage(m: IotHubMessage | Uint8Array | string): IotHubMessage {
  return typeof m === 'string' || m instanceof Uint8Array ? { body: m } : m;
}

/**
 * The AMQP message for `m`: properties (message id, `to`, correlation id, content type and
 * encoding, expiry), application properties, a data body.
 */
export function toAmqpMessage(
  input: IotHubMessage | Uint8Array | string,
  options: { to?: string; applicationProperties?: Record<string, AmqpValue> } = {},
): Message {
  const m = normalizeMessage(input);
  if (typeof m !== 'object' || m === null) {
    throw new IotHubConfigError('a message must be an object, a Buffer or a string', 'message');
  }
  checkOptions(m, IOTHUB_MESSAGE_FIELDS, 'message', 'field');
  const { bytes, json } = bodyOf(m);
  const properties: MessageProperties = {
    messageId: m.messageId === undefined || m.messageId === null ? randomUUID() : toMessageId(m.messageId),
  };
  if (options.to !== undefined) properties.to = options.to;
  if (m.correlationId !== undefined) properties.correlationId = toMessageId(m.correlationId);
  const contentType = m.contentType ?? (json ? JSON_CONTENT_TYPE : undefined);
  const contentEncoding = m.contentEncoding ?? (json ? UTF8_CONTENT_ENCODING : undefined);
  if (contentType !== undefined) properties.contentType = contentType;
  if (contentEncoding !== undefined) properties.contentEncoding = contentEncoding;
  if (m.expiryTime !== undefined) properties.absoluteExpiryTime = m.expiryTime;
  if (m.creationTime !== undefined) properties.creationTime = m.creationTime;
  if (m.userId !== undefined) {
    properties.userId =
      typeof m.userId === 'string' ? (utf8Encode(m.userId) as Buffer) : (m.userId as Buffer);
  }
  // Own data properties, as the decoder makes them: a key such as '__proto__' (from JSON.parse)
  // is sent as a property, not turned into a prototype and lost.
  const app: Record<string, AmqpValue> = {};
  for (const [k, v] of Object.entries(m.properties ?? {})) {
    if (v !== undefined) putOwn(app, k, v);
  }
  for (const [k, v] of Object.entries(options.applicationProperties ?? {})) putOwn(app, k, v);
  const out: Message = { properties, body: bytes, bodyType: 'data' };
  if (Object.keys(app).length > 0) out.applicationProperties = app;
  if (m.annotations && Object.keys(m.annotations).length > 0) out.messageAnnotations = { ...m.annotations };
  return out;
}
