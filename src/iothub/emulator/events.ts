/**
 * The events side (contract sections 7-8).
 *
 * - **Redirect**: a receiver on the hub's `messages/events[/...]` gets an attach reply that echoes
 *   its source and target, then `detach{closed, amqp:link:redirect}` whose info map (string keys,
 *   as in the real hub's traces) holds `hostname`, `network-host`, `port` (int) and `address`
 *   (`amqps://<host>:<port>/<eventHubName>/<the requested suffix>`). The Event Hubs-compatible
 *   endpoint is served by the SAME listeners: the redirect points back at the listener (and
 *   scheme) the client used, with the host name its open named (else `localhost`).
 * - **Partition receivers** on `<eventHubName>/ConsumerGroups/<cg>/Partitions/<p>`: the start
 *   position from the selector filter (offset, sequence number, enqueued time; `>` / `>=`; `'-1'`,
 *   `'@latest'`), echoed in the attach reply; events are sent on credit, already encoded with
 *   their annotations. `com.microsoft:epoch` (long): a receiver with a higher or equal epoch takes
 *   the partition (per consumer group) and the others are detached with `amqp:link:stolen`; a
 *   lower epoch, or no epoch while an epoch receiver holds it, is refused with the same condition.
 *   With the desired capability `com.microsoft:enable-receiver-runtime-metric`, each message
 *   carries `last_enqueued_*` and `runtime_info_retrieval_time_utc` delivery annotations.
 */
import { AmqpSymbol, Typed, type AmqpValue } from '../../codec/values.js';
import { Condition } from '../../protocol/conditions.js';
import type { AmqpError } from '../../protocol/errors.js';
import type { IncomingLink } from '../../server/server-connection.js';
import { IotHubCondition } from '../conditions.js';
import { isHubError } from '../hub/errors.js';
import { positionFromFilterSet, type EventPosition } from '../hub/filter.js';
import { entry } from '../message-values.js';
import type { StoredEvent } from '../hub/telemetry.js';
import type { ConnectionState } from './connection-state.js';
import type { EpochHolder } from './epochs.js';
import { EVENTS_MAX_MESSAGE_SIZE, refuse, type EmulatorContext } from './context.js';
import { withDeliveryAnnotations } from './delivery-annotations.js';

/** The link property that carries a receiver's epoch (owner level). */
export const EPOCH_PROPERTY = 'com.microsoft:epoch';
/** The capability a receiver offers to get partition run-time metrics. */
export const RUNTIME_METRIC_CAPABILITY = 'com.microsoft:enable-receiver-runtime-metric';

/** Sends the redirect for a receiver on `messages/events/<suffix>`. */
export function redirectEvents(
  ctx: EmulatorContext,
  cs: ConnectionState,
  l: IncomingLink,
  suffix: string,
): void {
  const open = l.connection.engine.remoteOpen;
  const named = typeof open?.hostname === 'string' && open.hostname !== '' ? open.hostname : ctx.publicHost;
  const host = named.replace(/:\d+$/, '');
  const port = cs.localPort;
  const scheme = cs.tls ? 'amqps' : 'amqp';
  const tail = suffix === '' ? 'ConsumerGroups/$Default/Partitions/0' : suffix;
  const address = `${scheme}://${host}:${port}/${ctx.state.eventHubName}/${tail}`;
  l.accept();
  const info = new Map<AmqpValue, AmqpValue>([
    ['hostname', host],
    ['network-host', host],
    ['port', port],
    ['address', address],
  ]);
  const error: AmqpError = {
    condition: Condition.LinkRedirect,
    description: `The IoT hub's events are served by its Event Hubs-compatible endpoint: ${address}`,
    info,
  };
  // Why the pause: clients (rhea-promise in the event-hubs iothubConnectionString sample) resolve
  // the attach and only then listen for the link's error; a detach in the same read as the attach
  // reply is lost to them. The real hub's detach comes a network round later, so does ours.
  const link = l.engineLink;
  const detach = (): void => {
    if (link.local !== 'attached') return;
    link.detach({ closed: true, error });
    l.connection.schedule();
  };
  if (ctx.redirectDelayMs <= 0) return detach();
  setTimeout(detach, ctx.redirectDelayMs).unref();
}

function epochOf(l: IncomingLink): bigint | undefined | 'bad' {
  const v = entry(l.remoteAttach.properties, EPOCH_PROPERTY);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (v instanceof Typed && (typeof v.value === 'bigint' || typeof v.value === 'number'))
    return BigInt(v.value as number | bigint);
  return 'bad';
}

function wantsRuntimeMetric(l: IncomingLink): boolean {
  const caps = l.remoteAttach.desiredCapabilities as unknown;
  const list: unknown[] = Array.isArray(caps) ? caps : caps === undefined || caps === null ? [] : [caps];
  return list.some((c) => String(c instanceof AmqpSymbol ? c.value : c) === RUNTIME_METRIC_CAPABILITY);
}

export function servePartition(
  ctx: EmulatorContext,
  l: IncomingLink,
  target: { eventHub: string; consumerGroup: string; partition: string },
): void {
  const state = ctx.state;
  if (target.eventHub.toLowerCase() !== state.eventHubName.toLowerCase())
    return refuse(l, Condition.NotFound, `The messaging entity ${target.eventHub} could not be found.`);
  const cg = state.consumerGroup(target.consumerGroup);
  if (cg === undefined)
    return refuse(l, Condition.NotFound, `The consumer group ${target.consumerGroup} does not exist.`);
  let partition: number;
  let position: EventPosition;
  try {
    partition = state.partitionNumber(target.partition);
  } catch {
    return refuse(l, Condition.NotFound, `The partition ${target.partition} does not exist.`);
  }
  try {
    position = positionFromFilterSet(l.source?.filter) ?? { kind: 'earliest' };
  } catch (e) {
    return refuse(l, IotHubCondition.ArgumentError, e instanceof Error ? e.message : String(e));
  }
  const epoch = epochOf(l);
  if (epoch === 'bad') return refuse(l, IotHubCondition.ArgumentError, `${EPOCH_PROPERTY} must be a long.`);
  const key = `${state.eventHubName}/ConsumerGroups/${cg}/Partitions/${partition}`.toLowerCase();
  let detached = false;
  const holder: EpochHolder = {
    epoch,
    steal: (error) => {
      if (detached) return;
      detached = true;
      l.engineLink.detach({ error });
      l.connection.schedule();
    },
  };
  const refusal = ctx.epochs.claim(key, holder);
  if (refusal) return refuse(l, refusal.condition, refusal.description ?? '');

  const metric = wantsRuntimeMetric(l);
  const link = l.engineLink;
  if (metric) link.options.offeredCapabilities = [RUNTIME_METRIC_CAPABILITY];
  if (epoch !== undefined) link.options.properties = { [EPOCH_PROPERTY]: epoch };
  const sender = l.acceptSender({ maxMessageSize: EVENTS_MAX_MESSAGE_SIZE });
  const cursor = state.openEventCursor(partition, position);
  let cancelWait: (() => void) | undefined;
  let closed = false;
  // The stored bytes are sent as they are; a metric receiver gets its annotations spliced in
  // front of them, without re-encoding the event.
  const payloadOf = (e: StoredEvent): Buffer => {
    if (!metric) return e.bytes;
    const info = state.partitionInfo(partition);
    return withDeliveryAnnotations(e.bytes, {
      last_enqueued_sequence_number: BigInt(info.lastEnqueuedSequenceNumber),
      last_enqueued_offset: info.lastEnqueuedOffset,
      last_enqueued_time_utc: info.lastEnqueuedTimeUtc,
      runtime_info_retrieval_time_utc: new Date(ctx.clock.now()),
    });
  };
  const pump = (): void => {
    while (!closed && !detached && sender.sendable > 0) {
      let payload: Buffer;
      try {
        const e = cursor.next();
        if (!e) {
          cancelWait ??= cursor.wait(() => {
            cancelWait = undefined;
            pump();
          });
          return;
        }
        // With a state directory an older event is read from disk here, and that can fail.
        payload = payloadOf(e);
      } catch (err) {
        // The reader is told (a stalled link would look like an empty partition), others go on.
        const description = isHubError(err) ? err.message : String(err);
        ctx.log(`events ${key}: ${description}`);
        detached = true;
        link.detach({ error: { condition: Condition.InternalError, description } });
        l.connection.schedule();
        return;
      }
      sender.send(payload).catch(() => undefined);
    }
  };
  sender.on('credit', pump);
  sender.once('close', () => {
    closed = true;
    detached = true;
    cancelWait?.();
    ctx.epochs.release(key, holder);
  });
  pump();
}
