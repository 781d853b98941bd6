/** A message that arrived on a receiver, with the ways to settle it. */
import type { DecodeOptions } from '../codec/decoder.js';
import { decodeMessage, type Message } from '../codec/message.js';
import type { DeliveryState, Fields } from '../codec/spec/records.js';
import type { AmqpError } from '../protocol/errors.js';
import { toErrorRecord } from '../protocol/errors.js';
import type { Delivery } from '../link/delivery.js';
import { ACCEPTED, RELEASED, type Receiver } from '../link/receiver.js';
import { AmqpOneError } from '../codec/errors.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';

/** How {@link ReceivedMessage.modify} settles: the modified outcome's fields (spec 3.4.5). */
export interface ModifyOptions {
  deliveryFailed?: boolean;
  undeliverableHere?: boolean;
  messageAnnotations?: Fields;
}

export const MODIFY_OPTIONS = {
  deliveryFailed: opt.boolean,
  undeliverableHere: opt.boolean,
  messageAnnotations: opt.object,
} satisfies OptionSchema<ModifyOptions>;

/** Told when a message is settled (the receiver that handed it out: no closure per message). */
export interface SettleListener {
  messageSettled(m: ReceivedMessage): void;
}

/** A message a receiver took, with the settlement calls for it: accept, reject, release, modify. */
export class ReceivedMessage {
  private decoded: Message | undefined;

  constructor(
    readonly delivery: Delivery,
    private readonly owner: SettleListener,
    private readonly decodeOptions?: DecodeOptions,
  ) {}

  /** The encoded bytes, as they came (zero-copy where the transfer was one frame). */
  get payload(): Buffer {
    return this.delivery.payload;
  }

  /**
   * The decoded message (decoded once, on first use; maps as the receiver's `maps` option says).
   * Throws DecodeError for a malformed one.
   */
  get message(): Message {
    return (this.decoded ??= decodeMessage(this.delivery.payload, this.decodeOptions));
  }

  /** The delivery-tag the sender gave it. */
  get tag(): Buffer {
    return this.delivery.tag;
  }

  /** Settled by us, or presettled by the sender. */
  get settled(): boolean {
    return this.delivery.settled || this.delivery.remoteSettled;
  }

  /** Settles with the accepted outcome: the sender may forget the message. */
  accept(): void {
    this.settle(ACCEPTED);
  }

  /** Rejects the message: it is invalid and must not be redelivered as is. */
  reject(error?: AmqpError): void {
    this.settle({ type: 'rejected', error: error ? toErrorRecord(error) : undefined });
  }

  /** Gives the message back unprocessed: the sender may deliver it again, to us or others. */
  release(): void {
    this.settle(RELEASED);
  }

  /** Settles with the modified outcome: the sender may redeliver, counting a failure if asked. */
  modify(o: ModifyOptions = {}): void {
    checkOptions(o, MODIFY_OPTIONS, 'modify');
    this.settle({
      type: 'modified',
      deliveryFailed: o.deliveryFailed,
      undeliverableHere: o.undeliverableHere,
      messageAnnotations: o.messageAnnotations,
    });
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
