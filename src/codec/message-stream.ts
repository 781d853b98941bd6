/**
 * A message read section by section as its bytes arrive, for bodies too large to hold at once.
 * The sections before the body (header to application-properties) are gathered and decoded as
 * soon as the body begins; the bytes of data sections are handed on as they come, as views of the
 * input (no copy); what follows the data (the footer), or a body that is not data (amqp-value,
 * amqp-sequence), is gathered and decoded at the end.
 *
 * Only data sections stream: every other byte is held until its section is complete, and all of
 * them together are bounded by `maxSectionBytes`. A section split across inputs is copied once per
 * input into one buffer, so a small head spread over tiny frames costs no more than its size.
 */
import { allocUnsafe, copyOf, readU32 } from './bytes.js';
import type { DecodeOptions } from './decoder.js';
import { DecodeError } from './errors.js';
import { valueEnd } from './value-end.js';
import { decodeMessage, sectionCodeOf, type Message } from './message.js';

/** Bytes of non-data sections a streamed message may hold, unless told otherwise (1 MiB). */
export const DEFAULT_MAX_SECTION_BYTES = 1024 * 1024;

const HEADER = 0x70;
const DATA = 0x75;
const AMQP_VALUE = 0x77;

/** What a parser tells as it reads. */
export interface MessageStreamHandler {
  /** The sections before the body, decoded: called once, before any chunk. */
  head(m: Message): void;
  /** Bytes of the data sections, in order, each a view of an input (several sections run on). */
  chunk(bytes: Uint8Array): void;
}

/** Options of {@link MessageStreamParser}. */
export interface MessageStreamOptions extends DecodeOptions {
  /** Bytes of sections other than data held at most (default 1 MiB); past it, a DecodeError. */
  maxSectionBytes?: number;
}

/** Reads one message from bytes pushed in order; `end()` once the last byte was pushed. */
export class MessageStreamParser {
  /** The start of a section whose end has not arrived yet. */
  private pending: Uint8Array | undefined;
  /** Bytes of the current data section still to come. */
  private dataLeft = 0;
  /** The last section code seen, for the order check (spec 3.2). */
  private last = 0;
  private head: Uint8Array[] | undefined = [];
  private readonly tail: Uint8Array[] = [];
  private held = 0;
  private readonly maxSectionBytes: number;
  /** Data sections seen so far. */
  dataSections = 0;

  constructor(
    private readonly handler: MessageStreamHandler,
    private readonly options: MessageStreamOptions = {},
  ) {
    this.maxSectionBytes = options.maxSectionBytes ?? DEFAULT_MAX_SECTION_BYTES;
  }

  /** The next bytes of the message. Throws a DecodeError for bytes that cannot be a message. */
  push(bytes: Uint8Array): void {
    let buf = bytes;
    let pos = 0;
    while (pos < buf.length) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, buf.length - pos);
        this.handler.chunk(buf.subarray(pos, pos + n));
        this.dataLeft -= n;
        pos += n;
        continue;
      }
      if (this.pending !== undefined) {
        buf = joined(this.pending, buf.subarray(pos));
        pos = 0;
        this.pending = undefined;
      }
      const next = this.section(buf, pos);
      if (next < 0) {
        const rest = buf.subarray(pos);
        if (this.held + rest.length > this.maxSectionBytes) throw this.tooLarge();
        // A copy: the caller's buffer (a frame) is not pinned for a few bytes of it.
        this.pending = copyOf(rest);
        return;
      }
      pos = next;
    }
  }

  /** The message has no more bytes: returns the sections after the data (or the whole body if not data). */
  end(): Message {
    if (this.dataLeft > 0 || this.pending !== undefined) {
      throw new DecodeError('AMQP_DECODE_TRUNCATED', 'the message ended inside a section');
    }
    this.bodyBegins();
    const m = this.tail.length === 0 ? {} : decodeMessage(joinAll(this.tail), this.options);
    if (this.dataSections > 0) m.bodyType = 'data';
    return m;
  }

  /** Reads the section at `pos`: returns where the next one starts, or -1 if it is incomplete. */
  private section(buf: Uint8Array, pos: number): number {
    if (buf[pos] !== 0x00) {
      throw new DecodeError('AMQP_DECODE_WRONG_TYPE', 'a message section must be a described type');
    }
    const descEnd = valueEnd(buf, pos + 1);
    if (descEnd < 0) return -1;
    const code = sectionCodeOf(buf.subarray(pos, descEnd));
    this.checkOrder(code);
    if (code === DATA) {
      if (descEnd >= buf.length) return -1;
      const t = buf[descEnd];
      const wide = t === 0xb0;
      if (t !== 0xa0 && !wide) throw new DecodeError('AMQP_DECODE_WRONG_TYPE', 'data section must be binary');
      const start = descEnd + (wide ? 5 : 2);
      if (start > buf.length) return -1;
      this.last = code;
      this.bodyBegins();
      this.dataSections++;
      this.dataLeft = wide ? readU32(buf, descEnd + 1) : buf[descEnd + 1]!;
      return start;
    }
    const end = valueEnd(buf, descEnd);
    if (end < 0) return -1;
    this.last = code;
    this.held += end - pos;
    if (this.held > this.maxSectionBytes) throw this.tooLarge();
    // Copied: small, and kept past the frame it came in.
    const bytes = copyOf(buf.subarray(pos, end));
    if (code < DATA) this.head!.push(bytes);
    else {
      this.bodyBegins();
      this.tail.push(bytes);
    }
    return end;
  }

  /**
   * The same order rule as decodeMessage: spec order, data and sequence may repeat, one body kind.
   * `last` moves only once the section is complete: an incomplete one is read again.
   */
  private checkOrder(s: number): void {
    const last = this.last;
    const repeatable = (s === DATA || s === 0x76) && s === last;
    const bodyAgain = s >= DATA && s <= AMQP_VALUE && last >= DATA && last <= AMQP_VALUE;
    if ((s <= last && !repeatable) || (bodyAgain && !repeatable) || s < HEADER) {
      throw new DecodeError('AMQP_DECODE_INVALID_VALUE', `message section 0x${s.toString(16)} out of order`);
    }
  }

  /** The head is complete once a body section (or the end) comes: the handler gets it first. */
  private bodyBegins(): void {
    const head = this.head;
    if (head === undefined) return;
    this.head = undefined;
    this.handler.head(head.length === 0 ? {} : decodeMessage(joinAll(head), this.options));
  }

  private tooLarge(): DecodeError {
    return new DecodeError(
      'AMQP_DECODE_BAD_SIZE',
      `sections other than data exceed ${this.maxSectionBytes} bytes in a streamed message`,
    );
  }
}

function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = allocUnsafe(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function joinAll(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = allocUnsafe(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}
