/**
 * What client and server connections share: an engine bound to a socket, and the routing of
 * engine events to the promise-API objects (senders, receivers, pending attaches).
 */
import { EventEmitter } from 'node:events';
import type { Connection } from '../connection/connection.js';
import { Condition } from '../protocol/conditions.js';
import { ConnectionError, LinkError, type AmqpError } from '../protocol/errors.js';
import type { EngineEvent } from '../connection/events.js';
import type { Link, LinkOptions } from '../link/link.js';
import { Receiver } from '../link/receiver.js';
import { Sender } from '../link/sender.js';
import type { Session } from '../session/session.js';
import { SocketDriver, type DriverOptions } from '../transport/socket-driver.js';
import type { Socket } from 'node:net';
import { ClosedError } from './errors.js';
import { type LinkHost } from './link-host.js';
import { deferred, type Deferred } from '../util/deferred.js';
import { MessageReceiver } from './receiver.js';
import { MessageSender } from './sender.js';
import { realTimers, type Timers } from '../util/timers.js';
import { armDeadline, DEFAULT_OPEN_TIMEOUT_MS } from './deadline.js';

export abstract class ConnectionCore extends EventEmitter implements LinkHost {
  engine!: Connection;
  /** @internal The driver between the socket and the engine. */
  driver!: SocketDriver;
  readonly timers: Timers;
  protected readonly senders = new Set<MessageSender>();
  protected readonly receivers = new Set<MessageReceiver>();
  private readonly pendingAttach = new Map<Link, Deferred<void>>();
  private readonly pendingBegin = new Map<Session, Deferred<void>>();
  protected closedDeferred = deferred<void>();
  /** Set once the connection is gone for good (see failAll): new attaches fail with its error. */
  private gone: { error: unknown } | undefined;

  constructor(timers: Timers = realTimers) {
    super();
    this.timers = timers;
  }

  protected bind(engine: Connection, socket: Socket, driverOptions?: DriverOptions): void {
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
   * AbortError) and the half-open link is detached: the connection stays usable.
   */
  protected async attach<T extends Link>(
    session: Session,
    role: 'sender' | 'receiver',
    options: LinkOptions,
    wait: { ms: number; signal?: AbortSignal } = { ms: DEFAULT_OPEN_TIMEOUT_MS },
  ): Promise<T> {
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
  protected async awaitBegin(session: Session, wait: { ms: number; signal?: AbortSignal }): Promise<void> {
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
    wait: { ms: number; signal?: AbortSignal },
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

  /** Closes the connection (with an error, if given) and waits for the peer's close. */
  async close(error?: AmqpError): Promise<void> {
    if (!this.engine.finished) {
      this.engine.close(error);
      this.schedule();
    }
    await this.closedDeferred.promise;
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
