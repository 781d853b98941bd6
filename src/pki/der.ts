/**
 * A minimal ASN.1 DER encoder (X.690 §8, §10) and a small TLV reader, just enough to build and
 * inspect X.509 certificates: no schema, no BER, only the types a certificate needs. Every encoder
 * returns the complete TLV (tag, length, content) as a Buffer; constructed values take the
 * already-encoded children.
 */
import { AmqpOneError } from '../codec/errors.js';

/** Universal tags used by X.509 (X.680 §8.4). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function encodeError(message: string): AmqpOneError {
  return new AmqpOneError('AMQP_DER_ENCODE', message);
}

function decodeError(message: string, offset: number): AmqpOneError {
  return new AmqpOneError('AMQP_DER_DECODE', `${message} (at byte ${offset})`);
}

/** Definite length: short form below 128, else long form with the fewest length octets (X.690 §10.1). */
export function encodeLength(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw encodeError(`bad length ${n}`);
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a low tag number (the only form X.509 uses). */
export function tlv(tag: number, content: Uint8Array): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw encodeError(`bad tag ${tag}`);
  }
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(Tag.SEQUENCE, Buffer.concat(items));
}

/** SET OF: DER sorts the encoded elements (X.690 §11.6). */
export function set(...items: Uint8Array[]): Buffer {
  const sorted = items.map((i) => Buffer.from(i)).sort(Buffer.compare);
  return tlv(Tag.SET, Buffer.concat(sorted));
}

export function boolean(value: boolean): Buffer {
  return tlv(Tag.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue(): Buffer {
  return tlv(Tag.NULL, Buffer.alloc(0));
}

/**
 * A non-negative INTEGER, from a number, a bigint or big-endian unsigned magnitude bytes: minimal
 * two's complement (no redundant leading 0x00, one added when the top bit is set).
 */
export function integer(value: number | bigint | Uint8Array): Buffer {
  let magnitude: Buffer;
  if (value instanceof Uint8Array) {
    magnitude = Buffer.from(value);
  } else {
    let v = BigInt(value);
    if (v < 0n) throw encodeError('negative INTEGER not supported');
    const bytes: number[] = [];
    for (; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
    magnitude = Buffer.from(bytes);
  }
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  if (trimmed.length === 0) return tlv(Tag.INTEGER, Buffer.from([0]));
  const content = trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
  return tlv(Tag.INTEGER, content);
}

/** The content octets of an OBJECT IDENTIFIER in dotted form (X.690 §8.19). */
export function encodeOidContent(oid: string): Buffer {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(oid)) throw encodeError(`bad OBJECT IDENTIFIER ${oid}`);
  const arcs = oid.split('.').map((a) => BigInt(a));
  const [first, second] = [arcs[0]!, arcs[1]!];
  if (first < 2n && second > 39n) throw encodeError(`bad OBJECT IDENTIFIER ${oid}`);
  const subids = [first * 40n + second, ...arcs.slice(2)];
  const out: number[] = [];
  for (const id of subids) {
    const groups: number[] = [];
    let v = id;
    do {
      groups.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < groups.length - 1; i++) groups[i]! |= 0x80;
    out.push(...groups);
  }
  return Buffer.from(out);
}

export function oid(dotted: string): Buffer {
  return tlv(Tag.OID, encodeOidContent(dotted));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(Tag.OCTET_STRING, bytes);
}

/** A BIT STRING holding whole octets (signatures, public keys): zero unused bits. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw encodeError(`bad unused bit count ${unusedBits}`);
  }
  return tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * A named-bit BIT STRING (like KeyUsage) from the numbers of the bits that are set, bit 0 being the
 * most significant bit of the first octet. DER drops trailing zero bits (X.690 §11.2.2).
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0 || b > 255) throw encodeError(`bad bit number ${b}`);
  }
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return bitString(bytes, 7 - (highest & 7));
}

export function utf8String(s: string): Buffer {
  return tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** UTCTime YYMMDDHHMMSSZ, for years 1950 to 2049 (seconds, no fraction: RFC 5280 §4.1.2.5.1). */
export function utcTime(date: Date): Buffer {
  const y = date.getUTCFullYear();
  if (y < 1950 || y > 2049) throw encodeError(`UTCTime cannot hold year ${y}`);
  const s =
    two(y % 100) +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds()) +
    'Z';
  return tlv(Tag.UTC_TIME, Buffer.from(s, 'latin1'));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ (seconds, no fraction: RFC 5280 §4.1.2.5.2). */
export function generalizedTime(date: Date): Buffer {
  const y = date.getUTCFullYear();
  if (y < 0 || y > 9999) throw encodeError(`GeneralizedTime cannot hold year ${y}`);
  const s =
    String(y).padStart(4, '0') +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds()) +
    'Z';
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(s, 'latin1'));
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (and before 1950), RFC 5280 §4.1.2.5. */
export function x509Time(date: Date): Buffer {
  if (Number.isNaN(date.getTime())) throw encodeError('invalid date');
  const y = date.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? utcTime(date) : generalizedTime(date);
}

/** [n] EXPLICIT: a constructed context-specific wrapper around one encoded value. */
export function explicit(n: number, inner: Uint8Array): Buffer {
  if (n < 0 || n > 30) throw encodeError(`bad context tag ${n}`);
  return tlv(0xa0 | n, inner);
}

/** [n] IMPLICIT over a primitive type: the content octets under a context-specific primitive tag. */
export function implicitPrimitive(n: number, content: Uint8Array): Buffer {
  if (n < 0 || n > 30) throw encodeError(`bad context tag ${n}`);
  return tlv(0x80 | n, content);
}

/** PEM armour (RFC 7468): base64 in 64-character lines. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The first block with this label in a PEM text, decoded. */
export function fromPem(label: string, pem: string): Buffer {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) throw new AmqpOneError('AMQP_DER_DECODE', `no ${label} block in PEM text`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/** One TLV found by the reader: offsets into the buffer it was read from. */
export interface Tlv {
  tag: number;
  /** Offset of the tag octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the last content octet. */
  end: number;
}

/** Reads the TLV at `offset`, within `limit` (default the end of the buffer). DER definite lengths only. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw decodeError('truncated TLV', offset);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw decodeError('high tag numbers not supported', offset);
  let p = offset + 1;
  const first = buf[p++]!;
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw decodeError('indefinite length is not DER', offset);
    if (n > 4) throw decodeError('length too large', offset);
    if (p + n > limit) throw decodeError('truncated length', offset);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  if (p + len > limit) throw decodeError('content runs past its container', offset);
  return { tag, start: offset, contentStart: p, end: p + len };
}

/** The TLVs inside a constructed value. */
export function readChildren(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end;) {
    const child = readTlv(buf, p, parent.end);
    out.push(child);
    p = child.end;
  }
  return out;
}

/** Reads `buf` as exactly one TLV (no trailing bytes). */
export function readSingle(buf: Uint8Array): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length) throw decodeError('trailing bytes after value', t.end);
  return t;
}
