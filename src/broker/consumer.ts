/**
 * A consumer: a client's receiver link, served by one of our senders. Its queue hands it messages
 * while it has credit; its outcomes settle them there (spec 3.4): accepted or rejected ends a
 * message, released or modified puts it back. A link that leaves puts back what it had unsettled.
 */
import { MessageSender } from '../api/sender.js';
import type { DeliveryState } from '../codec/spec/records.js';
import { SenderSettleMode } from '../link/link.js';
import type { Queue, QueueConsumer } from './queue.js';
import type { StoredMessage } from './stored-message.js';

export class Consumer implements QueueConsumer {
  private gone = false;

  constructor(
    readonly queue: Queue,
    readonly sender: MessageSender,
    /** Told once, when the link is gone (detached by either side, or its connection lost). */
    private readonly onGone: (c: Consumer) => void,
  ) {
    // New credit (or a drain) may let waiting messages go.
    sender.on('credit', () => queue.dispatchSoon());
    sender.on('close', () => this.leave());
  }

  get credit(): number {
    return this.gone || !this.sender.link.isOpen ? 0 : this.sender.sendable;
  }

  /** snd-settle-mode settled: each message is done once written (at-most-once). */
  get presettled(): boolean {
    return this.sender.link.options.sndSettleMode === SenderSettleMode.Settled;
  }

  deliver(m: StoredMessage): void {
    this.sender.send(m.payload).then(
      (state) => this.onOutcome(m, state),
      (err: unknown) => {
        // Larger than this receiver's max-message-size: never for this link (or it would be
        // offered the same message again and again), but another one may take it.
        if (MessageSender.isTooLarge(err)) m.refuse(this);
        // Otherwise the link or connection went before an outcome: the message may be redelivered.
        this.queue.putBack(m);
      },
    );
  }

  private onOutcome(m: StoredMessage, state: DeliveryState | undefined): void {
    const outcome = state ?? (this.presettled ? undefined : this.defaultOutcome());
    switch (outcome?.type) {
      case undefined: // presettled and written
      case 'accepted':
      case 'rejected': // no dead-letter queue here: a rejected message is dropped
        return this.queue.settled(m);
      case 'modified':
        this.queue.modify(m, {
          failedDelivery: outcome.deliveryFailed,
          annotations: outcome.messageAnnotations,
        });
        if (outcome.undeliverableHere) m.refuse(this);
        return this.queue.putBack(m);
      default: // released, or a state that is no outcome
        return this.queue.putBack(m);
    }
  }

  /**
   * Settled by the receiver without an outcome: the source's default-outcome applies (spec 3.5.3);
   * without one, released (the message is not lost).
   */
  private defaultOutcome(): DeliveryState {
    const source = this.sender.link.remoteAttach?.source;
    return (source?.defaultOutcome as DeliveryState | undefined) ?? { type: 'released' };
  }

  private leave(): void {
    if (this.gone) return;
    this.gone = true;
    this.queue.unsubscribe(this);
    this.onGone(this);
  }
}
