export {
  connect,
  AmqpConnection,
  AmqpSession,
  type ConnectOptions,
  type SenderOptions,
  type ReceiverOptions,
  type ReconnectOptions,
  type OpenWaitOptions,
} from './connect.js';
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_OPEN_TIMEOUT_MS } from './deadline.js';
export { MessageSender, type SendOptions, type ResendPolicy } from './sender.js';
export { MessageReceiver, type ReceiverCreditOptions } from './receiver.js';
export { ReceivedMessage, type ModifyOptions } from './received-message.js';
export { TimeoutError, AbortError, ClosedError, InvalidArgumentError } from './errors.js';
export { realTimers, type Timers } from './timers.js';
export { RequestResponseLink, idKey, type RequestResponseOptions } from './request-response.js';
