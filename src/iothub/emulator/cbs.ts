/**
 * CBS put-token on `$cbs` (contract section 3), on the IoT Hub and the Event Hubs-compatible
 * endpoints alike.
 *
 * - The request is settled (accepted) first, then answered, as the real hub does.
 * - The response's correlation-id is the request's message-id, of the same AMQP type (a string for
 *   the Node SDKs, a ulong for uAMQP and C: the decoded value is sent back as it came).
 * - `status-code` is an AMQP int (uAMQP gives up on a uint): 200, or 401 / 404 / 400 with the real
 *   hub's descriptions; `status-description` a string.
 * - A put-token for an audience the connection already holds replaces that grant: a renewal
 *   extends the authorization of the links already open.
 * - The request link's max-message-size is REQUEST_MAX_MESSAGE_SIZE (16 KiB): anyone may send here
 *   before authenticating, so a larger request detaches the link as its frames arrive.
 * - Bounds: a client holds tokens for at most MAX_GRANTS_PER_CONNECTION audiences (one more gets
 *   403); a request whose answers would pile up unread (MAX_PENDING_REPLIES) is rejected with
 *   amqp:resource-limit-exceeded instead of answered.
 * - The response goes to the client receiver named by reply-to, else to the receiver whose source
 *   is `$cbs` (uAMQP's `$cbs-receiver` sends no reply-to).
 */
import type { Message } from '../../codec/message.js';
import type { ReceivedMessage } from '../../api/received-message.js';
import type { IncomingLink } from '../../server/server-connection.js';
import { Condition } from '../../protocol/conditions.js';
import { verifyToken } from './auth.js';
import { MAX_GRANTS_PER_CONNECTION, MAX_PENDING_REPLIES, type ConnectionState } from './connection-state.js';
import {
  acceptReceiverFirst,
  LINK_CREDIT,
  REQUEST_MAX_MESSAGE_SIZE,
  stringProp,
  type EmulatorContext,
} from './context.js';

const TOKEN_TYPES = new Set(['servicebus.windows.net:sastoken', 'azure-devices.net:sastoken', 'jwt']);

/** A request/response link pair's request side: read requests and answer them. */
export function serveRequests(
  ctx: EmulatorContext,
  cs: ConnectionState,
  l: IncomingLink,
  node: string,
  handle: (request: Message) => { status: number; description: string; body?: unknown; props?: object },
): void {
  const receiver = acceptReceiverFirst(l, { credit: LINK_CREDIT, maxMessageSize: REQUEST_MAX_MESSAGE_SIZE });
  void (async () => {
    try {
      for await (const rm of receiver) answer(ctx, cs, rm, node, handle);
    } catch {
      // The link or the connection went away: nothing to answer any more.
    }
  })();
}

function answer(
  ctx: EmulatorContext,
  cs: ConnectionState,
  rm: ReceivedMessage,
  node: string,
  handle: (request: Message) => { status: number; description: string; body?: unknown; props?: object },
): void {
  let request: Message;
  try {
    request = rm.message;
  } catch (e) {
    rm.reject({ condition: Condition.DecodeError, description: String(e) });
    cs.connection.schedule();
    return;
  }
  const rt = request.properties?.replyTo;
  const replyTo = rt === undefined || rt === null ? undefined : String(rt);
  if (cs.repliesBacklogged(replyTo, node)) {
    rm.reject({
      condition: Condition.ResourceLimitExceeded,
      description: `${MAX_PENDING_REPLIES} responses on ${node} wait for the client to take them.`,
    });
    cs.connection.schedule();
    return;
  }
  rm.accept();
  cs.connection.schedule();
  let r: ReturnType<typeof handle>;
  try {
    r = handle(request);
  } catch (e) {
    r = { status: 500, description: e instanceof Error ? e.message : String(e) };
  }
  const response: Message = {
    properties: {
      correlationId: request.properties?.messageId ?? null,
      ...(replyTo === undefined ? {} : { to: replyTo }),
    },
    applicationProperties: {
      ...(r.props as object),
      'status-code': r.status,
      'status-description': r.description,
    },
    body: (r.body ?? null) as Message['body'],
    bodyType: 'value',
  };
  cs.reply(replyTo, node, response, ctx.log);
}

/** The `$cbs` node: put-token. */
export function serveCbs(ctx: EmulatorContext, cs: ConnectionState, l: IncomingLink): void {
  serveRequests(ctx, cs, l, '$cbs', (req) => {
    const op = stringProp(req, 'operation');
    if (op !== 'put-token')
      return { status: 400, description: `Unsupported CBS operation ${op ?? '(none)'}.` };
    const type = stringProp(req, 'type');
    if (type !== undefined && !TOKEN_TYPES.has(type.toLowerCase()))
      return { status: 400, description: `Unsupported token type ${type}.` };
    const body = req.body;
    const token =
      typeof body === 'string'
        ? body
        : Buffer.isBuffer(body) || body instanceof Uint8Array
          ? Buffer.from(body).toString('utf8')
          : undefined;
    if (token === undefined) return { status: 400, description: 'The put-token body must be the token.' };
    const v = verifyToken(ctx.auth, token, ctx.clock.now());
    const name = stringProp(req, 'name') ?? '';
    if (!v.ok) {
      ctx.log(`CBS put-token for ${name} refused (${v.status}): ${v.reason ?? v.description}`);
      return { status: v.status, description: v.description };
    }
    const key = `cbs:${name.toLowerCase()}`;
    if (!cs.grants.has(key) && cs.grants.size >= MAX_GRANTS_PER_CONNECTION) {
      ctx.log(`CBS put-token for ${name} refused: ${cs.grants.size} tokens on this connection`);
      return {
        status: 403,
        description: `Too many CBS tokens on this connection (${MAX_GRANTS_PER_CONNECTION}).`,
      };
    }
    cs.setGrant(key, v.grant);
    ctx.grantsChanged();
    return { status: 200, description: 'OK' };
  });
}
