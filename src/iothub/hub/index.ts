/**
 * # The local IoT Hub emulator's state and rules
 *
 * Pure logic: no sockets, no timers, time from an injected {@link Clock}. The AMQP surface (SASL,
 * CBS, links) sits on top and calls into a {@link HubState}. Contract:
 * ../../../docs/iothub-protocol.md, sections 4-8.
 *
 * ## Opening
 *
 * ```ts
 * const hub = await createHubState({ hubName: 'myhub', stateDir: '/var/hub', devices: ['d1'], clock });
 * ```
 * Without `stateDir` everything is in memory. With it, accepted telemetry, queued C2D messages,
 * feedback and the registry survive a restart or a kill -9 (append-only logs with CRC'd records,
 * group-committed fsync; torn tails are dropped on replay; see store.ts). In that mode a telemetry
 * event, a C2D message or a feedback batch becomes visible to readers only once it is on disk: the
 * `onAvailable` callbacks / cursor `wait` say when. A removal (complete, reject, expiry) is logged
 * after its feedback record is durable, so a crash in between redelivers rather than losing
 * feedback (at-least-once). `await hub.flush()` waits for every write; `await hub.close()` on
 * shutdown.
 *
 * ## Driving time
 *
 * Nothing happens on its own. The AMQP layer keeps one timer:
 * ```ts
 * let timer: NodeJS.Timeout | undefined;
 * const arm = () => {
 *   clearTimeout(timer);
 *   const at = hub.nextDeadline();
 *   if (at !== undefined) timer = setTimeout(() => { hub.tick(); arm(); }, Math.max(0, at - clock.now()));
 * };
 * hub.onDeadlineChange(arm);
 * arm();
 * ```
 * `tick(now)` runs C2D lock timeouts (redelivery) and TTLs (Expired feedback), cuts feedback
 * batches (64 records, or 15 s after the oldest pending one) and applies telemetry retention.
 *
 * ## What each link does (addresses: `parseHubAddress(address)`)
 *
 * - **Telemetry** (`deviceEvents`, device is sender): `await hub.sendTelemetry(deviceId, message,
 *   { moduleId, authMethod, size })` then settle `accepted`; on a `HubError`, settle `rejected` with
 *   `{ condition: err.condition, description: err.message }` (over 256 KiB:
 *   `amqp:link:message-size-exceeded`; a full partition or hub: `com.microsoft:quota-exceeded`, until
 *   retention frees space). The promise resolves only once the event is durable.
 * - **C2D to a device** (`deviceBound`, device is receiver): on credit, `hub.receiveC2d(deviceId)`
 *   gives a {@link C2dDelivery}: send `delivery.message` unsettled with tag `delivery.deliveryTag`
 *   (16 bytes, the lock token). When the queue is empty, wait with `hub.onC2dAvailable(deviceId, cb)`.
 *   Dispositions (ranges: once per delivery): `hub.settleC2d(deviceId, tag or lockToken,
 *   'complete' | 'reject' | 'abandon')` for accepted / rejected / released; a `HubError` there
 *   (`amqp:not-found`, `com.microsoft:message-lock-lost`) only needs logging. A device detaching
 *   with unsettled deliveries: abandon them (or let the 60 s lock run out).
 * - **Module input** (`deviceEvents` with a module, module is receiver): as C2D, with
 *   `hub.receiveInput(d, m)`, `hub.onInputAvailable(d, m, cb)` and `hub.settleInput(d, m, tag,
 *   outcome)`. A module's telemetry whose `iothub-outputname` a route takes (module-routes.ts) is
 *   queued for the target module too; a full input queue is `amqp:resource-limit-exceeded` on the
 *   sender's transfer.
 * - **Service C2D** (`serviceDeviceBound`, service is sender): `await hub.sendC2d(message)`; routed
 *   by `properties.to`; errors carry `amqp:not-found` (unknown device),
 *   `amqp:resource-limit-exceeded` (50 queued), `com.microsoft:argument-error` (bad `to`).
 * - **Feedback** (`feedback`, service is receiver): `hub.receiveFeedback()` /
 *   `hub.onFeedbackAvailable(cb)` / `hub.settleFeedback(tagOrToken, outcome)`, as for C2D.
 * - **Events redirect** (`eventsRedirect`): AMQP layer only; `hub.eventHubName` names the entity.
 * - **Event Hubs partition receiver** (`eventHubPartition`): `hub.consumerGroup(cg)` checks the
 *   group; `positionFromFilterSet(source.filter) ?? { kind: 'earliest' }` (throws HUB_BAD_FILTER);
 *   `const c = hub.openEventCursor(partition, position)`; on credit send `c.next()!.bytes` (already
 *   encoded, annotations stamped), else `c.wait(cb)`. Epochs and `amqp:link:stolen` are link-level.
 * - **Direct methods** (`methods`): the device's receiver subscribes,
 *   `hub.methods.subscribe(identityKey(d, m), deliver)`, and its sender's responses go to
 *   `hub.methods.respond(key, requestId, { status, payload })`; the service calls
 *   `hub.invokeMethod(d, m, name, payload, { responseTimeoutMs, connectTimeoutMs })`.
 * - **Twin** (`twin`): `hub.twins.deviceView(key)` for a GET, `await hub.patchReported(d, m, patch)`
 *   for a PATCH, `hub.twins.subscribeDesired(key, cb)` for a PUT; the service's side is
 *   `hub.getTwin(d, m)` and `hub.updateTwin(d, m, { tags, desired }, { etag, replace })`.
 * - **$management** READ: `hub.eventHubInfo()` and `hub.partitionInfo(id)`.
 * - **CBS / SASL**: `hub.registry.getPolicy(name)` (keys, rights: `policyAllows(name, right)`),
 *   `hub.registry.getDevice(id)` / `getModule(id, m)` (keys, status). Connection state:
 *   `hub.registry.setConnectionState(id, connected, moduleId?)`.
 *
 * All asynchronous operations report errors by rejecting (never by throwing synchronously); the
 * synchronous ones throw. Every error is a {@link HubError} with a stable `code` and the AMQP
 * `condition` to send.
 *
 * The components can also be used alone (each with `open({ clock, stateDir? })`,
 * `nextDeadline()`, `tick(now)`): {@link TelemetryStore}, {@link C2dStore}, {@link FeedbackStore},
 * {@link Registry}.
 */
export { systemClock, ManualClock, type Clock } from '../../util/timers.js';
export {
  HubError,
  isHubError,
  conditionOf,
  iotHubErrorCode,
  statusOfHubError,
  type HubErrorCode,
} from './errors.js';
export {
  MethodDispatcher,
  identityKey,
  DEFAULT_RESPONSE_TIMEOUT_MS,
  DEFAULT_MAX_PENDING_METHODS,
  MAX_METHOD_PAYLOAD,
  type MethodRequest,
  type MethodResult,
  type InvokeOptions,
  type MethodSubscriber,
  type MethodDispatcherOptions,
} from './methods.js';
export {
  TwinStore,
  etagOf,
  MAX_PROPERTIES_BYTES,
  MAX_TAGS_BYTES,
  MAX_TWIN_DEPTH,
  type TwinDocument,
  type TwinObject,
  type DesiredListener,
} from './twin.js';
export {
  createHubState,
  HubState,
  type HubStateOptions,
  type EventHubInfo,
  type TelemetryOptions,
} from './hub.js';
export {
  Registry,
  ALL_RIGHTS,
  DEFAULT_POLICIES,
  generateKey,
  generateGenerationId,
  isValidIdentityId,
  parseRegistryJson,
  serviceConnectionString,
  deviceConnectionString,
  type AccessRight,
  type DeviceStatus,
  type ConnectionState,
  type SharedAccessPolicy,
  type DeviceIdentity,
  type ModuleIdentity,
  type IdentitySpec,
  type RegistryJson,
  type DeviceJson,
  type ModuleJson,
  type PolicyJson,
  type RegistryOptions,
} from './registry.js';
export {
  TelemetryStore,
  StoredEvent,
  authMethodJson,
  MAX_TELEMETRY_SIZE,
  DEFAULT_RETENTION_MS,
  DEFAULT_MAX_EVENTS_PER_PARTITION,
  DEFAULT_MAX_PARTITION_BYTES,
  DEFAULT_MAX_TELEMETRY_BYTES,
  DEFAULT_EVENT_CACHE_BYTES,
  type AuthMethod,
  type AppendOptions,
  type PartitionInfo,
  type EventCursor,
} from './telemetry.js';
export { fnv1a32, partitionForDevice } from './partition-hash.js';
export {
  parseSelectorFilter,
  formatSelectorFilter,
  positionFromFilterSet,
  SELECTOR_FILTER_NAME,
  SELECTOR_FILTER_CODE,
  type EventPosition,
} from './filter.js';
export {
  C2dStore,
  C2D_DEFAULTS,
  type C2dLimits,
  type C2dMeta,
  type C2dDelivery,
  type C2dEntry,
  type C2dEnqueued,
  type C2dOptions,
} from './c2d.js';
export {
  ModuleInputStore,
  MODULE_INPUT_DEFAULTS,
  type ModuleInputLimits,
  type InputTarget,
  type InputDelivery,
  type InputEntry,
  type InputReservation,
} from './module-inputs.js';
export {
  parseModuleRoutes,
  MAX_MODULE_ROUTES,
  type ModuleRoute,
  type ModuleRouteJson,
} from './module-routes.js';
export {
  FeedbackStore,
  FEEDBACK_DEFAULTS,
  FEEDBACK_CONTENT_TYPE,
  FEEDBACK_DESCRIPTIONS,
  wantsFeedback,
  toFeedbackRecord,
  buildFeedbackMessage,
  type FeedbackStatusCode,
  type FeedbackOutcome,
  type FeedbackRecord,
  type FeedbackLimits,
  type FeedbackOptions,
  type FeedbackDelivery,
  type FeedbackEntry,
  type FeedbackMeta,
} from './feedback.js';
export * from './queue.js';
export { lockTagFromToken, lockTokenFromTag, normalizeLockToken } from './lock-token.js';
export { parseHubAddress, addressPath, deviceOfC2dAddress, type HubAddress } from './address.js';
export { ackModeOf, withMessageAnnotations, isSystemAnnotation, type AckMode } from './message-utils.js';
export { DeadlineHeap, type Timer } from './deadlines.js';
export {
  FileRecordLog,
  encodeRecord,
  decodeRecords,
  crc32,
  writeFileAtomic,
  readJsonFile,
  type LogRecord,
  type RecordMeta,
  type RecordSink,
} from './store.js';
