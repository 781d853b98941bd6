/**
 * The properties section of a lazily decoded message (message-view.ts): checked whole up front,
 * each field decoded on its first read. Reading the message id costs one string, not the thirteen
 * fields, the Date and the symbol lookups of the whole section.
 *
 * The check makes the generated reader's checks (spec/composites.ts readProperties): each field's
 * constructor against the field's type, then the value itself (value-scan.ts). A `to` or `reply-to`
 * holding a described value (which the reader tries as a composite) is left to the reader: the
 * section is then decoded at once.
 */
import {
  readAny,
  readBinary,
  readListHeader,
  readMessageId,
  readString,
  readSymbol,
  readTimestamp,
  readUint,
  wrongType,
} from './composite-fields.js';
import { Decoder } from './decoder.js';
import { Code } from './format-codes.js';
import type { MessageProperties } from './message.js';
import { readComposite } from './spec/composites.js';
import { quickItem, UNSURE } from './quick-scan.js';
import { shortAscii } from './short-ascii.js';
import { scanBody, scanUtf8, scanValue } from './value-scan.js';

/** How a field's constructor is checked. */
const enum Kind {
  Any,
  Address,
  Binary,
  String,
  Symbol,
  Timestamp,
  Uint,
}

/** The fields in list order: record key, spec name, kind, and the reader decodeMessage uses. */
const FIELDS: readonly (readonly [
  keyof MessageProperties,
  string,
  Kind,
  (d: Decoder, c: number) => unknown,
])[] = [
  ['messageId', 'message-id', Kind.Any, (d, c) => readMessageId(d, c)],
  ['userId', 'user-id', Kind.Binary, (d, c) => readBinary(d, c, 'user-id')],
  ['to', 'to', Kind.Address, (d, c) => readAny(d, c, readComposite)],
  ['subject', 'subject', Kind.String, (d, c) => readString(d, c, 'subject')],
  ['replyTo', 'reply-to', Kind.Address, (d, c) => readAny(d, c, readComposite)],
  ['correlationId', 'correlation-id', Kind.Any, (d, c) => readMessageId(d, c)],
  ['contentType', 'content-type', Kind.Symbol, (d, c) => readSymbol(d, c, 'content-type')],
  ['contentEncoding', 'content-encoding', Kind.Symbol, (d, c) => readSymbol(d, c, 'content-encoding')],
  [
    'absoluteExpiryTime',
    'absolute-expiry-time',
    Kind.Timestamp,
    (d, c) => readTimestamp(d, c, 'absolute-expiry-time'),
  ],
  ['creationTime', 'creation-time', Kind.Timestamp, (d, c) => readTimestamp(d, c, 'creation-time')],
  ['groupId', 'group-id', Kind.String, (d, c) => readString(d, c, 'group-id')],
  ['groupSequence', 'group-sequence', Kind.Uint, (d, c) => readUint(d, c, 'group-sequence')],
  ['replyToGroupId', 'reply-to-group-id', Kind.String, (d, c) => readString(d, c, 'reply-to-group-id')],
];
const FIELD_COUNT = FIELDS.length;
/** A field that is absent, null, or already decoded (no field starts at offset 0: a descriptor comes first). */
const NOT_KEPT = 0;

/**
 * Checks the properties list at d.pos (after its descriptor). Returns the offset of each present
 * field's constructor (NOT_KEPT where absent or null), or undefined when the section must be
 * decoded now instead (d.pos is then back where it was).
 */
export function scanProperties(d: Decoder): number[] | undefined {
  const at = d.pos;
  const { count, end } = readListHeader(d, 'properties');
  const outerEnd = d.end;
  const depth = d.depth;
  d.end = end;
  d.enter();
  const offsets = noOffsets();
  const n = Math.min(count, FIELD_COUNT);
  for (let i = 0; i < n; i++) {
    const fieldAt = d.pos;
    const c = d.u8();
    if (c === Code.Null) continue;
    const field = FIELDS[i]!;
    switch (field[2]) {
      case Kind.Any:
        scanBody(d, c);
        break;
      case Kind.Address:
        if (c === Code.Described) {
          d.pos = at;
          d.end = outerEnd;
          d.depth = depth;
          return undefined;
        }
        scanBody(d, c);
        break;
      case Kind.Binary:
        if (c !== Code.Vbin8 && c !== Code.Vbin32) wrongType(d, field[1], 'binary', c);
        scanBody(d, c);
        break;
      case Kind.String:
        if (c !== Code.Str8 && c !== Code.Str32) wrongType(d, field[1], 'string', c);
        scanBody(d, c);
        break;
      case Kind.Symbol:
        if (c !== Code.Sym8 && c !== Code.Sym32) wrongType(d, field[1], 'symbol', c);
        scanUtf8(d, c === Code.Sym8 ? d.u8() : d.u32(), true);
        break;
      case Kind.Timestamp:
        if (c !== Code.Timestamp) wrongType(d, field[1], 'timestamp', c);
        scanBody(d, c);
        break;
      case Kind.Uint:
        if (c !== Code.SmallUint && c !== Code.Uint0 && c !== Code.Uint) wrongType(d, field[1], 'uint', c);
        scanBody(d, c);
        break;
    }
    offsets[i] = fieldAt;
  }
  // Items past the fields the spec knows are skipped (a later version may add fields).
  for (let i = n; i < count; i++) scanValue(d);
  if (d.pos !== end) d.fail('AMQP_DECODE_BAD_SIZE', 'properties list has bytes past its items');
  d.depth--;
  d.end = outerEnd;
  return offsets;
}

/**
 * The fast path of scanProperties (quick-scan.ts): the list at `p` (its constructor) whose fields
 * all pass, their offsets written into `offsets`; returns the list's end, or UNSURE.
 */
export function quickProperties(buf: Uint8Array, p: number, end: number, offsets: number[]): number {
  if (p + 3 > end || buf[p] !== Code.List8) return p < end && buf[p] === Code.List0 ? p + 1 : UNSURE;
  const listEnd = p + 2 + buf[p + 1]!;
  const count = buf[p + 2]!;
  if (listEnd > end || count > FIELD_COUNT || buf[p + 1]! < 1) return UNSURE;
  p += 3;
  for (let i = 0; i < count; i++) {
    if (p >= listEnd) return UNSURE;
    const c = buf[p]!;
    if (c === Code.Null) {
      p++;
      continue;
    }
    if (TAKES[(i << 8) | c] === 0) return UNSURE;
    const e = quickItem(buf, p, listEnd, 1);
    if (e === UNSURE) return UNSURE;
    offsets[i] = p;
    p = e;
  }
  return p === listEnd ? p : UNSURE;
}

/** Whether a field of `kind` may start with constructor `c` (null aside). */
function fieldTakes(kind: Kind, c: number): boolean {
  switch (kind) {
    case Kind.Any:
      return true;
    case Kind.Address:
      return c !== Code.Described;
    case Kind.Binary:
      return c === Code.Vbin8 || c === Code.Vbin32;
    case Kind.String:
      return c === Code.Str8 || c === Code.Str32;
    case Kind.Symbol:
      return c === Code.Sym8 || c === Code.Sym32;
    case Kind.Timestamp:
      return c === Code.Timestamp;
    case Kind.Uint:
      return c === Code.SmallUint || c === Code.Uint0 || c === Code.Uint;
  }
}

/** fieldTakes as a table, by field index and constructor: one load in the fast check's loop. */
const TAKES = new Uint8Array(FIELD_COUNT << 8);
for (let i = 0; i < FIELD_COUNT; i++)
  for (let c = 0; c < 256; c++) TAKES[(i << 8) | c] = fieldTakes(FIELDS[i]![2], c) ? 1 : 0;

/** A fresh offsets table: every field absent (a literal: cheaper to make than a typed array). */
export function noOffsets(): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
}

/** One decoder for every lazy field read: a checked field never throws, and no read nests in another. */
const reader = new Decoder(new Uint8Array(0));

/** A checked properties section whose fields decode on first read. */
export class PropertiesView {
  /** Each field's value once decoded or assigned (by list index), made on the first. */
  private values: unknown[] | undefined;

  /**
   * @internal `ascii`: the section passed the fast check (quickProperties), which lets no string
   * through that is not ASCII, so a str8 field needs no second look at its bytes.
   */
  constructor(
    private readonly buf: Uint8Array,
    private readonly offsets: number[],
    private readonly maxDepth: number,
    private readonly ascii: boolean,
  ) {}

  /** @internal The field at list index `i`, decoded on first read. */
  field(i: number): unknown {
    const at = this.offsets[i]!;
    if (at === NOT_KEPT) return this.values?.[i];
    const buf = this.buf;
    if (this.ascii && buf[at] === Code.Str8) {
      // Every field that may be a string reads a str8 as its text (readString, readMessageId, readAny).
      const v = shortAscii(buf, at + 2, buf[at + 1]!);
      (this.values ??= new Array<unknown>(FIELD_COUNT))[i] = v;
      this.offsets[i] = NOT_KEPT;
      return v;
    }
    const d = reader;
    d.buf = this.buf;
    d.pos = at + 1;
    d.end = this.buf.length;
    d.depth = 0;
    d.maxDepth = this.maxDepth;
    const v = FIELDS[i]![3](d, this.buf[at]!);
    (this.values ??= new Array<unknown>(FIELD_COUNT))[i] = v;
    this.offsets[i] = NOT_KEPT;
    d.buf = EMPTY; // hold no reference to the input
    return v;
  }

  /** @internal */
  setField(i: number, v: unknown): void {
    (this.values ??= new Array<unknown>(FIELD_COUNT))[i] = v;
    this.offsets[i] = NOT_KEPT;
  }

  /** A plain object with the fields present, each decoded. */
  toProperties(): MessageProperties {
    const p: Record<string, unknown> = {};
    for (let i = 0; i < FIELD_COUNT; i++) {
      const v = this.field(i);
      if (v !== undefined) p[FIELDS[i]![0]] = v;
    }
    return p as MessageProperties;
  }

  /** JSON.stringify gives the fields, not the offsets. */
  toJSON(): MessageProperties {
    return this.toProperties();
  }

  /** console.log and util.inspect show the fields. */
  [Symbol.for('nodejs.util.inspect.custom')](): MessageProperties {
    return this.toProperties();
  }
}
const EMPTY = new Uint8Array(0);

// One accessor per field on the prototype, so that the view reads as MessageProperties.
for (let i = 0; i < FIELD_COUNT; i++) {
  Object.defineProperty(PropertiesView.prototype, FIELDS[i]![0], {
    get(this: PropertiesView) {
      return this.field(i);
    },
    set(this: PropertiesView, v: unknown) {
      this.setField(i, v);
    },
    enumerable: false,
    configurable: true,
  });
}

/** The view's type as callers see it: MessageProperties, read lazily. */
export type LazyProperties = PropertiesView & MessageProperties;
