/**
 * amqp-one/iothub: SAS tokens, connection strings and the IoT Hub clients. The local emulator is
 * amqp-one/iothub/emulator, so that a device that imports this never loads the hub, the server or
 * the certificate authority.
 */
export * from './errors.js';
export * from './sas.js';
export * from './connection-string.js';
export * from './client/index.js';
/** The same process-wide hook as `amqp-one`'s (one module, one logger). */
export {
  setLogger,
  type LogCategory,
  type LogFunction,
  type LogLevel,
  type LogRecord,
  type Logger,
} from '../util/logger.js';
