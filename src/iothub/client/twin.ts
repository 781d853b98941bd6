/**
 * The device side of the twin (contract section 12): requests with a string correlation-id and the
 * `operation` / `resource` annotations, their responses matched by that id, and desired-property
 * pushes (no correlation-id) told apart from them. Link handling and reconnect live in
 * DeviceClient; this file is the protocol.
 */
import { randomContainerId as randomUUID } from '../../connection/container-id.js';
import { utf8Encode, utf8Lenient } from '../../codec/bytes.js';
import type { Message } from '../../codec/message.js';
import type { Timers } from '../../util/timers.js';
import { deferred, type Deferred } from '../../util/deferred.js';
import { BadResponseError, IotHubTimeoutError, errorFromStatus } from '../errors.js';
import { entry } from '../message-values.js';
import { bodyBytes, numberOf } from './amqp-utils.js';

/**
 * Twin properties as JSON, with `$version` and, as the hub sends it with a GET, `$metadata` (when
 * each property was last updated: `$lastUpdated`, and `$lastUpdatedVersion` in desired).
 */
export type TwinProperties = { $version: number; [key: string]: unknown };

/** The twin as the device reads it. */
export interface DeviceTwin {
  desired: TwinProperties;
  reported: TwinProperties;
}

/**
 * A change of the desired properties: `patch` is the delta the hub pushed (null removes a key), or
 * after a reconnect or an overflow, when `full` is true, the whole desired document (deltas may
 * have been missed); `version` is its `$version`.
 */
export interface DesiredUpdate {
  version: number;
  patch: Record<string, unknown>;
  full: boolean;
}

export const DESIRED_RESOURCE = '/notifications/twin/properties/desired';
export const REPORTED_RESOURCE = '/properties/reported';

/** A twin request: its `operation`, `resource` and body. */
export function twinRequest(
  correlationId: string,
  operation: string,
  resource?: string,
  body = ' ',
): Message {
  return {
    properties: { correlationId },
    messageAnnotations: resource === undefined ? { operation } : { operation, resource },
    body: utf8Encode(body),
  };
}

/** A twin response: `status` and `version` annotations and the JSON body (undefined when empty). */
export interface TwinResponse {
  status: number;
  version: number | undefined;
  body: unknown;
}

function parseBody(m: Message): unknown {
  const b = bodyBytes(m);
  if (!b || b.length === 0 || utf8Lenient(b).trim() === '') return undefined;
  try {
    return JSON.parse(utf8Lenient(b)) as unknown;
  } catch (e) {
    throw new BadResponseError({ description: 'a twin message whose body is not JSON', cause: e });
  }
}

/** The requests of one client waiting for their responses, by correlation-id. */
export class TwinRequests {
  private readonly pending = new Map<string, Deferred<Message>>();

  constructor(private readonly timers: Timers) {}

  /** A new correlation-id and the promise of its response (IotHubTimeoutError after `timeoutMs`). */
  expect(timeoutMs: number): { correlationId: string; response: Promise<TwinResponse> } {
    const correlationId = randomUUID();
    const d = deferred<Message>();
    this.pending.set(correlationId, d);
    const t = this.timers.setTimeout(() => {
      if (this.pending.delete(correlationId))
        d.reject(new IotHubTimeoutError({ description: `no twin response within ${timeoutMs} ms` }));
    }, timeoutMs);
    const response = d.promise.then(
      (m) => {
        this.timers.clearTimeout(t);
        return checkResponse(m);
      },
      (e: unknown) => {
        this.timers.clearTimeout(t);
        throw e;
      },
    );
    return { correlationId, response };
  }

  /** Gives up on a request whose send failed. */
  forget(correlationId: string, error: unknown): void {
    const d = this.pending.get(correlationId);
    if (d && this.pending.delete(correlationId)) d.reject(error);
  }

  /** Routes a response; false when it is not one (no correlation-id: a desired push) or unknown. */
  settle(m: Message): boolean {
    const cid = m.properties?.correlationId;
    if (typeof cid !== 'string') return false;
    const d = this.pending.get(cid);
    if (!d) return true; // a response to a request given up on
    this.pending.delete(cid);
    d.resolve(m);
    return true;
  }

  /** Fails every request in flight (their link is gone: the responses cannot come). */
  failAll(error: unknown): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const d of all) d.reject(error);
  }
}

function checkResponse(m: Message): TwinResponse {
  const status = numberOf(entry(m.messageAnnotations, 'status'));
  if (status === undefined) throw new BadResponseError({ description: 'a twin response without status' });
  const versionValue = numberOf(entry(m.messageAnnotations, 'version'));
  const body = parseBody(m);
  if (status >= 300) {
    const e = body as { message?: unknown; Message?: unknown } | undefined;
    const text = e?.message ?? e?.Message;
    throw errorFromStatus(status, typeof text === 'string' ? text : JSON.stringify(body ?? null));
  }
  return { status, version: versionValue, body };
}

/** A desired push from the twin receiver. */
export function desiredUpdateOf(m: Message): DesiredUpdate {
  const body = parseBody(m);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadResponseError({ description: 'a desired-property push whose body is not a JSON object' });
  const patch = { ...(body as Record<string, unknown>) };
  const v = numberOf(entry(m.messageAnnotations, 'version')) ?? numberOf(patch['$version'] as number);
  delete patch['$version'];
  if (v === undefined)
    throw new BadResponseError({ description: 'a desired-property push without $version' });
  return { version: v, patch, full: false };
}

/** The twin of a GET's body, checked. */
export function twinOf(body: unknown): DeviceTwin {
  const t = body as Partial<DeviceTwin> | undefined;
  if (
    typeof t !== 'object' ||
    t === null ||
    typeof t.desired?.$version !== 'number' ||
    typeof t.reported?.$version !== 'number'
  )
    throw new BadResponseError({ description: 'a twin GET response without desired and reported $versions' });
  return t as DeviceTwin;
}
