/**
 * Lazy message decoding: `readMessage` checks the whole message up front and builds only the
 * sections that are read. A receiver that looks at one annotation and the message id pays for
 * those, not for the application properties and body it never touches.
 *
 * The check comes first and is complete: readMessage fails with the same DecodeError as
 * decodeMessage on the same bytes (value-scan.ts makes the Decoder's checks without building
 * values), so a malformed message never reaches the application, and a section read later cannot
 * fail. The header (small, and rare) is decoded at once; the properties' fields, the annotations,
 * the application properties, the footer and the body are kept as offsets into the input until
 * their first read, and then kept decoded (properties-view.ts reads the fields one by one;
 * flat-map.ts reads the usual small map sections without a Decoder). Each section reads back
 * exactly as decodeMessage gives it (test/codec/message-view.property.test.ts shows this for any
 * message and any corruption of one).
 *
 * The result is a MessageView: its sections are accessors on its prototype, not own properties, so
 * spreading it (`{ ...view }`) or listing its keys gives its internal fields, not its sections.
 * `toMessage()` gives a plain Message to spread, copy or change.
 */
import { view } from './bytes.js';
import { readCompositeListAs } from './composite.js';
import { Decoder, objectMapsOf, type DecodeOptions } from './decoder.js';
import { DecodeError } from './errors.js';
import { readFlatMap } from './flat-map.js';
import { Code } from './format-codes.js';
import {
  checkSectionOrder,
  decodeMessage,
  readMapSection,
  readSectionCode,
  Section,
  type Annotations,
  type Message,
  type MessageHeader,
  type MessageProperties,
} from './message.js';
import {
  noOffsets,
  PropertiesView,
  quickProperties,
  scanProperties,
  type LazyProperties,
} from './properties-view.js';
import { quickBegin, quickEnd, quickMap, quickStart, quickValue, UNSURE } from './quick-scan.js';
import { resetScan, scanMap, scanValue } from './value-scan.js';
import type { AmqpValue } from './values.js';

type AppProperties = Message['applicationProperties'];

/** A section kept as its offsets until it is read: where its value starts and ends. */
const NOT_KEPT = -1;

let quickEnabled = true;

/** Test hook: check messages with the fast path first (the default) or with the careful scan only. */
export function setQuickScan(on: boolean): void {
  quickEnabled = on;
}

/**
 * A message whose sections decode on first read (see readMessage). Assigning a section replaces
 * it, as on a plain Message.
 */
export class MessageView implements Message {
  header?: MessageHeader;
  properties?: MessageProperties;
  bodyType?: 'data' | 'sequence' | 'value';

  private da: Annotations | undefined;
  private ma: Annotations | undefined;
  private ap: AppProperties;
  private ft: Annotations | undefined;
  private bd: AmqpValue | undefined;
  private daAt = NOT_KEPT;
  private daEnd = 0;
  private maAt = NOT_KEPT;
  private maEnd = 0;
  private apAt = NOT_KEPT;
  private apEnd = 0;
  private ftAt = NOT_KEPT;
  private ftEnd = 0;
  /** The body's sections: [start, end] of each one's value, in order (data, sequence or value). */
  private bodyAt: number[] | undefined;
  /**
   * @internal Every map section passed the fast check (quick-scan.ts), which lets no string
   * through that is not ASCII: their string values need no second look when read.
   */
  asciiMaps = true;

  /** @internal */
  constructor(
    private readonly buf: Buffer,
    private readonly maxDepth: number,
  ) {}

  /** The delivery annotations, decoded on first read from bytes readMessage has already checked. */
  get deliveryAnnotations(): Annotations | undefined {
    if (this.daAt !== NOT_KEPT) {
      this.da = this.mapAt(this.daAt, this.daEnd, true);
      this.daAt = NOT_KEPT;
    }
    return this.da;
  }
  /** Replaces the delivery annotations; the kept bytes are dropped. */
  set deliveryAnnotations(v: Annotations | undefined) {
    this.da = v;
    this.daAt = NOT_KEPT;
  }

  /** The message annotations, decoded on first read from bytes readMessage has already checked. */
  get messageAnnotations(): Annotations | undefined {
    if (this.maAt !== NOT_KEPT) {
      this.ma = this.mapAt(this.maAt, this.maEnd, true);
      this.maAt = NOT_KEPT;
    }
    return this.ma;
  }
  /** Replaces the message annotations; the kept bytes are dropped. */
  set messageAnnotations(v: Annotations | undefined) {
    this.ma = v;
    this.maAt = NOT_KEPT;
  }

  /** The application properties, decoded on first read from bytes readMessage has already checked. */
  get applicationProperties(): AppProperties {
    if (this.apAt !== NOT_KEPT) {
      this.ap = this.mapAt(this.apAt, this.apEnd, false);
      this.apAt = NOT_KEPT;
    }
    return this.ap;
  }
  /** Replaces the application properties; the kept bytes are dropped. */
  set applicationProperties(v: AppProperties) {
    this.ap = v;
    this.apAt = NOT_KEPT;
  }

  /** The footer, decoded on first read from bytes readMessage has already checked. */
  get footer(): Annotations | undefined {
    if (this.ftAt !== NOT_KEPT) {
      this.ft = this.mapAt(this.ftAt, this.ftEnd, true);
      this.ftAt = NOT_KEPT;
    }
    return this.ft;
  }
  /** Replaces the footer; the kept bytes are dropped. */
  set footer(v: Annotations | undefined) {
    this.ft = v;
    this.ftAt = NOT_KEPT;
  }

  /** The body, decoded on first read from bytes readMessage has already checked. */
  get body(): AmqpValue | undefined {
    const at = this.bodyAt;
    if (at !== undefined) {
      this.bd = this.bodyFrom(at);
      this.bodyAt = undefined;
    }
    return this.bd;
  }
  /** Replaces the body; the kept bytes are dropped. */
  set body(v: AmqpValue | undefined) {
    this.bd = v;
    this.bodyAt = undefined;
  }

  /** A plain Message with the sections present, each decoded (for spreading, copying or printing). */
  toMessage(): Message {
    const m: Message = {};
    if (this.header !== undefined) m.header = this.header;
    const da = this.deliveryAnnotations;
    if (da !== undefined) m.deliveryAnnotations = da;
    const ma = this.messageAnnotations;
    if (ma !== undefined) m.messageAnnotations = ma;
    const p = this.properties;
    if (p !== undefined) m.properties = p instanceof PropertiesView ? p.toProperties() : p;
    const ap = this.applicationProperties;
    if (ap !== undefined) m.applicationProperties = ap;
    const body = this.body;
    if (body !== undefined) m.body = body;
    if (this.bodyType !== undefined) m.bodyType = this.bodyType;
    const ft = this.footer;
    if (ft !== undefined) m.footer = ft;
    return m;
  }

  /** JSON.stringify gives the message, not the view's offsets. */
  toJSON(): Message {
    return this.toMessage();
  }

  /** console.log and util.inspect show the message. */
  [Symbol.for('nodejs.util.inspect.custom')](): Message {
    return this.toMessage();
  }

  /** @internal Keeps a map section's value (its constructor at `at`) for later. */
  keep(section: number, at: number, end: number): void {
    switch (section) {
      case Section.DeliveryAnnotations:
        this.daAt = at;
        this.daEnd = end;
        return;
      case Section.MessageAnnotations:
        this.maAt = at;
        this.maEnd = end;
        return;
      case Section.ApplicationProperties:
        this.apAt = at;
        this.apEnd = end;
        return;
      default:
        this.ftAt = at;
        this.ftEnd = end;
    }
  }

  /** @internal Keeps one more body section's value. */
  keepBody(at: number, end: number): void {
    // A literal for the first: an empty array's first push grows it to room for 17 or more.
    if (this.bodyAt === undefined) this.bodyAt = [at, end];
    else this.bodyAt.push(at, end);
  }

  private decoderAt(at: number, end: number): Decoder {
    return new Decoder(this.buf, at, end, this.maxDepth);
  }

  private mapAt(at: number, end: number, symbolKeys: boolean): Annotations {
    return (
      readFlatMap(this.buf, at, symbolKeys, this.asciiMaps) ??
      readMapSection(this.decoderAt(at, end), symbolKeys)
    );
  }

  private bodyFrom(at: number[]): AmqpValue {
    const buf = this.buf;
    if (this.bodyType === 'data') {
      // A data section is its binary value: past the vbin8 or vbin32 constructor and size.
      const one = (i: number): Buffer => {
        const start = at[i]!;
        return buf.subarray(start + (buf[start] === Code.Vbin8 ? 2 : 5), at[i + 1]!);
      };
      if (at.length === 2) return one(0);
      const parts: Buffer[] = [];
      for (let i = 0; i < at.length; i += 2) parts.push(one(i));
      return parts;
    }
    if (this.bodyType === 'value') return this.decoderAt(at[0]!, at[1]!).readValue();
    const lists: AmqpValue[] = [];
    for (let i = 0; i < at.length; i += 2) lists.push(this.decoderAt(at[i]!, at[i + 1]!).readValue());
    return lists;
  }
}

/**
 * Decodes a message lazily: checks all of it at once, failing as decodeMessage would, and decodes
 * the annotations, application properties, footer and body on their first read (see MessageView).
 * With `maps: 'map'` it is decodeMessage.
 */
export function readMessage(bytes: Uint8Array, options?: DecodeOptions): Message {
  const buf = view(bytes) as Buffer;
  if (!objectMapsOf(options)) return decodeMessage(buf, options);
  const d = new Decoder(buf, 0, buf.length, options?.maxDepth);
  const m = new MessageView(buf, d.maxDepth);
  resetScan();
  quickBegin(buf);
  try {
    readSections(d, m, buf);
  } finally {
    quickEnd();
  }
  return m;
}

/** readMessage's walk over the sections, each checked and kept in `m`. */
function readSections(d: Decoder, m: MessageView, buf: Buffer): void {
  const end = buf.length;
  // The same walk as decodeMessage, with the same order rules and errors. Each section is tried
  // on the fast path first (quick-scan.ts); where it is unsure, the careful scan decides.
  let last = 0;
  while (d.pos < end) {
    const at = d.pos;
    let s: number;
    if (quickEnabled && at + 3 <= end && buf[at] === Code.Described && buf[at + 1] === Code.SmallUlong) {
      s = buf[at + 2]!;
      if (s < Section.Header || s > Section.Footer) s = readSectionCode(d);
      else d.pos = at + 3;
    } else s = readSectionCode(d);
    checkSectionOrder(s, last, at);
    last = s;
    const start = d.pos;
    quickStart(d.maxDepth);
    switch (s) {
      case Section.Header:
        m.header = readCompositeListAs(d, 'header', false) as MessageHeader;
        break;
      case Section.Properties: {
        let offsets: number[] | undefined = noOffsets();
        // The fast path does not count the list's own level of nesting: below 1, the careful scan.
        const e = quickEnabled && d.maxDepth >= 1 ? quickProperties(buf, start, end, offsets) : UNSURE;
        if (e !== UNSURE) d.pos = e;
        else offsets = scanProperties(d);
        m.properties =
          offsets === undefined
            ? (readCompositeListAs(d, 'properties', false) as MessageProperties)
            : (new PropertiesView(buf, offsets, d.maxDepth, e !== UNSURE) as LazyProperties);
        break;
      }
      case Section.DeliveryAnnotations:
      case Section.MessageAnnotations:
      case Section.Footer:
      case Section.ApplicationProperties: {
        const symbolKeys = s !== Section.ApplicationProperties;
        const c = start < end ? buf[start] : -1;
        const e = !quickEnabled
          ? UNSURE
          : c === Code.Map8 || c === Code.Map32
            ? quickMap(buf, start + 1, end, 0, c === Code.Map32, symbolKeys)
            : c === Code.Null
              ? start + 1
              : UNSURE;
        if (e !== UNSURE) d.pos = e;
        else {
          scanMapSection(d, symbolKeys);
          m.asciiMaps = false;
        }
        m.keep(s, start, d.pos);
        break;
      }
      case Section.Data: {
        const code = d.u8();
        if (code !== Code.Vbin8 && code !== Code.Vbin32)
          d.fail('AMQP_DECODE_WRONG_TYPE', 'data section must be binary', d.pos - 1);
        const n = code === Code.Vbin8 ? d.u8() : d.u32();
        d.need(n);
        d.pos += n;
        m.keepBody(start, d.pos);
        m.bodyType = 'data';
        break;
      }
      case Section.AmqpSequence: {
        const e = quickEnabled ? quickValue(buf, start, end, 0) : UNSURE;
        if (e !== UNSURE) d.pos = e;
        else scanValue(d);
        const code = buf[start];
        if (code !== Code.List0 && code !== Code.List8 && code !== Code.List32)
          d.fail('AMQP_DECODE_WRONG_TYPE', 'amqp-sequence section must be a list', at);
        m.keepBody(start, d.pos);
        m.bodyType = 'sequence';
        break;
      }
      case Section.AmqpValue: {
        const e = quickEnabled ? quickValue(buf, start, end, 0) : UNSURE;
        if (e !== UNSURE) d.pos = e;
        else scanValue(d);
        m.keepBody(start, d.pos);
        m.bodyType = 'value';
        break;
      }
    }
  }
}

/** Checks a map section's value as readMapSection reads it: a map, or null for an empty one. */
function scanMapSection(d: Decoder, symbolKeys: boolean): void {
  const code = d.u8();
  if (code === Code.Map8 || code === Code.Map32) return scanMap(d, code === Code.Map32, symbolKeys);
  if (code !== Code.Null) d.fail('AMQP_DECODE_WRONG_TYPE', 'section must be a map', d.pos - 1);
}
