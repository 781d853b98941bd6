/**
 * Small helpers over amqp-one `Message`s: annotation maps may be plain objects (symbol keys
 * decoded as their names) or Maps (when a key was not a symbol), so writes go through here (reads
 * through ../message-values.ts).
 */
import type { Annotations, Message } from '../../codec/message.js';
import { AmqpSymbol, type AmqpValue } from '../../codec/values.js';
import { entry, putOwn, stringOf } from '../message-values.js';

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
      const t = stringOf(k);
      if (t === undefined || keep(t)) map.set(k, v);
    }
    for (const k of Object.keys(add)) map.set(new AmqpSymbol(k), add[k]);
    merged = map;
  } else {
    const obj: { [key: string]: AmqpValue } = {};
    if (old) for (const k of Object.keys(old)) if (keep(k)) putOwn(obj, k, old[k]);
    merged = Object.assign(obj, add);
  }
  return { ...m, messageAnnotations: merged };
}

/** Annotations only the hub may set: a device's own copies are dropped from its telemetry. */
export function isSystemAnnotation(key: string): boolean {
  const k = key.toLowerCase();
  return k.startsWith('iothub-') || k.startsWith('x-opt-');
}

/** The `iothub-ack` modes of a C2D message (contract section 6). */
export type AckMode = 'none' | 'positive' | 'negative' | 'full';

/** The message's `iothub-ack` application property; absent or unknown means 'none'. */
export function ackModeOf(m: Message): AckMode {
  const v = entry(m.applicationProperties, 'iothub-ack', true);
  const s = stringOf(v)?.toLowerCase();
  return s === 'positive' || s === 'negative' || s === 'full' ? s : 'none';
}
