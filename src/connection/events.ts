/** The typed events an engine reports. The layer above drains them with `takeEvents()`. */
import type { AmqpOneError } from '../codec/errors.js';
import type { Delivery } from '../link/delivery.js';
import type { Link } from '../link/link.js';
import type { Session } from '../session/session.js';

/**
 * What the engine reports through {@link Connection.takeEvents}: a peer's open, begin, attach, flow,
 * delivery, disposition, detach, end and close, and errors.
 */
export type EngineEvent =
  /** SASL finished well; `identity` is the authenticated identity (server) or our mechanism (client). */
  | { type: 'sasl-done'; mechanism: string; identity: string }
  /** The peer's open arrived; on a server, answer with `open()` (or `close(error)` to refuse). */
  | { type: 'connection-remote-open' }
  /** The peer's close arrived, or our close was answered. */
  | { type: 'connection-closed'; error?: AmqpOneError }
  /** Nothing more will be read or written: the transport may be closed once output is flushed. */
  | { type: 'transport-done'; error?: AmqpOneError }
  /** A session the peer began; answer with `session.begin()` or `session.end(error)`. */
  | { type: 'session-remote-open'; session: Session }
  | { type: 'session-opened'; session: Session }
  | { type: 'session-closed'; session: Session }
  /** A link the peer attached first; answer with `link.attach()` (after setting its terminus) or `link.detach(error)`. */
  | { type: 'link-remote-open'; link: Link }
  /** The peer answered our attach. */
  | { type: 'link-opened'; link: Link }
  /** The link is detached on both sides; `link.error` says why, if anything went wrong. */
  | { type: 'link-closed'; link: Link }
  /** Credit or flow state changed (a sender may send now). */
  | { type: 'link-flow'; link: Link }
  /** A drain completed: the credit is used up. */
  | { type: 'link-drained'; link: Link }
  /** A complete message arrived on a receiver. */
  | { type: 'delivery'; delivery: Delivery }
  /**
   * A streaming receiver's transfer frame: `payload` is this frame's part of the message, `more`
   * false on the last. Release the frame (`Receiver.releaseFrames`) once its bytes are read.
   */
  | { type: 'delivery-chunk'; delivery: Delivery; payload: Buffer; more: boolean }
  /**
   * A delivery will not complete; its bytes are discarded. The sender aborted it
   * (`delivery.aborted`), or, on a streaming receiver, we detached mid-message (`link.error`).
   */
  | { type: 'delivery-aborted'; delivery: Delivery }
  /** A queued delivery cannot be sent (too large for the receiver's max-message-size); never sent. */
  | { type: 'delivery-failed'; delivery: Delivery; error: AmqpOneError }
  /** The peer's disposition changed a delivery's remote state or settlement. */
  | { type: 'delivery-updated'; delivery: Delivery }
  /** The peer broke a rule; we are ending the session or closing the connection with `condition`. */
  | { type: 'protocol-violation'; scope: 'connection' | 'session'; condition: string; description: string };
