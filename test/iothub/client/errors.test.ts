import { describe, expect, test } from 'vitest';
import { TimeoutError } from '../../../src/api/errors.js';
import {
  AuthenticationError,
  DisconnectedError,
  LinkError,
  RedirectError,
} from '../../../src/protocol/errors.js';
import {
  ArgumentError,
  BatchSendError,
  ConnectionForcedError,
  DeviceNotFoundError,
  InternalServerError,
  IotHubError,
  IotHubNotFoundError,
  IotHubSuspendedError,
  IotHubTimeoutError,
  LinkDetachedError,
  LinkStolenError,
  MessageLockLostError,
  MessageTooLargeError,
  NotAllowedError,
  NotConnectedError,
  PreconditionFailedError,
  ProxyFailedError,
  QuotaExceededError,
  RedirectedError,
  ResourceLockedError,
  ThrottledError,
  UnauthorizedError,
  WebSocketRefusedError,
  errorFromCondition,
  errorFromStatus,
  toIotHubError,
} from '../../../src/iothub/errors.js';
import { AmqpOneError } from '../../../src/codec/errors.js';
import { errorFromRestResponse } from '../../../src/iothub/client/rest-request.js';
import { DeviceAlreadyExistsError } from '../../../src/iothub/errors.js';
import { ProxyError, type ProxyErrorCode } from '../../../src/transport/http-proxy.js';
import { WebSocketHandshakeError } from '../../../src/transport/websocket/ws-errors.js';

describe('errors of the hub (contract section 9)', () => {
  test.each([
    ['amqp:unauthorized-access', UnauthorizedError, false],
    ['amqp:not-found', DeviceNotFoundError, false],
    ['amqp:resource-limit-exceeded', QuotaExceededError, false],
    ['amqp:not-allowed', NotAllowedError, false],
    ['amqp:internal-error', InternalServerError, true],
    ['amqp:link:message-size-exceeded', MessageTooLargeError, false],
    ['amqp:link:detach-forced', LinkDetachedError, true],
    ['amqp:link:stolen', LinkStolenError, true],
    ['amqp:link:redirect', RedirectedError, true],
    ['amqp:connection:forced', ConnectionForcedError, true],
    ['amqp:resource-locked', ResourceLockedError, true],
    ['com.microsoft:timeout', IotHubTimeoutError, true],
    ['com.microsoft:device-container-throttled', ThrottledError, true],
    ['com.microsoft:message-lock-lost', MessageLockLostError, false],
    ['com.microsoft:iot-hub-suspended', IotHubSuspendedError, false],
    ['com.microsoft:iot-hub-not-found-error', IotHubNotFoundError, false],
    ['com.microsoft:argument-error', ArgumentError, false],
    ['com.microsoft:precondition-failed', PreconditionFailedError, false],
    ['com.microsoft:quota-exceeded', QuotaExceededError, false],
  ] as const)('%s -> %s', (condition, Ctor, retryable) => {
    const e = errorFromCondition({
      condition,
      description: 'why',
      info: { 'com.microsoft:tracking-id': 't-1' },
    });
    expect(e).toBeInstanceOf(Ctor);
    expect(e).toBeInstanceOf(IotHubError);
    expect(e.retryable).toBe(retryable);
    expect(e.condition).toBe(condition);
    expect(e.description).toBe('why');
    expect(e.trackingId).toBe('t-1');
    expect(e.message).toContain('why');
  });

  test('unknown conditions: a plain IotHubError, retryable only when it looks transient; Map info', () => {
    const e = errorFromCondition({ condition: 'com.microsoft:something-new' });
    expect(e.constructor).toBe(IotHubError);
    expect(e.retryable).toBe(false);
    expect(errorFromCondition({ condition: 'com.microsoft:server-busy' }).retryable).toBe(true);
    const m = errorFromCondition({
      condition: 'amqp:not-found',
      info: new Map([['com.microsoft:tracking-id', 'x']]),
    });
    expect(m.trackingId).toBe('x');
  });

  test('status codes', () => {
    expect(errorFromStatus(401, 'expired')).toBeInstanceOf(UnauthorizedError);
    expect(errorFromStatus(400, 'bad')).toBeInstanceOf(ArgumentError);
    expect(errorFromStatus(404, undefined)).toBeInstanceOf(DeviceNotFoundError);
    expect(errorFromStatus(429, undefined)).toBeInstanceOf(ThrottledError);
    const e = errorFromStatus(503, 'busy');
    expect(e).toBeInstanceOf(InternalServerError);
    expect(e.retryable).toBe(true);
    expect(e.statusCode).toBe(503);
  });

  test('toIotHubError maps what the AMQP layers throw', () => {
    expect(
      toIotHubError(new LinkError({ condition: 'amqp:not-found', description: 'no device' }, true)),
    ).toBeInstanceOf(DeviceNotFoundError);
    const redirect = new RedirectError('link', { condition: 'amqp:link:redirect', info: { hostname: 'h' } });
    expect(toIotHubError(redirect)).toBeInstanceOf(RedirectedError);
    expect(
      toIotHubError(new AuthenticationError('AMQP_SASL_AUTH_FAILED', 'SASL PLAIN failed', 1)),
    ).toBeInstanceOf(UnauthorizedError);
    expect(toIotHubError(new TimeoutError('no outcome'))).toBeInstanceOf(IotHubTimeoutError);
    const lost = toIotHubError(new DisconnectedError());
    expect(lost).toBeInstanceOf(NotConnectedError);
    expect((lost as IotHubError).retryable).toBe(true);
    expect(toIotHubError(new AmqpOneError('AMQP_MESSAGE_TOO_LARGE', 'big'))).toBeInstanceOf(
      MessageTooLargeError,
    );
    const plain = new Error('x');
    expect(toIotHubError(plain)).toBe(plain);
    const own = new ThrottledError();
    expect(toIotHubError(own)).toBe(own);
    const cause = new LinkError({ condition: 'amqp:link:stolen' }, true);
    expect((toIotHubError(cause) as Error).cause).toBe(cause);
  });

  test('BatchSendError lists the failures', () => {
    const e = new BatchSendError([undefined, new ThrottledError(), undefined]);
    expect(e.errors).toHaveLength(3);
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(/1 of 3/);
    expect(new BatchSendError([new UnauthorizedError(), new ThrottledError()]).retryable).toBe(false);
  });
});

describe('transport failures of proxies and WebSocket upgrades', () => {
  const proxy = (code: ProxyErrorCode, status?: number) =>
    toIotHubError(new ProxyError(code, '127.0.0.1:3128', 'refused', status));

  test.each([
    ['AMQP_PROXY_REFUSED', 407, false],
    ['AMQP_PROXY_REFUSED', 403, false],
    ['AMQP_PROXY_REFUSED', 502, true],
    ['AMQP_PROXY_REFUSED', 503, true],
    ['AMQP_PROXY_UNREACHABLE', undefined, true],
    ['AMQP_PROXY_BAD_RESPONSE', undefined, false],
  ] as const)('%s %s is ProxyFailedError, retryable %s', (code, status, retryable) => {
    const e = proxy(code, status);
    expect(e).toBeInstanceOf(ProxyFailedError);
    expect(e).toMatchObject({ code: 'IOTHUB_PROXY_FAILED', statusCode: status, retryable });
    expect((e as Error).message).toContain('127.0.0.1:3128');
    expect((e as Error).cause).toBeInstanceOf(ProxyError);
  });

  test.each([
    [404, false],
    [400, false],
    [101, false], // upgraded, but to no AMQP subprotocol
    [429, true],
    [503, true],
  ])('an upgrade answered %s is WebSocketRefusedError, retryable %s', (status, retryable) => {
    const e = toIotHubError(new WebSocketHandshakeError(status, `answered ${status}`));
    expect(e).toBeInstanceOf(WebSocketRefusedError);
    expect(e).toMatchObject({ code: 'IOTHUB_WEBSOCKET_REFUSED', statusCode: status, retryable });
  });

  test('an upgrade cut off before any answer is a lost connection', () => {
    const e = toIotHubError(new WebSocketHandshakeError(0, 'closed during the handshake'));
    expect(e).toBeInstanceOf(NotConnectedError);
    expect((e as NotConnectedError).retryable).toBe(true);
  });
});

describe('REST error bodies (errorFromRestResponse)', () => {
  const body = (name: string, text: string) =>
    JSON.stringify({
      Message: `ErrorCode:${name};${text}`,
      ExceptionMessage: 'Tracking ID:0123456789abcdef0123456789abcdef-G:11-TimeStamp:07/16/2016 00:12:41',
    });

  test.each([
    [400, 'ArgumentInvalid', 'IOTHUB_ARGUMENT_ERROR', false],
    [401, 'IotHubUnauthorizedAccess', 'IOTHUB_UNAUTHORIZED', false],
    [403, 'IotHubQuotaExceeded', 'IOTHUB_QUOTA_EXCEEDED', false],
    [404, 'DeviceNotFound', 'IOTHUB_DEVICE_NOT_FOUND', false],
    [404, 'ModuleNotFound', 'IOTHUB_DEVICE_NOT_FOUND', false],
    [404, 'IotHubNotFound', 'IOTHUB_NOT_FOUND', false],
    [404, 'DeviceNotOnline', 'IOTHUB_DEVICE_NOT_ONLINE', false],
    [408, 'RequestTimedOut', 'IOTHUB_TIMEOUT', true],
    [409, 'DeviceAlreadyExists', 'IOTHUB_DEVICE_ALREADY_EXISTS', false],
    [412, 'PreconditionFailed', 'IOTHUB_PRECONDITION_FAILED', false],
    [413, 'RequestEntityTooLarge', 'IOTHUB_MESSAGE_TOO_LARGE', false],
    [429, 'ThrottlingException', 'IOTHUB_THROTTLED', true],
    [500, 'ServerError', 'IOTHUB_INTERNAL_ERROR', true],
    [503, 'ServiceUnavailable', 'IOTHUB_INTERNAL_ERROR', true],
    [504, 'GatewayTimeout', 'IOTHUB_TIMEOUT', true],
    [418, 'Teapot', 'IOTHUB_ERROR', false],
  ] as const)('%s %s -> %s (retryable %s)', (status, name, code, retryable) => {
    const e = errorFromRestResponse(status, body(name, 'what happened'));
    expect(e).toMatchObject({
      code,
      retryable,
      statusCode: status,
      description: `${name}: what happened`,
      trackingId: '0123456789abcdef0123456789abcdef',
    });
  });

  test('the 409 the real hub sent (azure-iot-sdks #711) is DeviceAlreadyExistsError', () => {
    const e = errorFromRestResponse(
      409,
      '{"Message":"ErrorCode:DeviceAlreadyExists;Conflict","ExceptionMessage":"Tracking ID:e4cb4b6c18f4462fbe2c1a2d02d7dbe4-G:11-TimeStamp:07/16/2016 00:12:41"}',
    );
    expect(e).toBeInstanceOf(DeviceAlreadyExistsError);
    expect(e.trackingId).toBe('e4cb4b6c18f4462fbe2c1a2d02d7dbe4');
  });

  test("a known name carries IoT Hub's number; an unknown one none", () => {
    expect(errorFromRestResponse(404, body('DeviceNotOnline', 'x')).hubErrorCode).toBe(404103);
    expect(errorFromRestResponse(404, body('DeviceNotFound', 'x')).hubErrorCode).toBe(404001);
    expect(errorFromRestResponse(418, body('Teapot', 'x')).hubErrorCode).toBeUndefined();
  });

  test("the real hub's direct-method errors, a JSON error inside Message (azure-iot-cli-extension #54, iotedge #98)", () => {
    const nested = (errorCode: number, message: string) =>
      JSON.stringify({
        Message: JSON.stringify({
          errorCode,
          trackingId: 'dde6cb7b025443d0a26e370e517d43db-G:11-TimeStamp:11/07/2018 09:22:57',
          message,
          info: { timeout: '00:01:00' },
          timestampUtc: '2018-11-07T09:22:57.6054134Z',
        }),
        ExceptionMessage: '',
      });
    expect(
      errorFromRestResponse(404, nested(404103, 'Timed out waiting for device to connect.')),
    ).toMatchObject({
      code: 'IOTHUB_DEVICE_NOT_ONLINE',
      hubErrorCode: 404103,
      description: 'DeviceNotOnline: Timed out waiting for device to connect.',
      trackingId: 'dde6cb7b025443d0a26e370e517d43db-G:11-TimeStamp:11/07/2018 09:22:57',
    });
    expect(
      errorFromRestResponse(504, nested(504101, 'Timed out waiting for the response from device.')),
    ).toMatchObject({
      code: 'IOTHUB_TIMEOUT',
      hubErrorCode: 504101,
    });
    expect(errorFromRestResponse(404, nested(404999, 'Something new.'))).toMatchObject({
      code: 'IOTHUB_DEVICE_NOT_FOUND',
      hubErrorCode: 404999,
      description: 'Something new.',
    });
  });

  test('a body that is not IoT Hub JSON keeps its start as the description', () => {
    expect(errorFromRestResponse(502, '<html>bad gateway</html>')).toMatchObject({
      code: 'IOTHUB_INTERNAL_ERROR',
      description: '<html>bad gateway</html>',
    });
    expect(errorFromRestResponse(404, '')).toMatchObject({
      code: 'IOTHUB_DEVICE_NOT_FOUND',
      description: undefined,
    });
  });
});
