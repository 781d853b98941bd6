/** A message that arrived on a receiver, with the ways to settle it. */
import type { DecodeOptions } from '../codec/decoder.js';
import { decodeMessage, type Message } from '../codec/message.js';
import { readMessage } from '../codec/message-view.js';
import type { DeliveryState } from '../codec/spec/records.js';
import type { Delivery } from '../link/delivery.js';
import type { Receiver } from '../link/receiver.js';
import { AmqpOneError } from '../codec/errors.js';
import { Settleable } from './outcomes.js';

export type { ModifyOptions } from './outcomes.js';

/** Told when a message is settled (the receiver that handed it out: no closure per message). */
export interface SettleListener {
  messageSettled(m: ReceivedMessage): void;
}

/** A message a receiver took, with the settlement calls for it: accept, reject, release, modify. */
export class ReceivedMessage extends Settleable {
  private decoded: Message | undefined;

  constructor(
    readonly delivery: Delivery,
    private readonly owner: SettleListener,
    private readonly decodeOptions?: DecodeOptions,
    private readonly lazy = false,
  ) {
    super();
  }

  /** The encoded bytes, as they came (zero-copy where the transfer was one frame). */
  get payload(): Buffer {
    return this.delivery.payload;
  }

  /**
   * The decoded message (decoded once, on first use; maps as the receiver's `maps` option says,
   * lazily or not as its `decode` option says). Throws DecodeError for a malformed one.
   */
  get message(): Message {
    return (this.decoded ??= this.lazy
      ? readMessage(this.delivery.payload, this.decodeOptions)
      : decodeMessage(this.delivery.payload, this.decodeOptions));
  }

  /** The delivery-tag the sender gave it. */
  get tag(): Buffer {
    return this.delivery.tag;
  }

  /** Settled by us, or presettled by the sender. */
  get settled(): boolean {
    return this.delivery.settled || this.delivery.remoteSettled;
  }

  /** Settles with any delivery state. */
  settle(state: DeliveryState): void {
    const d = this.delivery;
    if (d.settled) return;
    const link = d.link as Receiver;
    // A presettled message needs nothing on the wire, so settling it does not fail once its link
    // is gone (a sender may detach right after sending).
    if (d.remoteSettled) {
      d.settled = true;
      d.state = state;
      this.owner.messageSettled(this);
      return;
    }
    if (link.local === 'detached' || link.session.local === 'detached') {
      throw new AmqpOneError(
        'AMQP_LINK_DETACHED',
        'cannot settle: the link that received this message is gone',
      );
    }
    link.settle(d, state);
    this.owner.messageSettled(this);
  }
}
