export {
  FRAMING_ERROR_CONDITION,
  FramingError,
  ProtocolHeaderMismatchError,
  type FramingErrorCode,
  type HeaderMismatchReason,
} from '../protocol/framing-errors.js';
export {
  AMQP_HEADER,
  PROTOCOL_HEADER_SIZE,
  PROTOCOL_ID_AMQP,
  PROTOCOL_ID_SASL,
  PROTOCOL_ID_TLS,
  SASL_HEADER,
  TLS_HEADER,
  parseProtocolHeader,
  writeProtocolHeader,
  type ProtocolHeader,
  type ProtocolId,
} from './protocol-header.js';
export {
  FRAME_HEADER_SIZE,
  FRAME_TYPE_AMQP,
  FRAME_TYPE_SASL,
  MAX_FRAME_SIZE_LIMIT,
  MIN_MAX_FRAME_SIZE,
  beginFrame,
  endFrame,
  frameRoom,
  maxPayloadSize,
  writeEmptyFrame,
  writeFrame,
  type BodyWriter,
  type FrameType,
} from './frame-writer.js';
export { FrameReader, type Frame, type FrameReaderOptions } from './frame-reader.js';
