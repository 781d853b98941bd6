/**
 * The promise API of a sender: `await sender.send(message)` gives the peer's outcome.
 * Sends wait for credit in a bounded queue (`maxQueued`, configurable); past it, send() still
 * accepts the call but its message waits outside the engine, and `ready()` lets a producer wait
 * for room instead. Nothing handed over is dropped: each send resolves with an outcome or
 * rejects with a typed error.
 */
import { TypedEmitter } from '../util/typed-emitter.js';
import type { DeliveryState } from '../codec/spec/records.js';
import { encodeMessageShared, type Message } from '../codec/message.js';
import { AmqpOneError } from '../codec/errors.js';
import { DisconnectedError } from '../protocol/errors.js';
import type { Delivery } from '../link/delivery.js';
import type { Sender } from '../link/sender.js';
import { AbortError, ClosedError, TimeoutError } from './errors.js';
import { type LinkHost } from './link-host.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { Fifo } from '../util/fifo.js';
import type { Timers } from '../util/timers.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import { MessageStreamError } from './errors.js';
import { sendStream, StreamSend, type SendStreamOptions, type StreamSource } from './stream-send.js';

/** Per-message options of {@link MessageSender.send}. */
export interface SendOptions {
  /** Reject with a TimeoutError if no outcome arrives in time (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Per-message override of presettled sending. */
  presettled?: boolean;
  /** An explicit delivery tag (any bytes: a Buffer, or a Uint8Array where there is no Buffer). */
  tag?: Uint8Array;
}

export const SEND_OPTIONS = {
  timeoutMs: opt.number,
  signal: opt.signal,
  presettled: opt.boolean,
  tag: opt.buffer,
} satisfies OptionSchema<SendOptions>;

const NO_OPTIONS: SendOptions = Object.freeze({});

/** What to do with sends that were in flight (no outcome yet) when the connection was lost. */
export type ResendPolicy = 'at-least-once' | 'fail';

/**
 * What {@link MessageSender.post} calls once for each message: with an error, or with the peer's
 * outcome (undefined for a presettled message, once written).
 */
export type SendCallback = (error: Error | undefined, state?: DeliveryState) => void;

interface PendingSend {
  payload: Uint8Array;
  presettled: boolean;
  tag?: Uint8Array;
  /** How the caller learns the outcome: a promise's functions (send), or a callback (post). */
  resolve: ((v: DeliveryState | undefined) => void) | undefined;
  reject: ((e: unknown) => void) | undefined;
  callback: SendCallback | undefined;
  delivery?: Delivery;
  timer?: unknown;
  cleanup?: () => void;
  done: boolean;
  /** Links of the in-flight list (see MessageSender.inflight*). */
  prev: PendingSend | undefined;
  next: PendingSend | undefined;
  inflight: boolean;
}

/** The events of a sender. */
export interface MessageSenderEvents {
  /** The peer granted credit: queued messages move on. */
  credit: [];
  /** The link is gone for good; `error` says why (a ClosedError after our own close). */
  close: [error: unknown];
}

/**
 * Events: 'credit' after each flow from the receiver (credit granted or drained), 'close' (err) once
 * the link is gone for good. A server-side sender, from acceptSender(), learns from them that a
 * client granted credit or went away, so a broker can deliver on credit.
 */
export class MessageSender extends TypedEmitter<MessageSenderEvents> {
  /** Messages handed to the engine but not yet sent, beyond which sends wait here. */
  readonly maxQueued: number;
  private readonly waiting = new Fifo<PendingSend>();
  /**
   * Sends handed to the engine, without an outcome yet: an intrusive doubly-linked list (in send
   * order), cheaper than a Set of thousands of entries on the hot path.
   */
  private inflightHead: PendingSend | undefined;
  private inflightTail: PendingSend | undefined;
  private inflightCount = 0;
  /** Presettled sends handed to the engine, not yet known written, oldest first. */
  private readonly presettledUnwritten = new Fifo<PendingSend>();
  private roomWaiters: Deferred<void>[] = [];
  private closing = false;
  /** Between the loss of the connection and the re-attach: sends wait (the link is the old one). */
  private suspended = false;
  private closedError: unknown;
  /** Streamed sends under way (sendStream). */
  private readonly streams = new Set<StreamSend>();

  constructor(
    public link: Sender,
    private readonly host: LinkHost,
    options: { maxQueued?: number; sendTimeoutMs?: number; resend?: ResendPolicy } = {},
    readonly defaults: { sendTimeoutMs?: number; resend: ResendPolicy } = {
      sendTimeoutMs: options.sendTimeoutMs,
      resend: options.resend ?? 'fail',
    },
  ) {
    super();
    this.maxQueued = Math.max(1, options.maxQueued ?? 1024);
    link.context = this;
  }

  /** The clock and timers of the connection (shared with helpers built on this sender). */
  get timers(): Timers {
    return this.host.timers;
  }

  /** The target address the link was attached with. */
  get address(): string | undefined {
    const t = this.link.options.target;
    return t && 'address' in t ? (t.address as string | undefined) : undefined;
  }

  /** Credit the peer has granted beyond what is already queued. */
  get sendable(): number {
    return this.link.sendable;
  }

  /** Sends not yet settled by an outcome (or, presettled, not yet written). */
  get pending(): number {
    return this.inflightCount + this.waiting.length;
  }

  /** Resolves when a send would go straight to the engine's queue. */
  ready(): Promise<void> {
    if (this.waiting.length === 0 && this.link.queued < this.maxQueued) return Promise.resolve();
    const d = deferred<void>();
    this.roomWaiters.push(d);
    return d.promise;
  }

  /**
   * Sends a message, or a message already encoded (any Uint8Array, a Buffer included). Resolves
   * with the peer's outcome (accepted, rejected, released, modified), or with undefined once a
   * presettled message is written to the transport.
   */
  send(message: Message | Uint8Array, options: SendOptions = NO_OPTIONS): Promise<DeliveryState | undefined> {
    let resolve!: (v: DeliveryState | undefined) => void;
    let reject!: (e: unknown) => void;
    // A plain promise, with no catch handler of ours: a failed send nobody awaits is reported as
    // an unhandled rejection rather than lost silently.
    const promise = new Promise<DeliveryState | undefined>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.submit(message, options, resolve, reject, undefined);
    return promise;
  }

  /**
   * send() without a promise, for producers that send many messages and count outcomes: `done`
   * is called once, with the error send() would reject with, or with the outcome it would resolve
   * with. It costs less per message than a promise and its reactions. `done` is never called
   * before post() returns; an exception thrown by `done` does not reach the connection, and is
   * thrown again on its own (an uncaught exception, as from an event listener).
   */
  post(message: Message | Uint8Array, done: SendCallback, options: SendOptions = NO_OPTIONS): void {
    if (typeof done !== 'function') throw new TypeError('post: done must be a function');
    this.submit(message, options, undefined, undefined, done);
  }

  /** Queues a send, or refuses it at once (through `reject`, or `callback` after this returns). */
  private submit(
    message: Message | Uint8Array,
    options: SendOptions,
    resolve: PendingSend['resolve'],
    reject: PendingSend['reject'],
    callback: SendCallback | undefined,
  ): void {
    if (this.closing || this.link.local === 'detached') {
      return refuse(reject, callback, this.closedError ?? this.link.error ?? new ClosedError('the sender'));
    }
    let payload: Uint8Array;
    try {
      if (options !== NO_OPTIONS) checkOptions(options, SEND_OPTIONS, 'send');
      if (options.signal?.aborted)
        return refuse(reject, callback, new AbortError(options.signal.reason, 'sending'));
      // Bytes are an encoded message already (a Buffer is one kind of Uint8Array).
      payload = message instanceof Uint8Array ? message : encodeMessageShared(message);
    } catch (e) {
      return refuse(reject, callback, e);
    }
    const ps: PendingSend = {
      payload,
      presettled: options.presettled ?? this.link.options.sndSettleMode === 1,
      tag: options.tag,
      resolve,
      reject,
      callback,
      done: false,
      prev: undefined,
      next: undefined,
      inflight: false,
    };
    const signal = options.signal;
    const timeoutMs = options.timeoutMs ?? this.defaults.sendTimeoutMs;
    if (timeoutMs !== undefined && timeoutMs > 0) {
      ps.timer = this.host.timers.setTimeout(
        () => this.fail(ps, new TimeoutError(`no outcome within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }
    if (signal) {
      const onAbort = (): void => this.fail(ps, new AbortError(signal.reason, 'sending'));
      signal.addEventListener('abort', onAbort, { once: true });
      ps.cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    if (this.waiting.length === 0 && this.link.queued < this.maxQueued && this.canHand()) this.hand(ps);
    else this.waiting.push(ps);
  }

  /**
   * Sends one message whose body is read from `source` (an async iterable of Uint8Array, a Node
   * Readable included) as it goes out, in constant memory: see stream-send.ts for the data
   * sections written, with or without `length`. Each chunk is kept until written: do not reuse it.
   * Resolves with the peer's outcome after the last frame; rejects with a MessageStreamError
   * (AMQP_MESSAGE_TOO_LARGE past either side's max-message-size, AMQP_STREAM_LENGTH_MISMATCH,
   * AMQP_STREAM_LINK_LOST), a TimeoutError past `timeoutMs` (the whole send; defaults to this
   * sender's sendTimeoutMs), an AbortError when `signal` fires, or the source's own error, the
   * transfer aborted and the source closed. Messages sent after it go out after its last frame (a
   * link carries one delivery at a time).
   */
  sendStream(source: StreamSource, options: SendStreamOptions = {}): Promise<DeliveryState | undefined> {
    if (this.closing || this.link.local === 'detached' || this.suspended) {
      return Promise.reject(this.closedError ?? this.link.error ?? new ClosedError('the sender'));
    }
    return sendStream(
      this.link,
      this.host,
      source,
      options,
      (add, done) => {
        if (add) this.streams.add(add);
        if (done) this.streams.delete(done);
      },
      this.defaults.sendTimeoutMs,
    );
  }

  /** Streamed sends look again: room in the engine, or (presettled) their last frame written. */
  private wakeStreams(): void {
    for (const s of this.streams) {
      const st = s.delivery.stream!;
      if (st.sent && s.delivery.settled) s.settled(undefined);
      s.wake();
    }
  }

  /** Streamed sends fail: the link is gone. */
  private failStreams(err: unknown): void {
    for (const s of this.streams)
      s.fail(
        new MessageStreamError(
          'AMQP_STREAM_LINK_LOST',
          `the link was lost before the message's outcome${err instanceof Error ? `: ${err.message}` : ''}`,
          undefined,
          err,
        ),
      );
    this.streams.clear();
  }

  private canHand(): boolean {
    return this.link.local === 'attached' && !this.suspended;
  }

  private hand(ps: PendingSend): void {
    try {
      // The engine takes any Uint8Array (its Buffer types are the narrower Node view of them).
      ps.delivery = this.link.sendWith(ps.payload as Buffer, ps.presettled, ps.tag as Buffer | undefined);
    } catch (e) {
      // Refused by the engine (too large for the peer): from inside post(), whose callback waits.
      return this.fail(ps, e as Error, true);
    }
    ps.delivery.context = ps;
    this.addInflight(ps);
    if (ps.presettled) this.presettledUnwritten.push(ps);
    this.host.schedule();
  }

  /** Moves waiting sends into the engine as room appears. */
  private admit(): void {
    while (this.waiting.length > 0 && this.link.queued < this.maxQueued && this.canHand()) {
      const ps = this.waiting.shift()!;
      // One already ended (a callback may end others while a list of them is walked) is not sent.
      if (!ps.done) this.hand(ps);
    }
    if (this.waiting.length === 0 && this.link.queued < this.maxQueued && this.roomWaiters.length > 0) {
      const w = this.roomWaiters;
      this.roomWaiters = [];
      for (const d of w) d.resolve();
    }
  }

  private addInflight(ps: PendingSend): void {
    const tail = this.inflightTail;
    ps.prev = tail;
    ps.next = undefined;
    if (tail) tail.next = ps;
    else this.inflightHead = ps;
    this.inflightTail = ps;
    ps.inflight = true;
    this.inflightCount++;
  }

  private removeInflight(ps: PendingSend): void {
    if (!ps.inflight) return;
    ps.inflight = false;
    const { prev, next } = ps;
    if (prev) prev.next = next;
    else this.inflightHead = next;
    if (next) next.prev = prev;
    else this.inflightTail = prev;
    ps.prev = ps.next = undefined;
    this.inflightCount--;
  }

  /** The in-flight sends, oldest first (a copy: safe to change the list while walking it). */
  private inflightList(): PendingSend[] {
    const all: PendingSend[] = [];
    for (let ps = this.inflightHead; ps; ps = ps.next) all.push(ps);
    return all;
  }

  private finish(ps: PendingSend): boolean {
    if (ps.done) return false;
    ps.done = true;
    this.removeInflight(ps);
    if (ps.timer !== undefined) this.host.timers.clearTimeout(ps.timer);
    ps.cleanup?.();
    return true;
  }

  /** Fails a send; with `later`, a callback is called after the current call returns. */
  private fail(ps: PendingSend, err: unknown, later = false): void {
    if (!this.finish(ps)) return;
    this.waiting.remove(ps);
    // Not yet on the wire: take it back so that a failed send is never delivered later.
    if (ps.delivery && ps.delivery.id < 0) this.link.cancel(ps.delivery);
    const cb = ps.callback;
    if (cb === undefined) ps.reject!(err);
    else if (later) queueMicrotask(() => callBack(cb, toError(err), undefined));
    else callBack(cb, toError(err), undefined);
  }

  /** The peer's disposition arrived. */
  onDeliveryUpdated(d: Delivery): void {
    if (d.stream !== undefined) return this.onStreamUpdated(d);
    const ps = d.context as PendingSend | undefined;
    const state = d.remoteState;
    const terminal = state !== undefined && state.type !== 'received';
    if (!terminal && !d.remoteSettled) return;
    if (!d.settled) this.link.settle(d, state);
    if (ps && this.finish(ps)) succeed(ps, state);
    this.admit();
  }

  private onStreamUpdated(d: Delivery): void {
    const state = d.remoteState;
    if ((state === undefined || state.type === 'received') && !d.remoteSettled) return;
    if (!d.settled) this.link.settle(d, state);
    (d.context as StreamSend).settled(state);
  }

  /** Called after each flush of the transport: presettled sends are done once written. */
  onFlushed(): void {
    if (this.streams.size > 0) this.wakeStreams();
    const list = this.presettledUnwritten;
    if (list.length === 0) return;
    let ps: PendingSend | undefined;
    while ((ps = list.peek()) !== undefined) {
      const d = ps.delivery;
      // One that failed (timeout, abort) before it was written must not hold back the rest.
      if (!ps.done && d && (d.id < 0 || d.offset < d.payload.length)) break;
      list.shift();
      if (this.finish(ps)) succeed(ps, undefined);
    }
    this.admit();
  }

  /** @internal The peer sent credit. */
  onFlow(): void {
    if (this.streams.size > 0) this.wakeStreams();
    this.admit();
    this.emit('credit');
  }

  /** The link is gone for good: fail everything pending with `err`. */
  onClosed(err: unknown): void {
    const first = !this.closing;
    this.closing = true;
    this.closedError ??= err;
    const all = [...this.inflightList(), ...this.waiting.takeAll()];
    for (const ps of all) this.fail(ps, err);
    this.failStreams(err);
    for (const d of this.roomWaiters) d.reject(err);
    this.roomWaiters = [];
    if (first) this.emit('close', err);
  }

  /**
   * The connection was lost and is coming back. Sends without an outcome are kept to be sent again
   * (at-least-once) or failed with DisconnectedError, as the policy says; unsent ones wait.
   */
  onDisconnected(): void {
    this.suspended = true;
    this.failStreams(new DisconnectedError('the connection was lost'));
    const unsent: PendingSend[] = [];
    for (const ps of this.inflightList()) {
      // A post() callback called earlier in this walk may have ended this one (an abort, a close).
      if (ps.done) continue;
      const d = ps.delivery!;
      const onWire = d.id >= 0;
      if (ps.presettled && onWire && d.offset >= d.payload.length) {
        if (this.finish(ps)) succeed(ps, undefined);
      } else if (onWire && this.defaults.resend === 'fail') {
        this.fail(ps, new DisconnectedError('the connection was lost before the outcome arrived'));
      } else {
        this.removeInflight(ps);
        ps.delivery = undefined;
        unsent.push(ps);
      }
    }
    this.presettledUnwritten.clear();
    for (const ps of this.waiting.takeAll()) if (!ps.done) unsent.push(ps);
    for (const ps of unsent) this.waiting.push(ps);
  }

  /** After a reconnect: the new engine link takes over the waiting sends. */
  onReattached(link: Sender): void {
    this.suspended = false;
    this.link = link;
    link.context = this;
    this.admit();
  }

  /**
   * Detaches the link; pending sends fail with ClosedError. It does not wait for the peer's detach
   * (there is nothing to bound or cancel): the connection's close is what waits for the peer.
   */
  async close(): Promise<void> {
    if (this.link.local !== 'detached') this.link.detach();
    this.host.schedule();
    this.onClosed(new ClosedError('the sender'));
  }

  /** For errors that have no delivery (the message could not even be queued). */
  static isTooLarge(e: unknown): boolean {
    return e instanceof AmqpOneError && e.code === 'AMQP_MESSAGE_TOO_LARGE';
  }
}

/** A send refused before it was queued: the promise rejects now, the callback is called later. */
function refuse(reject: PendingSend['reject'], callback: SendCallback | undefined, err: unknown): void {
  if (callback === undefined) reject!(err);
  else queueMicrotask(() => callBack(callback, toError(err), undefined));
}

/** A send is done with `state`: its promise resolves, or its callback is called. */
function succeed(ps: PendingSend, state: DeliveryState | undefined): void {
  if (ps.callback !== undefined) callBack(ps.callback, undefined, state);
  else ps.resolve!(state);
}

/**
 * Calls a post() callback from inside the connection's work: what it throws is thrown again on
 * its own, so that the sender's and the connection's state stay whole and the error is not lost.
 */
function callBack(cb: SendCallback, err: Error | undefined, state: DeliveryState | undefined): void {
  try {
    cb(err, state);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}

/** Errors reach a callback as Error objects (anything else thrown is wrapped, keeping it as cause). */
function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e), { cause: e });
}
