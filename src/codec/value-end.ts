/**
 * A value's extent from its constructor alone, without decoding it: what message-stream.ts needs to
 * find section boundaries in bytes still arriving, and value-scan.ts to step over a map's values.
 */
import { readU32 } from './bytes.js';
import { DecodeError } from './errors.js';

/** Described values nested deeper than this are refused, as the decoder's default depth does. */
const MAX_DEPTH = 64;

/**
 * Where the encoded value at `pos` ends, or -1 if `buf` ends first. The width follows from the
 * constructor's high nibble (spec 1.2); the decoder checks the value itself later.
 */
export function valueEnd(buf: Uint8Array, pos: number, depth = 0): number {
  if (pos >= buf.length) return -1;
  const c = buf[pos]!;
  let end: number;
  switch (c >> 4) {
    case 0x0:
      if (c !== 0x00 || depth >= MAX_DEPTH)
        throw new DecodeError('AMQP_DECODE_UNKNOWN_CONSTRUCTOR', `bad constructor 0x${c.toString(16)}`);
      end = valueEnd(buf, pos + 1, depth + 1);
      return end < 0 ? -1 : valueEnd(buf, end, depth + 1);
    case 0x4:
      return pos + 1;
    case 0x5:
      end = pos + 2;
      break;
    case 0x6:
      end = pos + 3;
      break;
    case 0x7:
      end = pos + 5;
      break;
    case 0x8:
      end = pos + 9;
      break;
    case 0x9:
      end = pos + 17;
      break;
    case 0xa:
    case 0xc:
    case 0xe:
      if (pos + 2 > buf.length) return -1;
      end = pos + 2 + buf[pos + 1]!;
      break;
    case 0xb:
    case 0xd:
    case 0xf:
      if (pos + 5 > buf.length) return -1;
      end = pos + 5 + readU32(buf, pos + 1);
      break;
    default:
      throw new DecodeError('AMQP_DECODE_UNKNOWN_CONSTRUCTOR', `bad constructor 0x${c.toString(16)}`);
  }
  return end > buf.length ? -1 : end;
}
