export { Broker, startBroker, DEFAULT_BROKER_MAX_MESSAGE_SIZE, type BrokerOptions } from './broker.js';
export { Queue, type QueueConsumer } from './queue.js';
export { StoredMessage } from './stored-message.js';
export { editMessage, deliveryCountOf, type MessageEdit } from './message-edit.js';
