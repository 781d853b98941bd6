/**
 * Puts delivery annotations on a stored event without re-encoding it: the encoded annotations
 * section goes between the event's header (if any) and the rest, whose bytes are reused as they
 * are. A receiver with the runtime-metric capability gets fresh annotations on every event, and
 * re-encoding the whole event for each such receiver cost a decode and an encode per delivery.
 */
import { encodeMessage, splitLeadingSections, type Annotations } from '../../codec/message.js';

const NONE = Buffer.alloc(0);

/**
 * `event` with its delivery-annotations section replaced by `annotations` (added when it had
 * none). Equals decoding the event, setting its delivery annotations and encoding it again.
 */
export function withDeliveryAnnotations(event: Buffer, annotations: Annotations): Buffer {
  const l = splitLeadingSections(event);
  return Buffer.concat([
    l.header ?? NONE,
    encodeMessage({ deliveryAnnotations: annotations }),
    l.messageAnnotations ?? NONE,
    l.rest,
  ]);
}
