/** The Azure IoT Hub layer: SAS tokens, connection strings and their errors. */
export * from './errors.js';
export * from './sas.js';
export * from './connection-string.js';
