/**
 * The fast read of a map section that readMessage has already checked (message-view.ts): a small
 * map8 of ASCII keys and plain values, read with plain locals straight into an object. Application
 * properties and annotations are nearly always such maps; a Decoder's keyedMap would check again
 * what the up-front check has decided, and pays for the Map fallback and the scratch slots.
 *
 * Anything else (a wide map, a key that is not ASCII or may be an array index, a value other than
 * the few kinds below) gives undefined, and the caller reads the section with the Decoder. A
 * property test (test/codec/message-view.property.test.ts) holds the two to the same result.
 */
import { cachedAscii, isAscii, setOwn } from './decoder.js';
import { readF64, readI32, readI64 } from './bytes.js';
import { shortAscii } from './short-ascii.js';
import { Code } from './format-codes.js';
import { Typed, type AmqpValue } from './values.js';

/** Larger maps go to the Decoder. */
const MAX_PAIRS = 16;
const MAX_KEY = 32;

let enabled = true;

/** Test hook: read checked map sections here first (the default), or always with the Decoder. */
export function setFlatMaps(on: boolean): void {
  enabled = on;
}

/**
 * The map section whose value starts at `at` (its constructor), as the Decoder would read it, or
 * undefined when it is not a flat map of this kind. The bytes must have passed readMessage's check:
 * sizes, counts and repeated keys are not looked at again. `ascii`: they passed its fast check,
 * which lets no string through that is not ASCII, so string values need no second look.
 */
export function readFlatMap(
  buf: Uint8Array,
  at: number,
  symbolKeys: boolean,
  ascii: boolean,
): Record<string, AmqpValue> | undefined {
  if (!enabled || buf[at] !== Code.Map8) return undefined;
  const pairs = buf[at + 2]! >> 1;
  if (pairs > MAX_PAIRS) return undefined;
  const keyCode = symbolKeys ? Code.Sym8 : Code.Str8;
  const o: Record<string, AmqpValue> = {};
  let p = at + 3;
  for (let i = 0; i < pairs; i++) {
    const n = buf[p + 1]!;
    if (buf[p] !== keyCode || n === 0 || n > MAX_KEY) return undefined;
    const first = buf[p + 2]!;
    // A key that may be an array index changes the order an object lists its keys in.
    if (first >= 0x30 && first <= 0x39) return undefined;
    const key = cachedAscii(buf, p + 2, n);
    if (key === undefined) return undefined;
    p += 2 + n;
    let v: AmqpValue;
    switch (buf[p]) {
      case Code.Str8: {
        const start = p + 2;
        const end = start + buf[p + 1]!;
        if (!ascii && !isAscii(buf, start, end)) return undefined;
        v = shortAscii(buf, start, end - start);
        p = end;
        break;
      }
      case Code.Int:
        v = readI32(buf, p + 1);
        p += 5;
        break;
      case Code.SmallInt:
        v = (buf[p + 1]! << 24) >> 24;
        p += 2;
        break;
      case Code.Double: {
        // As the Decoder: an integral double keeps its type, or it would read back as an int.
        const d = readF64(buf, p + 1);
        v = (d | 0) === d ? new Typed('double', d) : d;
        p += 9;
        break;
      }
      case Code.Long:
        v = readI64(buf, p + 1);
        p += 9;
        break;
      case Code.SmallLong:
        v = BigInt((buf[p + 1]! << 24) >> 24);
        p += 2;
        break;
      case Code.Null:
        v = null;
        p++;
        break;
      case Code.BooleanTrue:
        v = true;
        p++;
        break;
      case Code.BooleanFalse:
        v = false;
        p++;
        break;
      default:
        return undefined;
    }
    setOwn(o, key, v);
  }
  return o;
}
