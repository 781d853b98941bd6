/**
 * What client and server connections share: an engine bound to a socket, and the routing of
 * engine events to the promise-API objects (senders, receivers, pending attaches).
 */
import { TypedEmitter, type EventMap } from '../util/typed-emitter.js';
import type { Connection } from '../connection/connection.js';
import { Condition } from '../protocol/conditions.js';
import { ConnectionError, LinkError, type AmqpError } from '../protocol/errors.js';
import type { EngineEvent } from '../connection/events.js';
import type { Link, LinkOptions } from '../link/link.js';
import { Receiver } from '../link/receiver.js';
import { Sender } from '../link/sender.js';
import type { Session } from '../session/session.js';
import { SocketDriver, type DriverOptions } from '../transport/socket-driver.js';
import type { DriverStream } from '../transport/byte-stream.js';
import { AbortError, ClosedError, InvalidArgumentError } from './errors.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import { type LinkHost } from './link-host.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { MessageReceiver } from './receiver.js';
import { MessageSender } from './sender.js';
import { StreamingReceiver } from './streaming-receiver.js';
import type { DecodeOptions } from '../codec/decoder.js';
import { realTimers, type Timers } from '../util/timers.js';
import { abortedError, armDeadline, DEFAULT_OPEN_TIMEOUT_MS, type WaitLimit } from './deadline.js';

/** What `close()` takes: the error to close with, and a signal that stops waiting for the peer. */
export interface CloseOptions {
  /** Close with this error (the peer sees its condition and description). */
  error?: AmqpError;
  /**
   * Stops waiting for the peer's close: the socket is destroyed at once (nothing is sent if the
   * signal has already fired), what was pending fails with a DisconnectedError (the connection
   * went without a close exchange), and close() rejects with an AbortError once the connection
   * is torn down.
   */
  signal?: AbortSignal;
}

/** close(error) and close({ error, signal }) both work: an AmqpError always has a condition. */
export function closeOptions(o: CloseOptions | AmqpError | undefined): CloseOptions {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object')
    throw new InvalidArgumentError(`close: expected an AmqpError or { error, signal }, got ${typeof o}`);
  if ('condition' in o) return { error: o };
  checkOptions(o, CLOSE_OPTIONS, 'close');
  return o;
}

const CLOSE_OPTIONS = {
  error: opt.object,
  signal: opt.signal,
} satisfies OptionSchema<CloseOptions>;

/** What every connection (client or server end) emits. */
export interface ConnectionEvents {
  /** The connection is gone for good; `error` unless it was closed cleanly. */
  close: [error: Error | undefined];
}

export abstract class ConnectionCore<E extends EventMap<E> = ConnectionEvents>
  extends TypedEmitter<E>
  implements LinkHost
{
  engine!: Connection;
  /** @internal The driver between the socket and the engine. */
  driver!: SocketDriver;
  readonly timers: Timers;
  protected readonly senders = new Set<MessageSender>();
  protected readonly receivers = new Set<MessageReceiver>();
  protected readonly streams = new Set<StreamingReceiver>();
  private readonly pendingAttach = new Map<Link, Deferred<void>>();
  private readonly pendingBegin = new Map<Session, Deferred<void>>();
  protected closedDeferred = deferred<void>();
  /** Set once the connection is gone for good (see failAll): new attaches fail with its error. */
  private gone: { error: unknown } | undefined;

  constructor(timers: Timers = realTimers) {
    super();
    this.timers = timers;
  }

  protected bind(engine: Connection, socket: DriverStream, driverOptions?: DriverOptions): void {
    this.engine = engine;
    this.driver = new SocketDriver(
      engine,
      socket,
      {
        onEvent: (e) => this.onEngineEvent(e),
        onClosed: (err) => this.onTransportClosed(err),
        onFlushed: () => {
          for (const s of this.senders) s.onFlushed();
        },
      },
      () => this.timers.now(),
      driverOptions,
    );
  }

  schedule(): void {
    this.driver?.schedule();
  }

  /**
   * Attaches a link and waits for the peer's answer; a refusal rejects with the peer's LinkError.
   * A peer that does not answer within `wait.ms` (or an abort) fails it with a TimeoutError (or
   * AbortError) and the half-open link is detached: the connection stays usable, and a reply that
   * comes later only completes that detach. A signal that has already fired sends nothing.
   */
  protected async attach<T extends Link>(
    session: Session,
    role: 'sender' | 'receiver',
    options: LinkOptions,
    wait: WaitLimit = { ms: DEFAULT_OPEN_TIMEOUT_MS },
  ): Promise<T> {
    const aborted = abortedError(wait.signal, `attaching ${role}`);
    if (aborted) throw aborted;
    // On a session that has ended (RabbitMQ ends one to refuse rcv-settle-mode second) an attach
    // is never written nor answered: fail at once rather than wait for ever.
    if (session.local === 'detached' || session.remote === 'detached') {
      throw session.error ?? new ClosedError('the session');
    }
    // Likewise once the connection is gone (a lost socket).
    if (this.gone) throw this.gone.error;
    const link = (role === 'sender'
      ? session.openSender(options)
      : session.openReceiver(options)) as unknown as T;
    // An attach too large for the peer's frame size fails at once, unsent (the connection goes on).
    if ((link.local as Link['local']) === 'detached') throw link.error ?? new ClosedError(`the ${role} link`);
    const d = deferred<void>();
    this.pendingAttach.set(link, d);
    await this.awaitAnswer(d, wait, `attaching ${role} ${JSON.stringify(link.name)}`, () => {
      this.pendingAttach.delete(link);
      link.detach({ closed: true });
    });
    // The peer may have detached in the same read as its attach reply (a redirect, a stolen link):
    // the close event came before anyone wrapped the link, so report it here.
    if (link.remote === 'detached' || link.local === 'detached') {
      throw link.error ?? new ClosedError(`the ${role} link`);
    }
    return link;
  }

  /**
   * Waits for the peer's begin answering ours. A peer that does not answer within `wait.ms` (or an
   * abort) fails it with a TimeoutError (or AbortError) and the session is ended.
   */
  protected async awaitBegin(session: Session, wait: WaitLimit): Promise<void> {
    if (session.remote === 'attached') return;
    if (this.gone) throw this.gone.error;
    const d = deferred<void>();
    this.pendingBegin.set(session, d);
    await this.awaitAnswer(d, wait, 'beginning a session', () => {
      this.pendingBegin.delete(session);
      session.end();
    });
  }

  /**
   * Sends what is queued and waits for the peer's answer `d` (to an attach or a begin). Past
   * `wait.ms`, or on abort, `undo` withdraws the request and the wait fails with a TimeoutError
   * (or AbortError) saying `what` timed out.
   */
  private async awaitAnswer(
    d: Deferred<void>,
    wait: WaitLimit,
    what: string,
    undo: () => void,
  ): Promise<void> {
    const onExpire = (): void => {
      undo();
      this.schedule();
    };
    const disarm = armDeadline(this.timers, d, wait.ms, what, onExpire, wait.signal);
    this.schedule();
    try {
      await d.promise;
    } finally {
      disarm();
    }
  }

  protected onEngineEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'link-opened': {
        const d = this.pendingAttach.get(e.link);
        if (!d) break;
        // A refusal is an attach without the terminus, then a detach with the error (spec 2.6.3).
        const a = e.link.remoteAttach!;
        const refused = e.link.role === 'sender' ? !a.target : !a.source;
        if (!refused) {
          this.pendingAttach.delete(e.link);
          d.resolve();
        }
        break;
      }
      case 'link-flow':
        if (e.link.context instanceof MessageSender) e.link.context.onFlow();
        break;
      case 'link-drained':
        if (e.link.context instanceof MessageReceiver) e.link.context.onDrained();
        break;
      case 'delivery':
        if (e.delivery.link.context instanceof MessageReceiver)
          e.delivery.link.context.onDelivery(e.delivery);
        break;
      case 'delivery-chunk':
        if (e.delivery.link.context instanceof StreamingReceiver)
          e.delivery.link.context.onChunk(e.delivery, e.payload, e.more);
        break;
      case 'delivery-aborted':
        if (e.delivery.link.context instanceof StreamingReceiver)
          e.delivery.link.context.onAborted(e.delivery);
        break;
      case 'delivery-updated':
        if (e.delivery.link.context instanceof MessageSender)
          e.delivery.link.context.onDeliveryUpdated(e.delivery);
        break;
      case 'link-closed':
        this.linkGone(e.link, e.link.error);
        break;
      case 'session-opened':
        this.pendingBegin.get(e.session)?.resolve();
        this.pendingBegin.delete(e.session);
        break;
      case 'session-closed':
        this.pendingBegin.get(e.session)?.reject(e.session.error ?? new ClosedError('the session'));
        this.pendingBegin.delete(e.session);
        for (const l of e.session.allLinks) this.linkGone(l, l.error ?? e.session.error);
        break;
      case 'transport-done':
      case 'connection-closed':
        break;
      default:
        break;
    }
    this.onOtherEvent(e);
  }

  /** Hook for the subclass (server: remote opens; client: nothing). */
  protected onOtherEvent(_e: EngineEvent): void {}

  private linkGone(link: Link, err: unknown): void {
    const d = this.pendingAttach.get(link);
    if (d) {
      this.pendingAttach.delete(link);
      d.reject(
        err ??
          new LinkError(
            { condition: Condition.InternalError, description: 'the link closed while attaching' },
            true,
          ),
      );
    }
    const w = link.context;
    if (w instanceof MessageSender || w instanceof MessageReceiver) this.dropWrapper(w, err);
    else if (w instanceof StreamingReceiver) {
      this.streams.delete(w);
      w.onClosed(err);
    }
  }

  /** Streaming receivers end with `err` (a message mid-way cannot resume on a new connection). */
  protected failStreams(err: unknown): void {
    for (const s of this.streams) s.onClosed(err);
    this.streams.clear();
  }

  /** Ends one link's wrapper: its pending sends fail with `err`, its reader ends. */
  protected dropWrapper(w: MessageSender | MessageReceiver, err: unknown): void {
    if (w instanceof MessageSender) {
      this.senders.delete(w);
      w.onClosed(err ?? new ClosedError('the sender'));
    } else {
      this.receivers.delete(w);
      w.onClosed(err);
    }
  }

  /**
   * The connection is gone for good. Pending attaches and sends fail with `err` (or ClosedError
   * after a clean close); receivers end, cleanly when the close was clean.
   */
  protected failAll(err: unknown): void {
    this.gone = { error: err ?? new ClosedError('the connection') };
    this.failLinks(err);
  }

  /** Fails every link and pending open with `err`, as failAll, but new ones may still be opened. */
  protected failLinks(err: unknown): void {
    const e = err ?? new ClosedError('the connection');
    for (const [, d] of this.pendingAttach) d.reject(e);
    this.pendingAttach.clear();
    for (const [, d] of this.pendingBegin) d.reject(e);
    this.pendingBegin.clear();
    for (const s of this.senders) s.onClosed(e);
    for (const r of this.receivers) r.onClosed(err);
    this.senders.clear();
    this.receivers.clear();
    this.failStreams(err);
  }

  protected abstract onTransportClosed(err: Error | undefined): void;

  protected wrapSender(link: Sender, options: ConstructorParameters<typeof MessageSender>[2]): MessageSender {
    const s = new MessageSender(link, this, options);
    this.senders.add(s);
    return s;
  }

  protected wrapReceiver(
    link: Receiver,
    options: ConstructorParameters<typeof MessageReceiver>[2],
  ): MessageReceiver {
    const r = new MessageReceiver(link, this, options);
    this.receivers.add(r);
    r.start();
    return r;
  }

  protected wrapStreamingReceiver(
    link: Receiver,
    decode: DecodeOptions & { maxSectionBytes?: number },
    endSession: () => void,
  ): StreamingReceiver {
    const r = new StreamingReceiver(link, this, decode, endSession);
    this.streams.add(r);
    return r;
  }

  /**
   * Closes the connection (with an error, if given: `close(error)` or `close({ error, signal })`)
   * and waits for the peer's close. An aborted `signal` tears the connection down at once (see
   * CloseOptions) and rejects with an AbortError.
   */
  async close(options?: CloseOptions | AmqpError): Promise<void> {
    const { error, signal } = closeOptions(options);
    await this.closeWithin({ ms: 0, signal }, error);
  }

  /**
   * Writes our close and waits for the peer's, at most `limit.ms` (then the socket is destroyed
   * and close resolves: the connection is gone either way) or until `limit.signal` fires (the
   * socket is destroyed too, and close rejects with an AbortError once it is).
   */
  protected async closeWithin(limit: WaitLimit, error?: AmqpError): Promise<void> {
    const what = 'closing the connection';
    const aborted = abortedError(limit.signal, what);
    if (aborted) {
      this.driver?.destroy();
      await this.closedDeferred.promise;
      throw aborted;
    }
    if (!this.engine.finished) {
      this.engine.close(error);
      this.schedule();
    }
    const gate = deferred<void>();
    const disarm = armDeadline(this.timers, gate, limit.ms, what, () => this.driver.destroy(), limit.signal);
    try {
      await Promise.race([this.closedDeferred.promise, gate.promise]);
    } catch (e) {
      await this.closedDeferred.promise;
      if (e instanceof AbortError) throw e;
    } finally {
      disarm();
    }
  }

  /** Closes the connection: `await using conn = await connect(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected static connectionError(err: unknown): Error {
    return err instanceof Error
      ? err
      : new ConnectionError({ condition: Condition.InternalError, description: String(err) }, false);
  }
}

export { Receiver, Sender };
