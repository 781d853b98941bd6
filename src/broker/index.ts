export {
  Broker,
  startBroker,
  DEFAULT_BROKER_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_BROKER_BYTES,
  DEFAULT_MAX_QUEUES,
  type BrokerOptions,
  type BrokerEvents,
} from './broker.js';
export {
  Queue,
  DEFAULT_MAX_QUEUE_MESSAGES,
  DEFAULT_MAX_QUEUE_BYTES,
  type QueueConsumer,
  type QueueLimits,
  type SharedBudget,
} from './queue.js';
export { StoredMessage } from './stored-message.js';
export { editMessage, deliveryCountOf, type MessageEdit } from './message-edit.js';
