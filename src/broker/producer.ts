/**
 * A producer: a client's sender link, read by one of our receivers (which keeps a credit window
 * open). Each message is accepted once it is on its queue, so an `accepted` outcome means
 * "enqueued". A link without a target address is an anonymous relay: each message goes to the
 * queue its properties.to names.
 */
import type { MessageReceiver } from '../api/receiver.js';
import type { ReceivedMessage } from '../api/received-message.js';
import { Condition } from '../protocol/conditions.js';
import type { AmqpError } from '../protocol/errors.js';
import { Queue } from './queue.js';

/** Where a message goes: a queue, or why it cannot go anywhere. */
export type Route = (m: ReceivedMessage) => Queue | AmqpError;

export class Producer {
  constructor(
    readonly receiver: MessageReceiver,
    private readonly route: Route,
    /** Ends the link with an error: for a presettled message that cannot be taken. */
    private readonly fail: (error: AmqpError) => void,
  ) {}

  /** Reads until the link closes (cleanly or not: either way the producer is gone). */
  async run(): Promise<void> {
    try {
      for await (const m of this.receiver) this.take(m);
    } catch {
      // The link or connection failed: what was not accepted is the client's to resend.
    }
  }

  private take(m: ReceivedMessage): void {
    const invalid = checkMessage(m);
    const dest = invalid ?? this.route(m);
    if (!(dest instanceof Queue)) return this.refuse(m, dest);
    // A full queue refuses the message with a rejected outcome (amqp:resource-limit-exceeded):
    // the sender learns which message was not taken and why, at once. Withholding credit instead
    // would stall the link without a word, and an anonymous relay link for every queue at once.
    const full = dest.refusal(m.payload.length);
    if (full) {
      // A queue a relayed message just created, and that could not take it, is not kept.
      if (dest.idle) dest.onIdle?.(dest);
      return this.refuse(m, full);
    }
    // A copy: the received bytes may be a view of a larger network buffer, kept alive by the queue.
    dest.enqueue(Buffer.from(m.payload));
    this.settle(m, () => m.accept());
  }

  /**
   * A message that is not taken. An unsettled one is rejected with `error`. A presettled one
   * cannot be refused alone, and must not vanish without a word: the link is ended with `error`.
   */
  private refuse(m: ReceivedMessage, error: AmqpError): void {
    if (m.settled && this.receiver.link.local === 'attached') return this.fail(error);
    this.settle(m, () => m.reject(error));
  }

  /**
   * Messages that came before a detach are still read after it. Presettled ones are the queue's
   * anyway; an unsettled one stays enqueued (the client may send it again: at-least-once), but its
   * outcome can no longer be sent.
   */
  private settle(m: ReceivedMessage, how: () => void): void {
    if (m.settled || this.receiver.link.local !== 'attached') return;
    how();
  }
}

/** A broker must not pass on what its consumers cannot decode (format 0 is the AMQP message). */
function checkMessage(m: ReceivedMessage): AmqpError | undefined {
  if (m.delivery.messageFormat !== 0) return undefined;
  try {
    void m.message;
    return undefined;
  } catch (e) {
    return { condition: Condition.DecodeError, description: e instanceof Error ? e.message : String(e) };
  }
}
