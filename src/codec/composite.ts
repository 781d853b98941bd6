/**
 * Encodes and decodes every composite type (performatives, sections, outcomes, terminus, SASL,
 * transactions) through the readers and writers generated from the spec XML into spec/composites.ts.
 * Records are plain objects `{ type: 'open', containerId, ... }`.
 */
import type { ByteWriter } from './byte-writer.js';
import { view, writeU32 } from './bytes.js';
import { readListBody } from './composite-fields.js';
import { Decoder } from './decoder.js';
import { EncodeError } from './errors.js';
import { Code } from './format-codes.js';
import { codecForCode, codecForName, readComposite } from './spec/composites.js';
import type { CompositeRecord, Transfer } from './spec/records.js';
import type { CompositeType } from './spec/types.js';

export { readComposite };

/** Looks up a composite by numeric descriptor. */
export function compositeForCode(code: number | bigint): CompositeType | undefined {
  const n = Number(code);
  return n <= 0xffffffff ? codecForCode(n)?.type : undefined;
}

// ---------------------------------------------------------------- encoding

/** Writes a composite record as a described list (descriptor as smallulong/ulong). */
export function encodeComposite(w: ByteWriter, rec: CompositeRecord | { type: string }): void {
  encodeCompositeAs(w, rec.type, rec);
}

/** Writes `rec` as the composite `name`, whatever its `type` key says (message sections have none). */
export function encodeCompositeAs(w: ByteWriter, name: string, rec: object): void {
  const c = typeof name === 'string' ? codecForName(name) : undefined;
  if (!c) throw new EncodeError(`unknown composite type: ${String(name)}`);
  c.write(w, rec);
}

// ---------------------------------------------------------------- decoding

/** Reads the list of composite `name` at d.pos (its descriptor already read). */
export function readCompositeListAs(d: Decoder, name: string, tagged: boolean): Record<string, unknown> {
  return readListBody(d, codecForName(name)!, tagged) as unknown as Record<string, unknown>;
}

/** Decodes exactly one composite from `bytes`. */
export function decodeComposite(
  bytes: Uint8Array,
  offset = 0,
  end = bytes.length,
): { value: CompositeRecord; offset: number } {
  const d = new Decoder(view(bytes), offset, end);
  const rec = readComposite(d);
  if (!rec) return d.fail('AMQP_DECODE_WRONG_TYPE', 'not a known composite type', offset);
  return { value: rec, offset: d.pos };
}

// ---------------------------------------------------------------- the transfer fast path

const isUint = (v: unknown): v is number =>
  typeof v === 'number' && v >= 0 && v <= 0xffffffff && Number.isInteger(v);

function putUint(b: Uint8Array, p: number, v: number): number {
  if (v === 0) b[p++] = Code.Uint0;
  else if (v <= 0xff) {
    b[p++] = Code.SmallUint;
    b[p++] = v;
  } else {
    b[p++] = Code.Uint;
    writeU32(b, v, p);
    p += 4;
  }
  return p;
}

/**
 * Writes a transfer performative (one per message sent: the hot path) straight into the buffer when
 * it has only its usual fields (handle, delivery-id, delivery-tag, message-format, settled, more);
 * anything else goes through the generic writer. The bytes are the same either way.
 */
export function encodeTransfer(w: ByteWriter, t: Transfer): void {
  const { handle, deliveryId, deliveryTag, messageFormat, settled, more } = t;
  if (
    t.rcvSettleMode != null ||
    t.state != null ||
    t.resume != null ||
    t.aborted != null ||
    t.batchable != null ||
    !isUint(handle) ||
    (deliveryId != null && !isUint(deliveryId)) ||
    (messageFormat != null && !isUint(messageFormat)) ||
    (deliveryTag != null && !(deliveryTag instanceof Uint8Array && deliveryTag.length <= 32)) ||
    (settled != null && typeof settled !== 'boolean') ||
    (more != null && typeof more !== 'boolean')
  ) {
    return encodeCompositeAs(w, 'transfer', t);
  }
  // Trailing absent fields are omitted, as the generic writer does.
  const last =
    more != null
      ? 5
      : settled != null
        ? 4
        : messageFormat != null
          ? 3
          : deliveryTag != null
            ? 2
            : deliveryId != null
              ? 1
              : 0;
  // descriptor (3) + list8 header (3) + 3 uints (5 each) + tag (2 + 32) + 2 booleans
  w.ensure(3 + 3 + 15 + 34 + 2);
  const b = w.buf;
  let p = w.pos;
  b[p++] = Code.Described;
  b[p++] = Code.SmallUlong;
  b[p++] = TRANSFER_CODE;
  b[p++] = Code.List8;
  const at = p;
  p += 2;
  p = putUint(b, p, handle);
  if (last >= 1) p = deliveryId == null ? ((b[p] = Code.Null), p + 1) : putUint(b, p, deliveryId);
  if (last >= 2) {
    if (deliveryTag == null) b[p++] = Code.Null;
    else {
      b[p++] = Code.Vbin8;
      b[p++] = deliveryTag.length;
      b.set(deliveryTag, p);
      p += deliveryTag.length;
    }
  }
  if (last >= 3) p = messageFormat == null ? ((b[p] = Code.Null), p + 1) : putUint(b, p, messageFormat);
  if (last >= 4) b[p++] = settled == null ? Code.Null : settled ? Code.BooleanTrue : Code.BooleanFalse;
  if (last >= 5) b[p++] = more ? Code.BooleanTrue : Code.BooleanFalse;
  b[at] = p - at - 1; // list size: the count byte and the items
  b[at + 1] = last + 1;
  w.pos = p;
}

const TRANSFER_CODE = codecForName('transfer')!.code;
