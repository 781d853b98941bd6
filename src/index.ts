/** amqp-one: AMQP 1.0 in TypeScript. The codec is also available alone as `amqp-one/codec`. */
export * from './codec/index.js';
export * from './frames/index.js';
export * from './connection/index.js';
export { Session, type SessionOptions } from './session/session.js';
export {
  Link,
  SenderSettleMode,
  ReceiverSettleMode,
  type LinkOptions,
  type SourceOptions,
  type TargetOptions,
} from './link/link.js';
export { Sender, type SendOptions as EngineSendOptions } from './link/sender.js';
export { Receiver, ACCEPTED, RELEASED } from './link/receiver.js';
export { Delivery } from './link/delivery.js';
export * from './sasl/mechanisms.js';
export { parseAmqpUrl, type ParsedUrl } from './transport/url.js';
export { openSocket, type TlsOptions, type SocketOptions } from './transport/open-socket.js';
export * from './client/index.js';
export * from './server/index.js';
