/**
 * Telemetry as read from the Event Hubs-compatible endpoint (contract sections 5, 7, 8): where the
 * redirect points, the selector filter for a start position, and the typed system properties of an
 * event.
 */
import type { Message } from '../../codec/message.js';
import type { Fields } from '../../codec/spec/records.js';
import { described, ulong, type AmqpValue } from '../../codec/values.js';
import type { RedirectError } from '../../protocol/errors.js';
import { InsecureRedirectError, IotHubConfigError } from '../errors.js';
import { entry, idText, stringOf } from '../message-values.js';
import { bigintOf, bodyBytes, dateOf, toRecord } from './amqp-utils.js';

/** The name of the filter that says where a partition receiver starts. */
export const SELECTOR_FILTER_NAME = 'apache.org:selector-filter:string';
/** The descriptor code of the selector filter. */
export const SELECTOR_FILTER_CODE = 0x0000468c00000004n;
/** The consumer group every hub has. */
export const DEFAULT_CONSUMER_GROUP = '$Default';

/** Where to start reading a partition. `inclusive` (default false) includes the event at the position. */
export type EventPosition =
  | 'earliest'
  | 'latest'
  | { sequenceNumber: bigint | number; inclusive?: boolean }
  | { offset: string; inclusive?: boolean }
  | { enqueuedTime: Date | number; inclusive?: boolean };

function op(inclusive: boolean | undefined): string {
  return inclusive ? '>=' : '>';
}

/** The selector-filter expression for a position (Event Hubs syntax). */
export function selectorFilterExpression(p: EventPosition): string {
  if (p === 'earliest') return "amqp.annotation.x-opt-offset > '-1'";
  if (p === 'latest') return "amqp.annotation.x-opt-offset > '@latest'";
  if (typeof p !== 'object' || p === null) throw new IotHubConfigError('unknown event position', 'from');
  if ('sequenceNumber' in p) {
    const n = BigInt(p.sequenceNumber);
    return `amqp.annotation.x-opt-sequence-number ${op(p.inclusive)} ${n}`;
  }
  if ('offset' in p) {
    if (!/^(-1|@latest|\d+)$/.test(String(p.offset))) {
      throw new IotHubConfigError('an offset is a decimal string (or -1 / @latest)', 'from.offset');
    }
    return `amqp.annotation.x-opt-offset ${op(p.inclusive)} '${p.offset}'`;
  }
  if ('enqueuedTime' in p) {
    const ms = p.enqueuedTime instanceof Date ? p.enqueuedTime.getTime() : p.enqueuedTime;
    if (!Number.isFinite(ms)) throw new IotHubConfigError('enqueuedTime is not a time', 'from.enqueuedTime');
    return `amqp.annotation.x-opt-enqueued-time ${op(p.inclusive)} '${Math.floor(ms)}'`;
  }
  throw new IotHubConfigError('unknown event position', 'from');
}

/**
 * The source filter-set for a position: key symbol `apache.org:selector-filter:string`, value
 * described by ulong 0x0000468C00000004 (as the event-hubs SDK sends it).
 */
export function selectorFilterSet(p: EventPosition): Fields {
  return { [SELECTOR_FILTER_NAME]: described(ulong(SELECTOR_FILTER_CODE), selectorFilterExpression(p)) };
}

/** Where telemetry is read after the redirect. */
export interface EventHubEndpoint {
  /** The host to connect to (the redirect's network-host, else its hostname). */
  host: string;
  port: number;
  tls: boolean;
  /** The namespace host name: open hostname, TLS server name, token audience. */
  hostname: string;
  /** The Event Hub name (the first segment of the address path). */
  entityPath: string;
  /** The redirect's address as given. */
  address?: string;
}

/**
 * Reads an `amqp:link:redirect`: hostname, network-host, port and the address
 * `amqps://<ns>:5671/<eventhub>/ConsumerGroups/<cg>/Partitions/<p>`. `defaultTls` applies when the
 * address has no scheme.
 */
export function endpointFromRedirect(err: RedirectError, defaultTls: boolean): EventHubEndpoint {
  let url: URL | undefined;
  if (err.address) {
    try {
      url = new URL(err.address);
    } catch {
      url = undefined;
    }
  }
  const tls = url ? url.protocol === 'amqps:' || (url.protocol !== 'amqp:' && defaultTls) : defaultTls;
  // The token for the endpoint would follow the redirect: never over a weaker channel than ours.
  if (defaultTls && !tls) {
    throw new InsecureRedirectError({
      condition: err.amqpError.condition,
      description: `to ${err.address ?? 'a plain endpoint'}`,
      cause: err,
    });
  }
  const hostname = err.hostname ?? url?.hostname;
  const host = err.networkHost ?? hostname;
  if (!host || !hostname) {
    throw new IotHubConfigError('the redirect names no host', 'hostname');
  }
  const port = err.port ?? (url?.port ? Number(url.port) : tls ? 5671 : 5672);
  const path = url ? url.pathname : (err.address ?? '');
  const first = path.split('/').find((s) => s.length > 0);
  if (!first) throw new IotHubConfigError('the redirect address names no event hub', 'address');
  const out: EventHubEndpoint = { host, port, tls, hostname, entityPath: decodeURIComponent(first) };
  if (err.address !== undefined) out.address = err.address;
  return out;
}

/** The partition address on the Event Hubs-compatible endpoint. */
export function partitionAddress(entityPath: string, consumerGroup: string, partitionId: string): string {
  return `${entityPath}/ConsumerGroups/${consumerGroup}/Partitions/${partitionId}`;
}

/** What the hub stamps on every event (contract section 5), typed. */
export interface EventSystemProperties {
  /** `x-opt-sequence-number` (-1n if the event has none). */
  sequenceNumber: bigint;
  /** `x-opt-offset` ('' if none). */
  offset: string;
  /** `x-opt-enqueued-time` (the epoch if none). */
  enqueuedTime: Date;
  /** `iothub-connection-device-id`. */
  deviceId?: string;
  /** `iothub-connection-module-id`. */
  moduleId?: string;
  /** `iothub-connection-auth-generation-id`. */
  authGenerationId?: string;
  /** `iothub-connection-auth-method`, parsed from its JSON text when it is JSON. */
  authMethod?: unknown;
  /** `iothub-enqueuedtime`. */
  iothubEnqueuedTime?: Date;
  /** `iothub-message-source` ('Telemetry', ...). */
  messageSource?: string;
  /** `x-opt-partition-key`. */
  partitionKey?: string;
  messageId?: AmqpValue;
  correlationId?: AmqpValue;
  contentType?: string;
  contentEncoding?: string;
  userId?: string;
  to?: string;
  /** Every message annotation, as received. */
  annotations: Record<string, AmqpValue>;
}

/** A telemetry event. */
export interface IotHubEvent {
  partitionId: string;
  /** The body bytes (data or string/binary value), else undefined (see `message.body`). */
  body: Buffer | undefined;
  /** Application properties (the device's user properties). */
  properties: Record<string, AmqpValue>;
  systemProperties: EventSystemProperties;
  /** The message as received. */
  message: Message;
}

/** The body of an event as UTF-8 text. */
export function eventText(e: IotHubEvent): string {
  return (e.body ?? Buffer.alloc(0)).toString('utf8');
}

/** The body of an event parsed as JSON. */
export function eventJson<T = unknown>(e: IotHubEvent): T {
  return JSON.parse(eventText(e)) as T;
}

function parseMaybeJson(v: AmqpValue): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** Reads the typed system properties of an event. */
export function eventFromMessage(m: Message, partitionId: string): IotHubEvent {
  const a = m.messageAnnotations;
  const p = m.properties ?? {};
  const sys: EventSystemProperties = {
    sequenceNumber: bigintOf(entry(a, 'x-opt-sequence-number')) ?? -1n,
    offset: idText(entry(a, 'x-opt-offset')) ?? '',
    enqueuedTime: dateOf(entry(a, 'x-opt-enqueued-time')) ?? new Date(0),
    annotations: toRecord(a),
  };
  const set = <K extends keyof EventSystemProperties>(
    k: K,
    v: EventSystemProperties[K] | undefined,
  ): void => {
    if (v !== undefined) sys[k] = v;
  };
  set('deviceId', stringOf(entry(a, 'iothub-connection-device-id')));
  set('moduleId', stringOf(entry(a, 'iothub-connection-module-id')));
  set('authGenerationId', idText(entry(a, 'iothub-connection-auth-generation-id')));
  const auth = entry(a, 'iothub-connection-auth-method');
  if (auth !== undefined && auth !== null) sys.authMethod = parseMaybeJson(auth);
  set('iothubEnqueuedTime', dateOf(entry(a, 'iothub-enqueuedtime')));
  set('messageSource', stringOf(entry(a, 'iothub-message-source')));
  set('partitionKey', stringOf(entry(a, 'x-opt-partition-key')));
  if (p.messageId !== undefined && p.messageId !== null) sys.messageId = p.messageId;
  if (p.correlationId !== undefined && p.correlationId !== null) sys.correlationId = p.correlationId;
  set('contentType', p.contentType ?? undefined);
  set('contentEncoding', p.contentEncoding ?? undefined);
  if (p.userId) sys.userId = Buffer.from(p.userId).toString('utf8');
  set('to', stringOf(p.to));
  return {
    partitionId,
    body: bodyBytes(m) as Buffer | undefined, // Node only: the core's bytes are Buffers
    properties: toRecord(m.applicationProperties),
    systemProperties: sys,
    message: m,
  };
}
