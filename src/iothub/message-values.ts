/**
 * Reading AMQP values as the IoT Hub's peers send them, for the clients and the hub alike: maps
 * (annotations, application properties, link properties) may be plain objects (keys all symbols,
 * by name, or all strings) or Maps (any other key), and ids come in every id type.
 */
import type { Annotations } from '../codec/message.js';
import { AmqpSymbol, Typed, type AmqpValue } from '../codec/values.js';
import { toHex } from '../codec/bytes.js';

/**
 * Sets an own data property, as the decoder does: a peer's key such as '__proto__' must not set a
 * prototype when a map is copied.
 */
export function putOwn(o: Record<string, AmqpValue>, key: string, v: AmqpValue): void {
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A string from a string or a symbol. */
export function stringOf(v: AmqpValue): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof AmqpSymbol) return v.value;
  return undefined;
}

/** A map's entry by name (string or symbol keys), optionally case-insensitive. */
export function entry(map: Annotations | undefined | null, name: string, caseInsensitive = false): AmqpValue {
  if (!map) return undefined;
  const want = caseInsensitive ? name.toLowerCase() : name;
  if (map instanceof Map) {
    for (const [k, v] of map) {
      const t = stringOf(k);
      if (t !== undefined && (caseInsensitive ? t.toLowerCase() : t) === want) return v;
    }
    return undefined;
  }
  if (!caseInsensitive) return Object.prototype.hasOwnProperty.call(map, name) ? map[name] : undefined;
  for (const k of Object.keys(map)) if (k.toLowerCase() === want) return map[k];
  return undefined;
}

/**
 * A message id or correlation id in text form, as feedback reports it: strings as they are, uuids
 * in canonical form, ulongs in decimal, binary ids in lower-case hex. Undefined when there is none.
 */
export function idText(id: AmqpValue): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string') return id;
  if (id instanceof Typed) return String(id.value);
  if (id instanceof AmqpSymbol) return id.value;
  if (id instanceof Uint8Array) return toHex(id);
  return String(id);
}
