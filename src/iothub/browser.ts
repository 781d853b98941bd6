/**
 * amqp-one/iothub in a browser: the IoT Hub DeviceClient over the browser's WebSocket
 * (`wss://{HostName}/$iothub/websocket`), SAS tokens signed with Web Crypto, connection strings
 * and the typed errors. Nothing it imports uses a Node module or the global Buffer, so a bundler
 * needs no polyfills; the ServiceClient, the events reader and the emulator stay on Node.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './sas-token.js';
export { generateSasTokenWebCrypto, webCryptoSasSigner, type HmacSubtleCrypto } from './sas-web-crypto.js';
export * from './connection-string.js';
/** Thrown for options a client does not know or values of the wrong type (code AMQP_INVALID_ARGUMENT). */
export { InvalidArgumentError } from '../api/errors.js';
export { DeviceClient } from './client/browser-device-client.js';
export {
  DeviceClientBase,
  C2DStream,
  type DeviceClientOptions,
  type SendEventOptions,
} from './client/device-client-base.js';
export { browserHubPlatform, sasKeyTokenProvider } from './client/browser-platform.js';
export type { HubPlatform } from './client/hub-platform.js';
export type { HubClientEvents } from './client/hub-client.js';
export {
  HubConnection,
  type CbsSasl,
  type HubAuth,
  type HubConnectionOptions,
  type HubConnectionState,
  type HubReconnectOptions,
  type HubConnectionEvents,
} from './client/hub-connection.js';
export { C2DMessage, type C2DOutcome, type AckMode } from './client/c2d.js';
export {
  JSON_CONTENT_TYPE,
  UTF8_CONTENT_ENCODING,
  jsonMessage,
  toAmqpMessage,
  toMessageId,
  type IotHubMessage,
  type PropertyValue,
} from './client/message.js';
export {
  CBS_ADDRESS,
  CBS_REPLY_TO,
  DEFAULT_RENEW_AT_FRACTION,
  SAS_TOKEN_TYPE,
  CbsClient,
  CbsTokenRenewer,
  type CbsClientOptions,
  type TokenRenewalOptions,
  type CbsTokenRenewerEvents,
} from './client/cbs.js';
export { RetryPolicy, isRetryableError, type RetryAttempt, type RetryPolicyOptions } from './client/retry.js';
export {
  fixedTokenProvider,
  signedTokenProvider,
  tokenInfoOf,
  type SasKeyTokenProviderOptions,
  type TokenInfo,
  type TokenProvider,
} from './client/token.js';
export {
  CLIENT_VERSION,
  userAgentOf,
  IOTHUB_WEBSOCKET_PATH,
  type IotHubClientOptions,
  type IotHubTransport,
} from './client/client-options.js';
/** The same process-wide hook as `amqp-one/browser`'s (one module, one logger). */
export { setLogger } from '../api/logging.js';
export type { LogCategory, LogFunction, LogLevel, LogRecord, Logger } from '../util/logger.js';
