/**
 * amqp-one: AMQP 1.0 in TypeScript. The codec is also available alone as `amqp-one/codec`.
 * @packageDocumentation
 */
export * from './codec/index.js';
export * from './frames/index.js';
export { Condition } from './protocol/conditions.js';
export * from './protocol/errors.js';
export * from './engine/index.js';
export { parseAmqpUrl, type ParsedUrl } from './transport/url.js';
export { openSocket, type TlsOptions, type SocketOptions } from './transport/open-socket.js';
export type { ByteStream, ByteStreamFactory } from './transport/byte-stream.js';
export { ProxyError, type ProxyErrorCode } from './transport/http-proxy.js';
export { openWebSocket, type WebSocketOptions } from './transport/websocket/ws-client.js';
export { DEFAULT_MAX_WS_MESSAGE } from './transport/websocket/ws-stream.js';
export {
  WebSocketError,
  WebSocketHandshakeError,
  type WebSocketErrorCode,
} from './transport/websocket/ws-errors.js';
export * from './client/index.js';
export * from './server/index.js';
export { setLogger } from './api/logging.js';
export type { LogCategory, LogFunction, LogLevel, LogRecord, Logger } from './util/logger.js';
