/**
 * amqp-one/codec: the AMQP 1.0 type system, composite types and messages.
 * @packageDocumentation
 */
export * from './values.js';
export {
  AmqpOneError,
  DecodeError,
  EncodeError,
  type DecodeErrorCode,
  type EncodeErrorCode,
} from './errors.js';
export { ByteWriter } from './byte-writer.js';
export { encodeValue, MAX_ENCODE_DEPTH } from './encoder.js';
export { Decoder, decodeValue, DEFAULT_MAX_DEPTH, type DecodeOptions, type MapForm } from './decoder.js';
export { compositeTypes, restrictedTypes, compositeByCode } from './spec/types.js';
export type { CompositeType, FieldSpec, RestrictedType } from './spec/types.js';
export { encodeComposite, decodeComposite, readComposite, compositeForCode } from './composite.js';
export type * from './spec/records.js';
export { encodeMessage, decodeMessage, writeMessage } from './message.js';
export type { Message, MessageHeader, MessageProperties, Annotations } from './message.js';
export { readMessage, MessageView } from './message-view.js';
export {
  MessageStreamParser,
  DEFAULT_MAX_SECTION_BYTES,
  type MessageStreamHandler,
  type MessageStreamOptions,
} from './message-stream.js';

import { ByteWriter } from './byte-writer.js';
import { encodeValue } from './encoder.js';
import type { AmqpValue } from './values.js';

/** Encodes one value into a new Buffer. */
export function encode(v: AmqpValue): Buffer {
  const w = new ByteWriter(64);
  encodeValue(w, v);
  return w.copy();
}
