/**
 * Puts delivery annotations on a stored event without re-encoding it: the encoded annotations
 * section goes between the event's header (if any) and the rest, whose bytes are reused as they
 * are. A receiver with the runtime-metric capability gets fresh annotations on every event, and
 * re-encoding the whole event for each such receiver cost a decode and an encode per delivery.
 */
import { Decoder } from '../../codec/decoder.js';
import { decodeMessage, encodeMessage, type Annotations } from '../../codec/message.js';

const HEADER = 0x70;
const DELIVERY_ANNOTATIONS = 0x71;

/** The section code at `pos` when its descriptor is a ulong (how encoders write it), else -1. */
function sectionAt(b: Buffer, pos: number): number {
  if (pos + 3 > b.length || b[pos] !== 0x00) return -1;
  if (b[pos + 1] === 0x53) return b[pos + 2]!;
  if (b[pos + 1] === 0x80 && pos + 10 <= b.length && b.readUInt32BE(pos + 2) === 0)
    return b.readUInt32BE(pos + 6);
  return -1;
}

/** Where the value starting at `pos` ends. */
function skip(b: Buffer, pos: number): number {
  const d = new Decoder(b, pos);
  d.readValue();
  return d.pos;
}

/**
 * `event` with its delivery-annotations section replaced by `annotations` (added when it had
 * none). Equals decoding the event, setting its delivery annotations and encoding it again.
 */
export function withDeliveryAnnotations(event: Buffer, annotations: Annotations): Buffer {
  const section = encodeMessage({ deliveryAnnotations: annotations });
  let head = 0;
  if (sectionAt(event, head) === HEADER) head = skip(event, head);
  let rest = head;
  if (sectionAt(event, rest) === DELIVERY_ANNOTATIONS) rest = skip(event, rest);
  if (rest < event.length && sectionAt(event, rest) < 0) {
    // A descriptor written in a form we do not splice (a symbol): the generic way.
    return encodeMessage({ ...decodeMessage(event), deliveryAnnotations: annotations });
  }
  return Buffer.concat([event.subarray(0, head), section, event.subarray(rest)]);
}
