/**
 * Reading AMQP values the way the hub sends them: maps that may be plain objects (symbol keys
 * decoded as strings) or Maps, numbers that may be wrapped (Typed) or bigints, timestamps as Dates.
 */
import type { Message } from '../../codec/message.js';
import { AmqpSymbol, Typed, type AmqpValue } from '../../codec/values.js';

type AnyMap = { [key: string]: AmqpValue } | Map<AmqpValue, AmqpValue>;

function keyText(k: AmqpValue): string | undefined {
  if (typeof k === 'string') return k;
  if (k instanceof AmqpSymbol) return k.value;
  return undefined;
}

/** A map's entry by name (string or symbol keys), optionally case-insensitive. */
export function entry(map: AnyMap | undefined | null, name: string, caseInsensitive = false): AmqpValue {
  if (!map) return undefined;
  const want = caseInsensitive ? name.toLowerCase() : name;
  if (map instanceof Map) {
    for (const [k, v] of map) {
      const t = keyText(k);
      if (t !== undefined && (caseInsensitive ? t.toLowerCase() : t) === want) return v;
    }
    return undefined;
  }
  if (!caseInsensitive) return Object.prototype.hasOwnProperty.call(map, name) ? map[name] : undefined;
  for (const k of Object.keys(map)) if (k.toLowerCase() === want) return map[k];
  return undefined;
}

/** A map as a plain object with string keys (symbol keys as their names; other keys as String(k)). */
export function toRecord(map: AnyMap | undefined | null): Record<string, AmqpValue> {
  const out: Record<string, AmqpValue> = {};
  if (!map) return out;
  if (map instanceof Map) {
    for (const [k, v] of map) out[keyText(k) ?? String(k)] = v;
    return out;
  }
  for (const k of Object.keys(map)) out[k] = map[k];
  return out;
}

/** A number from an int/uint/long/ulong/ubyte... (wrapped or not); undefined for anything else. */
export function numberOf(v: AmqpValue): number | undefined {
  const x = v instanceof Typed ? v.value : v;
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  if (typeof x === 'string' && /^-?\d+$/.test(x)) return Number(x);
  return undefined;
}

/** A bigint from any integer encoding (or a decimal string); undefined for anything else. */
export function bigintOf(v: AmqpValue): bigint | undefined {
  const x = v instanceof Typed ? v.value : v;
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' && Number.isInteger(x)) return BigInt(x);
  if (typeof x === 'string' && /^-?\d+$/.test(x)) return BigInt(x);
  return undefined;
}

/** A Date from a timestamp (Date, Typed timestamp, epoch ms number, ISO string). */
export function dateOf(v: AmqpValue): Date | undefined {
  if (v instanceof Date) return v;
  const x = v instanceof Typed ? v.value : v;
  if (typeof x === 'bigint' || typeof x === 'number') return new Date(Number(x));
  if (typeof x === 'string') {
    const d = new Date(x);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** A string from a string or a symbol. */
export function stringOf(v: AmqpValue): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof AmqpSymbol) return v.value;
  return undefined;
}

/** A message id or correlation id in text form (uuid, ulong, string; binary as hex). */
export function idText(id: AmqpValue): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string') return id;
  if (id instanceof Typed) return String(id.value);
  if (id instanceof AmqpSymbol) return id.value;
  if (id instanceof Uint8Array) return Buffer.from(id).toString('hex');
  return String(id);
}

/** The body's bytes: a data section (one or several), or a string / binary amqp-value. */
export function bodyBytes(m: Message): Buffer | undefined {
  const b = m.body;
  if (b instanceof Uint8Array) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (Array.isArray(b) && m.bodyType === 'data') return Buffer.concat(b as Uint8Array[]);
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return undefined;
}
