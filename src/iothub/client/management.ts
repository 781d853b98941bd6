/**
 * `$management` READ on an Event Hubs(-compatible) endpoint (contract section 8): the event hub's
 * partition ids.
 */
import { randomUUID } from 'node:crypto';
import type { AmqpConnection } from '../../client/connect.js';
import { RequestResponseLink } from '../../client/request-response.js';
import type { Message } from '../../codec/message.js';
import { AmqpArray, type AmqpValue } from '../../codec/values.js';
import { BadResponseError, errorFromStatus, toIotHubError } from '../errors.js';
import { entry, idText, stringOf } from '../message-values.js';
import { dateOf } from './amqp-utils.js';
import { responseStatus } from './cbs.js';

/** The management node: where the partition ids are read. */
export const MANAGEMENT_ADDRESS = '$management';
/** The entity type of a READ request on an event hub. */
export const EVENTHUB_TYPE = 'com.microsoft:eventhub';

/** What `$management` says of the Event Hubs-compatible endpoint: its name and partitions. */
export interface EventHubInfo {
  name: string;
  createdAt?: Date;
  partitionIds: string[];
}

/** The READ request for an event hub's runtime information. */
export function buildReadEventHubRequest(entityPath: string, securityToken?: string): Message {
  const ap: Record<string, AmqpValue> = { operation: 'READ', name: entityPath, type: EVENTHUB_TYPE };
  if (securityToken !== undefined) ap.security_token = securityToken;
  return { properties: { messageId: randomUUID(), to: MANAGEMENT_ADDRESS }, applicationProperties: ap };
}

function list(v: AmqpValue): AmqpValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof AmqpArray) return v.items;
  return undefined;
}

/** Reads a READ response: status 2xx and a map body with `partition_ids`. */
export function parseEventHubInfo(response: Message, entityPath: string): EventHubInfo {
  const { statusCode, description } = responseStatus(response);
  if (statusCode !== undefined && (statusCode < 200 || statusCode >= 300)) {
    throw errorFromStatus(statusCode, description);
  }
  const body = response.body;
  if (typeof body !== 'object' || body === null || body instanceof Uint8Array || Array.isArray(body)) {
    throw new BadResponseError({ description: 'the $management READ response body is not a map' });
  }
  const map = body as Map<AmqpValue, AmqpValue> | Record<string, AmqpValue>;
  const ids = list(entry(map, 'partition_ids'));
  if (!ids) throw new BadResponseError({ description: 'the $management READ response has no partition_ids' });
  const info: EventHubInfo = {
    name: stringOf(entry(map, 'name')) ?? entityPath,
    partitionIds: ids.map((i) => idText(i) ?? String(i)),
  };
  const created = dateOf(entry(map, 'created_at'));
  if (created) info.createdAt = created;
  return info;
}

/** Asks `$management` for the event hub's partition ids (opens and closes its own links). */
export async function readEventHubInfo(
  conn: AmqpConnection,
  entityPath: string,
  options: { securityToken?: string; timeoutMs?: number } = {},
): Promise<EventHubInfo> {
  let link: RequestResponseLink | undefined;
  try {
    link = await RequestResponseLink.open(conn, {
      address: MANAGEMENT_ADDRESS,
      replyTo: `mgmt-${randomUUID()}`,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    const response = await link.request(buildReadEventHubRequest(entityPath, options.securityToken));
    return parseEventHubInfo(response, entityPath);
  } catch (e) {
    throw toIotHubError(e);
  } finally {
    await link?.close().catch(() => undefined);
  }
}
