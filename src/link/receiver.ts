/**
 * The receiving end of a link: grants credit, reassembles multi-frame transfers, enforces our
 * max-message-size as frames arrive and settles deliveries.
 *
 * Reassembly copies each frame's payload into one growing buffer at once: keeping the frames'
 * views until the last one would pin every socket chunk they came from (and a Buffer object per
 * frame), so a message in 1-byte frames cost ~100 bytes of memory per payload byte. A single-frame
 * message stays a zero-copy view.
 *
 * A streaming receiver (`streaming = true`) reassembles nothing: each frame's payload is handed on
 * at once (`delivery-chunk`) and held against the session's incoming window until the layer above
 * calls `releaseFrames`, so a reader that stops reading stops the peer after one window of frames.
 */
import { allocUnsafe, copyOf } from '../codec/bytes.js';
import type { DeliveryState, Disposition, Flow, Transfer } from '../codec/spec/records.js';
import { Condition } from '../protocol/conditions.js';
import { Delivery } from './delivery.js';
import { Link, ReceiverSettleMode } from './link.js';

const EMPTY = allocUnsafe(0) as Buffer;

/** The accepted outcome. */
export const ACCEPTED: DeliveryState = Object.freeze({ type: 'accepted' }) as DeliveryState;
/** The released outcome. */
export const RELEASED: DeliveryState = Object.freeze({ type: 'released' }) as DeliveryState;

/** The engine's receiving link: credit, reassembly, settlement. */
export class Receiver extends Link {
  readonly role = 'receiver' as const;
  /**
   * Hand each transfer frame on as it arrives (`delivery-chunk` events) instead of one `delivery`
   * per message; set it before granting credit. Each frame handed on is held against the session's
   * incoming window until `releaseFrames`.
   */
  streaming = false;
  /** Frames handed on by a streaming receiver and not released yet. */
  heldFrames = 0;
  /** The delivery being reassembled from several frames. */
  private partial: { delivery: Delivery; buf: Buffer | undefined; size: number } | undefined;

  /** Our max-message-size, 0 meaning none. */
  get maxMessageSize(): number {
    const m = this.options.maxMessageSize;
    return m === undefined ? 0 : Number(m);
  }

  /**
   * rcv-settle-mode second: we send the outcome, the sender settles, then we settle. The mode is
   * the receiver's to choose (spec 2.7.3): our own option, not what the sender's attach proposed.
   */
  get settlesSecond(): boolean {
    return this.options.rcvSettleMode === ReceiverSettleMode.Second;
  }

  /**
   * Credit asked for and not granted yet: the connection's unsettled limit cut it. It is granted
   * as room appears (settlements, credit given back), so the total granted is what was asked.
   */
  creditShortfall = 0;

  /** Sets the credit (the number of messages the sender may send now); sent with the next output. */
  setCredit(credit: number): void {
    const want = Math.min(0xffffffff, Math.max(0, Math.floor(credit))); // a uint on the wire
    const conn = this.session.connection;
    const before = this.linkCredit;
    // Our own current credit is replaced, so it is room for the new one.
    const granted = Math.min(want, conn.creditRoom() + before);
    this.changeCredit(granted);
    this.creditShortfall = want - granted;
    conn.creditShort(this);
    this.flowPending = true;
    conn.outputPending();
    if (granted < before) conn.creditReturned();
  }

  /** Adds to the credit asked for (a part the limit still holds back included). */
  addCredit(n: number): void {
    this.setCredit(this.linkCredit + this.creditShortfall + n);
  }

  /** @internal Grants up to `room` of the credit the limit held back; returns what it took. */
  grantShortfall(room: number): number {
    const n = Math.min(room, this.creditShortfall);
    if (n <= 0) return 0;
    this.creditShortfall -= n;
    this.changeCredit(this.linkCredit + n);
    this.flowPending = true;
    this.session.connection.outputPending();
    return n;
  }

  /** Every change of our credit goes through here: the connection counts credit granted. */
  private changeCredit(credit: number): void {
    this.session.connection.outstandingCredit += credit - this.linkCredit;
    this.linkCredit = credit;
  }

  /** Forgets the credit the limit held back (a drain, a close): it is never granted. */
  dropShortfall(): void {
    if (this.creditShortfall === 0) return;
    this.creditShortfall = 0;
    this.session.connection.creditShort(this);
  }

  /** @internal The link is closing: its credit and what it still wanted no longer count. */
  releaseCredit(): void {
    this.dropShortfall();
    if (this.linkCredit === 0) return;
    this.changeCredit(0);
    this.session.connection.creditReturned();
  }

  /** Keeps a prefetch window: tops the credit back up once a quarter of it is used. */
  topUp(window: number): void {
    if ((this.linkCredit + this.creditShortfall) * 4 <= window * 3 && !this.drain) this.setCredit(window);
  }

  /** Asks the sender to use up or give back all credit (spec 2.6.7 drain). */
  drainCredit(): void {
    this.drain = true;
    this.dropShortfall(); // a drain ends with no credit: nothing held back is granted later
    this.flowPending = true;
    this.session.connection.outputPending();
  }

  /** @internal */
  onFlow(f: Flow): void {
    // The sender's delivery-count tells how much of our credit it has used (or drained).
    if (f.deliveryCount !== undefined) {
      const used = (f.deliveryCount - this.deliveryCount) | 0;
      if (used > 0) {
        this.deliveryCount = f.deliveryCount;
        const before = this.linkCredit;
        this.changeCredit(Math.max(0, before - used));
        // Credit used without transfers (a drain) is room for others.
        if (this.linkCredit < before) this.session.connection.creditReturned();
      }
    }
    if (f.available !== undefined) this.available = f.available;
    this.checkDrained();
    this.session.connection.emit({ type: 'link-flow', link: this });
    if (f.echo) this.echoPending = true;
  }

  /** A drain is complete once the credit is used up, by transfers or by the sender's flow. */
  private checkDrained(): void {
    if (this.drain && this.linkCredit === 0) {
      this.drain = false;
      this.dropShortfall();
      this.session.connection.emit({ type: 'link-drained', link: this });
    }
  }

  /** @internal A transfer frame for this link. Returns the delivery once it is complete. */
  onTransfer(t: Transfer, payload: Buffer): void {
    const conn = this.session.connection;
    let p = this.partial;
    if (!p) {
      if (t.deliveryId === undefined || t.deliveryTag === undefined) {
        return conn.violation(
          Condition.InvalidField,
          'the first transfer of a delivery needs delivery-id and delivery-tag',
        );
      }
      if (this.linkCredit <= 0) {
        return this.detach({
          error: { condition: Condition.TransferLimitExceeded, description: 'transfer without link credit' },
        });
      }
      const maxUnsettled = conn.maxUnsettledDeliveries;
      if (maxUnsettled > 0 && conn.unsettledIncoming >= maxUnsettled) {
        // Credit granted earlier (on several links) outran the limit: this link stops here.
        return this.detach({
          error: {
            condition: Condition.ResourceLimitExceeded,
            description: `${maxUnsettled} unsettled deliveries on this connection`,
          },
        });
      }
      this.changeCredit(this.linkCredit - 1);
      this.deliveryCount = (this.deliveryCount + 1) >>> 0;
      const d = new Delivery(this, t.deliveryTag, this.streaming ? EMPTY : payload, t.messageFormat ?? 0);
      d.id = t.deliveryId;
      p = { delivery: d, buf: undefined, size: 0 };
      this.session.trackIncoming(d, t.deliveryId);
    } else if (t.deliveryId !== undefined && t.deliveryId !== p.delivery.id) {
      return conn.violation(
        Condition.InvalidField,
        `transfer for delivery ${t.deliveryId} inside delivery ${p.delivery.id}`,
      );
    }
    const d = p.delivery;
    if (t.settled) d.remoteSettled = true;
    if (t.state) d.remoteState = t.state;
    if (t.aborted) {
      // The sender gave up: drop what came so far; the delivery is settled (spec 2.6.14).
      this.dropPartial();
      d.aborted = true;
      d.settled = true;
      d.remoteSettled = true;
      this.session.forgetIncoming(d);
      conn.emit({ type: 'delivery-aborted', delivery: d });
      return this.checkDrained();
    }
    // The running total is checked before anything of this frame is kept.
    const size = p.size + payload.length;
    const max = this.maxMessageSize;
    if (max > 0 && size > max) {
      this.partial = p; // dropped as the link detaches (a streaming reader is told then)
      this.session.forgetIncoming(d);
      return this.detach({
        error: { condition: Condition.MessageSizeExceeded, description: `message larger than ${max} bytes` },
      });
    }
    if (this.streaming) return this.handOn(p, t, payload, size);
    if (t.more || p.buf !== undefined) {
      // The last frame knows the final size: no room is reserved beyond it.
      const old = p.buf?.length ?? 0;
      const cap = capacityFor(old, size, t.more ? max : size);
      // An empty first frame still needs a buffer (of length 0) for the frames after it.
      if (cap !== old || p.buf === undefined) {
        conn.reassemblyBytes += cap - old;
        const limit = conn.maxReassemblyBytes;
        // The last frame completes the message (bounded by max-message-size): it is handed over.
        if (t.more && limit > 0 && conn.reassemblyBytes > limit) {
          conn.reassemblyBytes -= cap - old;
          this.partial = p;
          this.dropPartial();
          this.session.forgetIncoming(d);
          return this.detach({
            error: {
              condition: Condition.ResourceLimitExceeded,
              description: `more than ${limit} bytes of unfinished messages on this connection`,
            },
          });
        }
        const grown = allocUnsafe(cap) as Buffer;
        if (p.buf !== undefined) grown.set(p.buf.subarray(0, p.size));
        p.buf = grown;
      }
      p.buf!.set(payload, p.size);
    }
    p.size = size;
    if (t.more) {
      this.partial = p;
      return;
    }
    this.partial = p;
    this.dropPartial(); // the message is complete: its buffer is the application's now
    // A buffer grown well past the message (tiny frames) is not kept for the message's lifetime.
    d.payload =
      p.buf === undefined
        ? payload
        : p.buf.length - size > size >> 2
          ? (copyOf(p.buf.subarray(0, size)) as Buffer)
          : p.buf.subarray(0, size);
    if (d.remoteSettled) {
      this.session.forgetIncoming(d);
    }
    conn.emit({ type: 'delivery', delivery: d });
    this.checkDrained();
  }

  /** A streaming receiver's frame: handed on at once, held until released. */
  private handOn(p: NonNullable<Receiver['partial']>, t: Transfer, payload: Buffer, size: number): void {
    const d = p.delivery;
    const more = t.more === true;
    p.size = size;
    this.partial = more ? p : undefined;
    this.heldFrames++;
    this.session.heldFrames++;
    if (!more && d.remoteSettled) this.session.forgetIncoming(d);
    this.session.connection.emit({ type: 'delivery-chunk', delivery: d, payload, more });
    if (!more) this.checkDrained();
  }

  /**
   * A streaming receiver's reader is done with `n` frames handed on: they stop counting against
   * the session's incoming window, which the next flow widens again. More than is held (frames of
   * a link already gone) is ignored.
   */
  releaseFrames(n: number): void {
    const k = Math.min(n, this.heldFrames);
    if (k <= 0) return;
    this.heldFrames -= k;
    this.session.releaseFrames(k);
  }

  /** @internal Forgets the message being reassembled, and its bytes in the connection's count. */
  dropPartial(): void {
    const p = this.partial;
    if (!p) return;
    this.partial = undefined;
    if (p.buf !== undefined) this.session.connection.reassemblyBytes -= p.buf.length;
  }

  /** @internal */
  protected override onDetaching(): void {
    const p = this.partial;
    this.dropPartial();
    // A streaming reader mid-message learns now, not when (or if) the peer answers our detach.
    if (p && this.streaming) this.session.connection.emit({ type: 'delivery-aborted', delivery: p.delivery });
    this.releaseFrames(this.heldFrames); // nothing of a gone link is read any more
    this.releaseCredit();
  }

  /** @internal The sender's disposition (it settled, or sent its state). */
  onDisposition(d: Delivery, disp: Disposition): void {
    if (disp.state) d.remoteState = disp.state;
    if (disp.settled) {
      d.remoteSettled = true;
      // In mode second, the sender settling lets us settle too.
      if (!d.settled && d.state) this.settle(d, d.state);
      else if (d.settled) this.session.forgetIncoming(d);
    }
    this.session.connection.emit({ type: 'delivery-updated', delivery: d });
  }

  /**
   * Gives a delivery its outcome. In rcv-settle-mode first we settle at once; in second we send the
   * outcome unsettled and settle when the sender does.
   */
  settle(d: Delivery, state: DeliveryState = ACCEPTED): void {
    if (d.settled) return;
    d.state = state;
    if (d.remoteSettled) {
      d.settled = true;
      this.session.forgetIncoming(d);
      return;
    }
    d.settled = !this.settlesSecond;
    this.session.queueDisposition(d, 'receiver');
    if (d.settled) this.session.forgetIncoming(d);
  }

  /** Sends a state without settling (e.g. `received`). */
  disposition(d: Delivery, state: DeliveryState, settled: boolean): void {
    d.state = state;
    d.settled = settled;
    this.session.queueDisposition(d, 'receiver');
    if (settled) this.session.forgetIncoming(d);
  }
}

/** The capacity for `need` bytes, growing from `cap`: it doubles, up to `max` if set. */
function capacityFor(cap: number, need: number, max: number): number {
  if (cap >= need) return cap;
  const doubled = Math.max(need, cap * 2, 256);
  return max > 0 ? Math.max(need, Math.min(doubled, max)) : doubled;
}
