/**
 * The promise API of a receiver: `for await (const m of receiver)`, with automatic credit (a
 * prefetch window refilled as messages are consumed, so memory stays bounded however slow the
 * consumer) or manual credit, and drain.
 */
import type { Delivery } from '../link/delivery.js';
import type { Receiver } from '../link/receiver.js';
import type { DecodeOptions, MapForm } from '../codec/decoder.js';
import type { MessageView } from '../codec/message-view.js';
import { AbortError, ClosedError, InvalidArgumentError, TimeoutError } from './errors.js';
import { abortedError, armDeadline } from './deadline.js';
import { type LinkHost } from './link-host.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { Fifo } from '../util/fifo.js';
import { ReceivedMessage, type SettleListener } from './received-message.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';

/** How a receiver grants credit, and whether it accepts on its own. */
export interface ReceiverCreditOptions {
  /** Prefetch window (default 100), or 'manual' to grant credit yourself with addCredit(). */
  credit?: number | 'manual';
  /** Accept each message when the iterator moves past it, unless it was settled (default false). */
  autoAccept?: boolean;
  /**
   * How maps in received messages decode. 'object' (the default): a map whose keys are all strings
   * (all symbols, in annotations) is a plain object, any other a Map. 'map': every map is a Map.
   */
  maps?: MapForm;
  /**
   * When received messages decode. 'eager' (the default): all of a message on the first read of
   * `.message`, as a plain object. 'lazy': the whole message is checked on that first read (a
   * malformed one throws the same DecodeError), but each section, and each properties field, is
   * decoded only when read: a consumer that reads a few fields pays for those. `.message` is then
   * a {@link MessageView}, whose sections are accessors (spreading it copies none of them; use
   * `toMessage()` for a plain object). With `maps: 'map'` decoding is always eager.
   */
  decode?: 'eager' | 'lazy';
}

/** Checks a `maps` option from JavaScript callers: a misspelt one is refused, not ignored. */
export function checkMapsOption(maps: unknown): MapForm | undefined {
  if (maps === undefined || maps === 'object' || maps === 'map') return maps;
  throw new InvalidArgumentError(`the maps option must be 'object' or 'map', got ${String(maps)}`);
}

/** Checks a `decode` option from JavaScript callers, as checkMapsOption does. */
export function checkDecodeOption(decode: unknown): 'eager' | 'lazy' | undefined {
  if (decode === undefined || decode === 'eager' || decode === 'lazy') return decode;
  throw new InvalidArgumentError(`the decode option must be 'eager' or 'lazy', got ${String(decode)}`);
}

const OBJECT_MAPS: DecodeOptions = Object.freeze({ maps: 'object' });
const MAP_MAPS: DecodeOptions = Object.freeze({ maps: 'map' });

/** Options of {@link MessageReceiver.receive}: how long to wait for one message. */
export interface ReceiveOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** How long drain() waits for the sender's answer, and the signal that gives up the wait. */
export interface DrainOptions {
  /** Reject with a TimeoutError (code AMQP_TIMEOUT) if the sender has not answered in time (ms). */
  timeoutMs?: number;
  /**
   * Stops waiting with an AbortError (code AMQP_ABORTED). The drain request itself stays with the
   * sender: the window is refilled once it answers. A signal that has already fired sends nothing.
   */
  signal?: AbortSignal;
}

export const RECEIVER_CREDIT_OPTIONS = {
  credit: opt.either(opt.number, opt.oneOf('manual')),
  autoAccept: opt.boolean,
  maps: opt.oneOf('object', 'map'),
  decode: opt.oneOf('eager', 'lazy'),
} satisfies OptionSchema<ReceiverCreditOptions>;

export const DRAIN_OPTIONS = {
  timeoutMs: opt.number,
  signal: opt.signal,
} satisfies OptionSchema<DrainOptions>;

export const RECEIVE_OPTIONS = {
  timeoutMs: opt.number,
  signal: opt.signal,
} satisfies OptionSchema<ReceiveOptions>;

const NO_OPTIONS: ReceiveOptions = Object.freeze({});
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A receiving link as an async iterator of {@link ReceivedMessage}s, with a prefetch window refilled as the
 * application consumes, or manual credit.
 */
export class MessageReceiver implements AsyncIterable<ReceivedMessage>, SettleListener {
  readonly window: number;
  readonly autoAccept: boolean;
  /** How received messages decode (the `maps` option). */
  readonly decodeOptions: DecodeOptions;
  /** Whether received messages decode lazily (the `decode` option). */
  readonly lazy: boolean;
  private readonly buffer = new Fifo<ReceivedMessage>();
  private readers: Deferred<ReceivedMessage | undefined>[] = [];
  private drainWaiters: Deferred<void>[] = [];
  private ended: unknown;
  private last: ReceivedMessage | undefined;

  constructor(
    public link: Receiver,
    private readonly host: LinkHost,
    options: ReceiverCreditOptions = {},
  ) {
    this.window = options.credit === 'manual' ? 0 : Math.max(1, options.credit ?? 100);
    this.autoAccept = options.autoAccept ?? false;
    this.decodeOptions = checkMapsOption(options.maps) === 'map' ? MAP_MAPS : OBJECT_MAPS;
    this.lazy = checkDecodeOption(options.decode) === 'lazy';
    link.context = this;
  }

  /** The source address the link was attached with. */
  get address(): string | undefined {
    return this.link.options.source?.address as string | undefined;
  }

  /** Messages received and not yet taken by the application. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Grants the initial window (called once the link is attached). */
  start(): void {
    if (this.window > 0) this.refill();
  }

  private refill(): void {
    if (this.window === 0 || this.link.local !== 'attached' || this.link.drain) return;
    const want = this.window - this.buffered;
    // Top up once a quarter of the window is used, not per message.
    // Credit the unsettled limit holds back counts as given: it comes as messages are settled.
    if (want - this.link.linkCredit - this.link.creditShortfall >= Math.max(1, this.window >> 2)) {
      this.link.setCredit(want);
      this.host.schedule();
    }
  }

  /** Grants `n` more credit (with `credit: 'manual'`). */
  addCredit(n: number): void {
    this.link.addCredit(n);
    this.host.schedule();
  }

  /**
   * Asks the sender to use up its credit now; resolves when it has (spec 2.6.7 drain). The wait
   * can be bounded (`timeoutMs`) and abandoned (`signal`), see DrainOptions.
   */
  drain(options: DrainOptions = NO_OPTIONS): Promise<void> {
    if (options !== NO_OPTIONS) {
      try {
        checkOptions(options, DRAIN_OPTIONS, 'drain');
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const aborted = abortedError(options.signal, 'draining');
    if (aborted) return Promise.reject(aborted);
    const d = deferred<void>();
    if (this.link.linkCredit === 0) {
      this.link.dropShortfall(); // nor may credit the limit held back come later
      d.resolve();
      return d.promise;
    }
    this.drainWaiters.push(d);
    const disarm = armDeadline(
      this.host.timers,
      d,
      options.timeoutMs ?? 0,
      'draining',
      () => {
        const i = this.drainWaiters.indexOf(d);
        if (i >= 0) this.drainWaiters.splice(i, 1);
      },
      options.signal,
    );
    d.promise.then(disarm, disarm);
    this.link.drainCredit();
    this.host.schedule();
    return d.promise;
  }

  /** @internal The engine delivered a complete message. */
  onDelivery(d: Delivery): void {
    const m = new ReceivedMessage(d, this, this.decodeOptions, this.lazy);
    const reader = this.readers.shift();
    if (reader) {
      this.last = m;
      reader.resolve(m);
    } else this.buffer.push(m);
  }

  /** One of our messages was settled (see ReceivedMessage). */
  messageSettled(_m: ReceivedMessage): void {
    // The disposition must go out even when nothing else is being written.
    this.host.schedule();
    this.refill();
  }

  /** @internal The peer answered a drain. */
  onDrained(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const d of w) d.resolve();
    this.refill();
  }

  /**
   * The next message, or undefined once the link is closed. A signal that has already fired
   * rejects at once and takes nothing: a buffered message stays for the next call.
   */
  receive(options: ReceiveOptions = NO_OPTIONS): Promise<ReceivedMessage | undefined> {
    if (options !== NO_OPTIONS) {
      try {
        checkOptions(options, RECEIVE_OPTIONS, 'receive');
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // Checked first: a listener added to an aborted signal never fires, the wait would not end.
    const aborted = abortedError(options.signal, 'receiving');
    if (aborted) return Promise.reject(aborted);
    this.settleLast();
    const m = this.takeBuffered();
    if (m) return Promise.resolve(m);
    if (this.ended !== undefined) {
      return this.ended === true ? Promise.resolve(undefined) : Promise.reject(this.ended);
    }
    const d = deferred<ReceivedMessage | undefined>();
    this.readers.push(d);
    this.refill();
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined || signal) {
      const drop = (e: unknown): void => {
        const i = this.readers.indexOf(d);
        if (i >= 0) this.readers.splice(i, 1);
        d.reject(e);
      };
      const t =
        timeoutMs !== undefined
          ? this.host.timers.setTimeout(
              () => drop(new TimeoutError(`no message within ${timeoutMs} ms`)),
              timeoutMs,
            )
          : undefined;
      const onAbort = (): void => drop(new AbortError(signal?.reason, 'receiving'));
      signal?.addEventListener('abort', onAbort, { once: true });
      d.promise
        .finally(() => {
          if (t !== undefined) this.host.timers.clearTimeout(t);
          signal?.removeEventListener('abort', onAbort);
        })
        .catch(() => undefined);
    }
    return d.promise;
  }

  /** Takes the oldest buffered message (it becomes the last one handed out), if any. */
  private takeBuffered(): ReceivedMessage | undefined {
    const m = this.buffer.shift();
    if (m === undefined) return undefined;
    this.last = m;
    this.refill();
    return m;
  }

  private settleLast(): void {
    const m = this.last;
    this.last = undefined;
    if (m && this.autoAccept && !m.settled && this.link.local === 'attached') m.accept();
  }

  /**
   * An iterator over receive(), without an async generator: a buffered message costs one resolved
   * promise, not the generator's await and yield. Ends after `undefined` or an error, or return().
   */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    let finished = false;
    const end = (r: ReceivedMessage | undefined): IteratorResult<ReceivedMessage> => {
      if (r !== undefined) return { done: false, value: r };
      finished = true;
      return DONE;
    };
    const fail = (e: unknown): never => {
      finished = true;
      throw e;
    };
    return {
      next: (): Promise<IteratorResult<ReceivedMessage>> => {
        if (finished) return Promise.resolve(DONE);
        this.settleLast();
        const m = this.takeBuffered();
        if (m) return Promise.resolve({ done: false, value: m });
        return this.receive().then(end, fail);
      },
      return: (): Promise<IteratorResult<ReceivedMessage>> => {
        finished = true;
        return Promise.resolve(DONE);
      },
    };
  }

  /** The link closed: readers get `undefined` (clean) or the error. */
  onClosed(err?: unknown): void {
    this.ended = err ?? true;
    const r = this.readers;
    this.readers = [];
    for (const d of r) err ? d.reject(err) : d.resolve(undefined);
    for (const d of this.drainWaiters) d.reject(err ?? new ClosedError('the receiver'));
    this.drainWaiters = [];
  }

  /** @internal Reconnect attached a new engine link in place of the lost one. */
  onReattached(link: Receiver): void {
    this.link = link;
    link.context = this;
    this.start();
  }

  /**
   * Detaches the link and ends the reader. It does not wait for the peer's detach (there is
   * nothing to bound or cancel): the connection's close is what waits for the peer.
   */
  async close(): Promise<void> {
    if (this.link.local !== 'detached') this.link.detach();
    this.host.schedule();
    this.onClosed();
  }
}
