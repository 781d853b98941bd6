/**
 * A receiver for messages too large to hold: each message is handed out as soon as its sections
 * before the body have arrived, and its body is read as it arrives (StreamedMessage).
 *
 * Backpressure is the session's incoming window: the link has a session of its own, whose window
 * (`incomingWindow` frames, of at most our max-frame-size each) is all a message may hold while
 * its reader waits. The peer stops when it is used up and goes on as the reader takes chunks. A
 * session of its own, because a session's window is shared by its links: a slow reader would stall
 * the others. Credit is one message at a time, granted when the application asks for the next.
 */
import { Condition } from '../protocol/conditions.js';
import type { DecodeOptions } from '../codec/decoder.js';
import type { Delivery } from '../link/delivery.js';
import type { Receiver } from '../link/receiver.js';
import { ProtocolError, toErrorRecord } from '../protocol/errors.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { abortedError, armDeadline } from './deadline.js';
import { ClosedError, MessageStreamError } from './errors.js';
import type { LinkHost } from './link-host.js';
import type { ReceiveOptions } from './receiver.js';
import { StreamedMessage } from './streamed-message.js';

/** Frames a streaming receiver's session window holds by default (x max-frame-size bytes). */
export const DEFAULT_STREAM_WINDOW = 16;

const NO_OPTIONS: ReceiveOptions = Object.freeze({});

/** Messages as they arrive, one at a time: `for await (const m of receiver)`, then `m.body`. */
export class StreamingReceiver implements AsyncIterable<StreamedMessage> {
  /** The message whose frames arrive now. */
  private arriving: StreamedMessage | undefined;
  /** A message whose head arrived while nobody waited (a receive gave up). */
  private ready: StreamedMessage | undefined;
  /** The message handed out last: the next receive abandons the rest of its body. */
  private last: StreamedMessage | undefined;
  private reader: Deferred<StreamedMessage | undefined> | undefined;
  private ended: { error: unknown } | undefined;

  constructor(
    readonly link: Receiver,
    private readonly host: LinkHost,
    private readonly decode: DecodeOptions & { maxSectionBytes?: number },
    /** Ends the receiver's own session once the link is gone. */
    private readonly endSession: () => void,
  ) {
    link.streaming = true;
    link.context = this;
  }

  /**
   * The next message, once its sections before the body have arrived; undefined once the link is
   * closed. The rest of the previous message's body, if unread, is discarded (released unread):
   * its frames would otherwise fill the window the next message needs.
   */
  receive(options: ReceiveOptions = NO_OPTIONS): Promise<StreamedMessage | undefined> {
    const aborted = abortedError(options.signal, 'receiving');
    if (aborted) return Promise.reject(aborted);
    void this.last?.abandon();
    this.last = undefined;
    const m = this.ready;
    if (m !== undefined) {
      this.ready = undefined;
      this.last = m;
      return Promise.resolve(m);
    }
    if (this.ended) {
      return this.ended.error === undefined ? Promise.resolve(undefined) : Promise.reject(this.ended.error);
    }
    if (this.reader) return Promise.reject(new ClosedError('a second concurrent receive'));
    const d = deferred<StreamedMessage | undefined>();
    this.reader = d;
    this.grant();
    const disarm = armDeadline(
      this.host.timers,
      d,
      options.timeoutMs ?? 0,
      'receiving',
      () => {
        if (this.reader === d) this.reader = undefined;
      },
      options.signal,
    );
    d.promise.then(disarm, disarm);
    return d.promise;
  }

  /** One message of credit, unless one is granted or arriving. */
  private grant(): void {
    if (this.arriving !== undefined || this.link.linkCredit > 0 || this.link.local !== 'attached') return;
    this.link.setCredit(1);
    this.host.schedule();
  }

  /** @internal A frame of a message. */
  onChunk(d: Delivery, payload: Uint8Array, more: boolean): void {
    let m = this.arriving;
    if (m === undefined || m.delivery !== d) {
      m = this.arriving = new StreamedMessage(d, this.host, this.decode, (h) => this.onHead(h));
    }
    m.feed(payload, more);
    if (more) return;
    this.arriving = undefined;
    // Not a message: rejected (as the ordinary receiver rejects what it cannot decode), else it
    // could never be settled. A head that failed is never handed out: the reader waits on.
    if (!m.headReady || m.malformed) this.refuse(m);
  }

  private onHead(m: StreamedMessage): void {
    const r = this.reader;
    if (r === undefined) {
      this.ready = m;
      return;
    }
    this.reader = undefined;
    this.last = m;
    r.resolve(m);
  }

  /** A message that could not be decoded is rejected; one whose head failed is never handed out. */
  private refuse(m: StreamedMessage): void {
    if (!m.delivery.settled && !m.delivery.remoteSettled && this.link.local === 'attached') {
      this.link.settle(m.delivery, {
        type: 'rejected',
        error: toErrorRecord({ condition: Condition.DecodeError, description: 'not a valid message' }),
      });
    }
    if (this.reader) this.grant();
    this.host.schedule();
  }

  /** @internal The message arriving will not complete: the sender aborted it, or our link detached. */
  onAborted(d: Delivery): void {
    const m = this.arriving;
    if (m === undefined || m.delivery !== d) return;
    this.arriving = undefined;
    m.fail(
      d.aborted
        ? new MessageStreamError('AMQP_STREAM_ABORTED', 'the sender aborted the message')
        : lostError(this.link.error),
    );
    if (this.ready === m) this.ready = undefined;
    if (this.reader) this.grant();
  }

  /** @internal The link is gone: the message arriving ends with an error, readers get the end. */
  onClosed(err?: unknown): void {
    if (this.ended) return;
    this.ended = { error: err };
    const m = this.arriving;
    this.arriving = undefined;
    if (m) m.fail(lostError(err));
    const r = this.reader;
    this.reader = undefined;
    if (r) err === undefined ? r.resolve(undefined) : r.reject(err);
    this.endSession();
  }

  /** An iterator over receive(); ends after `undefined` or an error, or return(). */
  [Symbol.asyncIterator](): AsyncIterator<StreamedMessage> {
    let finished = false;
    return {
      next: async (): Promise<IteratorResult<StreamedMessage>> => {
        if (finished) return { done: true, value: undefined };
        try {
          const m = await this.receive();
          if (m !== undefined) return { done: false, value: m };
        } catch (e) {
          finished = true;
          throw e;
        }
        finished = true;
        return { done: true, value: undefined };
      },
      return: async (): Promise<IteratorResult<StreamedMessage>> => {
        finished = true;
        return { done: true, value: undefined };
      },
    };
  }

  /** Detaches the link (a message arriving ends with AMQP_STREAM_LINK_LOST) and ends its session. */
  async close(): Promise<void> {
    if (this.link.local !== 'detached') this.link.detach();
    this.host.schedule();
    this.onClosed();
  }
}

/** The error a body ends with when its link goes: too large if that was the reason. */
function lostError(err: unknown): MessageStreamError {
  if (err instanceof ProtocolError && err.condition === Condition.MessageSizeExceeded) {
    return new MessageStreamError('AMQP_MESSAGE_TOO_LARGE', err.message, err.condition, err);
  }
  return new MessageStreamError(
    'AMQP_STREAM_LINK_LOST',
    `the link was lost before the message's last byte${err instanceof Error ? `: ${err.message}` : ''}`,
    err instanceof ProtocolError ? err.condition : undefined,
    err ?? new ClosedError('the receiver'),
  );
}
