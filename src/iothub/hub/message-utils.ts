/**
 * Small helpers over amqp-one `Message`s: annotation maps may be plain objects (symbol keys
 * decoded as strings) or Maps (when a key was not a symbol), so reads and writes go through here.
 */
import type { Annotations, Message } from '../../codec/message.js';
import { AmqpSymbol, Typed, type AmqpValue } from '../../codec/values.js';

function keyText(k: AmqpValue): string | undefined {
  if (typeof k === 'string') return k;
  if (k instanceof AmqpSymbol) return k.value;
  return undefined;
}

/** Reads an annotation (or application property) by name, from an object or a Map. */
export function getEntry(
  a: Annotations | { [key: string]: AmqpValue } | undefined,
  name: string,
  caseInsensitive = false,
): AmqpValue {
  if (!a) return undefined;
  const want = caseInsensitive ? name.toLowerCase() : name;
  if (a instanceof Map) {
    for (const [k, v] of a) {
      const t = keyText(k);
      if (t !== undefined && (caseInsensitive ? t.toLowerCase() : t) === want) return v;
    }
    return undefined;
  }
  if (!caseInsensitive) return Object.prototype.hasOwnProperty.call(a, name) ? a[name] : undefined;
  for (const k of Object.keys(a)) if (k.toLowerCase() === want) return a[k];
  return undefined;
}

/**
 * A shallow copy of `m` whose message annotations are the original ones (less those `drop`
 * matches) overridden by `add`.
 * The original message is left alone (it may be shared with a log or another consumer).
 */
export function withMessageAnnotations(
  m: Message,
  add: { [key: string]: AmqpValue },
  drop?: (key: string) => boolean,
): Message {
  const old = m.messageAnnotations;
  const keep = (k: string): boolean => !Object.prototype.hasOwnProperty.call(add, k) && !drop?.(k);
  let merged: Annotations;
  if (old instanceof Map) {
    const map = new Map<AmqpValue, AmqpValue>();
    for (const [k, v] of old) {
      const t = keyText(k);
      if (t === undefined || keep(t)) map.set(k, v);
    }
    for (const k of Object.keys(add)) map.set(new AmqpSymbol(k), add[k]);
    merged = map;
  } else {
    const obj: { [key: string]: AmqpValue } = {};
    if (old) for (const k of Object.keys(old)) if (keep(k)) obj[k] = old[k];
    merged = Object.assign(obj, add);
  }
  return { ...m, messageAnnotations: merged };
}

/** Annotations only the hub may set: a device's own copies are dropped from its telemetry. */
export function isSystemAnnotation(key: string): boolean {
  const k = key.toLowerCase();
  return k.startsWith('iothub-') || k.startsWith('x-opt-');
}

/**
 * A message id in text form, as feedback reports it: strings as they are, uuids in canonical
 * form, ulongs in decimal, binary ids in lower-case hex. Undefined when there is no id.
 */
export function messageIdText(id: AmqpValue): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string') return id;
  if (id instanceof Typed) return String(id.value);
  if (id instanceof AmqpSymbol) return id.value;
  if (id instanceof Uint8Array) return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
  if (typeof id === 'number' || typeof id === 'bigint') return String(id);
  return String(id);
}

/** The `iothub-ack` modes of a C2D message (contract section 6). */
export type AckMode = 'none' | 'positive' | 'negative' | 'full';

/** The message's `iothub-ack` application property; absent or unknown means 'none'. */
export function ackModeOf(m: Message): AckMode {
  const v = getEntry(m.applicationProperties, 'iothub-ack', true);
  const s = typeof v === 'string' ? v.toLowerCase() : v instanceof AmqpSymbol ? v.value.toLowerCase() : '';
  return s === 'positive' || s === 'negative' || s === 'full' ? s : 'none';
}
