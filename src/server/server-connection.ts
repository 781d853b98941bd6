/** One client connection on our server: answers opens and begins, and hands links to the handler. */
import type { Socket } from 'node:net';
import { Connection, type ConnectionOptions } from '../connection/connection.js';
import { Condition } from '../connection/conditions.js';
import type { AmqpError } from '../connection/errors.js';
import type { EngineEvent } from '../connection/events.js';
import { ConnectionCore } from '../client/connection-core.js';
import type { Receiver } from '../link/receiver.js';
import type { Sender } from '../link/sender.js';
import type { MessageReceiver } from '../client/receiver.js';
import type { MessageSender } from '../client/sender.js';
import type { Timers } from '../client/timers.js';
import { IncomingLink, type AcceptOptions } from './incoming-link.js';

export interface ServerConnectionHooks {
  /** Called when the client's open arrives: return an error to refuse the connection. */
  onOpen(c: ServerConnection): AmqpError | void;
  onLink(l: IncomingLink): void;
  onClosed(c: ServerConnection, err: Error | undefined): void;
  maxMessageSize?: number;
}

export class ServerConnection extends ConnectionCore {
  constructor(
    engineOptions: ConnectionOptions,
    socket: Socket,
    private readonly hooks: ServerConnectionHooks,
    timers?: Timers,
  ) {
    super(timers);
    this.bind(new Connection({ ...engineOptions, role: 'server' }), socket);
  }

  /** The client's container-id, once its open arrived. */
  get remoteContainerId(): string | undefined {
    return this.engine.remoteOpen?.containerId;
  }

  /** The identity SASL authenticated (PLAIN user name, EXTERNAL certificate identity, 'anonymous'). */
  get identity(): string | undefined {
    return this.engine.saslIdentity;
  }

  get socket(): Socket {
    return this.driver.socket;
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
      case 'link-remote-open':
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
    this.schedule();
  }

  acceptLink(l: IncomingLink, o: AcceptOptions): MessageSender | MessageReceiver {
    const link = l.engineLink;
    const a = l.remoteAttach;
    const { type: _s, ...clientSource } = l.source ?? { type: 'source' as const };
    const { type: _t, ...clientTarget } = l.target ?? { type: 'target' as const };
    Object.assign(link.options, {
      source: o.source ?? clientSource,
      target: o.target ?? clientTarget,
      sndSettleMode: o.sndSettleMode ?? a.sndSettleMode,
      rcvSettleMode: o.rcvSettleMode ?? a.rcvSettleMode,
      maxMessageSize: o.maxMessageSize ?? this.hooks.maxMessageSize,
    });
    link.attach();
    this.schedule();
    if (link.role === 'sender') return this.wrapSender(link as Sender, { maxQueued: o.maxQueued });
    return this.wrapReceiver(link as Receiver, { credit: o.credit, autoAccept: o.autoAccept });
  }

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
