/**
 * The device twin on `/devices/{d}[/modules/{m}]/twin` (contract section 12).
 *
 * The device's sender carries requests (message annotations `operation` and `resource`, a string
 * correlation-id); its receiver gets the responses (the correlation-id echoed as it came, `status`
 * int and `version` long annotations) and, after a PUT, the desired-property pushes (no
 * correlation-id, the delta with `$version`). The two links are paired per connection and identity:
 * a response goes to the receiver with the same `com.microsoft:channel-correlation-id`, else to the
 * newest twin receiver of that identity on the connection. A request with no receiver to answer on
 * fails at once rather than leaving its client to wait out its timeout: unsettled (the C SDK's), it
 * is rejected with `amqp:precondition-failed`; presettled (the Node SDK's, ours), nothing can be said
 * of the one message, so the request link is detached with that condition and the client reattaches
 * its twin links (as it does after any twin link error).
 *
 * | operation | resource | answer |
 * |---|---|---|
 * | GET | | 200, `{desired, reported}` with `$metadata` and `$version`, `version` = the twin's |
 * | PATCH | `/properties/reported` | 204 once durable, `version` = the new reported `$version` |
 * | PUT | `/notifications/twin/properties/desired` | 200; desired changes are pushed from now on |
 * | DELETE | `/notifications/twin/properties/desired` | 200; no more pushes |
 * | anything else | | 400 |
 *
 * Errors are `status` >= 400 with IoT Hub's JSON `{errorCode, trackingId, message}`.
 *
 * Bounds: a request is at most {@link TWIN_REQUEST_MAX_MESSAGE_SIZE} (over it the link is detached);
 * the client's sender has 100 credits, so at most 100 requests are in flight per link; a receiver
 * that leaves more than {@link MAX_UNSENT_TWIN_MESSAGES} responses and pushes unsent (no credit) is
 * detached with `amqp:resource-limit-exceeded`: the device reattaches and reads the twin again.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '../../codec/message.js';
import type { AmqpValue } from '../../codec/values.js';
import { Condition } from '../../protocol/conditions.js';
import type { MessageSender } from '../../api/sender.js';
import type { ReceivedMessage } from '../../api/received-message.js';
import type { IncomingLink, ServerConnection } from '../../server/server-connection.js';
import { HubError, isHubError, iotHubErrorCode, statusOfHubError } from '../hub/errors.js';
import { identityKey } from '../hub/methods.js';
import { MAX_PROPERTIES_BYTES } from '../hub/twin.js';
import { entry, stringOf } from '../message-values.js';
import { acceptReceiverFirst, LINK_CREDIT, stringProp, type EmulatorContext } from './context.js';

/** A reported patch (32 KiB of JSON at most) with room for its annotations. */
export const TWIN_REQUEST_MAX_MESSAGE_SIZE = 2 * MAX_PROPERTIES_BYTES;
/** Responses and pushes a twin receiver may leave waiting for credit. */
export const MAX_UNSENT_TWIN_MESSAGES = 200;

export const DESIRED_RESOURCE = '/notifications/twin/properties/desired';
export const REPORTED_RESOURCE = '/properties/reported';

interface Responder {
  sender: MessageSender;
  channel: string | undefined;
}

/** The twin links of one identity on one connection. */
interface TwinChannel {
  responders: Responder[];
  /** Set while the device is subscribed to desired updates (a PUT). */
  unsubscribe: (() => void) | undefined;
}

// Per connection, per identity key. A WeakMap: a connection that is gone takes its channels along.
const channels = new WeakMap<ServerConnection, Map<string, TwinChannel>>();

/** The channel of an identity on a connection, made on first use. */
function channelOf(c: ServerConnection, key: string): TwinChannel {
  let byKey = channels.get(c);
  if (!byKey) channels.set(c, (byKey = new Map()));
  let ch = byKey.get(key);
  if (!ch) byKey.set(key, (ch = { responders: [], unsubscribe: undefined }));
  return ch;
}

function channelIdOf(l: IncomingLink): string | undefined {
  return stringOf(entry(l.remoteAttach.properties, 'com.microsoft:channel-correlation-id'));
}

/** The device's receiver: responses and desired pushes go out on it. */
export function serveTwinResponses(l: IncomingLink, deviceId: string, moduleId: string | undefined): void {
  const key = identityKey(deviceId, moduleId);
  const ch = channelOf(l.connection, key);
  const r: Responder = { sender: l.acceptSender(), channel: channelIdOf(l) };
  ch.responders.push(r);
  r.sender.once('close', () => {
    ch.responders.splice(ch.responders.indexOf(r), 1);
    if (ch.responders.length > 0) return;
    // Nothing left to push on: the subscription ends with the last receiver, and so does the channel.
    ch.unsubscribe?.();
    channels.get(l.connection)?.delete(key);
  });
}

/** The device's sender: requests. */
export function serveTwinRequests(
  ctx: EmulatorContext,
  l: IncomingLink,
  deviceId: string,
  moduleId: string | undefined,
): void {
  const key = identityKey(deviceId, moduleId);
  const channel = channelIdOf(l);
  const receiver = acceptReceiverFirst(l, {
    credit: LINK_CREDIT,
    maxMessageSize: TWIN_REQUEST_MAX_MESSAGE_SIZE,
  });
  // Looked up at each use: the receivers may come and go while this sender stays.
  const ch = (): TwinChannel => channelOf(l.connection, key);
  const responder = (): Responder | undefined => {
    const rs = ch().responders;
    return rs.find((r) => channel !== undefined && r.channel === channel) ?? rs[rs.length - 1];
  };

  const send = (r: Responder | undefined, m: Message): void => {
    if (!r) return ctx.log(`twin of ${key}: no twin receiver to answer on; dropped`);
    if (r.sender.pending >= MAX_UNSENT_TWIN_MESSAGES) {
      r.sender.link.detach({
        error: {
          condition: Condition.ResourceLimitExceeded,
          description: `more than ${MAX_UNSENT_TWIN_MESSAGES} twin messages wait for credit`,
        },
      });
      l.connection.schedule();
      return;
    }
    r.sender.send(m).catch(() => undefined); // presettled or not, nothing follows from its outcome
  };

  const answer = (
    correlationId: AmqpValue,
    status: number,
    version: number | undefined,
    body?: unknown,
  ): void => {
    const annotations: Record<string, AmqpValue> = { status };
    if (version !== undefined) annotations['version'] = BigInt(version);
    send(responder(), {
      properties: { correlationId },
      messageAnnotations: annotations,
      body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
    });
  };

  const fail = (correlationId: AmqpValue, e: unknown): void => {
    const code = isHubError(e) ? e.code : 'HUB_STORE_FAILED';
    if (!isHubError(e)) ctx.log(`twin of ${key}: ${String(e)}`);
    answer(correlationId, statusOfHubError(code), undefined, {
      errorCode: iotHubErrorCode(code),
      trackingId: randomUUID(),
      message: e instanceof Error ? e.message : String(e),
    });
  };

  const noReceiver = (rm: ReceivedMessage): void => {
    const error = {
      condition: Condition.PreconditionFailed,
      description: `no twin receiver of ${key} is attached on this connection to answer on`,
    };
    ctx.log(`twin of ${key}: a request with no twin receiver to answer on`);
    if (!rm.settled) return rm.reject(error);
    receiver.link.detach({ error });
    l.connection.schedule();
  };

  const take = async (rm: ReceivedMessage): Promise<void> => {
    if (responder() === undefined) return noReceiver(rm);
    const m = rm.message;
    settle(rm);
    const cid = m.properties?.correlationId;
    const op = stringProp(m, 'operation', 'messageAnnotations')?.toUpperCase();
    const resource = stringProp(m, 'resource', 'messageAnnotations');
    const state = ctx.state;
    try {
      if (op === 'GET') {
        return answer(cid, 200, state.twins.document(key).version, state.twins.deviceView(key));
      }
      if (op === 'PATCH' && resource?.toLowerCase() === REPORTED_RESOURCE) {
        const text = bodyText(m);
        let patch: unknown;
        try {
          patch = JSON.parse(text);
        } catch {
          return fail(cid, badArgument('the reported patch is not JSON'));
        }
        return answer(cid, 204, await state.patchReported(deviceId, moduleId, patch));
      }
      if ((op === 'PUT' || op === 'DELETE') && resource?.toLowerCase() === DESIRED_RESOURCE) {
        const c = ch();
        if (op === 'PUT' && c.responders.length > 0) {
          c.unsubscribe ??= state.twins.subscribeDesired(key, (delta, version) =>
            send(c.responders[c.responders.length - 1], {
              messageAnnotations: { version: BigInt(version) },
              body: Buffer.from(JSON.stringify(delta)),
            }),
          );
        } else if (op === 'DELETE') {
          c.unsubscribe?.();
          c.unsubscribe = undefined;
        }
        return answer(cid, 200, state.twins.document(key).version);
      }
      fail(
        cid,
        badArgument(`twin operation ${String(op)} on ${String(resource ?? 'the twin')} is not supported`),
      );
    } catch (e) {
      fail(cid, e);
    }
  };
  void (async () => {
    try {
      for await (const rm of receiver) void take(rm);
    } catch {
      // Link or connection gone.
    }
  })();
}

function badArgument(message: string): HubError {
  return new HubError('HUB_BAD_ARGUMENT', message);
}

function bodyText(m: Message): string {
  const b = m.body;
  if (b instanceof Uint8Array) return Buffer.from(b).toString('utf8');
  if (Array.isArray(b) && m.bodyType === 'data') return Buffer.concat(b as Uint8Array[]).toString('utf8');
  if (typeof b === 'string') return b;
  return '';
}

function settle(rm: ReceivedMessage): void {
  try {
    rm.accept();
  } catch {
    // Presettled (the SDKs' twin senders are), or the link went away.
  }
}
