/**
 * amqp-one in a browser: `connect()` over the browser's WebSocket, the promise API, the engine and
 * the codec. Nothing it imports uses a Node module or the global Buffer, so a bundler needs no
 * polyfills; the server, the broker and Node's sockets are left out.
 * @packageDocumentation
 */
export * from './codec/index.js';
export { Condition } from './protocol/conditions.js';
export * from './protocol/errors.js';
export * from './engine/index.js';
export { parseAmqpUrl, type ParsedUrl } from './transport/url.js';
export {
  WebSocketError,
  WebSocketHandshakeError,
  type WebSocketErrorCode,
} from './transport/websocket/ws-errors.js';
export { connect, type BrowserConnectOptions } from './client/connect-browser.js';
export {
  AmqpConnection,
  AmqpSession,
  type ClientWebSocketOptions,
  type SenderOptions,
  type ReceiverOptions,
  type ReconnectOptions,
  type OpenWaitOptions,
  type AmqpConnectionEvents,
} from './client/amqp-connection.js';
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_OPEN_TIMEOUT_MS } from './api/deadline.js';
export { type CloseOptions, type ConnectionEvents } from './api/connection-core.js';
export {
  MessageSender,
  type MessageSenderEvents,
  type SendOptions,
  type ResendPolicy,
} from './api/sender.js';
export { TypedEmitter, type EventListener, type EventMap, type EventName } from './util/typed-emitter.js';
export {
  MessageReceiver,
  type ReceiverCreditOptions,
  type ReceiveOptions,
  type DrainOptions,
} from './api/receiver.js';
export { ReceivedMessage, type ModifyOptions } from './api/received-message.js';
export type { Settleable } from './api/outcomes.js';
export { TimeoutError, AbortError, ClosedError, InvalidArgumentError } from './api/errors.js';
export { realTimers, type Clock, type Timers } from './util/timers.js';
export {
  RequestResponseLink,
  idKey,
  type RequestResponseOptions,
  type RequestOptions,
} from './client/request-response.js';
export { setLogger } from './api/logging.js';
export type { LogCategory, LogFunction, LogLevel, LogRecord, Logger } from './util/logger.js';
