/**
 * The IO-free engine as users see it: a Connection fed with `receive` and `tick`, drained with
 * `takeOutput` and `takeEvents`, and the sessions, links and deliveries it hands out. Members the
 * engine's classes use between themselves (frame writing, delivery ids, credit bookkeeping, input
 * handlers) carry the internal tag in their doc comments: callable inside this package, stripped
 * from its declarations (stripInternal), as Proton keeps them in engine-internal.h.
 * @packageDocumentation
 */
export { Connection, type ConnectionOptions } from '../connection/connection.js';
export type { EngineEvent } from '../connection/events.js';
export { Session, type SessionOptions } from '../session/session.js';
export {
  Link,
  Role,
  SenderSettleMode,
  ReceiverSettleMode,
  type EndpointState,
  type LinkOptions,
  type SourceOptions,
  type TargetOptions,
} from '../link/link.js';
export { Sender, type SendOptions as EngineSendOptions } from '../link/sender.js';
export { Receiver, ACCEPTED, RELEASED } from '../link/receiver.js';
export { Delivery } from '../link/delivery.js';
export * from '../sasl/mechanisms.js';
