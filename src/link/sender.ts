/**
 * The sending end of a link. Messages queue here and go out as the peer's link credit and the
 * session's window allow, split into frames of the peer's max-frame-size.
 */
import { allocUnsafe } from '../codec/bytes.js';
import type { Attach, DeliveryState, Disposition, Flow } from '../codec/spec/records.js';
import { AmqpOneError } from '../codec/errors.js';
import { Condition } from '../protocol/conditions.js';
import { Delivery } from './delivery.js';
import { Link, ReceiverSettleMode, SenderSettleMode } from './link.js';
import { Fifo } from '../util/fifo.js';

/** Per-delivery options of the engine's {@link Sender.send}. */
export interface SendOptions {
  /** The delivery tag; a counter when absent. */
  tag?: Buffer;
  /** Send presettled (fire and forget). Defaults to the link's snd-settle-mode. */
  settled?: boolean;
  messageFormat?: number;
}

const NO_OPTIONS: SendOptions = Object.freeze({});
const EMPTY = allocUnsafe(0) as Buffer;

function tooLarge(size: number, max: number): AmqpOneError {
  return new AmqpOneError(
    'AMQP_MESSAGE_TOO_LARGE',
    `message of ${size} bytes exceeds the link's max-message-size ${max}`,
    Condition.MessageSizeExceeded,
  );
}

/** The engine's sending link: a queue of deliveries sent as credit and the session window allow. */
export class Sender extends Link {
  readonly role = 'sender' as const;
  /** Deliveries not yet (fully) written, oldest first. */
  private readonly queue = new Fifo<Delivery>();
  private tagCounter = 0;
  /** The receiver asked to drain: answer with a flow once nothing more can go (spec 2.6.7). */
  private drainAnswer = false;

  /** Messages waiting for credit or window. */
  get queued(): number {
    return this.queue.length;
  }

  /** Credit left after what is already queued. */
  get sendable(): number {
    return Math.max(0, this.linkCredit - this.queued);
  }

  /** The receiver chose rcv-settle-mode second: settle a delivery after its outcome arrives. */
  get receiverSettlesSecond(): boolean {
    return this.remoteAttach?.rcvSettleMode === ReceiverSettleMode.Second;
  }

  /** The largest message that may go: ours and the receiver's max-message-size; 0 means none. */
  get messageSizeLimit(): number {
    const ours = Number(this.options.maxMessageSize ?? 0);
    const theirs = this.remoteMaxMessageSize;
    if (!ours || !theirs) return ours || theirs;
    return Math.min(ours, theirs);
  }

  /** The delivery tags must be unique among unsettled deliveries: a 4-byte counter is. */
  private nextTag(): Buffer {
    const t = allocUnsafe(4) as Buffer;
    const n = this.tagCounter++ >>> 0;
    t[0] = n >>> 24;
    t[1] = (n >>> 16) & 0xff;
    t[2] = (n >>> 8) & 0xff;
    t[3] = n & 0xff;
    return t;
  }

  /**
   * Queues an encoded message. It goes out when credit allows; the returned delivery tracks it.
   * Fails at once, with nothing sent, if the message is larger than either side accepts.
   */
  send(payload: Buffer, options: SendOptions = NO_OPTIONS): Delivery {
    const settled = options.settled ?? this.options.sndSettleMode === SenderSettleMode.Settled;
    return this.sendWith(payload, settled, options.tag, options.messageFormat ?? 0);
  }

  /** send() without an options object (for the layer above, per message). */
  sendWith(payload: Buffer, settled: boolean, tag: Buffer | undefined, messageFormat = 0): Delivery {
    if (this.local !== 'attached')
      throw new AmqpOneError('AMQP_LINK_NOT_ATTACHED', 'the sender is not attached');
    const max = this.messageSizeLimit;
    if (max > 0 && payload.length > max) throw tooLarge(payload.length, max);
    const d = new Delivery(this, tag ?? this.nextTag(), payload, messageFormat);
    d.settled = settled;
    this.queue.push(d);
    this.session.wantsPump(this);
    return d;
  }

  /**
   * Queues a delivery whose bytes come later (`writeStream`, then `endStream`): for a message too
   * large to hold, written as frames while its bytes arrive. Its first frame goes once credit
   * allows and a frame's worth of bytes (or the end) is there.
   */
  openStream(options: SendOptions = NO_OPTIONS): Delivery {
    const settled = options.settled ?? this.options.sndSettleMode === SenderSettleMode.Settled;
    const d = this.sendWith(EMPTY, settled, options.tag, options.messageFormat ?? 0);
    d.stream = { chunks: [], offset: 0, bytes: 0, total: 0, ended: false, sent: false };
    return d;
  }

  /**
   * Appends bytes to a streamed delivery (kept, not copied: do not reuse the buffer). Throws
   * AMQP_MESSAGE_TOO_LARGE, keeping nothing, when they would take it past either side's
   * max-message-size: abort the delivery then.
   */
  writeStream(d: Delivery, bytes: Buffer): void {
    const st = d.stream;
    if (st === undefined || st.ended || d.aborted)
      throw new AmqpOneError('AMQP_STREAM_ENDED', 'the delivery takes no more bytes');
    const max = this.messageSizeLimit;
    if (max > 0 && st.total + bytes.length > max) throw tooLarge(st.total + bytes.length, max);
    if (bytes.length === 0) return;
    st.chunks.push(bytes);
    st.bytes += bytes.length;
    st.total += bytes.length;
    this.session.wantsPump(this);
  }

  /** A streamed delivery has all its bytes: its last frame may go. */
  endStream(d: Delivery): void {
    if (d.stream === undefined || d.stream.ended) return;
    d.stream.ended = true;
    this.session.wantsPump(this);
  }

  /**
   * Gives up on a delivery not fully written: unsent, it is dropped; partly sent, a transfer with
   * aborted=true ends it (spec 2.6.14: the receiver discards it; it counts as settled).
   * Returns false when it is too late (the delivery is fully written: settle it instead).
   */
  abort(d: Delivery): boolean {
    const i = this.queue.indexOf(d);
    if (i < 0 || d.aborted) return false;
    d.aborted = true;
    d.settled = true;
    if (d.id < 0) {
      this.queue.removeAt(i); // no frame, no credit used
    } else {
      this.session.forgetOutgoing(d);
      this.session.wantsPump(this); // the session writes the aborted transfer
    }
    return true;
  }

  /** Takes back a delivery not yet on the wire (no credit used). False once it has started. */
  cancel(d: Delivery): boolean {
    if (d.id >= 0) return false;
    return this.queue.remove(d);
  }

  /**
   * Writes transfer frames for queued deliveries while credit (for a new delivery) and the session
   * window (for every frame) last, and this take's output is under MAX_OUTPUT_PER_TAKE (for a new
   * delivery). Returns false when the window or the output cap stopped it.
   * @internal
   */
  pump(): boolean {
    const s = this.session;
    let d: Delivery | undefined;
    while ((d = this.queue.peek()) !== undefined) {
      if (d.id < 0) {
        if (this.linkCredit <= 0 || !this.isOpenForTransfer()) break;
        // This take's output is full: the next take goes on here (the session keeps us pending).
        if (s.connection.outputFull()) return false;
        // The connection's unsettled limit: wait for the peer to settle (it resumes us).
        if (!d.settled && s.connection.holdsSender(this)) break;
        const max = this.messageSizeLimit;
        if (max > 0 && d.payload.length > max) {
          // Queued before the receiver's attach told its limit: it fails here, unsent.
          this.queue.shift();
          d.error = tooLarge(d.payload.length, max);
          s.connection.emit({ type: 'delivery-failed', delivery: d, error: d.error });
          continue;
        }
        this.linkCredit--;
        this.deliveryCount = (this.deliveryCount + 1) >>> 0;
        s.assignDeliveryId(d);
      }
      if (d.stream !== undefined && !d.aborted) {
        const r = s.writeStreamFrames(this, d);
        if (r === 'blocked') return false;
        if (r === 'starved') break; // resumed by writeStream or endStream
      } else if (!s.writeTransferFrames(this, d)) return false;
      this.queue.shift();
    }
    if (this.drainAnswer && this.isOpenForTransfer() && (this.queued === 0 || this.linkCredit === 0)) {
      // Drain: nothing more to send, so use up the credit and tell the receiver (spec 2.6.7).
      this.drainAnswer = false;
      this.deliveryCount = (this.deliveryCount + this.linkCredit) >>> 0;
      this.linkCredit = 0;
      this.flowPending = true; // the session writes it after the transfers
      s.connection.emit({ type: 'link-drained', link: this });
    }
    return true;
  }

  /** Never a transfer before our attach went out, nor before the peer attached (Proton refuses it). */
  private isOpenForTransfer(): boolean {
    return this.local === 'attached' && this.remote === 'attached';
  }

  /** @internal */
  onFlow(f: Flow): void {
    // Spec 2.6.7: credit = receiver's delivery-count + its link-credit - our delivery-count. Until
    // the receiver saw our attach, its delivery-count is our initial-delivery-count.
    if (f.linkCredit !== undefined) {
      const theirCount = f.deliveryCount ?? this.initialDeliveryCount;
      const lag = (theirCount - this.deliveryCount) | 0; // serial arithmetic: transfers in flight
      // A receiver count ahead of ours is the peer's error: keep credit a valid uint anyway.
      this.linkCredit = Math.min(0xffffffff, Math.max(0, f.linkCredit + lag));
    }
    this.drain = f.drain ?? false;
    this.drainAnswer = this.drain;
    this.session.wantsPump(this);
    this.session.connection.emit({ type: 'link-flow', link: this });
    if (f.echo) this.echoPending = true;
  }

  /** @internal Our flow state; `available` is what is queued. */
  override flowFields(): ReturnType<Link['flowFields']> {
    return { ...super.flowFields(), available: this.queued };
  }

  /** @internal The peer's disposition for one of our deliveries. */
  onDisposition(d: Delivery, disp: Disposition): void {
    if (disp.state) d.remoteState = disp.state;
    if (disp.settled) d.remoteSettled = true;
    this.session.connection.emit({ type: 'delivery-updated', delivery: d });
  }

  /** Settles a delivery on our side (after the peer's outcome, in rcv-settle-mode second). */
  settle(d: Delivery, state?: DeliveryState): void {
    if (d.settled) return;
    d.settled = true;
    if (state) d.state = state;
    if (d.id < 0) return; // never sent: nothing to tell
    this.session.forgetOutgoing(d);
    // In mode first the receiver settled already: it needs no disposition from us.
    if (!d.remoteSettled) this.session.queueDisposition(d, 'sender');
  }

  /** @internal */
  protected override onRemoteAttachState(_a: Attach): void {
    this.session.wantsPump(this);
  }
}
