/**
 * Typed errors of the hub state. Each carries a stable `code` and the AMQP error `condition` the
 * AMQP layer should put on the outcome (rejected), the detach or the response: the mapping lives
 * here, once, so the AMQP layer never has to guess.
 */
import { AmqpOneError } from '../../codec/errors.js';
import { Condition } from '../../protocol/conditions.js';
import { IotHubCondition } from '../conditions.js';

export type HubErrorCode =
  /** Telemetry over the size limit (256 KiB): answer `rejected` with this condition. */
  | 'HUB_MESSAGE_TOO_LARGE'
  /** The device's C2D queue already holds the maximum (50). */
  | 'HUB_QUEUE_FULL'
  /**
   * Telemetry refused: its partition (or the hub) holds as many events or bytes as its limits
   * allow, and accepted events are kept until their retention ends.
   */
  | 'HUB_QUOTA_EXCEEDED'
  /** No such device (or module) in the registry. */
  | 'HUB_DEVICE_NOT_FOUND'
  /** The device exists but is disabled. */
  | 'HUB_DEVICE_DISABLED'
  /** addDevice/addModule for an id that exists. */
  | 'HUB_DEVICE_EXISTS'
  /** A disposition for a lock token that was never issued or was already settled. */
  | 'HUB_LOCK_NOT_FOUND'
  /** A disposition for a lock that timed out (the message went back to the queue). */
  | 'HUB_LOCK_LOST'
  /** A C2D message whose `to` is not `/devices/{id}/messages/devicebound`. */
  | 'HUB_BAD_ADDRESS'
  /** A selector filter we cannot parse. */
  | 'HUB_BAD_FILTER'
  /** A bad argument: an invalid device id, an unknown partition, a bad option. */
  | 'HUB_BAD_ARGUMENT'
  /** A registry JSON document that does not have the expected shape. */
  | 'HUB_BAD_REGISTRY'
  /** The state directory was written with incompatible settings (e.g. another partition count). */
  | 'HUB_STATE_MISMATCH'
  /** Writing to the state directory failed: nothing more can be accepted durably. */
  | 'HUB_STORE_FAILED'
  /** The hub state was closed. */
  | 'HUB_CLOSED'
  /** A direct method for a device (or module) with no method link attached: IoT Hub's 404103. */
  | 'HUB_DEVICE_NOT_ONLINE'
  /** A direct method the device did not answer within its response timeout: IoT Hub's 504101. */
  | 'HUB_METHOD_TIMEOUT'
  /** Too many calls waiting for one device (or module): IoT Hub's throttling, 429. */
  | 'HUB_TOO_MANY_REQUESTS'
  /** A twin update whose etag is not the twin's: IoT Hub's 412. */
  | 'HUB_PRECONDITION_FAILED';

const CONDITION: Record<HubErrorCode, string> = {
  HUB_MESSAGE_TOO_LARGE: Condition.MessageSizeExceeded,
  HUB_QUEUE_FULL: Condition.ResourceLimitExceeded,
  HUB_QUOTA_EXCEEDED: IotHubCondition.QuotaExceeded,
  HUB_DEVICE_NOT_FOUND: Condition.NotFound,
  HUB_DEVICE_DISABLED: Condition.UnauthorizedAccess,
  HUB_DEVICE_EXISTS: IotHubCondition.PreconditionFailed,
  HUB_LOCK_NOT_FOUND: Condition.NotFound,
  HUB_LOCK_LOST: IotHubCondition.MessageLockLost,
  HUB_BAD_ADDRESS: IotHubCondition.ArgumentError,
  HUB_BAD_FILTER: IotHubCondition.ArgumentError,
  HUB_BAD_ARGUMENT: IotHubCondition.ArgumentError,
  HUB_BAD_REGISTRY: IotHubCondition.ArgumentError,
  HUB_STATE_MISMATCH: Condition.InternalError,
  HUB_STORE_FAILED: Condition.InternalError,
  HUB_CLOSED: Condition.InternalError,
  HUB_DEVICE_NOT_ONLINE: Condition.NotFound,
  HUB_METHOD_TIMEOUT: IotHubCondition.Timeout,
  HUB_TOO_MANY_REQUESTS: IotHubCondition.DeviceContainerThrottled,
  HUB_PRECONDITION_FAILED: IotHubCondition.PreconditionFailed,
};

/**
 * IoT Hub's numeric error codes (HTTP status * 1000 + a sub-code) for the errors that reach a
 * service or a twin response: the `errorCode` of its error JSON. Contract section 12.
 */
const IOTHUB_ERROR_CODE: Partial<Record<HubErrorCode, number>> = {
  HUB_BAD_ARGUMENT: 400004,
  HUB_DEVICE_NOT_FOUND: 404001,
  HUB_DEVICE_DISABLED: 401002,
  HUB_DEVICE_NOT_ONLINE: 404103,
  HUB_PRECONDITION_FAILED: 412002,
  HUB_TOO_MANY_REQUESTS: 429001,
  HUB_METHOD_TIMEOUT: 504101,
};

/** IoT Hub's numeric error code for a hub error (500001, internal, for any other). */
export function iotHubErrorCode(code: HubErrorCode): number {
  return IOTHUB_ERROR_CODE[code] ?? 500001;
}

/** The HTTP-style status of a hub error: the first three digits of its IoT Hub error code. */
export function statusOfHubError(code: HubErrorCode): number {
  return Math.floor(iotHubErrorCode(code) / 1000);
}

/** The AMQP error condition for a hub error code. */
export function conditionOf(code: HubErrorCode): string {
  return CONDITION[code];
}

export class HubError extends AmqpOneError {
  declare readonly code: HubErrorCode;
  declare readonly condition: string;
  constructor(code: HubErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, CONDITION[code], options);
  }
}

export function isHubError(e: unknown, code?: HubErrorCode): e is HubError {
  return e instanceof HubError && (code === undefined || e.code === code);
}
