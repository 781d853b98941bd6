export {
  connect,
  AmqpConnection,
  AmqpSession,
  type ConnectOptions,
  type ClientWebSocketOptions,
  type SenderOptions,
  type ReceiverOptions,
  type StreamingReceiverOptions,
  type ReconnectOptions,
  type OpenWaitOptions,
  type AmqpConnectionEvents,
} from './connect.js';
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_OPEN_TIMEOUT_MS } from '../api/deadline.js';
export { type CloseOptions } from '../api/connection-core.js';
export {
  MessageSender,
  type MessageSenderEvents,
  type SendOptions,
  type SendCallback,
  type ResendPolicy,
} from '../api/sender.js';
export type { ConnectionEvents } from '../api/connection-core.js';
export { TypedEmitter, type EventListener, type EventMap, type EventName } from '../util/typed-emitter.js';
export {
  MessageReceiver,
  type ReceiverCreditOptions,
  type ReceiveOptions,
  type DrainOptions,
} from '../api/receiver.js';
export { ReceivedMessage, type ModifyOptions } from '../api/received-message.js';
export type { Settleable } from '../api/outcomes.js';
export { StreamingReceiver, DEFAULT_STREAM_WINDOW } from '../api/streaming-receiver.js';
export { StreamedMessage } from '../api/streamed-message.js';
export {
  STREAM_BLOCK,
  STREAM_HIGH_WATER,
  type SendStreamOptions,
  type StreamSource,
} from '../api/stream-send.js';
export {
  TimeoutError,
  AbortError,
  ClosedError,
  InvalidArgumentError,
  MessageStreamError,
  type MessageStreamErrorCode,
} from '../api/errors.js';
export { realTimers, type Clock, type Timers } from '../util/timers.js';
export {
  RequestResponseLink,
  idKey,
  type RequestResponseOptions,
  type RequestOptions,
} from './request-response.js';
