/** amqp-one/iothub: SAS tokens, connection strings, the IoT Hub clients and the local emulator. */
export * from './errors.js';
export * from './sas.js';
export * from './connection-string.js';
export * from './client/index.js';
export { startHub, IotHubEmulator, type StartHubOptions } from './emulator/index.js';
