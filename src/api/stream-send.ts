/**
 * Sending a message whose body is read from a stream while it goes out (MessageSender.sendStream).
 *
 * The body is data sections. With `length` known, one section: its size is written first, and the
 * source must give exactly that many bytes (else the transfer is aborted with
 * AMQP_STREAM_LENGTH_MISMATCH). Without it, a data section needs a size up front that nobody
 * knows, so the body is several data sections, one per block of up to 256 KiB (shorter when
 * the engine has sent everything before the block filled: a slow source is not held back): AMQP allows a data body of many sections, amqp-one's and rhea's receivers read them
 * in order, but some receivers read only the first; give `length` whenever it is known.
 *
 * Memory: the sender hands the engine at most STREAM_HIGH_WATER bytes beyond what it has framed
 * and waits (for a flush of the socket, or credit and window) before reading on from the source.
 *
 * Deadline: `timeoutMs` covers the whole send, to the peer's outcome. Each read of the source is
 * raced against a failure (deadline, signal, link lost), so a source that stops yielding cannot
 * hold the send: it is closed, and a transfer not fully written is aborted on the wire.
 */
import { encodeMessage, type Message } from '../codec/message.js';
import { AmqpOneError } from '../codec/errors.js';
import type { DeliveryState } from '../codec/spec/records.js';
import type { Delivery } from '../link/delivery.js';
import type { Sender } from '../link/sender.js';
import { Condition } from '../protocol/conditions.js';
import { allocUnsafe } from '../codec/bytes.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { AbortError, InvalidArgumentError, MessageStreamError, TimeoutError } from './errors.js';
import type { LinkHost } from './link-host.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';

/** Options of {@link MessageSender.sendStream}. */
export interface SendStreamOptions {
  /** The message's sections other than the body (header, properties, ...); no body, no footer. */
  message?: Omit<Message, 'body' | 'bodyType' | 'footer'>;
  /** The body's length in bytes, when known: one data section (see the module comment). */
  length?: number;
  /** Send presettled: resolves once the last frame is written. */
  presettled?: boolean;
  /** An explicit delivery tag. */
  tag?: Uint8Array;
  /**
   * Gives up: a transfer under way is aborted, the source is closed (`return()`, a Readable
   * destroyed) even while it is stalled, and the promise rejects with an AbortError (AMQP_ABORTED).
   */
  signal?: AbortSignal;
  /**
   * The deadline of the whole send, from the call to the peer's outcome (ms; 0: none). Defaults to
   * the sender's `sendTimeoutMs`. When it passes, the source is closed, a transfer not fully
   * written is aborted, and the promise rejects with a TimeoutError (AMQP_TIMEOUT); a message whose
   * last frame has gone may still be delivered, as with send().
   */
  timeoutMs?: number;
}

export const SEND_STREAM_OPTIONS = {
  message: opt.object,
  length: opt.number,
  presettled: opt.boolean,
  tag: opt.buffer,
  signal: opt.signal,
  timeoutMs: opt.number,
} satisfies OptionSchema<SendStreamOptions>;

/** Bytes handed to the engine and not framed yet, beyond which the source is not read. */
export const STREAM_HIGH_WATER = 1024 * 1024;
/** A data section's bytes when the length is unknown. */
export const STREAM_BLOCK = 256 * 1024;

/** A body source: chunks of bytes, each kept (not copied) until written. */
export type StreamSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** One streamed send, as its sender sees it. */
export class StreamSend {
  private waiter: Deferred<void> | undefined;
  private outcome = deferred<DeliveryState | undefined>();
  /** Rejects on failure: raced against a source that may never yield again. */
  private readonly stop = deferred<never>();
  error: unknown;

  constructor(readonly delivery: Delivery) {
    delivery.context = this;
    this.outcome.promise.catch(() => undefined); // awaited by send(); a failure before that is not unhandled
    this.stop.promise.catch(() => undefined);
  }

  /** The source's next chunk, or the failure (abort, deadline, link lost) if it comes first. */
  pull<T>(next: T | Promise<T>): Promise<T> {
    if (this.error !== undefined) return Promise.reject(this.error);
    return Promise.race([next, this.stop.promise]);
  }

  /** Something changed (a flush, credit, the end): a waiting writer looks again. */
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  /** Waits until the engine holds fewer than STREAM_HIGH_WATER bytes of this stream, or a failure. */
  async room(): Promise<void> {
    const st = this.delivery.stream!;
    while (st.bytes >= STREAM_HIGH_WATER && this.error === undefined) {
      this.waiter = deferred();
      await this.waiter.promise;
    }
    if (this.error !== undefined) throw this.error;
  }

  /** The peer's outcome (or, presettled, the last frame written). */
  settled(state: DeliveryState | undefined): void {
    this.outcome.resolve(state);
  }

  fail(err: unknown): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.outcome.reject(err);
    this.stop.reject(err);
    this.wake();
  }

  result(): Promise<DeliveryState | undefined> {
    return this.outcome.promise;
  }
}

/** A data section's descriptor and vbin32 size: 0x00 0x53 0x75 0xb0 and 4 bytes. */
function dataSectionHeader(size: number): Uint8Array {
  const b = allocUnsafe(8);
  b[0] = 0x00;
  b[1] = 0x53;
  b[2] = 0x75;
  b[3] = 0xb0;
  b[4] = size >>> 24;
  b[5] = (size >>> 16) & 0xff;
  b[6] = (size >>> 8) & 0xff;
  b[7] = size & 0xff;
  return b;
}

/** Sends `source` as the body of one message; `track` registers the send with its sender. */
export async function sendStream(
  link: Sender,
  host: LinkHost,
  source: StreamSource,
  options: SendStreamOptions,
  track: (s: StreamSend | undefined, done?: StreamSend) => void,
  defaultTimeoutMs?: number,
): Promise<DeliveryState | undefined> {
  checkOptions(options, SEND_STREAM_OPTIONS, 'sendStream');
  const { length, signal } = options;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs ?? 0;
  if (length !== undefined && !(Number.isInteger(length) && length >= 0 && length <= 0xffffffff)) {
    throw new InvalidArgumentError(`sendStream: length must be a uint, got ${length}`, { option: 'length' });
  }
  if (signal?.aborted) throw new AbortError(signal.reason, 'sending a stream');
  const m = options.message ?? {};
  if ('body' in m || 'footer' in m) {
    throw new InvalidArgumentError('sendStream: the message must have no body and no footer', {
      option: 'message',
    });
  }
  const head = encodeMessage(m);
  const presettled = options.presettled ?? link.options.sndSettleMode === 1;
  const d = link.openStream({ settled: presettled, tag: options.tag as Buffer | undefined });
  const s = new StreamSend(d);
  track(s);
  const onAbort = (): void => s.fail(new AbortError(signal!.reason, 'sending a stream'));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? host.timers.setTimeout(
          () => s.fail(new TimeoutError(`sending a stream did not complete within ${timeoutMs} ms`)),
          timeoutMs,
        )
      : undefined;
  const cleanup = (): void => {
    track(undefined, s);
    signal?.removeEventListener('abort', onAbort);
    if (timer !== undefined) host.timers.clearTimeout(timer);
  };
  const it = iterate(source);
  /** The source's chunks, each raced against a failure: a stalled source cannot hold us. */
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const r = await s.pull(it.next());
      if (r.done) return;
      yield r.value;
    }
  }
  const write = (b: Uint8Array): void => {
    try {
      link.writeStream(d, b as Buffer);
    } catch (e) {
      if (e instanceof AmqpOneError && e.code === 'AMQP_MESSAGE_TOO_LARGE')
        throw new MessageStreamError('AMQP_MESSAGE_TOO_LARGE', e.message, Condition.MessageSizeExceeded, e);
      throw e;
    }
    host.schedule();
  };
  try {
    write(head);
    if (length !== undefined) {
      write(dataSectionHeader(length));
      let n = 0;
      for await (const chunk of chunks()) {
        n += chunk.length;
        if (n > length) throw mismatch(length, `more than ${length}`);
        await s.room();
        write(chunk);
      }
      if (n !== length) throw mismatch(length, String(n));
    } else {
      let block: Uint8Array[] = [];
      let size = 0;
      let sections = 0;
      const flush = async (): Promise<void> => {
        await s.room();
        write(dataSectionHeader(size));
        for (const b of block) write(b);
        block = [];
        size = 0;
        sections++;
      };
      for await (const chunk of chunks()) {
        if (s.error !== undefined) throw s.error;
        let c = chunk;
        while (size + c.length >= STREAM_BLOCK) {
          const take = STREAM_BLOCK - size;
          block.push(c.subarray(0, take));
          size += take;
          c = c.subarray(take);
          await flush();
        }
        if (c.length > 0) {
          block.push(c);
          size += c.length;
        }
        // The engine has nothing left to send: a slow source's bytes go now, as a shorter section.
        if (size > 0 && d.stream!.bytes === 0) await flush();
      }
      if (size > 0 || sections === 0) await flush(); // an empty body is one empty data section
    }
    if (s.error !== undefined) throw s.error;
    link.endStream(d);
    host.schedule();
  } catch (e) {
    s.fail(e);
    // Not fully written: an aborted transfer tells the receiver to drop what it has (spec 2.6.14).
    link.abort(d);
    host.schedule();
    cleanup();
    closeSource(source, it);
    throw e;
  }
  try {
    return await s.result();
  } finally {
    cleanup();
  }
}

/** The source's iterator, async or not. */
function iterate(source: StreamSource): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  return Symbol.asyncIterator in source
    ? source[Symbol.asyncIterator]()
    : (source as Iterable<Uint8Array>)[Symbol.iterator]();
}

/**
 * Tells a source we stopped reading it. Not awaited: an async generator stalled in an await
 * answers return() only once that await ends, which may be never. A Readable is destroyed, which
 * frees what it holds at once.
 */
function closeSource(source: StreamSource, it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>): void {
  const destroy = (source as { destroy?: () => void }).destroy;
  if (typeof destroy === 'function') {
    destroy.call(source);
    return;
  }
  try {
    const r = it.return?.();
    if (r instanceof Promise) r.catch(() => undefined);
  } catch {
    // The source's own cleanup failed: the send has failed already, with the first error.
  }
}

function mismatch(length: number, got: string): MessageStreamError {
  return new MessageStreamError(
    'AMQP_STREAM_LENGTH_MISMATCH',
    `sendStream: length ${length} was given, the source gave ${got} bytes`,
  );
}
