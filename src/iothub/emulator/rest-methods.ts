/**
 * Direct methods over REST (docs/iothub-rest.md), as azure-iothub 1.16's DeviceMethod sends them:
 *
 *   POST /twins/{id}/methods, POST /twins/{id}/modules/{mid}/methods      (ServiceConnect)
 *   {"methodName":"reboot","payload":<JSON>,"responseTimeoutInSeconds":30,"connectTimeoutInSeconds":0}
 *   -> 200 {"status":<the device's IoThub-status>,"payload":<the device's JSON>}
 *
 * The call goes through the hub's dispatcher (hub/methods.ts): an identity with no method link
 * is 404103 DeviceNotOnline (at once, or after `connectTimeoutInSeconds`), a device that does not
 * answer within `responseTimeoutInSeconds` is 504101 GatewayTimeout. The route's deadline is both
 * timeouts at their maximum and the server's ordinary deadline on top, so the dispatcher always
 * answers first. A client that hangs up leaves its call pending until its timeout, within the
 * dispatcher's bound of calls per identity.
 */
import type { HubState } from '../hub/hub.js';
import { MAX_METHOD_TIMEOUT_MS } from '../hub/methods.js';
import { RestError, restErrorOfHub } from './rest-errors.js';
import type { RestReply, RestRequest, RestRoute } from './rest-router.js';
import { REST_REQUEST_TIMEOUT_MS } from './rest-server.js';

/** A method route's deadline: connect and response timeouts at most 300 s each, and 30 s on top. */
export const METHOD_ROUTE_DEADLINE_MS = 2 * MAX_METHOD_TIMEOUT_MS + REST_REQUEST_TIMEOUT_MS;
/** azure-iothub's defaults when a field is absent. */
const DEFAULT_RESPONSE_TIMEOUT_S = 30;
const DEFAULT_CONNECT_TIMEOUT_S = 0;

/** What a method body asks for, its timeouts in ms (the dispatcher checks their range). */
export interface MethodCall {
  methodName: string;
  payload: Uint8Array;
  responseTimeoutMs: number;
  connectTimeoutMs: number;
}

function seconds(v: unknown, name: string, fallback: number): number {
  if (v === undefined || v === null) return fallback * 1000;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new RestError('ArgumentInvalid', `${name} must be a number`);
  return v * 1000;
}

/** Reads a method body; the payload is sent to the device as its JSON text (`null` when absent). */
export function methodCallOf(body: unknown): MethodCall {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new RestError('ArgumentNull', 'the request needs a method call as a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.methodName !== 'string' || b.methodName.length === 0)
    throw new RestError('ArgumentInvalid', 'methodName must be a non-empty string');
  return {
    methodName: b.methodName,
    payload: Buffer.from(JSON.stringify(b.payload ?? null)),
    responseTimeoutMs: seconds(
      b.responseTimeoutInSeconds,
      'responseTimeoutInSeconds',
      DEFAULT_RESPONSE_TIMEOUT_S,
    ),
    connectTimeoutMs: seconds(
      b.connectTimeoutInSeconds,
      'connectTimeoutInSeconds',
      DEFAULT_CONNECT_TIMEOUT_S,
    ),
  };
}

/** The device's answer as JSON: parsed, `null` when empty, its text when it is not JSON. */
export function methodPayloadJson(payload: Uint8Array): unknown {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  if (text.trim().length === 0) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The direct method routes on a hub state. */
export function methodRoutes(state: HubState): RestRoute[] {
  const invoke = async (req: RestRequest): Promise<RestReply> => {
    const id = req.params.deviceId!;
    const mid = req.params.moduleId;
    const device = state.registry.getDevice(id);
    if (!device) throw new RestError('DeviceNotFound', `Device ${id} not registered`);
    if (mid !== undefined && !device.modules.has(mid))
      throw new RestError('ModuleNotFound', `Module ${mid} not registered on device ${id}`);
    const call = methodCallOf(req.body);
    try {
      const r = await state.invokeMethod(id, mid, call.methodName, call.payload, {
        responseTimeoutMs: call.responseTimeoutMs,
        connectTimeoutMs: call.connectTimeoutMs,
      });
      return { status: 200, body: { status: r.status, payload: methodPayloadJson(r.payload) } };
    } catch (e) {
      throw restErrorOfHub(e);
    }
  };
  return ['/twins/{deviceId}/methods', '/twins/{deviceId}/modules/{moduleId}/methods'].map((pattern) => ({
    method: 'POST',
    pattern,
    right: 'ServiceConnect',
    body: true,
    deadlineMs: METHOD_ROUTE_DEADLINE_MS,
    handle: invoke,
  }));
}
