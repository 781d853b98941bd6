/**
 * The error conditions IoT Hub and Event Hubs send beyond the spec's own (those are `Condition` in
 * src/protocol). The hub state, the emulator and the clients' error mapping all read them here.
 */
export const IotHubCondition = {
  ArgumentError: 'com.microsoft:argument-error',
  DeviceContainerThrottled: 'com.microsoft:device-container-throttled',
  IotHubNotFound: 'com.microsoft:iot-hub-not-found-error',
  IotHubSuspended: 'com.microsoft:iot-hub-suspended',
  MessageLockLost: 'com.microsoft:message-lock-lost',
  PreconditionFailed: 'com.microsoft:precondition-failed',
  QuotaExceeded: 'com.microsoft:quota-exceeded',
  Timeout: 'com.microsoft:timeout',
} as const;
