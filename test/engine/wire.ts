/**
 * Decodes an engine's output as it goes on the wire and checks every frame against the limit the
 * receiving side announced (and against 512 bytes while the sender has not seen that side's open).
 */
import { decodeComposite } from '../../src/codec/composite.js';
import type { CompositeRecord } from '../../src/codec/spec/records.js';
import { FrameReader } from '../../src/frames/frame-reader.js';

export type WireItem =
  | { kind: 'header'; protocolId: number }
  | { kind: 'frame'; type: 0 | 1; channel: number; size: number; rec?: CompositeRecord; payload: Buffer };

export class WireTap {
  readonly items: WireItem[] = [];
  /** The items of each feed (one engine output each). */
  readonly batches: WireItem[][] = [];
  private readonly reader: FrameReader;

  /** `limit`: the max-frame-size the receiving side announced. */
  constructor(
    readonly name: string,
    readonly limit: number,
  ) {
    this.reader = new FrameReader({ maxFrameSize: 0xffffffff, expectHeader: true });
  }

  /** The next item is a protocol header again (after SASL). */
  expectHeader(): void {
    this.reader.expectHeader();
  }

  /** Decodes `bytes`; `preOpen`: the sender had not received the peer's open when it wrote them. */
  feed(bytes: Buffer, preOpen = false): WireItem[] {
    this.reader.push(bytes);
    const got: WireItem[] = [];
    for (let it = this.reader.next(); it; it = this.reader.next()) {
      if (it.kind === 'header') {
        got.push({ kind: 'header', protocolId: it.protocolId });
        continue;
      }
      const size = it.body.length + 8;
      const max = preOpen && it.type === 0 ? 512 : this.limit;
      if (it.type === 0 && size > max) {
        throw new Error(`${this.name}: frame of ${size} bytes exceeds the peer's limit ${max}`);
      }
      if (it.body.length === 0) {
        got.push({ kind: 'frame', type: it.type, channel: it.channel, size, payload: it.body });
        continue;
      }
      const { value, offset } = decodeComposite(it.body);
      // After a successful sasl-outcome, the server's next bytes are the AMQP header.
      if (value.type === 'sasl-outcome' && value.code === 0) this.reader.expectHeader();
      got.push({
        kind: 'frame',
        type: it.type,
        channel: it.channel,
        size,
        rec: value,
        payload: it.body.subarray(offset),
      });
    }
    this.items.push(...got);
    this.batches.push(got);
    return got;
  }

  /** The decoded performatives (and SASL frames), optionally of one type. */
  records<T extends CompositeRecord['type']>(type?: T): Extract<CompositeRecord, { type: T }>[] {
    const out: CompositeRecord[] = [];
    for (const it of this.items)
      if (it.kind === 'frame' && it.rec && (!type || it.rec.type === type)) out.push(it.rec);
    return out as Extract<CompositeRecord, { type: T }>[];
  }

  get heartbeats(): number {
    return this.items.filter((i) => i.kind === 'frame' && i.size === 8).length;
  }
}
