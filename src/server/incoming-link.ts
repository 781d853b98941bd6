/** A link a client attached to our server: the handler accepts it (choosing the terminus) or refuses it. */
import type { Attach, Source, Target } from '../codec/spec/records.js';
import type { AmqpError } from '../protocol/errors.js';
import type { Link, SourceOptions, TargetOptions } from '../link/link.js';
import type { Receiver } from '../link/receiver.js';
import type { Sender } from '../link/sender.js';
import type { MessageReceiver, ReceiverCreditOptions } from '../api/receiver.js';
import type { MessageSender } from '../api/sender.js';
import type { ServerConnection } from './server-connection.js';

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

export class IncomingLink {
  constructor(
    readonly connection: ServerConnection,
    readonly link: Link,
  ) {}

  /** Our role: 'sender' when the client attached a receiver. */
  get role(): 'sender' | 'receiver' {
    return this.link.role;
  }

  get name(): string {
    return this.link.name;
  }

  get remoteAttach(): Attach {
    return this.link.remoteAttach!;
  }

  get source(): Source | undefined {
    const s = this.remoteAttach.source;
    return s?.type === 'source' ? s : undefined;
  }

  get target(): Target | undefined {
    const t = this.remoteAttach.target;
    return t?.type === 'target' ? t : undefined;
  }

  /** The node address the client wants: the target's for a client sender, the source's for a receiver. */
  get address(): string | undefined {
    const a = this.role === 'receiver' ? this.target?.address : this.source?.address;
    return a === undefined || a === null ? undefined : String(a);
  }

  accept(options: AcceptOptions = {}): MessageSender | MessageReceiver {
    return this.connection.acceptLink(this, options);
  }

  acceptSender(options: AcceptOptions = {}): MessageSender {
    if (this.role !== 'sender') throw new TypeError('the client attached a sender: use acceptReceiver');
    return this.accept(options) as MessageSender;
  }

  acceptReceiver(options: AcceptOptions = {}): MessageReceiver {
    if (this.role !== 'receiver') throw new TypeError('the client attached a receiver: use acceptSender');
    return this.accept(options) as MessageReceiver;
  }

  /** Refuses: attach without the terminus, then detach with the error (spec 2.6.3). */
  refuse(error: AmqpError): void {
    this.connection.refuseLink(this, error);
  }

  get engineLink(): Sender | Receiver {
    return this.link as Sender | Receiver;
  }
}
