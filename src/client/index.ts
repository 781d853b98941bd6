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
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_OPEN_TIMEOUT_MS } from '../api/deadline.js';
export { MessageSender, type SendOptions, type ResendPolicy } from '../api/sender.js';
export { MessageReceiver, type ReceiverCreditOptions, type ReceiveOptions } from '../api/receiver.js';
export { ReceivedMessage, type ModifyOptions } from '../api/received-message.js';
export { TimeoutError, AbortError, ClosedError, InvalidArgumentError } from '../api/errors.js';
export { realTimers, type Clock, type Timers } from '../util/timers.js';
export { RequestResponseLink, idKey, type RequestResponseOptions } from './request-response.js';
