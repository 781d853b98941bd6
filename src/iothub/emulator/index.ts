/**
 * amqp-one/iothub/emulator, the local Azure IoT Hub emulator: `startHub(options)` starts one,
 * faithful enough for the official Azure SDKs and uAMQP. docs/iothub-protocol.md is the wire
 * contract between it and the clients.
 * @packageDocumentation
 */
export {
  startHub,
  IotHubEmulator,
  DEFAULT_HUB_NAME,
  DEFAULT_FEEDBACK_BATCH_DELAY_MS,
  DEFAULT_GRANT_TIMEOUT_MS,
  HUB_IDLE_TIMEOUT_MS,
  HUB_WEBSOCKET_PATHS,
  type StartHubOptions,
} from './start-hub.js';
export {
  verifyToken,
  verifyPlain,
  parsePlainUser,
  grantAllows,
  scopeCovers,
  INVALID_SIGNATURE,
  EXPIRED,
  MAX_SAS_TOKEN_LIFETIME_MS,
  UNAUTHORIZED_LINK,
  type AuthConfig,
  type Grant,
  type GrantKind,
  type Resource,
  type TokenVerdict,
  type PlainUser,
} from './auth.js';
export type { Clock } from '../../util/timers.js';
export type { AccessRight } from '../hub/registry.js';
export type { C2dLimits } from '../hub/c2d.js';
export type { FeedbackLimits } from '../hub/feedback.js';
export type { ModuleInputLimits } from '../hub/module-inputs.js';
export { EPOCH_PROPERTY, RUNTIME_METRIC_CAPABILITY } from './events.js';
export { BATCH_MESSAGE_FORMAT } from './telemetry.js';
export { MAX_C2D_SIZE } from './c2d.js';
export { runHubCli, hubCommand, HUB_HELP, type CliIo } from './cli.js';
export {
  FaultInjector,
  faultOf,
  parseFaultSchedule,
  FAULT_OPERATIONS,
  FAULT_PROPERTIES,
  FAULT_HISTORY,
  MAX_FAULT_DELAY_S,
  MAX_FAULT_DURATION_S,
  MIN_FAULT_PERIOD_MS,
  type FaultOperation,
  type FaultRecord,
  type FaultRequest,
  type ScheduledFault,
} from './faults.js';
export { LINK_MAX_MESSAGE_SIZE, EVENTS_MAX_MESSAGE_SIZE, REQUEST_MAX_MESSAGE_SIZE } from './context.js';
export { MAX_GRANTS_PER_CONNECTION, MAX_PENDING_REPLIES } from './connection-state.js';
export { ListenError, type ListenErrorCode } from '../../transport/listen-on.js';
export {
  RouteTable,
  REST_API_VERSIONS,
  type RestMethod,
  type RestReply,
  type RestRequest,
  type RestRoute,
} from './rest-router.js';
export { RestError, REST_ERRORS, type RestErrorCode } from './rest-errors.js';
export { REST_MAX_BODY_BYTES, REST_REQUEST_TIMEOUT_MS } from './rest-server.js';
export { KEEP_ALIVE_MS, MAX_REQUESTS_PER_SOCKET } from './https-port.js';
