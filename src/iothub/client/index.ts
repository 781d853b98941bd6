/**
 * The IoT Hub clients: DeviceClient, ServiceClient, RegistryClient, and the pieces they are built from.
 * @packageDocumentation
 */
/** Thrown for options a client does not know or values of the wrong type (code AMQP_INVALID_ARGUMENT). */
export { InvalidArgumentError } from '../../api/errors.js';
export {
  DeviceClient,
  C2DStream,
  IOTHUB_API_VERSION,
  METHOD_CREDIT,
  MAX_QUEUED_METHOD_REQUESTS,
  MAX_QUEUED_DESIRED_UPDATES,
  MAX_MODEL_ID_LENGTH,
  MODEL_ID_PROPERTY,
  type DeviceClientOptions,
  type SendEventOptions,
} from './device-client.js';
export { DeviceClientBase } from './device-client-base.js';
export { nodeHubPlatform, sasKeyTokenProvider, userAgent } from './node-platform.js';
export type { HubPlatform } from './hub-platform.js';
export { QueueStream } from './queue-stream.js';
export { ModuleClient, MODULE_ENVIRONMENT } from './module-client.js';
export { DeviceMethodRequest, type MethodHandler, type MethodResult } from './methods.js';
export { type DeviceTwin, type TwinProperties, type DesiredUpdate } from './twin.js';
export {
  ServiceClient,
  FeedbackStream,
  SERVICE_C2D_ADDRESS,
  type ServiceClientOptions,
  type C2DSendOptions,
  type C2DSendResult,
} from './service-client.js';
export { C2DMessage, type C2DOutcome, type AckMode } from './c2d.js';
export { ModuleInputMessage, InputMessageStream } from './module-input.js';
export {
  FeedbackBatch,
  FEEDBACK_ADDRESS,
  FEEDBACK_CONTENT_TYPE,
  FEEDBACK_STATUS_CODES,
  parseFeedbackMessage,
  parseFeedbackRecord,
  parseFeedbackRecords,
  parseUtcTime,
  type FeedbackRecord,
  type FeedbackStatusCode,
  type ParsedFeedback,
} from './feedback.js';
export { EventStream, type EventsOptions } from './event-stream.js';
export {
  DEFAULT_CONSUMER_GROUP,
  SELECTOR_FILTER_CODE,
  SELECTOR_FILTER_NAME,
  endpointFromRedirect,
  eventFromMessage,
  eventJson,
  eventText,
  partitionAddress,
  selectorFilterExpression,
  selectorFilterSet,
  type EventHubEndpoint,
  type EventPosition,
  type EventSystemProperties,
  type IotHubEvent,
} from './events.js';
export {
  JSON_CONTENT_TYPE,
  UTF8_CONTENT_ENCODING,
  jsonMessage,
  toAmqpMessage,
  toMessageId,
  type IotHubMessage,
  type PropertyValue,
} from './message.js';
export {
  CBS_ADDRESS,
  CBS_REPLY_TO,
  DEFAULT_RENEW_AT_FRACTION,
  SAS_TOKEN_TYPE,
  CbsClient,
  CbsTokenRenewer,
  buildPutTokenRequest,
  checkPutTokenResponse,
  renewalDelayMs,
  responseStatus,
  type CbsClientOptions,
  type PutTokenRequestOptions,
  type TokenRenewalOptions,
  type CbsTokenRenewerEvents,
} from './cbs.js';
export {
  HubConnection,
  type CbsSasl,
  type HubAuth,
  type HubConnectionOptions,
  type HubConnectionState,
  type HubReconnectOptions,
  type HubConnectionEvents,
} from './hub-connection.js';
export type { HubClientEvents } from './hub-client.js';
export {
  EVENTHUB_TYPE,
  MANAGEMENT_ADDRESS,
  buildReadEventHubRequest,
  parseEventHubInfo,
  readEventHubInfo,
  type EventHubInfo,
} from './management.js';
export { MSSBCBS, mssbcbsClient } from './mssbcbs.js';
export {
  RegistryClient,
  REGISTRY_API_VERSION,
  DEFAULT_REST_TIMEOUT_MS,
  MAX_REST_SOCKETS,
  DEFAULT_METHOD_RESPONSE_TIMEOUT_S,
  generateSymmetricKey,
  type AuthenticationType,
  type CreateDeviceOptions,
  type DirectMethodParams,
  type DirectMethodResult,
  type IdentityAuthentication,
  type IdentityAuthSpec,
  type RegistryCallOptions,
  type RegistryClientOptions,
  type RegistryDevice,
  type RegistryModule,
  type RegistryTwin,
  type RegistryWriteOptions,
  type TwinPatch,
} from './registry-client.js';
export { MAX_REST_RESPONSE_BYTES, errorFromRestResponse, isLoopbackHost } from './rest-request.js';
export { RetryPolicy, isRetryableError, sleep, type RetryAttempt, type RetryPolicyOptions } from './retry.js';
export {
  fixedTokenProvider,
  signedTokenProvider,
  tokenInfoOf,
  type SasKeyTokenProviderOptions,
  type TokenInfo,
  type TokenProvider,
} from './token.js';
export {
  CLIENT_VERSION,
  userAgentOf,
  IOTHUB_WEBSOCKET_PATH,
  SERVICEBUS_WEBSOCKET_PATH,
  type IotHubClientOptions,
  type IotHubTransport,
} from './client-options.js';
