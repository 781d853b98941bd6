/**
 * A message read while it arrives: its sections before the body at once, the bytes of its data
 * sections as an async iterable of chunks, its footer once the body has ended.
 *
 * Each chunk is a view of the transfer frame it came in. A frame is released (it stops counting
 * against the session's incoming window, so the peer may send another) when the application takes
 * its last chunk, so what a message holds while its reader waits is bounded by that window.
 */
import type { DecodeOptions } from '../codec/decoder.js';
import { DecodeError } from '../codec/errors.js';
import type { Message, MessageHeader, MessageProperties, Annotations } from '../codec/message.js';
import { MessageStreamParser } from '../codec/message-stream.js';
import type { AmqpValue } from '../codec/values.js';
import type { DeliveryState } from '../codec/spec/records.js';
import { AmqpOneError } from '../codec/errors.js';
import type { Delivery } from '../link/delivery.js';
import type { Receiver } from '../link/receiver.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { Fifo } from '../util/fifo.js';
import { MessageStreamError } from './errors.js';
import type { LinkHost } from './link-host.js';
import { Settleable } from './outcomes.js';

/** One chunk of a body, and the frames its taking releases. */
interface Chunk {
  bytes: Uint8Array;
  frames: number;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** A message whose body is read as it arrives (see StreamingReceiver). */
export class StreamedMessage extends Settleable {
  header: MessageHeader | undefined;
  deliveryAnnotations: Annotations | undefined;
  messageAnnotations: Annotations | undefined;
  properties: MessageProperties | undefined;
  applicationProperties: Message['applicationProperties'];
  /** The body's bytes (the data sections' contents run together), readable once. */
  readonly body: AsyncIterable<Uint8Array>;
  private tail: Message | undefined;
  private readonly parser: MessageStreamParser;
  private readonly chunks = new Fifo<Chunk>();
  private fresh: Chunk | undefined;
  private reader: Deferred<IteratorResult<Uint8Array>> | undefined;
  /** The last frame arrived (the message may be settled); `error` if it never will. */
  private arrived = false;
  private error: MessageStreamError | undefined;
  /** The application gave up on the body: what comes is released unread. */
  private abandoned = false;
  /** The head (sections before the body) is decoded: the receiver may hand the message out. */
  headReady = false;

  constructor(
    readonly delivery: Delivery,
    private readonly host: LinkHost,
    decode: DecodeOptions & { maxSectionBytes?: number },
    private readonly onHead: (m: StreamedMessage) => void,
  ) {
    super();
    this.parser = new MessageStreamParser(
      {
        head: (m) => {
          this.header = m.header;
          this.deliveryAnnotations = m.deliveryAnnotations;
          this.messageAnnotations = m.messageAnnotations;
          this.properties = m.properties;
          this.applicationProperties = m.applicationProperties;
          this.headReady = true;
          this.onHead(this);
        },
        chunk: (bytes) => {
          if (this.abandoned || this.error) return;
          this.chunks.push((this.fresh = { bytes, frames: 0 }));
        },
      },
      decode,
    );
    let taken = false;
    this.body = {
      [Symbol.asyncIterator]: (): AsyncIterator<Uint8Array> => {
        if (taken) throw new AmqpOneError('AMQP_STREAM_READ', 'a streamed body can be read once');
        taken = true;
        return { next: () => this.next(), return: () => this.abandon() };
      },
    };
  }

  /** The delivery-tag the sender gave it. */
  get tag(): Buffer {
    return this.delivery.tag;
  }

  /** Some frame of it was not a valid message: it is rejected once its last frame arrives. */
  get malformed(): boolean {
    return this.error?.code === 'AMQP_STREAM_DECODE';
  }

  /** The last frame arrived: the message may be settled, and `footer` is known. */
  get complete(): boolean {
    return this.arrived && this.error === undefined;
  }

  /** The footer (once the body has ended). */
  get footer(): Annotations | undefined {
    return this.tail?.footer;
  }

  /** 'data' when the body streamed; 'value' or 'sequence' when it was one of those (see `value`). */
  get bodyType(): Message['bodyType'] {
    return this.tail?.bodyType;
  }

  /**
   * A body that is not data (amqp-value, amqp-sequence) does not stream: it is held (within
   * maxSectionBytes) and decoded here once the message has arrived.
   */
  get value(): AmqpValue | undefined {
    return this.tail?.bodyType === 'data' ? undefined : this.tail?.body;
  }

  /** The link handed us a frame of this message; released with its last chunk. */
  feed(payload: Uint8Array, more: boolean): void {
    this.fresh = undefined;
    if (this.error || this.abandoned) {
      // Nobody reads it: released at once, not even parsed.
      this.releaseFrames(1);
      if (!more) this.arrived = true;
      return;
    }
    let bad: DecodeError | undefined;
    try {
      this.parser.push(payload);
      if (!more) this.tail = this.parser.end();
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      bad = e;
    }
    // Set by the parser's chunk callback, which TypeScript cannot see from here. Counted before a
    // failure drops the queue, else a chunk dropped with 0 frames would never release this one.
    const fresh = this.fresh as Chunk | undefined;
    if (fresh !== undefined) fresh.frames++;
    else this.releaseFrames(1);
    if (bad !== undefined) {
      this.fail(
        new MessageStreamError(
          'AMQP_STREAM_DECODE',
          `not a valid message: ${bad.message}`,
          bad.condition,
          bad,
        ),
      );
    }
    if (!more) this.arrived = true;
    this.wake();
  }

  /** The message will not arrive whole: the body ends with `err`, what was queued is dropped. */
  fail(err: MessageStreamError): void {
    if (this.error || this.arrived) return;
    this.error = err;
    this.dropQueued();
    this.wake();
  }

  private next(): Promise<IteratorResult<Uint8Array>> {
    const c = this.chunks.shift();
    if (c !== undefined) {
      this.releaseFrames(c.frames);
      return Promise.resolve({ done: false, value: c.bytes });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.arrived || this.abandoned) return Promise.resolve(DONE);
    this.reader = deferred();
    return this.reader.promise;
  }

  /** A reader waits and there is something to tell it. */
  private wake(): void {
    const r = this.reader;
    if (r === undefined || (this.chunks.length === 0 && !this.arrived && !this.error)) return;
    this.reader = undefined;
    this.next().then(r.resolve, r.reject);
  }

  /** The application stopped reading (break, or the next message): the rest is released unread. */
  abandon(): Promise<IteratorResult<Uint8Array>> {
    this.abandoned = true;
    this.dropQueued();
    return Promise.resolve(DONE);
  }

  private dropQueued(): void {
    let frames = 0;
    for (let c = this.chunks.shift(); c !== undefined; c = this.chunks.shift()) frames += c.frames;
    this.releaseFrames(frames);
  }

  private releaseFrames(frames: number): void {
    if (frames === 0) return;
    (this.delivery.link as Receiver).releaseFrames(frames);
    this.host.schedule();
  }

  /**
   * Settles with any delivery state, once the last frame has arrived (read or not): a message
   * still arriving has no outcome yet (AMQP_STREAM_INCOMPLETE).
   */
  settle(state: DeliveryState): void {
    const d = this.delivery;
    if (d.settled) return;
    if (!this.complete)
      throw new AmqpOneError('AMQP_STREAM_INCOMPLETE', 'a streamed message is settled after its last frame');
    if (d.remoteSettled) {
      d.settled = true;
      d.state = state;
      return;
    }
    const link = d.link as Receiver;
    if (link.local === 'detached' || link.session.local === 'detached')
      throw new AmqpOneError(
        'AMQP_LINK_DETACHED',
        'cannot settle: the link that received this message is gone',
      );
    link.settle(d, state);
    this.host.schedule();
  }
}
