/**
 * A delivery: one message moving over a link, from its first transfer to its settlement.
 */
import type { AmqpOneError } from '../codec/errors.js';
import type { DeliveryState } from '../codec/spec/records.js';
import type { Link } from './link.js';

/**
 * The bytes of a streamed outgoing delivery not framed yet (see Sender.openStream): its length
 * was not known when it was queued, so its frames go out as bytes arrive.
 */
export interface OutgoingStream {
  /** Bytes handed over and not yet written, oldest first; `offset` into the first. */
  chunks: Buffer[];
  offset: number;
  /** Bytes in `chunks` from `offset` on. */
  bytes: number;
  /** All bytes handed over so far (for the max-message-size). */
  total: number;
  /** No more bytes will come: the last frame may go. */
  ended: boolean;
  /** The last frame is written. */
  sent: boolean;
}

/** One message on a link, from its first transfer to its settlement on both sides. */
export class Delivery {
  /** Session-scoped delivery-id; -1 until the first transfer frame is written. */
  id = -1;
  /** Our settlement state and outcome. */
  settled = false;
  state: DeliveryState | undefined;
  /** The peer's settlement state and outcome, from its dispositions. */
  remoteSettled = false;
  remoteState: DeliveryState | undefined;
  /** Sender side: how many payload bytes have gone out so far. */
  offset = 0;
  /** The transfer was aborted: its partial payload is gone. */
  aborted = false;
  /** Why the engine gave up on sending it (see the `delivery-failed` event). */
  error: AmqpOneError | undefined;
  /** @internal A streamed delivery's bytes still to frame (undefined for an ordinary one). */
  stream: OutgoingStream | undefined;
  /** For the layer above: a promise's resolver, a message, anything. */
  context: unknown;

  constructor(
    readonly link: Link,
    readonly tag: Buffer,
    /** Sender: the encoded message to send; receiver: the complete message received. */
    public payload: Buffer,
    readonly messageFormat = 0,
  ) {}

  /** Settled by both sides: nothing more will happen to it. */
  get done(): boolean {
    return this.settled && this.remoteSettled;
  }
}
