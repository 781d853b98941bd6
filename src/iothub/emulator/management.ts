/**
 * `$management` on the Event Hubs-compatible endpoint (contract section 8): READ requests for the
 * event hub (`com.microsoft:eventhub`: name, created_at, partition_count, partition_ids) and for a
 * partition (`com.microsoft:partition`: begin/last sequence number, last offset, last enqueued
 * time, is_partition_empty). The caller needs ServiceConnect on the entity: a grant of the
 * connection (CBS or PLAIN) or the token in the request's `security_token` application property.
 */
import type { Message } from '../../codec/message.js';
import { AmqpArray } from '../../codec/values.js';
import type { IncomingLink } from '../../server/server-connection.js';
import { isHubError } from '../hub/errors.js';
import { grantAllows, verifyToken, type Resource } from './auth.js';
import { serveRequests } from './cbs.js';
import type { ConnectionState } from './connection-state.js';
import { stringProp, type EmulatorContext } from './context.js';

export function serveManagement(ctx: EmulatorContext, cs: ConnectionState, l: IncomingLink): void {
  serveRequests(ctx, cs, l, '$management', (req) => handleRead(ctx, cs, req));
}

function handleRead(
  ctx: EmulatorContext,
  cs: ConnectionState,
  req: Message,
): { status: number; description: string; body?: unknown } {
  const state = ctx.state;
  const op = stringProp(req, 'operation');
  if (op?.toUpperCase() !== 'READ')
    return { status: 400, description: `Unsupported operation ${op ?? '(none)'}.` };
  const name = stringProp(req, 'name') ?? state.eventHubName;
  if (name.toLowerCase() !== state.eventHubName.toLowerCase())
    return { status: 404, description: `The messaging entity ${name} could not be found.` };
  const now = ctx.clock.now();
  const resource: Resource = { path: `${name}/$management`, right: 'ServiceConnect', eventHubs: true };
  let allowed = cs.allows(resource, now);
  const token = stringProp(req, 'security_token');
  if (!allowed && token !== undefined) {
    const v = verifyToken(ctx.auth, token, now);
    if (!v.ok) return { status: v.status === 400 ? 400 : 401, description: v.description };
    cs.credentialSeen(); // a client that authenticates each request is not an idle stranger
    // The token may name the entity, its $management node, or the hub.
    allowed =
      grantAllows(v.grant, resource, now) ||
      grantAllows(v.grant, { ...resource, path: state.eventHubName }, now);
  }
  if (!allowed)
    return { status: 401, description: 'Unauthorized: no valid token for the management request.' };
  const type = stringProp(req, 'type');
  if (type === 'com.microsoft:eventhub') {
    const info = state.eventHubInfo();
    return {
      status: 200,
      description: 'OK',
      body: {
        name: info.name,
        type,
        created_at: info.createdAt,
        partition_count: info.partitionIds.length,
        partition_ids: new AmqpArray('string', info.partitionIds),
      },
    };
  }
  if (type === 'com.microsoft:partition') {
    const id = stringProp(req, 'partition') ?? '';
    try {
      const p = state.partitionInfo(id);
      return {
        status: 200,
        description: 'OK',
        body: {
          name: state.eventHubName,
          type,
          partition: p.partitionId,
          begin_sequence_number: BigInt(p.beginSequenceNumber),
          last_enqueued_sequence_number: BigInt(p.lastEnqueuedSequenceNumber),
          last_enqueued_offset: p.lastEnqueuedOffset,
          last_enqueued_time_utc: p.lastEnqueuedTimeUtc,
          is_partition_empty: p.isEmpty,
        },
      };
    } catch (e) {
      if (isHubError(e)) return { status: 404, description: `Partition ${id} not found: ${e.message}` };
      throw e;
    }
  }
  return { status: 400, description: `Unsupported management type ${type ?? '(none)'}.` };
}
