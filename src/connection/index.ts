export { Connection, type ConnectionOptions } from './connection.js';
export type { EngineEvent } from './events.js';
export { Condition } from './conditions.js';
export * from './errors.js';
