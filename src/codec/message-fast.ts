/**
 * The fast paths of writeMessage (message.ts), which every sent message goes through: the sections
 * a typical message has (annotations and application properties as plain objects, the properties
 * section, a data body) written with
 *
 * - short ASCII strings written four characters to a word (longer ones go to encodeString's native
 *   writer);
 * - the keys of annotations and application properties, the content type and the content encoding
 *   copied word by word from a cache of their encodings: keys and content types come from a small
 *   vocabulary, and copying their bytes costs a fraction of converting the string again. A key is
 *   first compared with the one at its place in the last map of its section, which costs less
 *   than looking it up;
 * - `to` and `reply-to` copied from their last encoding when they are the last address again;
 * - ints, booleans and nulls written in place.
 *
 * Any value without a fast case goes to the generic writer of its field or map entry (encoder.ts,
 * composite-fields.ts), so the bytes and the errors are the generic writer's:
 * test/codec/message-fast.property.test.ts compares the two over arbitrary messages.
 *
 * Word writes may reach 3 bytes past what they write: always into room ensured, past the writer's
 * position, where the next write goes (so never into bytes handed out).
 */
import type { ByteWriter } from './byte-writer.js';
import {
  endList,
  writeAddress,
  writeBinary,
  writeMessageId,
  writeString,
  writeSymbol,
  writeTimestamp,
  writeUint,
} from './composite-fields.js';
import {
  SHORT_STRING,
  encodeString,
  encodeSymbol,
  encodeValue,
  endCompound,
  writeShortAscii,
} from './encoder.js';
import { utf8Slice } from './bytes.js';
import { Code } from './format-codes.js';
import type { Properties } from './spec/records.js';
import type { AmqpValue } from './values.js';

// ---------------------------------------------------------------- the cache of encoded keys

/** A string's whole encoding (constructor, size and text) as big-endian 32-bit words. */
interface Encoded {
  readonly key: string;
  /** Its length in bytes; the last word may hold up to 3 bytes past it. */
  readonly len: number;
  readonly words: number[];
}

/** Encodings longer than this are not kept (sym8/str8 with up to 64 bytes of text). */
const CACHE_MAX_BYTES = 66;
/** A cache that fills up is emptied: a changing vocabulary refills it, nothing grows past this. */
const CACHE_MAX_ENTRIES = 1024;

/** Symbols: annotation keys, content types and encodings. */
const symbolCache = new Map<string, Encoded>();
/** Strings: application property keys. */
const stringCache = new Map<string, Encoded>();

/**
 * Per map section (indexed by its code less 0x70), the encodings of the last map's keys in order:
 * a map usually has the keys of the one before, and comparing a key with the one at its place
 * costs less than looking it up.
 */
const lastKeys: Encoded[][] = [];
/** How many of a map's first keys lastKeys keeps. */
const MEMO_KEYS = 32;

/**
 * The encoding of `s` just written at b[from, to), as words; undefined past `max` bytes. Its key is
 * a string made afresh from the bytes, not `s`: `s` may be a slice of a far larger string, which a
 * cache holding `s` would keep alive.
 */
function encodedOf(s: string, b: Uint8Array, from: number, to: number, max: number): Encoded | undefined {
  const len = to - from;
  if (len > max) return undefined;
  // Up to 255 bytes of text is a str8/sym8: a code, a length, the text.
  const text = utf8Slice(b, from + 2, to);
  if (text !== s) return undefined;
  // As a property name the copy is interned: a key written literally in the caller's code is then
  // the same string, compared by identity rather than by content on each message.
  const key = Object.keys({ [text]: 0 })[0]!;
  const words: number[] = [];
  for (let i = 0; i < len; i += 4) {
    let word = 0;
    for (let j = 0; j < 4; j++) word = (word << 8) | (i + j < len ? b[from + i + j]! : 0);
    words.push(word);
  }
  return { key, len, words };
}

/** Keeps the encoding of `s` just written at b[from, to), when it is short enough. */
function remember(
  cache: Map<string, Encoded>,
  s: string,
  b: Uint8Array,
  from: number,
  to: number,
): Encoded | undefined {
  const e = encodedOf(s, b, from, to, CACHE_MAX_BYTES);
  if (e === undefined) return undefined;
  if (cache.size >= CACHE_MAX_ENTRIES) cache.clear();
  cache.set(e.key, e);
  return e;
}

/** Writes `s` as a symbol (or a string) from its cached encoding, or encodes it (and keeps it). */
function putCached(w: ByteWriter, s: string, symbol: boolean): Encoded | undefined {
  const cache = symbol ? symbolCache : stringCache;
  const e = cache.get(s);
  if (e === undefined) {
    const from = w.pos;
    if (symbol) encodeSymbol(w, s);
    else encodeString(w, s, Code.Str8, Code.Str32);
    return remember(cache, s, w.buf, from, w.pos);
  }
  putEncoded(w, e);
  return e;
}

function putEncoded(w: ByteWriter, e: Encoded): void {
  const p = w.pos;
  // Up to 3 bytes past the encoding are written too (and overwritten by what comes next).
  if (p + e.len + 3 > w.buf.length) w.ensure(e.len + 3);
  const dv = w.dataView();
  const words = e.words;
  for (let i = 0; i < words.length; i++) dv.setInt32(p + 4 * i, words[i]!);
  w.pos = p + e.len;
}

// ---------------------------------------------------------------- addresses

/**
 * An address field's last value, and its encoding once it came twice in a row: a sender's
 * messages mostly go to one address (an IoT Hub device's telemetry all to
 * /devices/<id>/messages/events), and a new one costs a comparison.
 */
interface AddressMemo {
  last: string | undefined;
  encoded: Encoded | undefined;
}

/** Addresses up to this long (str8 with 128 bytes of text) are kept. */
const ADDRESS_MAX_BYTES = 130;

const lastTo: AddressMemo = { last: undefined, encoded: undefined };
const lastReplyTo: AddressMemo = { last: undefined, encoded: undefined };

/** Writes an address (a string), from the memo when it is the last one again. */
function putAddress(w: ByteWriter, s: string, memo: AddressMemo): void {
  if (s !== memo.last) {
    // A long address is not kept: the memo holds no more than ADDRESS_MAX_BYTES of text.
    memo.last = s.length <= ADDRESS_MAX_BYTES ? s : undefined;
    memo.encoded = undefined;
    return putString(w, s);
  }
  const e = memo.encoded;
  if (e !== undefined) return putEncoded(w, e);
  const from = w.pos;
  putString(w, s);
  memo.encoded = encodedOf(s, w.buf, from, w.pos, ADDRESS_MAX_BYTES);
}

// ---------------------------------------------------------------- values

/** Writes a string (str8/str32): a short ASCII one in place, any other by encodeString. */
function putString(w: ByteWriter, s: string): void {
  const n = s.length;
  if (n < SHORT_STRING) {
    const p = w.pos;
    if (p + 5 + n > w.buf.length) w.ensure(5 + n);
    if (writeShortAscii(w.dataView(), s, n, p + 2) === n) {
      const b = w.buf;
      b[p] = Code.Str8;
      b[p + 1] = n;
      w.pos = p + 2 + n;
      return;
    }
  }
  encodeString(w, s, Code.Str8, Code.Str32);
}

/** Writes a map's value (depth 1, inside the map), as encodeValue does. */
function putValue(w: ByteWriter, v: AmqpValue): void {
  if (typeof v === 'string') return putString(w, v);
  if (typeof v === 'number') {
    // An int when integral in 32 bits and not -0 (encodeValue's isIntegral32).
    if ((v | 0) === v && !Object.is(v, -0)) {
      const p = w.pos;
      if (p + 5 > w.buf.length) w.ensure(5);
      const b = w.buf;
      if (v >= -128 && v <= 127) {
        b[p] = Code.SmallInt;
        b[p + 1] = v;
        w.pos = p + 2;
      } else {
        b[p] = Code.Int;
        w.dataView().setInt32(p + 1, v);
        w.pos = p + 5;
      }
      return;
    }
  } else if (typeof v === 'boolean' || v === null) {
    const p = w.pos;
    if (p + 1 > w.buf.length) w.ensure(1);
    w.buf[p] = v === null ? Code.Null : v ? Code.BooleanTrue : Code.BooleanFalse;
    w.pos = p + 1;
    return;
  }
  encodeValue(w, v, 1);
}

function putNull(w: ByteWriter): void {
  const p = w.pos;
  if (p + 1 > w.buf.length) w.ensure(1);
  w.buf[p] = Code.Null;
  w.pos = p + 1;
}

// ---------------------------------------------------------------- sections

/** Writes the descriptor of section `code` (0x00, smallulong code) and a compound's first byte. */
function beginSection(w: ByteWriter, code: number, compound: number): number {
  w.ensure(6);
  const p = w.pos;
  w.dataView().setInt32(p, (Code.Described << 24) | (Code.SmallUlong << 16) | (code << 8) | compound);
  w.pos = p + 6;
  return p + 3;
}

/** A data section holding `body`: the same bytes as sectionHeader + encodeBinary. */
export function writeDataSection(w: ByteWriter, body: Uint8Array): void {
  const n = body.length;
  w.ensure(8 + n);
  const b = w.buf;
  let p = w.pos;
  b[p] = Code.Described;
  b[p + 1] = Code.SmallUlong;
  b[p + 2] = SECTION_DATA;
  if (n <= 255) {
    b[p + 3] = Code.Vbin8;
    b[p + 4] = n;
    p += 5;
  } else {
    b[p + 3] = Code.Vbin32;
    w.dataView().setUint32(p + 4, n);
    p += 8;
  }
  b.set(body, p);
  w.pos = p + n;
}

/**
 * A map section from a plain object: annotations and the footer with symbol keys, application
 * properties with string keys. The same bytes as sectionHeader + encodeObjectMap(w, o, 0, symbolKeys).
 */
export function writeObjectMapSection(
  w: ByteWriter,
  code: number,
  o: { [key: string]: AmqpValue },
  symbolKeys: boolean,
): void {
  const at = beginSection(w, code, Code.Map8);
  const last = (lastKeys[code - 0x70] ??= []);
  let count = 0;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const v = o[k];
    if (v === undefined) continue;
    const i = count >> 1;
    const e = last[i];
    if (e !== undefined && e.key === k) putEncoded(w, e);
    else {
      const got = putCached(w, k, symbolKeys);
      if (got !== undefined && i < MEMO_KEYS) last[i] = got;
    }
    putValue(w, v);
    count += 2;
  }
  endCompound(w, at, count, Code.Map32);
}

/** The properties section: the same bytes and errors as the generated writer (spec/composites.ts). */
export function writePropertiesSection(w: ByteWriter, r: Omit<Properties, 'type'>): void {
  const v0 = r.messageId;
  const v1 = r.userId;
  const v2 = r.to;
  const v3 = r.subject;
  const v4 = r.replyTo;
  const v5 = r.correlationId;
  const v6 = r.contentType;
  const v7 = r.contentEncoding;
  const v8 = r.absoluteExpiryTime;
  const v9 = r.creationTime;
  const v10 = r.groupId;
  const v11 = r.groupSequence;
  const v12 = r.replyToGroupId;
  // Trailing absent fields are left out.
  let n = 0;
  if (v0 != null) n = 1;
  if (v1 != null) n = 2;
  if (v2 != null) n = 3;
  if (v3 != null) n = 4;
  if (v4 != null) n = 5;
  if (v5 != null) n = 6;
  if (v6 != null) n = 7;
  if (v7 != null) n = 8;
  if (v8 != null) n = 9;
  if (v9 != null) n = 10;
  if (v10 != null) n = 11;
  if (v11 != null) n = 12;
  if (v12 != null) n = 13;
  if (n === 0) {
    w.ensure(4);
    const p = w.pos;
    w.buf[p] = Code.Described;
    w.buf[p + 1] = Code.SmallUlong;
    w.buf[p + 2] = SECTION_PROPERTIES;
    w.buf[p + 3] = Code.List0;
    w.pos = p + 4;
    return;
  }
  const at = beginSection(w, SECTION_PROPERTIES, Code.List8);
  if (v0 == null) putNull(w);
  else if (typeof v0 === 'string') putString(w, v0);
  else writeMessageId(w, v0, 'message-id');
  if (n > 1) {
    if (v1 == null) putNull(w);
    else writeBinary(w, v1, 'user-id');
  }
  if (n > 2) {
    if (v2 == null) putNull(w);
    else if (typeof v2 === 'string') putAddress(w, v2, lastTo);
    else writeAddress(w, v2, 'to');
  }
  if (n > 3) {
    if (v3 == null) putNull(w);
    else if (typeof v3 === 'string') putString(w, v3);
    else writeString(w, v3, 'subject');
  }
  if (n > 4) {
    if (v4 == null) putNull(w);
    else if (typeof v4 === 'string') putAddress(w, v4, lastReplyTo);
    else writeAddress(w, v4, 'reply-to');
  }
  if (n > 5) {
    if (v5 == null) putNull(w);
    else if (typeof v5 === 'string') putString(w, v5);
    else writeMessageId(w, v5, 'correlation-id');
  }
  if (n > 6) {
    if (v6 == null) putNull(w);
    else if (typeof v6 === 'string') putCached(w, v6, true);
    else writeSymbol(w, v6, 'content-type');
  }
  if (n > 7) {
    if (v7 == null) putNull(w);
    else if (typeof v7 === 'string') putCached(w, v7, true);
    else writeSymbol(w, v7, 'content-encoding');
  }
  if (n > 8) {
    if (v8 == null) putNull(w);
    else writeTimestamp(w, v8, 'absolute-expiry-time');
  }
  if (n > 9) {
    if (v9 == null) putNull(w);
    else writeTimestamp(w, v9, 'creation-time');
  }
  if (n > 10) {
    if (v10 == null) putNull(w);
    else if (typeof v10 === 'string') putString(w, v10);
    else writeString(w, v10, 'group-id');
  }
  if (n > 11) {
    if (v11 == null) putNull(w);
    else writeUint(w, v11, 'group-sequence');
  }
  if (n > 12) {
    if (v12 == null) putNull(w);
    else if (typeof v12 === 'string') putString(w, v12);
    else writeString(w, v12, 'reply-to-group-id');
  }
  endList(w, at, n);
}

const SECTION_PROPERTIES = 0x73;
const SECTION_DATA = 0x75;
