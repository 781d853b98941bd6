/**
 * AMQP messages (spec 3.2): sections in spec order, each a described value. Sections that are
 * absent are not written at all. A Buffer body is one data section and decodes back as a zero-copy
 * view of the input.
 */
import { ByteWriter } from './byte-writer.js';
import { allocPool, bytesImpl, copyOf, readU32, view } from './bytes.js';
import { readCompositeListAs, encodeCompositeAs } from './composite.js';
import { Decoder, objectMapsOf, type DecodeOptions } from './decoder.js';
import { encodeBinary, encodeList, encodeMap, encodeObjectMap, encodeValue } from './encoder.js';
import { DecodeError, EncodeError } from './errors.js';
import { Code } from './format-codes.js';
import type { Header, Properties } from './spec/records.js';
import { writeDataSection, writeObjectMapSection, writePropertiesSection } from './message-fast.js';
import { isPlainObject, type AmqpValue } from './values.js';

/** Message or delivery annotations: symbol keys, as a plain object or a Map. */
export type Annotations = { [key: string]: AmqpValue } | Map<AmqpValue, AmqpValue>;
/** The header section: durable, priority, ttl, first-acquirer, delivery-count. */
export type MessageHeader = Omit<Header, 'type'>;
/** The properties section: message-id, to, reply-to, correlation-id, content type, ... */
export type MessageProperties = Omit<Properties, 'type'>;

/** An AMQP message: its sections in spec order, each optional. */
export interface Message {
  header?: MessageHeader;
  deliveryAnnotations?: Annotations;
  messageAnnotations?: Annotations;
  properties?: MessageProperties;
  applicationProperties?: { [key: string]: AmqpValue } | Map<AmqpValue, AmqpValue>;
  /**
   * 'data': a Buffer (one section) or Buffer[] (one section each); 'sequence': an array of lists,
   * one amqp-sequence section each; 'value': one amqp-value. Without bodyType, a Buffer or
   * Uint8Array is data and anything else is an amqp-value.
   */
  body?: AmqpValue;
  bodyType?: 'data' | 'sequence' | 'value';
  footer?: Annotations;
}

/** Section descriptor codes, spec 3.2. */
export const enum Section {
  Header = 0x70,
  DeliveryAnnotations = 0x71,
  MessageAnnotations = 0x72,
  Properties = 0x73,
  ApplicationProperties = 0x74,
  Data = 0x75,
  AmqpSequence = 0x76,
  AmqpValue = 0x77,
  Footer = 0x78,
}

const SECTION_BY_NAME: Record<string, number> = {
  'amqp:header:list': Section.Header,
  'amqp:delivery-annotations:map': Section.DeliveryAnnotations,
  'amqp:message-annotations:map': Section.MessageAnnotations,
  'amqp:properties:list': Section.Properties,
  'amqp:application-properties:map': Section.ApplicationProperties,
  'amqp:data:binary': Section.Data,
  'amqp:amqp-sequence:list': Section.AmqpSequence,
  'amqp:amqp-value:*': Section.AmqpValue,
  'amqp:footer:map': Section.Footer,
};

function sectionHeader(w: ByteWriter, code: number): void {
  w.ensure(3);
  w.buf[w.pos] = Code.Described;
  w.buf[w.pos + 1] = Code.SmallUlong;
  w.buf[w.pos + 2] = code;
  w.pos += 3;
}

/** A map section's value: annotations, a footer or application properties. */
type MapSection = Annotations | NonNullable<Message['applicationProperties']>;

/** What a map section must be, for its error: annotations and the footer, or application properties. */
const mapSectionName = (symbolKeys: boolean): string =>
  symbolKeys ? 'annotations' : 'applicationProperties';

/** A map section (symbol keys for annotations and the footer) through the generic encoder. */
function encodeMapSection(w: ByteWriter, code: number, a: MapSection, symbolKeys: boolean): void {
  sectionHeader(w, code);
  if (a instanceof Map) encodeMap(w, a);
  else if (isPlainObject(a)) encodeObjectMap(w, a, 0, symbolKeys);
  else throw new EncodeError(`${mapSectionName(symbolKeys)} must be an object or a Map`);
}

function checkMessage(m: Message): void {
  // Callers from plain JavaScript: null, a number or a string is a bug to report, not an empty message.
  if (typeof m !== 'object' || m === null || Array.isArray(m)) {
    throw new EncodeError(
      `a message must be an object, got ${m === null ? 'null' : Array.isArray(m) ? 'an array' : typeof m}`,
    );
  }
}

/** encodeMapSection with a plain object through the fast path (the same checks, in the same order). */
function writeMapSection(w: ByteWriter, code: number, a: MapSection, symbolKeys: boolean): void {
  if (a instanceof Map) {
    sectionHeader(w, code);
    encodeMap(w, a);
  } else if (isPlainObject(a)) writeObjectMapSection(w, code, a, symbolKeys);
  else throw new EncodeError(`${mapSectionName(symbolKeys)} must be an object or a Map`);
}

/**
 * Appends the encoded message to `w` (the hot path: no intermediate buffers). The usual sections
 * go through message-fast.ts, which writes the same bytes as writeMessageGeneric.
 */
export function writeMessage(w: ByteWriter, m: Message): void {
  checkMessage(m);
  if (m.header) encodeCompositeAs(w, 'header', m.header);
  if (m.deliveryAnnotations) writeMapSection(w, Section.DeliveryAnnotations, m.deliveryAnnotations, true);
  if (m.messageAnnotations) writeMapSection(w, Section.MessageAnnotations, m.messageAnnotations, true);
  if (m.properties) writePropertiesSection(w, m.properties);
  const ap = m.applicationProperties;
  if (ap) writeMapSection(w, Section.ApplicationProperties, ap, false);
  // The body and its type are read once each, as writeMessageGeneric reads them (a getter may
  // give a new value on every read).
  writeBodyOf(w, m.body, m.bodyType, writeDataSection);
  if (m.footer) writeMapSection(w, Section.Footer, m.footer, true);
}

/**
 * @internal writeMessage through the generic encoder only, value by value: what the fast paths
 * are checked against (test/codec/message-fast.property.test.ts).
 */
export function writeMessageGeneric(w: ByteWriter, m: Message): void {
  checkMessage(m);
  if (m.header) encodeCompositeAs(w, 'header', m.header);
  if (m.deliveryAnnotations) encodeMapSection(w, Section.DeliveryAnnotations, m.deliveryAnnotations, true);
  if (m.messageAnnotations) encodeMapSection(w, Section.MessageAnnotations, m.messageAnnotations, true);
  if (m.properties) encodeCompositeAs(w, 'properties', m.properties);
  const ap = m.applicationProperties;
  if (ap) encodeMapSection(w, Section.ApplicationProperties, ap, false);
  writeBody(w, m);
  if (m.footer) encodeMapSection(w, Section.Footer, m.footer, true);
}

function writeBody(w: ByteWriter, m: Message): void {
  writeBodyOf(w, m.body, m.bodyType, encodeDataSection);
}

function encodeDataSection(w: ByteWriter, part: Uint8Array): void {
  sectionHeader(w, Section.Data);
  encodeBinary(w, part);
}

/**
 * The body section(s). The body and its type are read once each, and the body is asked what it is
 * as often on either path (a getter or a Proxy may answer differently each time); `dataSection`
 * writes one data section, through the fast writer or the generic one.
 */
function writeBodyOf(
  w: ByteWriter,
  body: Message['body'],
  bodyType: Message['bodyType'],
  dataSection: (w: ByteWriter, part: Uint8Array) => void,
): void {
  const type = bodyType ?? (body instanceof Uint8Array ? 'data' : 'value');
  if (type === 'value') {
    if (body === undefined && bodyType === undefined) return;
    sectionHeader(w, Section.AmqpValue);
    return encodeValue(w, body);
  }
  if (type === 'data') {
    if (!Array.isArray(body)) return dataPart(w, body, dataSection);
    for (const p of body) dataPart(w, p, dataSection);
    return;
  }
  if (type === 'sequence') {
    if (!Array.isArray(body) || !body.every(Array.isArray)) {
      throw new EncodeError('a sequence body must be an array of lists');
    }
    for (const list of body as AmqpValue[][]) {
      sectionHeader(w, Section.AmqpSequence);
      encodeList(w, list);
    }
    return;
  }
  throw new EncodeError(`unknown bodyType ${String(type)}`);
}

function dataPart(w: ByteWriter, p: unknown, dataSection: (w: ByteWriter, part: Uint8Array) => void): void {
  if (!(p instanceof Uint8Array))
    throw new EncodeError('a data body must be a Buffer/Uint8Array or an array of them');
  dataSection(w, p);
}

/**
 * encodeMessage writes small messages straight into a pool, one after the other, and hands out
 * views of it, as Node's Buffer.allocUnsafe hands out views of its own pool: no copy out of a
 * scratch buffer. The bytes handed out are never written again, so each is the caller's; like
 * Node's pool, the pool is the size of Buffer.poolSize and its ArrayBuffer cannot be transferred
 * (bytes.ts allocPool), so a message pins no more memory than Buffer.from's copy did.
 */
let pool: ByteWriter | undefined;
const POOL_SIZE = 8 * 1024;
/** A message is begun in the pool while this much of it is left, else in a new pool. */
const POOL_MIN_REST = 1024;
/**
 * Set when a message took more than POOL_MIN_REST: then messages are written into `scratch` and
 * copied out (a large message gets a buffer of its own, exactly its size), until a small one comes.
 * Always so with the portable byte layer, whose byte arrays are not pooled.
 */
let large = false;
let scratch: ByteWriter | undefined;

/**
 * How many encodeMessage or encodeMessageShared calls are under way. A getter in a message may
 * encode another message; that one must not write into the pool or slab the outer one is using.
 */
let nested = 0;

/** `encode(m)`, or, for a message encoded while another is, a writer of its own, copied out. */
function outermost(m: Message, encode: (m: Message) => Buffer): Buffer {
  if (nested > 0) {
    const w = new ByteWriter(256);
    writeMessage(w, m);
    return w.copy();
  }
  nested++;
  try {
    return encode(m);
  } finally {
    nested--;
  }
}

/** Encodes a message into a new Buffer the caller owns (a view of a pool when it is small). */
export function encodeMessage(m: Message): Buffer {
  return outermost(m, encodePooled);
}

function encodePooled(m: Message): Buffer {
  if (large || bytesImpl() !== 'node') return encodeCopied(m);
  let w = pool;
  if (w === undefined || w.buf.length - w.pos < POOL_MIN_REST) {
    w = pool = new ByteWriter(POOL_SIZE, allocPool(POOL_SIZE));
  }
  const buf = w.buf;
  const start = w.pos;
  try {
    writeMessage(w, m);
  } catch (e) {
    // Nothing was handed out from `start` on: the next message may use it.
    if (w.buf === buf) w.pos = start;
    else pool = undefined;
    throw e;
  }
  const end = w.pos;
  if (end - start > POOL_MIN_REST) large = true;
  if (w.buf === buf) return buf.subarray(start, end) as Buffer;
  // Larger than the pool's rest: the writer grew into a buffer of its own (the pool's earlier
  // bytes copied along), which is dropped; the message gets a copy of exactly its size.
  pool = undefined;
  return copyOf(w.buf.subarray(start, end)) as Buffer;
}

/** A large message (or any, with the portable byte layer): written into scratch, copied out. */
function encodeCopied(m: Message): Buffer {
  const w = (scratch ??= new ByteWriter(1024));
  w.reset();
  writeMessage(w, m);
  large = w.pos > POOL_MIN_REST;
  return w.copy();
}

/** Slabs that sent messages are encoded into, one after the other (see encodeMessageShared). */
const SLAB_SIZE = 32 * 1024;
const SLAB_MIN_REST = 1024;
let slab: ByteWriter | undefined;

/**
 * Encodes a message into a view of a shared slab: no Buffer of its own, no copy out of a scratch
 * buffer. The bytes handed out are never written again (the next message goes after them, or into
 * a fresh slab), so they stay valid for as long as they are referenced; the slab is freed once none
 * of its messages is. For the send path, where the bytes are short-lived.
 */
export function encodeMessageShared(m: Message): Buffer {
  return outermost(m, encodeIntoSlab);
}

function encodeIntoSlab(m: Message): Buffer {
  let w = slab;
  if (w === undefined || w.buf.length - w.pos < SLAB_MIN_REST) w = slab = new ByteWriter(SLAB_SIZE);
  const start = w.pos;
  try {
    writeMessage(w, m);
  } catch (e) {
    w.pos = start; // nothing was handed out from here on: the next message may use it
    throw e;
  }
  // A message larger than the rest grew the writer into a new buffer (never the old one); one
  // grown large is not kept as the slab, for small messages to pin.
  const bytes = w.buf.subarray(start, w.pos) as Buffer;
  if (w.buf.length > 4 * SLAB_SIZE) slab = undefined;
  return bytes;
}

/**
 * The section code (0x70 header .. 0x78 footer) of a complete section descriptor (`0x00` and the
 * descriptor value, nothing after it), or a DecodeError: for readers that split a message into
 * sections before decoding them (message-stream.ts).
 */
export function sectionCodeOf(descriptor: Uint8Array): number {
  const buf = view(descriptor);
  return readSectionCode(new Decoder(buf, 0, buf.length));
}

/**
 * Sections come in spec order, each once, except that data and amqp-sequence sections may repeat
 * (one body kind only): section `s` at byte `at`, after section `last` (0 before the first).
 */
export function checkSectionOrder(s: number, last: number, at: number): void {
  const repeatable = (s === Section.Data || s === Section.AmqpSequence) && s === last;
  const bodyAgain =
    s >= Section.Data && s <= Section.AmqpValue && last >= Section.Data && last <= Section.AmqpValue;
  if ((s <= last && !repeatable) || (bodyAgain && !repeatable)) {
    throw new DecodeError(
      'AMQP_DECODE_INVALID_VALUE',
      `message section 0x${s.toString(16)} out of order`,
      at,
    );
  }
}

/** Reads a section's descriptor and returns its code, or fails. */
export function readSectionCode(d: Decoder): number {
  const at = d.pos;
  if (d.u8() !== Code.Described)
    d.fail('AMQP_DECODE_WRONG_TYPE', 'a message section must be a described type', at);
  const code = d.u8();
  let n = -1;
  if (code === Code.SmallUlong) n = d.u8();
  else if (code === Code.Ulong) {
    d.need(8);
    n = readU32(d.buf, d.pos) === 0 ? readU32(d.buf, d.pos + 4) : -1;
    d.pos += 8;
  } else if (code === Code.Sym8 || code === Code.Sym32) {
    n = SECTION_BY_NAME[d.utf8(code === Code.Sym8 ? d.u8() : d.u32(), true)] ?? -1;
  }
  if (n < Section.Header || n > Section.Footer) d.fail('AMQP_DECODE_WRONG_TYPE', 'not a message section', at);
  return n;
}

/**
 * A map section: application properties keyed by strings, annotations and the footer by symbols
 * (spec 3.2); all keys of that type make a plain object, anything else a Map (Decoder.keyedMap).
 */
export function readMapSection(d: Decoder, symbolKeys: boolean): Annotations {
  const code = d.u8();
  if (code === Code.Map8 || code === Code.Map32) {
    return d.objectMaps ? d.keyedMap(code === Code.Map32, symbolKeys) : d.mapOf(code === Code.Map32);
  }
  if (code === Code.Null) return d.objectMaps ? {} : new Map();
  return d.fail('AMQP_DECODE_WRONG_TYPE', 'section must be a map', d.pos - 1);
}

/**
 * Decodes a whole message. Sections must come in spec order; body sections must be of one kind.
 * Maps (application properties, annotations, footer, and any in the body) are plain objects where
 * their keys allow, else Maps; `{ maps: 'map' }` makes every one a Map (see DecodeOptions).
 */
export function decodeMessage(bytes: Uint8Array, options?: DecodeOptions): Message {
  const buf = view(bytes);
  const d = new Decoder(buf, 0, buf.length, options?.maxDepth);
  d.objectMaps = objectMapsOf(options);
  const m: Message = {};
  let last = 0;
  let data: Buffer[] | undefined;
  let seq: AmqpValue[][] | undefined;
  while (d.pos < d.end) {
    const at = d.pos;
    const s = readSectionCode(d);
    checkSectionOrder(s, last, at);
    last = s;
    switch (s) {
      case Section.Header:
        m.header = readCompositeListAs(d, 'header', false) as MessageHeader;
        break;
      case Section.DeliveryAnnotations:
        m.deliveryAnnotations = readMapSection(d, true);
        break;
      case Section.MessageAnnotations:
        m.messageAnnotations = readMapSection(d, true);
        break;
      case Section.Properties:
        m.properties = readCompositeListAs(d, 'properties', false) as MessageProperties;
        break;
      case Section.ApplicationProperties:
        m.applicationProperties = readMapSection(d, false);
        break;
      case Section.Data: {
        const code = d.u8();
        if (code !== Code.Vbin8 && code !== Code.Vbin32)
          d.fail('AMQP_DECODE_WRONG_TYPE', 'data section must be binary', d.pos - 1);
        (data ??= []).push(d.slice(code === Code.Vbin8 ? d.u8() : d.u32()));
        break;
      }
      case Section.AmqpSequence: {
        const v = d.readValue();
        if (!Array.isArray(v))
          return d.fail('AMQP_DECODE_WRONG_TYPE', 'amqp-sequence section must be a list', at);
        (seq ??= []).push(v);
        break;
      }
      case Section.AmqpValue:
        m.body = d.readValue();
        m.bodyType = 'value';
        break;
      case Section.Footer:
        m.footer = readMapSection(d, true);
        break;
    }
  }
  if (data) {
    m.body = data.length === 1 ? data[0] : data;
    m.bodyType = 'data';
  } else if (seq) {
    m.body = seq;
    m.bodyType = 'sequence';
  }
  return m;
}

/**
 * The encoded leading sections of a message (header, delivery-annotations, message-annotations),
 * each absent or its exact bytes, and the rest: for edits that leave every other byte as it came.
 */
export interface LeadingSections {
  header?: Buffer;
  deliveryAnnotations?: Buffer;
  messageAnnotations?: Buffer;
  rest: Buffer;
}

/** Splits off the leading sections; each one is read alone to learn its kind. */
export function splitLeadingSections(payload: Buffer): LeadingSections {
  const out: LeadingSections = { rest: payload };
  const d = new Decoder(payload);
  while (d.pos < d.end) {
    const start = d.pos;
    d.readValue();
    const bytes = payload.subarray(start, d.pos);
    const m = decodeMessage(bytes);
    if (m.header && !out.header) out.header = bytes;
    else if (m.deliveryAnnotations && !out.deliveryAnnotations) out.deliveryAnnotations = bytes;
    else if (m.messageAnnotations && !out.messageAnnotations) out.messageAnnotations = bytes;
    else {
      out.rest = payload.subarray(start);
      return out;
    }
  }
  out.rest = payload.subarray(d.pos);
  return out;
}
