/**
 * One client connection on our server: answers opens and begins, and hands each link the client
 * attaches to the handler as an IncomingLink, which accepts or refuses through this connection.
 */
import type { ByteStream } from '../transport/byte-stream.js';
import { Connection, type ConnectionOptions } from '../connection/connection.js';
import { Condition } from '../protocol/conditions.js';
import type { AmqpError } from '../protocol/errors.js';
import type { EngineEvent } from '../connection/events.js';
import { ConnectionCore } from '../api/connection-core.js';
import type { Attach, Source, Target } from '../codec/spec/records.js';
import type { Link, SourceOptions, TargetOptions } from '../link/link.js';
import type { Receiver } from '../link/receiver.js';
import type { Sender } from '../link/sender.js';
import { checkMapsOption, type MessageReceiver, type ReceiverCreditOptions } from '../api/receiver.js';
import type { MapForm } from '../codec/decoder.js';
import type { MessageSender } from '../api/sender.js';
import type { Timers } from '../util/timers.js';
import { REFUSED_LINKS_SLACK } from './limits.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';
import { SOURCE_OPTIONS, TARGET_OPTIONS } from '../link/link.js';
import { RECEIVER_CREDIT_OPTIONS } from '../api/receiver.js';

export interface ServerConnectionHooks {
  /** Called when the client's open arrives: return an error to refuse the connection. */
  onOpen(c: ServerConnection): AmqpError | void;
  onLink(l: IncomingLink): void;
  onClosed(c: ServerConnection, err: Error | undefined): void;
  /** max-message-size of accepted links that set none; 0 = no limit. */
  maxMessageSize?: number;
  /** Links per connection (all sessions); one more is refused. 0 = no limit. */
  maxLinks?: number;
  /** Stop reading the client while more than this many bytes wait for it. 0 = never. */
  maxBufferedOutput?: number;
  /** Default `maps` of accepted receivers (AcceptOptions.maps). */
  maps?: MapForm;
}

/** The events of one client's connection on our server. */
export interface ServerConnectionEvents {
  /** The client's connection is gone; `error` unless it closed cleanly. */
  close: [error: Error | undefined];
}

/**
 * A client's connection on a server: its identity, its links, and the same senders and receivers as a
 * client's.
 */
export class ServerConnection extends ConnectionCore<ServerConnectionEvents> {
  /** The client's links we hold (accepted, or refused and not yet detached by the client). */
  private readonly heldLinks = new Set<Link>();

  constructor(
    engineOptions: ConnectionOptions,
    socket: ByteStream,
    private readonly hooks: ServerConnectionHooks,
    timers?: Timers,
  ) {
    super(timers);
    this.bind(new Connection({ ...engineOptions, role: 'server' }), socket, {
      pauseReadingAbove: hooks.maxBufferedOutput,
    });
  }

  /** Links of this connection held now, all sessions together. */
  get linkCount(): number {
    return this.heldLinks.size;
  }

  /** The client's container-id, once its open arrived. */
  get remoteContainerId(): string | undefined {
    return this.engine.remoteOpen?.containerId;
  }

  /** The identity SASL authenticated (PLAIN user name, EXTERNAL certificate identity, 'anonymous'). */
  get identity(): string | undefined {
    return this.engine.saslIdentity;
  }

  /** The client's socket (a net or tls Socket), or the stream given to AmqpServer.accept. */
  get socket(): ByteStream {
    return this.driver.socket as ByteStream; // a server binds only Node streams
  }

  protected override onOtherEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'connection-remote-open': {
        const refusal = this.hooks.onOpen(this);
        this.engine.open();
        if (refusal) this.engine.close(refusal);
        break;
      }
      case 'session-remote-open':
        e.session.begin();
        break;
      case 'link-remote-open': {
        const max = this.hooks.maxLinks ?? 0;
        this.heldLinks.add(e.link);
        if (max > 0 && this.heldLinks.size > max) {
          if (this.heldLinks.size > max + REFUSED_LINKS_SLACK) {
            // Refused links the client never detaches would pile up: the connection goes.
            this.engine.close({
              condition: Condition.ResourceLimitExceeded,
              description: `more than ${max} links, and refused ones not detached`,
            });
            break;
          }
          this.refuseLink(new IncomingLink(this, e.link), {
            condition: Condition.ResourceLimitExceeded,
            description: `at most ${max} links per connection`,
          });
          break;
        }
        try {
          this.hooks.onLink(new IncomingLink(this, e.link));
        } catch (err) {
          if (e.link.local === 'unattached') {
            this.refuseLink(new IncomingLink(this, e.link), {
              condition: Condition.InternalError,
              description: err instanceof Error ? err.message : String(err),
            });
          }
        }
        break;
      }
      case 'link-closed':
        this.heldLinks.delete(e.link);
        break;
    }
    this.schedule();
  }

  /** @internal Wraps an accepted link; {@link IncomingLink.accept} calls it. */
  acceptLink(l: IncomingLink, o: AcceptOptions): MessageSender | MessageReceiver {
    const maps = checkMapsOption(o.maps ?? this.hooks.maps);
    const link = l.engineLink;
    const a = l.remoteAttach;
    const { type: _s, ...clientSource } = l.source ?? { type: 'source' as const };
    const { type: _t, ...clientTarget } = l.target ?? { type: 'target' as const };
    Object.assign(link.options, {
      source: o.source ?? clientSource,
      target: o.target ?? clientTarget,
      sndSettleMode: o.sndSettleMode ?? a.sndSettleMode,
      rcvSettleMode: o.rcvSettleMode ?? a.rcvSettleMode,
      // The server's default bounds what clients send us; what we send is bounded where it is made.
      maxMessageSize: o.maxMessageSize ?? (link.role === 'receiver' ? this.hooks.maxMessageSize : undefined),
    });
    link.attach();
    this.schedule();
    if (link.role === 'sender') return this.wrapSender(link as Sender, { maxQueued: o.maxQueued });
    return this.wrapReceiver(link as Receiver, {
      credit: o.credit,
      autoAccept: o.autoAccept,
      maps,
      decode: o.decode,
    });
  }

  /** @internal Refuses a link; {@link IncomingLink.refuse} calls it. */
  refuseLink(l: IncomingLink, error: AmqpError): void {
    const link = l.engineLink;
    Object.assign(link.options, { source: null, target: null });
    link.attach();
    link.detach({ error });
    this.schedule();
  }

  protected onTransportClosed(err: Error | undefined): void {
    this.failAll(err);
    this.closedDeferred.resolve();
    this.hooks.onClosed(this, err);
    this.emit('close', err);
  }
}

/** A link a client attached to our server: the handler accepts it (choosing the terminus) or refuses it. */
export interface AcceptOptions extends ReceiverCreditOptions {
  /** The terminus we answer with; defaults to the client's. */
  source?: SourceOptions;
  target?: TargetOptions;
  /** Our max-message-size for this link. */
  maxMessageSize?: number;
  /**
   * Settle modes to answer with. The receiver decides rcv-settle-mode (spec 2.7.3): a server
   * receiver may answer 'first' (0) to a client asking for 'second'. Default: the client's.
   */
  rcvSettleMode?: number;
  sndSettleMode?: number;
  maxQueued?: number;
}

export const ACCEPT_OPTIONS = {
  ...RECEIVER_CREDIT_OPTIONS,
  source: opt.nested(SOURCE_OPTIONS),
  target: opt.nested(TARGET_OPTIONS),
  maxMessageSize: opt.number,
  rcvSettleMode: opt.oneOf(0, 1),
  sndSettleMode: opt.oneOf(0, 1, 2),
  maxQueued: opt.number,
} satisfies OptionSchema<AcceptOptions>;

/** A link a client attached, for `onLink` to accept or refuse. */
export class IncomingLink {
  constructor(
    readonly connection: ServerConnection,
    readonly link: Link,
  ) {}

  /** Our role: 'sender' when the client attached a receiver. */
  get role(): 'sender' | 'receiver' {
    return this.link.role;
  }

  /** The link name the client chose. */
  get name(): string {
    return this.link.name;
  }

  /** The client's attach frame. */
  get remoteAttach(): Attach {
    return this.link.remoteAttach!;
  }

  /** The client's source terminus. */
  get source(): Source | undefined {
    const s = this.remoteAttach.source;
    return s?.type === 'source' ? s : undefined;
  }

  /** The client's target terminus. */
  get target(): Target | undefined {
    const t = this.remoteAttach.target;
    return t?.type === 'target' ? t : undefined;
  }

  /** The node address the client wants: the target's for a client sender, the source's for a receiver. */
  get address(): string | undefined {
    const a = this.role === 'receiver' ? this.target?.address : this.source?.address;
    return a === undefined || a === null ? undefined : String(a);
  }

  /** Accepts with a sender or a receiver, as the client's role asks. */
  accept(options: AcceptOptions = {}): MessageSender | MessageReceiver {
    checkOptions(options, ACCEPT_OPTIONS, 'accept');
    return this.connection.acceptLink(this, options);
  }

  /** Accepts a client's receiver: we send on the link. */
  acceptSender(options: AcceptOptions = {}): MessageSender {
    if (this.role !== 'sender') throw new TypeError('the client attached a sender: use acceptReceiver');
    return this.accept(options) as MessageSender;
  }

  /** Accepts a client's sender: we receive on the link. */
  acceptReceiver(options: AcceptOptions = {}): MessageReceiver {
    if (this.role !== 'receiver') throw new TypeError('the client attached a receiver: use acceptSender');
    return this.accept(options) as MessageReceiver;
  }

  /** Refuses: attach without the terminus, then detach with the error (spec 2.6.3). */
  refuse(error: AmqpError): void {
    this.connection.refuseLink(this, error);
  }

  /** The engine's link, for what the promise API does not cover. */
  get engineLink(): Sender | Receiver {
    return this.link as Sender | Receiver;
  }
}
