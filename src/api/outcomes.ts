/**
 * The outcome calls a received message offers (accept, reject, release, modify), written once over
 * the one thing that differs between kinds of received message: how `settle(state)` reaches the
 * wire.
 */
import type { DeliveryState, Fields } from '../codec/spec/records.js';
import { ACCEPTED, RELEASED } from '../link/receiver.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import { toErrorRecord, type AmqpError } from '../protocol/errors.js';

/** How `modify` settles: the modified outcome's fields (spec 3.4.5). */
export interface ModifyOptions {
  deliveryFailed?: boolean;
  undeliverableHere?: boolean;
  messageAnnotations?: Fields;
}

const MODIFY_OPTIONS = {
  deliveryFailed: opt.boolean,
  undeliverableHere: opt.boolean,
  messageAnnotations: opt.object,
} satisfies OptionSchema<ModifyOptions>;

/** A received message's settlement calls; each kind supplies `settle`. */
export abstract class Settleable {
  /** Settles with any delivery state. */
  abstract settle(state: DeliveryState): void;

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
}
