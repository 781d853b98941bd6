/**
 * Reading AMQP values the way the hub sends them: numbers that may be wrapped (Typed) or bigints,
 * timestamps as Dates, maps as records, bodies as bytes. Map entries, strings and ids are read with
 * ../message-values.ts, which the hub shares.
 */
import type { Annotations, Message } from '../../codec/message.js';
import { Typed, type AmqpValue } from '../../codec/values.js';
import { allocUnsafe, utf8Encode, view } from '../../codec/bytes.js';
import { putOwn, stringOf } from '../message-values.js';

/** A map as a plain object with string keys (symbol keys as their names; other keys as String(k)). */
export function toRecord(map: Annotations | undefined | null): Record<string, AmqpValue> {
  const out: Record<string, AmqpValue> = {};
  if (!map) return out;
  if (map instanceof Map) {
    for (const [k, v] of map) putOwn(out, stringOf(k) ?? String(k), v);
    return out;
  }
  for (const k of Object.keys(map)) putOwn(out, k, map[k]);
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

/**
 * The body's bytes: a data section (one or several), or a string / binary amqp-value. A Buffer in
 * Node, a plain Uint8Array elsewhere (../../codec/bytes.ts).
 */
export function bodyBytes(m: Message): Uint8Array | undefined {
  const b = m.body;
  if (b instanceof Uint8Array) return view(b);
  if (Array.isArray(b) && m.bodyType === 'data') return concat(b as Uint8Array[]);
  if (typeof b === 'string') return utf8Encode(b);
  return undefined;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = allocUnsafe(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
