export { Connection, type ConnectionOptions } from './connection.js';
export type { EngineEvent } from './events.js';
export { Condition } from '../protocol/conditions.js';
export * from '../protocol/errors.js';
