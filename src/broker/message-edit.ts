/**
 * Edits of a stored message's leading sections (header, delivery-annotations, message-annotations)
 * that leave every other byte as it came: the broker bumps the header's delivery-count after a
 * failed delivery and merges the annotations of a `modified` outcome (spec 3.4.5).
 */
import {
  decodeMessage,
  encodeMessage,
  splitLeadingSections,
  type Annotations,
  type LeadingSections,
  type MessageHeader,
} from '../codec/message.js';
import { AmqpSymbol, type AmqpValue } from '../codec/values.js';

/**
 * Annotation keys are symbols: a Map gets symbol keys for an object's entries. Keys compare by
 * their text (a symbol and its re-decoded copy are one key), looked up in a Map: linear in keys.
 */
function mergeAnnotations(old: Annotations | undefined, extra: Annotations): Annotations {
  if (!old) return extra;
  if (!(old instanceof Map) && !(extra instanceof Map)) return { ...old, ...extra };
  const byText = new Map<string, [AmqpValue, AmqpValue]>();
  const put = (a: Annotations): void => {
    const set = (text: string, k: AmqpValue, v: AmqpValue): void => {
      byText.delete(text); // a key given again moves to the end, as in an object spread
      byText.set(text, [k, v]);
    };
    if (a instanceof Map) for (const [k, v] of a) set(String(k), k, v);
    else for (const [k, v] of Object.entries(a)) set(k, new AmqpSymbol(k), v);
  };
  put(old);
  put(extra);
  return new Map(byText.values());
}

export interface MessageEdit {
  /** The delivery failed (modified with delivery-failed): header.delivery-count + 1. */
  failedDelivery?: boolean;
  /** Annotations to merge into the message-annotations (modified with message-annotations). */
  annotations?: Annotations;
}

/** Applies an edit; a message that does not decode is returned as it is (it is the client's). */
export function editMessage(payload: Buffer, edit: MessageEdit): Buffer {
  if (!edit.failedDelivery && !edit.annotations) return payload;
  let s: LeadingSections;
  try {
    s = splitLeadingSections(payload);
  } catch {
    return payload;
  }
  let header = s.header;
  let annotations = s.messageAnnotations;
  if (edit.failedDelivery) {
    const h: MessageHeader = header ? (decodeMessage(header).header ?? {}) : {};
    header = encodeMessage({ header: { ...h, deliveryCount: Number(h.deliveryCount ?? 0) + 1 } });
  }
  if (edit.annotations) {
    const old = annotations ? decodeMessage(annotations).messageAnnotations : undefined;
    annotations = encodeMessage({ messageAnnotations: mergeAnnotations(old, edit.annotations) });
  }
  const parts = [header, s.deliveryAnnotations, annotations, s.rest];
  return Buffer.concat(parts.filter((p): p is Buffer => p !== undefined));
}

/** The header's delivery-count (0 when absent), for tests and inspection. */
export function deliveryCountOf(payload: Buffer): number {
  return Number(decodeMessage(payload).header?.deliveryCount ?? 0);
}
