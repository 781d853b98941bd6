/**
 * amqp-one/iothub: SAS tokens, connection strings and the IoT Hub clients. The local emulator is
 * amqp-one/iothub/emulator, so that a device that imports this never loads the hub, the server or
 * the certificate authority.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './sas.js';
export * from './connection-string.js';
export * from './client/index.js';
/** The same process-wide hook as `amqp-one`'s (one module, one logger). */
export { setLogger } from '../api/logging.js';
export type { LogCategory, LogFunction, LogLevel, LogRecord, Logger } from '../util/logger.js';
