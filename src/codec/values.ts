import { EncodeError } from './errors.js';
import { copyOf } from './bytes.js';

/**
 * How AMQP values look in JavaScript.
 *
 * Plain JS values map to the obvious AMQP type: null, boolean, number (int when integral and in
 * int32 range, else double), bigint (long), string, Buffer/Uint8Array (binary), Date (timestamp),
 * Array (list), Map or plain object (map). Types JS cannot tell apart get a small wrapper, so that a
 * decoded value encodes back to the same AMQP type.
 *
 * Maps decode to a plain object when every key is a string (and in an order an object keeps:
 * array-index keys first, ascending), to a Map otherwise; a plain object's keys encode as strings
 * (as symbols in annotations, the footer and `fields`). So encoding a decoded value gives back the
 * same bytes either way. The decoder's `maps: 'map'` option makes every map a Map.
 */

/** An AMQP symbol: an ASCII name, distinct from a string on the wire. */
export class AmqpSymbol {
  constructor(readonly value: string) {}
  /** The symbol's name. */
  toString(): string {
    return this.value;
  }
  /** The symbol's name, so that symbols compare and concatenate as strings. */
  valueOf(): string {
    return this.value;
  }
  /** The symbol's name, for JSON. */
  toJSON(): string {
    return this.value;
  }
}

/** The AMQP types that need a wrapper to survive a round trip. */
export type WrappedType =
  | 'ubyte'
  | 'ushort'
  | 'uint'
  | 'ulong'
  | 'byte'
  | 'short'
  | 'float'
  | 'double'
  | 'char'
  | 'decimal32'
  | 'decimal64'
  | 'decimal128'
  | 'uuid'
  | 'timestamp';

/**
 * A value tagged with its AMQP type. `value` is a number for the small integers, float and double;
 * a bigint for ulong; a string for char (one code point) and uuid (canonical lower-case form); a
 * Buffer of the raw IEEE 754 bytes for the decimals; a bigint for a timestamp outside Date's range.
 */
export class Typed<T = unknown> {
  constructor(
    readonly type: WrappedType,
    readonly value: T,
  ) {}
  /** The wrapped value. */
  valueOf(): T {
    return this.value;
  }
  /** The wrapped value, for JSON (a bigint as its decimal string). */
  toJSON(): unknown {
    return typeof this.value === 'bigint' ? this.value.toString() : this.value;
  }
}

/** A described value: a descriptor (ulong or symbol, usually) and the value it describes. */
export class Described {
  constructor(
    readonly descriptor: AmqpValue,
    readonly value: AmqpValue,
  ) {}
}

/**
 * The AMQP type names an array's elements can have. 'described' is not one: a described array has
 * `descriptor` set and `elementType` names the described value's type.
 */
export type ElementType =
  | 'boolean'
  | 'ubyte'
  | 'ushort'
  | 'uint'
  | 'ulong'
  | 'byte'
  | 'short'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'decimal32'
  | 'decimal64'
  | 'decimal128'
  | 'char'
  | 'timestamp'
  | 'uuid'
  | 'binary'
  | 'string'
  | 'symbol'
  | 'list'
  | 'map'
  | 'array';

/**
 * An AMQP array: every element has the same type. `items` hold the plain form of each element
 * (numbers for int/uint/ubyte..., strings for symbols and strings, bigints for long/ulong, Buffers,
 * Dates, nested AmqpArrays for 'array'); the element type lives once, here.
 */
export class AmqpArray {
  constructor(
    readonly elementType: ElementType,
    readonly items: AmqpValue[],
    readonly descriptor?: AmqpValue,
  ) {}
}

/** An AMQP map with keys of any type. */
export type AmqpMap = Map<AmqpValue, AmqpValue>;

/** Every value the codec encodes and the decoder returns. */
export type AmqpValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | AmqpSymbol
  | Typed
  | Described
  | AmqpArray
  | AmqpValue[]
  | AmqpMap
  | { [key: string]: AmqpValue };

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

function checkInt(type: string, n: number, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) throw new EncodeError(`${type} out of range: ${n}`);
  return n;
}

/** An AMQP symbol (an ASCII name, distinct from a string on the wire). */
export const symbol = (s: string): AmqpSymbol => new AmqpSymbol(s);
/** An AMQP ubyte; throws if `n` is not an integer in 0..255. */
export const ubyte = (n: number): Typed<number> => new Typed('ubyte', checkInt('ubyte', n, 0, 0xff));
/** An AMQP ushort; throws if `n` is not an integer in 0..65535. */
export const ushort = (n: number): Typed<number> => new Typed('ushort', checkInt('ushort', n, 0, 0xffff));
/** An AMQP uint; throws if `n` is not an integer in 0..2^32-1. */
export const uint = (n: number): Typed<number> => new Typed('uint', checkInt('uint', n, 0, 0xffffffff));
/** An AMQP byte; throws if `n` is not an integer in -128..127. */
export const byte = (n: number): Typed<number> => new Typed('byte', checkInt('byte', n, -0x80, 0x7f));
/** An AMQP short; throws if `n` is not an integer in -32768..32767. */
export const short = (n: number): Typed<number> => new Typed('short', checkInt('short', n, -0x8000, 0x7fff));
/** int is the default for integral numbers: this only checks the range. */
export const int = (n: number): number => checkInt('int', n, -0x80000000, 0x7fffffff);
/** An AMQP float (rounded to single precision). */
export const float = (n: number): Typed<number> => new Typed('float', Math.fround(n));
/** An AMQP double, also for integral numbers (a plain integer encodes as an int or long). */
export const double = (n: number): Typed<number> => new Typed('double', n);

/** An AMQP ulong; throws if `n` is not an integer in 0..2^64-1. */
export function ulong(n: number | bigint): Typed<bigint> {
  const v = BigInt(n);
  if (v < 0n || v > UINT64_MAX) throw new EncodeError(`ulong out of range: ${n}`);
  return new Typed('ulong', v);
}

/** AMQP long is a JS bigint. */
export function long(n: number | bigint): bigint {
  const v = BigInt(n);
  if (v < INT64_MIN || v > INT64_MAX) throw new EncodeError(`long out of range: ${n}`);
  return v;
}

/** A char from a one-code-point string or a code point number. */
export function char(c: string | number): Typed<string> {
  const s = typeof c === 'number' ? String.fromCodePoint(c) : c;
  const cp = s.codePointAt(0);
  if (cp === undefined || String.fromCodePoint(cp) !== s)
    throw new EncodeError('char must be one code point');
  return new Typed('char', s);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A uuid from its string form or its 16 bytes. */
export function uuid(u: string | Uint8Array): Typed<string> {
  if (typeof u !== 'string') {
    if (u.length !== 16) throw new EncodeError('uuid needs 16 bytes');
    return new Typed('uuid', uuidToString(u, 0));
  }
  const s = u.toLowerCase();
  if (!UUID_RE.test(s)) throw new EncodeError(`not a uuid: ${u}`);
  return new Typed('uuid', s);
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The 16 bytes at `o` as a canonical uuid string. */
export function uuidToString(b: Uint8Array, o: number): string {
  return (
    HEX[b[o]!]! +
    HEX[b[o + 1]!]! +
    HEX[b[o + 2]!]! +
    HEX[b[o + 3]!]! +
    '-' +
    HEX[b[o + 4]!]! +
    HEX[b[o + 5]!]! +
    '-' +
    HEX[b[o + 6]!]! +
    HEX[b[o + 7]!]! +
    '-' +
    HEX[b[o + 8]!]! +
    HEX[b[o + 9]!]! +
    '-' +
    HEX[b[o + 10]!]! +
    HEX[b[o + 11]!]! +
    HEX[b[o + 12]!]! +
    HEX[b[o + 13]!]! +
    HEX[b[o + 14]!]! +
    HEX[b[o + 15]!]!
  );
}

function decimal(
  type: 'decimal32' | 'decimal64' | 'decimal128',
  width: number,
  bytes: Uint8Array,
): Typed<Buffer> {
  if (bytes.length !== width) throw new EncodeError(`${type} needs ${width} bytes`);
  return new Typed(type, copyOf(bytes) as Buffer);
}
/** Decimals are kept as their raw IEEE 754 decimal bytes (big-endian), which is all AMQP moves. */
export const decimal32 = (bytes: Uint8Array): Typed<Buffer> => decimal('decimal32', 4, bytes);
/** An AMQP decimal64 from its 8 IEEE 754 bytes. */
export const decimal64 = (bytes: Uint8Array): Typed<Buffer> => decimal('decimal64', 8, bytes);
/** An AMQP decimal128 from its 16 IEEE 754 bytes. */
export const decimal128 = (bytes: Uint8Array): Typed<Buffer> => decimal('decimal128', 16, bytes);

/** A timestamp (ms since the epoch). A Date is a timestamp too. */
export function timestamp(t: Date | number | bigint): Date | Typed<bigint> {
  if (t instanceof Date) return t;
  const ms = BigInt(t);
  if (ms < INT64_MIN || ms > INT64_MAX) throw new EncodeError('timestamp out of range');
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? new Typed('timestamp', ms) : d;
}

/** A described value: a descriptor (symbol or ulong) and the value it describes. */
export const described = (descriptor: AmqpValue, value: AmqpValue): Described =>
  new Described(descriptor, value);

/** An AMQP array: items of one element type, encoded once for all. */
export function array(elementType: ElementType, items: AmqpValue[], descriptor?: AmqpValue): AmqpArray {
  return new AmqpArray(elementType, items, descriptor);
}

/** Whether `v` is an object literal (encoded as a map with string keys). */
export function isPlainObject(v: unknown): v is { [key: string]: AmqpValue } {
  if (typeof v !== 'object' || v === null) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}
