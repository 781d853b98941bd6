/**
 * A connection's outgoing bytes: one reusable buffer that frames are encoded straight into, the
 * peer's frame-size limit, frames held back until they may go, and "nothing after our close".
 */
import { ByteWriter } from '../codec/byte-writer.js';
import { encodeComposite, encodeTransfer } from '../codec/composite.js';
import { AmqpOneError } from '../codec/errors.js';
import type { Performative, SaslFrameBody, Transfer } from '../codec/spec/records.js';
import { beginFrame, endFrame, writeEmptyFrame, MIN_MAX_FRAME_SIZE } from '../frames/frame-writer.js';
import { writeProtocolHeader } from '../frames/protocol-header.js';
import { Condition } from '../protocol/conditions.js';
import { framesWanted, onFrame } from './trace.js';
import type { Log } from '../util/logger.js';

type HeldFrame = { channel: number; rec: Performative; payload?: Uint8Array };

/** @internal The connection's alone: not part of the published declarations. */
export class FrameOutput {
  private out = new ByteWriter(16 * 1024);
  /**
   * Frames that cannot be written yet, sent in order later: during SASL, before a server has
   * written its protocol header, and (for frames over 512 bytes) before the peer's open.
   */
  private held: HeldFrame[] | undefined;
  private holdingForOpen = false;
  /** Our close is written: it must be the last frame (spec 2.4.3). */
  closed = false;
  /** Set on the peer's open; until then frames are limited to 512 bytes (spec 2.4.1). */
  peerOpen = false;
  peerMaxFrameSize = 0xffffffff;
  /** Something was written (or may be, after a flush) since the last take(). */
  dirty = false;

  constructor(
    private readonly traceId: string,
    private readonly log: Log,
    /**
     * A performative that can never fit the peer's limit (nothing of it was written): an attach
     * fails its one link; anything else closes the connection.
     */
    private readonly onTooLarge: (rec: Performative, channel: number) => void,
  ) {}

  /** Bytes written and not yet taken. */
  get pending(): number {
    return this.out.pos;
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  /** Starts holding frames back (until release()). */
  hold(): void {
    this.held ??= [];
  }

  /** Drops what is held (the connection is done, or the held frames can never fit). */
  dropHeld(): void {
    this.held = undefined;
    this.holdingForOpen = false;
  }

  header(protocolId: 0 | 3): void {
    writeProtocolHeader(this.out, protocolId);
    this.dirty = true;
  }

  heartbeat(): void {
    writeEmptyFrame(this.out);
    this.dirty = true;
  }

  /** Writes one performative frame, unless our close already went. */
  frame(channel: number, rec: Performative, payload?: Uint8Array): void {
    if (!this.closed) this.enqueue(channel, rec, payload);
  }

  /** Frames already accepted (held ones, our close among them) go out even after the close. */
  private enqueue(channel: number, rec: Performative, payload?: Uint8Array): void {
    if (this.held) {
      this.held.push({ channel, rec, payload });
      return;
    }
    const w = this.out;
    const start = beginFrame(w, 0, channel);
    try {
      encodeComposite(w, rec);
    } catch (e) {
      w.pos = start; // nothing half-written goes out
      throw e;
    }
    if (payload) w.bytes(payload);
    if (w.pos - start <= (this.peerOpen ? this.peerMaxFrameSize : MIN_MAX_FRAME_SIZE)) {
      if (framesWanted(this.log)) onFrame(this.log, this.traceId, '->', channel, rec, payload?.length);
      endFrame(w, start);
      this.dirty = true;
      return;
    }
    w.pos = start;
    if (!this.peerOpen) {
      // Spec 2.4.1: until the peer's open, frames are at most 512 bytes. Wait for its limit.
      this.held = [{ channel, rec, payload }];
      this.holdingForOpen = true;
      return;
    }
    this.onTooLarge(rec, channel);
  }

  /** Sends what was held back, in order (some may be held again, until the peer's open). */
  release(): void {
    const held = this.held;
    this.dropHeld();
    if (!held) return;
    for (let i = 0; i < held.length; i++) {
      const h = held[i]!;
      this.enqueue(h.channel, h.rec, h.payload);
      if (this.held) {
        (this.held as HeldFrame[]).push(...held.slice(i + 1));
        return;
      }
    }
  }

  /** The peer's open arrived: frames waiting for its limit may go now. */
  peerOpened(maxFrameSize: number): void {
    this.peerOpen = true;
    this.peerMaxFrameSize = maxFrameSize;
    if (this.holdingForOpen) this.release();
  }

  /**
   * Writes one transfer frame carrying as much of `payload` from `offset` as the peer's frame size
   * allows, with `more` set when some is left. Returns the payload bytes written.
   */
  transfer(channel: number, t: Transfer, payload: Buffer, offset: number): number {
    const w = this.out;
    const max = this.peerMaxFrameSize;
    const left = payload.length - offset;
    let start = beginFrame(w, 0, channel);
    encodeTransfer(w, t);
    let n = left;
    if (w.pos - start + left > max) {
      // Does not fit: write it again with more=true and fill the frame.
      w.pos = start;
      t.more = true;
      start = beginFrame(w, 0, channel);
      encodeTransfer(w, t);
      n = max - (w.pos - start);
      if (n <= 0) {
        w.pos = start;
        throw new AmqpOneError(
          'AMQP_FRAME_TOO_SMALL',
          `no room for payload in a ${max}-byte frame`,
          Condition.FrameSizeTooSmall,
        );
      }
    }
    if (framesWanted(this.log)) onFrame(this.log, this.traceId, '->', channel, t, n);
    w.ensure(n);
    if (offset === 0 && n === payload.length) w.buf.set(payload, w.pos);
    else w.buf.set(payload.subarray(offset, offset + n), w.pos);
    w.pos += n;
    endFrame(w, start, max);
    this.dirty = true;
    return n;
  }

  sasl(rec: SaslFrameBody): void {
    if (framesWanted(this.log)) onFrame(this.log, this.traceId, '->', 0, rec);
    const start = beginFrame(this.out, 1, 0);
    encodeComposite(this.out, rec);
    endFrame(this.out, start);
    this.dirty = true;
  }

  /** The bytes written so far, or undefined. */
  take(): Buffer | undefined {
    this.dirty = false;
    if (this.out.pos === 0) return undefined;
    const bytes = this.out.copy();
    this.out.reset();
    // Do not keep a huge buffer around after a burst.
    if (this.out.buf.length > 4 * 1024 * 1024) this.out = new ByteWriter(16 * 1024);
    return bytes;
  }
}
