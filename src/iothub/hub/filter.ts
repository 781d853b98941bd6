/**
 * Event positions and the Event Hubs selector-filter syntax (contract section 8):
 *
 *   amqp.annotation.x-opt-offset          >  '<offset>'     ('-1' = earliest, '@latest' = latest)
 *   amqp.annotation.x-opt-offset          >= '<offset>'
 *   amqp.annotation.x-opt-sequence-number >  <n>            (quoted or not)
 *   amqp.annotation.x-opt-enqueued-time   >  <ms since the epoch>
 *
 * `>` is exclusive, `>=` inclusive; `=` is accepted and means inclusive (a start position, not an
 * equality test). The annotation name is case-insensitive, whitespace around the operator is
 * optional and values may be in single or double quotes. Numbers beyond 2^53 are clamped to
 * Number.MAX_SAFE_INTEGER (no partition gets there, so they behave the same).
 */
import { Described, AmqpSymbol, Typed, type AmqpValue } from '../../codec/values.js';
import { HubError } from './errors.js';

/** Where a reader starts. Offsets are the numeric value of `x-opt-offset`, times are epoch ms. */
export type EventPosition =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'sequenceNumber'; value: number; inclusive: boolean }
  | { kind: 'offset'; value: number; inclusive: boolean }
  | { kind: 'enqueuedTime'; value: number; inclusive: boolean };

export const SELECTOR_FILTER_NAME = 'apache.org:selector-filter:string';
export const SELECTOR_FILTER_CODE = 0x0000468c00000004n;

const FILTER_RE =
  /^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>|=)\s*(?:'([^']*)'|"([^"]*)"|([^\s'"]+))\s*$/i;

function bad(msg: string, filter: string): never {
  throw new HubError('HUB_BAD_FILTER', `${msg}: ${JSON.stringify(filter)}`);
}

function toNumber(s: string): number {
  const b = BigInt(s);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(b > max ? max : b < -max ? -max : b);
}

/** Parses a selector filter into a position; HUB_BAD_FILTER when it is not one we know. */
export function parseSelectorFilter(filter: string): EventPosition {
  if (typeof filter !== 'string') bad('the selector filter must be a string', String(filter));
  const m = FILTER_RE.exec(filter);
  if (!m) return bad('unsupported selector filter', filter);
  const name = m[1]!.toLowerCase();
  const inclusive = m[2] !== '>';
  const raw = (m[3] ?? m[4] ?? m[5] ?? '').trim();
  if (name === 'x-opt-offset') {
    if (raw === '-1') return { kind: 'earliest' };
    if (raw.toLowerCase() === '@latest') return { kind: 'latest' };
    if (!/^\d{1,30}$/.test(raw)) bad('the offset must be a non-negative integer, -1 or @latest', filter);
    return { kind: 'offset', value: toNumber(raw), inclusive };
  }
  if (!/^-?\d{1,30}$/.test(raw)) bad(`${name} needs an integer`, filter);
  const value = toNumber(raw);
  return name === 'x-opt-sequence-number'
    ? { kind: 'sequenceNumber', value, inclusive }
    : { kind: 'enqueuedTime', value, inclusive };
}

/** The selector-filter string for a position (what event-hubs clients send). */
export function formatSelectorFilter(p: EventPosition): string {
  const op = (inclusive: boolean): string => (inclusive ? '>=' : '>');
  switch (p.kind) {
    case 'earliest':
      return "amqp.annotation.x-opt-offset > '-1'";
    case 'latest':
      return "amqp.annotation.x-opt-offset > '@latest'";
    case 'offset':
      return `amqp.annotation.x-opt-offset ${op(p.inclusive)} '${p.value}'`;
    case 'sequenceNumber':
      return `amqp.annotation.x-opt-sequence-number ${op(p.inclusive)} '${p.value}'`;
    case 'enqueuedTime':
      return `amqp.annotation.x-opt-enqueued-time ${op(p.inclusive)} '${p.value}'`;
  }
}

function isSelectorKey(k: AmqpValue): boolean {
  const s = typeof k === 'string' ? k : k instanceof AmqpSymbol ? k.value : undefined;
  return s === SELECTOR_FILTER_NAME;
}

/**
 * The start position from a source's filter set (an attach's `source.filter`), or undefined when it
 * has no selector filter (Event Hubs then starts at the beginning of the partition). The value may
 * be described by the ulong 0x0000468C00000004 (event-hubs) or by the filter name as a symbol
 * (uAMQP), or be a bare string.
 */
export function positionFromFilterSet(
  filter: { [key: string]: AmqpValue } | Map<AmqpValue, AmqpValue> | undefined | null,
): EventPosition | undefined {
  if (!filter) return undefined;
  let value: AmqpValue;
  if (filter instanceof Map) {
    for (const [k, v] of filter) if (isSelectorKey(k)) value = v;
  } else {
    value = filter[SELECTOR_FILTER_NAME];
  }
  if (value === undefined || value === null) return undefined;
  if (value instanceof Described) {
    const d = value.descriptor;
    const ok =
      (d instanceof Typed && d.value === SELECTOR_FILTER_CODE) ||
      d === SELECTOR_FILTER_CODE ||
      (d instanceof AmqpSymbol && d.value === SELECTOR_FILTER_NAME) ||
      d === SELECTOR_FILTER_NAME;
    if (!ok) throw new HubError('HUB_BAD_FILTER', 'unknown descriptor on the selector filter');
    value = value.value;
  }
  if (typeof value !== 'string')
    throw new HubError('HUB_BAD_FILTER', 'the selector filter value must be a string');
  return parseSelectorFilter(value);
}
