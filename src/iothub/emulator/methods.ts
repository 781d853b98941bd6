/**
 * Direct methods on `/devices/{d}[/modules/{m}]/methods/devicebound` (contract section 12).
 *
 * - The device's receiver is the subscription: while it is attached the hub's method dispatcher
 *   (hub/methods.ts) delivers each call on it, unsettled, with a uuid correlation-id,
 *   `IoThub-methodname` and the JSON payload in one data section. The newest receiver of an
 *   identity gets the calls.
 * - The device's sender carries the responses: the uuid correlation-id (a uuid-shaped string or 16
 *   bytes are taken too), `IoThub-status` (any integer type) and the JSON body. Each is accepted; one
 *   without a correlation-id or status is rejected with `com.microsoft:argument-error`, and a late
 *   answer (timed out, unknown) is accepted and dropped.
 *
 * Bounds: calls in flight per identity come from the dispatcher (100); a response is at most
 * {@link METHOD_RESPONSE_MAX_MESSAGE_SIZE} (over it the link is detached).
 */
import { uuid, Typed } from '../../codec/values.js';
import type { Message } from '../../codec/message.js';
import { Condition } from '../../protocol/conditions.js';
import type { IncomingLink } from '../../server/server-connection.js';
import type { ReceivedMessage } from '../../api/received-message.js';
import { identityKey, MAX_METHOD_PAYLOAD, type MethodRequest } from '../hub/methods.js';
import { entry } from '../message-values.js';
import { acceptReceiverFirst, LINK_CREDIT, type EmulatorContext } from './context.js';

/** A response's JSON (at most 128 KiB, IoT Hub's limit) and room for its properties. */
export const METHOD_RESPONSE_MAX_MESSAGE_SIZE = MAX_METHOD_PAYLOAD + 16 * 1024;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The device's request receiver: subscribes the identity until the link goes away. */
export function serveMethodRequests(
  ctx: EmulatorContext,
  l: IncomingLink,
  deviceId: string,
  moduleId: string | undefined,
): void {
  const sender = l.acceptSender();
  const key = identityKey(deviceId, moduleId);
  const deliver = (r: MethodRequest): void => {
    const m: Message = {
      properties: { correlationId: uuid(r.requestId) },
      applicationProperties: { 'IoThub-methodname': r.methodName },
      body: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
    };
    // The outcome does not matter: the answer comes on the device's sender, or the call times out.
    sender.send(m).catch((e: unknown) => ctx.log(`method ${r.methodName} to ${key}: ${String(e)}`));
  };
  // A link (or its session, connection or socket) the hub killed itself (faults.ts) takes no more
  // calls, though the device has not answered yet.
  const c = l.connection;
  const live = (): boolean =>
    sender.link.local === 'attached' &&
    sender.link.session.local === 'attached' &&
    c.engine.isOpen &&
    !c.socket.destroyed;
  const unsubscribe = ctx.state.methods.subscribe(key, deliver, live);
  sender.once('close', unsubscribe);
}

/** The device's response sender. */
export function serveMethodResponses(
  ctx: EmulatorContext,
  l: IncomingLink,
  deviceId: string,
  moduleId: string | undefined,
): void {
  const receiver = acceptReceiverFirst(l, {
    credit: LINK_CREDIT,
    maxMessageSize: METHOD_RESPONSE_MAX_MESSAGE_SIZE,
  });
  const key = identityKey(deviceId, moduleId);
  const take = (rm: ReceivedMessage): void => {
    const m = rm.message;
    const id = requestIdOf(m.properties?.correlationId);
    const status = statusOf(entry(m.applicationProperties, 'IoThub-status', true));
    if (id === undefined || status === undefined) {
      return settle(rm, {
        condition: 'com.microsoft:argument-error',
        description: 'a method response needs a uuid correlation-id and an integer IoThub-status',
      });
    }
    const body = rm.message.body;
    const payload =
      body instanceof Uint8Array
        ? body
        : Array.isArray(body) && m.bodyType === 'data'
          ? Buffer.concat(body as Uint8Array[])
          : new Uint8Array(0);
    if (payload.length > MAX_METHOD_PAYLOAD)
      return settle(rm, {
        condition: Condition.MessageSizeExceeded,
        description: `a method response is at most ${MAX_METHOD_PAYLOAD} bytes`,
      });
    if (!ctx.state.methods.respond(key, id, { status, payload }))
      ctx.log(`method response ${id} from ${key}: no such call in flight (late or unknown)`);
    settle(rm);
  };
  void (async () => {
    try {
      for await (const rm of receiver) take(rm);
    } catch {
      // Link or connection gone.
    }
  })();
}

function settle(rm: ReceivedMessage, error?: { condition: string; description: string }): void {
  try {
    if (error) rm.reject(error);
    else rm.accept();
  } catch {
    // Presettled, or the link went away.
  }
}

/** A request id in the dispatcher's form (lower-case uuid text) from the forms SDKs send back. */
function requestIdOf(v: unknown): string | undefined {
  if (v instanceof Typed && v.type === 'uuid') return String(v.value).toLowerCase();
  if (typeof v === 'string' && UUID_RE.test(v)) return v.toLowerCase();
  if (v instanceof Uint8Array && v.length === 16) return String(uuid(v).value);
  return undefined;
}

function statusOf(v: unknown): number | undefined {
  const x = v instanceof Typed ? v.value : v;
  const n = typeof x === 'bigint' ? Number(x) : x;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}
