/**
 * Server mode: a strict, scripted AMQP server that a client under test connects to. It announces
 * tight limits (max-frame-size 512, channel-max 0, idle-time-out 1000 ms, a session incoming-window
 * of one frame, link credit one message at a time, granted only after a pause) and records what
 * the client does, so that the client cases can judge it afterwards.
 *
 * Scenarios, one per connection:
 * - 'observe': behaves as a small broker: a client sender's messages are accepted, a client
 *   receiver gets `messages` messages (several frames each); everything is answered.
 * - 'close-error': right after the open exchange, closes the connection with an error; the client
 *   must answer with close.
 */
import type net from 'node:net';
import type { Close, Disposition, Open, Transfer } from '../codec/spec/records.js';
import { encodeMessage } from '../codec/message.js';
import { Condition } from '../protocol/conditions.js';
import { Role } from '../link/link.js';
import { RawPeer, type WireClosed, type WireFrame, type WireItem } from './raw-peer.js';
import type { TraceLog } from './trace.js';

export type ClientScenario = 'observe' | 'close-error';

export interface ObserverOptions {
  /** Our max-frame-size (default 512). */
  maxFrameSize: number;
  /** Our idle-time-out (ms, default 1000). */
  idleTimeOutMs: number;
  /** Our session incoming-window, in frames (default 1). */
  incomingWindow: number;
  /** No credit and no messages before this long after the open (ms, default 2500): heartbeats show. */
  holdMs: number;
  /** Messages a client receiver gets on this connection (default 3). */
  messages: number;
  /** Size of each of those messages' body (default 1500 bytes: several 512-byte frames). */
  messageSize: number;
  /** A connection still open after this long is ended by us (ms, default 30000). */
  connectionTimeoutMs: number;
}

/** A delivery we sent the client. */
interface OutDelivery {
  id: number;
  settled: boolean;
  /** The client's disposition for it, if any. */
  disposition?: Disposition;
}

/** What one client connection did. */
export interface Observation {
  index: number;
  scenario: ClientScenario;
  log: TraceLog;
  peer: RawPeer;
  startedAt: number;
  endedAt?: number;
  /** The first 8 bytes the client sent, and later the AMQP header after SASL. */
  headers: Buffer[];
  sasl?: { offered: string[]; mechanism?: string };
  open?: Open;
  openAt?: number;
  /** The first AMQP frame after the AMQP header, by performative. */
  firstFrame?: string;
  /** Rule breaks seen as they happened, by case id. */
  violations: Map<string, string[]>;
  transfersIn: number;
  deliveriesIn: number;
  sent: OutDelivery[];
  clientClose?: Close;
  clientCloseAt?: number;
  /** We sent a close (close-error scenario, or the connection time-out). */
  ourCloseAt?: number;
  /** How the connection ended. */
  end?: 'client-close' | 'socket-closed' | 'timeout';
  /** Who closed the socket first (the client's FIN or reset reached us first, or we closed), and how. */
  socketClosedBy?: 'client' | 'us';
  socketCloseHow?: string;
}

interface SessionState {
  clientChannel: number;
  ourChannel: number;
  /** Transfer frames the client may still send. */
  windowLeft: number;
  nextIncomingId: number;
  nextOutgoingId: number;
  /** The client's window for our transfers: its next-incoming-id + incoming-window. */
  clientLimit: number;
  nextDeliveryId: number;
  links: Map<number, LinkState>;
  widenTimer?: NodeJS.Timeout;
}

interface LinkState {
  clientHandle: number;
  ourHandle: number;
  /** Our role. */
  role: 'sender' | 'receiver';
  /** Receiver: credit the client has; sender: credit the client gave us. */
  credit: number;
  deliveryCount: number;
  /** Receiver: a delivery from the client is in progress. */
  inProgress: boolean;
  settledMode: boolean;
  /** Receiver: the client's delivery in progress. */
  current?: { id: number | undefined; settled: boolean };
  creditTimer?: NodeJS.Timeout;
}

const sleepTimer = (ms: number, fn: () => void): NodeJS.Timeout => {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
};

export class ObservedConnection {
  readonly obs: Observation;
  readonly done: Promise<Observation>;
  private readonly peer: RawPeer;
  private phase: 'header' | 'sasl' | 'amqp-header' | 'open' | 'frames' | 'closing' | 'done' = 'header';
  private readonly sessions = new Map<number, SessionState>();
  private heartbeat?: NodeJS.Timeout;
  private holdUntil = Infinity;
  private messagesLeft: number;
  private timers: NodeJS.Timeout[] = [];
  private resolveDone!: (o: Observation) => void;

  constructor(
    socket: net.Socket,
    index: number,
    scenario: ClientScenario,
    log: TraceLog,
    private readonly o: ObserverOptions,
  ) {
    this.peer = new RawPeer(socket, log, { role: 'server', conn: index });
    this.obs = {
      index,
      scenario,
      log,
      peer: this.peer,
      startedAt: performance.now(),
      headers: [],
      violations: new Map(),
      transfersIn: 0,
      deliveriesIn: 0,
      sent: [],
    };
    this.messagesLeft = o.messages;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.peer.onItem((i) => this.onItem(i));
    this.timers.push(
      sleepTimer(o.connectionTimeoutMs, () => {
        if (this.phase === 'done') return;
        this.obs.end = 'timeout';
        this.peer.note(`the connection is still open after ${o.connectionTimeoutMs} ms: closing it`);
        this.sendClose({
          condition: Condition.ConnectionForced,
          description: 'amqp-one conformance: time-out',
        });
        sleepTimer(500, () => this.peer.destroy('the connection time-out'));
      }),
    );
  }

  private violation(caseId: string, text: string): void {
    let list = this.obs.violations.get(caseId);
    if (!list) this.obs.violations.set(caseId, (list = []));
    list.push(text);
    this.peer.note(`violation (${caseId}): ${text}`);
  }

  private onItem(i: WireItem): void {
    try {
      this.handle(i);
    } catch (e) {
      this.peer.note(`conformance server error: ${(e as Error).message}`);
    }
  }

  private handle(i: WireItem): void {
    if (i.kind === 'closed') return this.finish(i);
    if (i.kind === 'error') return this.peer.destroy(`unreadable bytes from the client: ${i.message}`);
    if (i.kind === 'header') {
      this.obs.headers.push(i.bytes);
      if (this.phase === 'header') {
        if (i.protocolId === 3) {
          this.peer.header(3);
          this.obs.sasl = { offered: ['PLAIN', 'ANONYMOUS'] };
          this.peer.frame(0, { type: 'sasl-mechanisms', saslServerMechanisms: this.obs.sasl.offered });
          this.phase = 'sasl';
        } else if (i.protocolId === 0) {
          this.peer.header(0);
          this.phase = 'open';
        } else {
          // Spec 2.2: answer with a header we support, then close.
          this.peer.header(0);
          this.endSocket();
        }
      } else if (this.phase === 'amqp-header') {
        if (i.protocolId === 0) {
          this.peer.header(0);
          this.phase = 'open';
        } else {
          this.peer.header(0);
          this.endSocket();
        }
      }
      return;
    }
    this.onFrame(i);
  }

  private onFrame(f: WireFrame): void {
    const rec = f.rec;
    if (f.type === 1) {
      if (rec?.type === 'sasl-init' && this.phase === 'sasl') {
        this.obs.sasl!.mechanism = rec.mechanism;
        this.peer.frame(0, { type: 'sasl-outcome', code: 0 });
        this.peer.expectHeader();
        this.phase = 'amqp-header';
      }
      return;
    }
    if (f.size > this.o.maxFrameSize) {
      this.violation(
        'client.max-frame-size',
        `${rec?.type ?? 'frame'} of ${f.size} bytes over our max-frame-size ${this.o.maxFrameSize}`,
      );
    }
    if (f.channel > 0)
      this.violation(
        'client.channel-max',
        `${rec?.type ?? 'frame'} on channel ${f.channel} (our channel-max is 0)`,
      );
    if (!rec) return; // an empty frame
    if (this.obs.firstFrame === undefined) this.obs.firstFrame = rec.type;
    if (this.phase === 'closing' && rec.type !== 'close') return; // after our close, only close counts
    switch (rec.type) {
      case 'open':
        return this.onOpen(rec);
      case 'begin': {
        const s: SessionState = {
          clientChannel: f.channel,
          ourChannel: 0,
          windowLeft: this.o.incomingWindow,
          nextIncomingId: rec.nextOutgoingId,
          nextOutgoingId: 0,
          clientLimit: rec.incomingWindow,
          nextDeliveryId: 0,
          links: new Map(),
        };
        this.sessions.set(f.channel, s);
        this.peer.frame(s.ourChannel, {
          type: 'begin',
          remoteChannel: f.channel,
          nextOutgoingId: 0,
          incomingWindow: this.o.incomingWindow,
          outgoingWindow: 0x7fffffff,
          handleMax: 7,
        });
        return;
      }
      case 'end': {
        const s = this.sessions.get(f.channel);
        if (s) this.peer.frame(s.ourChannel, { type: 'end' });
        this.sessions.delete(f.channel);
        return;
      }
      case 'close':
        return this.onClose(rec);
    }
    const s = this.sessions.get(f.channel);
    if (!s) return;
    switch (rec.type) {
      case 'attach': {
        const clientSender = rec.role === Role.Sender;
        const l: LinkState = {
          clientHandle: rec.handle,
          ourHandle: rec.handle,
          role: clientSender ? 'receiver' : 'sender',
          credit: 0,
          deliveryCount: clientSender ? (rec.initialDeliveryCount ?? 0) : 0,
          inProgress: false,
          settledMode: !clientSender && rec.sndSettleMode === 1,
        };
        s.links.set(rec.handle, l);
        this.peer.frame(s.ourChannel, {
          type: 'attach',
          name: rec.name,
          handle: l.ourHandle,
          role: clientSender ? Role.Receiver : Role.Sender,
          sndSettleMode: clientSender ? rec.sndSettleMode : l.settledMode ? 1 : 0,
          rcvSettleMode: 0,
          source: rec.source,
          target: rec.target,
          initialDeliveryCount: clientSender ? undefined : 0,
        });
        if (clientSender) this.grantCredit(s, l, Math.max(0, this.holdUntil - performance.now()));
        return;
      }
      case 'detach': {
        const l = s.links.get(rec.handle);
        if (!l) return;
        clearTimeout(l.creditTimer);
        s.links.delete(rec.handle);
        this.peer.frame(s.ourChannel, { type: 'detach', handle: l.ourHandle, closed: rec.closed });
        return;
      }
      case 'flow': {
        s.clientLimit = ((rec.nextIncomingId ?? 0) + rec.incomingWindow) | 0;
        if (rec.handle !== undefined) {
          const l = s.links.get(rec.handle);
          if (l?.role === 'sender') {
            l.credit = ((rec.deliveryCount ?? 0) + (rec.linkCredit ?? 0) - l.deliveryCount) | 0;
            if (rec.drain && this.messagesLeft === 0) this.drain(s, l);
          }
          if (rec.echo && l) this.linkFlow(s, l);
        }
        this.pump();
        return;
      }
      case 'transfer':
        return this.onTransfer(s, rec);
      case 'disposition': {
        if (rec.role !== Role.Receiver) return;
        const last = rec.last ?? rec.first;
        for (const d of this.obs.sent) if (d.id >= rec.first && d.id <= last) d.disposition = rec;
        return;
      }
    }
  }

  private onOpen(open: Open): void {
    if (this.phase !== 'open') return;
    this.obs.open = open;
    this.obs.openAt = performance.now();
    this.peer.frame(0, {
      type: 'open',
      containerId: 'amqp-one-conformance',
      maxFrameSize: this.o.maxFrameSize,
      channelMax: 0,
      idleTimeOut: this.o.idleTimeOutMs,
    });
    this.phase = 'frames';
    const t = open.idleTimeOut ?? 0;
    if (t > 0) {
      this.heartbeat = setInterval(() => this.peer.heartbeat(), Math.max(50, Math.floor(t / 2)));
      this.heartbeat.unref();
    }
    if (this.obs.scenario === 'close-error') {
      this.sendClose({
        condition: Condition.ConnectionForced,
        description: 'amqp-one conformance: closing with an error',
      });
      this.timers.push(
        sleepTimer(5000, () => this.peer.destroy('no close from the client within 5 s of ours')),
      );
      return;
    }
    this.holdUntil = this.obs.openAt + this.o.holdMs;
    // Timers may fire a little early by performance.now(): pump() allows for it.
    this.timers.push(sleepTimer(this.o.holdMs + 2, () => this.pump()));
  }

  private sendClose(error: { condition: string; description: string }): void {
    if (this.obs.ourCloseAt !== undefined || this.peer.isClosed) return;
    this.obs.ourCloseAt = performance.now();
    this.phase = 'closing';
    this.peer.frame(0, { type: 'close', error: { type: 'error', ...error } });
  }

  private onClose(close: Close): void {
    this.obs.clientClose = close;
    this.obs.clientCloseAt = performance.now();
    this.obs.end ??= 'client-close';
    if (this.obs.ourCloseAt === undefined) this.peer.frame(0, { type: 'close' });
    this.endSocket();
  }

  /** Lets the client read what we wrote, then closes the socket. */
  private endSocket(): void {
    this.phase = 'closing';
    this.timers.push(sleepTimer(100, () => this.peer.destroy('the close exchange is over')));
  }

  private onTransfer(s: SessionState, t: Transfer): void {
    this.obs.transfersIn++;
    if (s.windowLeft <= 0) {
      this.violation(
        'client.session-window',
        `transfer frame ${this.obs.transfersIn} beyond our incoming-window ${this.o.incomingWindow}`,
      );
    }
    s.windowLeft--;
    s.nextIncomingId = (s.nextIncomingId + 1) | 0;
    const l = s.links.get(t.handle);
    if (l && l.role === 'receiver') {
      if (!l.inProgress) {
        if (l.credit <= 0)
          this.violation('client.link-credit', `delivery ${t.deliveryId ?? '?'} sent without credit`);
        l.credit--;
        l.deliveryCount = (l.deliveryCount + 1) | 0;
        this.obs.deliveriesIn++;
        l.current = { id: t.deliveryId, settled: t.settled === true };
      } else if (t.settled && l.current) l.current.settled = true;
      l.inProgress = t.more === true && t.aborted !== true;
      if (!l.inProgress) {
        const d = l.current;
        if (d && !d.settled && d.id !== undefined && t.aborted !== true) {
          this.peer.frame(s.ourChannel, {
            type: 'disposition',
            role: Role.Receiver,
            first: d.id,
            settled: true,
            state: { type: 'accepted' },
          });
        }
        l.current = undefined;
        this.grantCredit(s, l, 20);
      }
    }
    // Re-open the window a little later: a client that does not wait for it shows.
    clearTimeout(s.widenTimer);
    s.widenTimer = sleepTimer(20, () => {
      s.windowLeft = this.o.incomingWindow;
      this.sessionFlow(s);
    });
  }

  private grantCredit(s: SessionState, l: LinkState, delayMs: number): void {
    clearTimeout(l.creditTimer);
    l.creditTimer = sleepTimer(delayMs, () => {
      if (this.phase !== 'frames' || !s.links.has(l.clientHandle)) return;
      if (l.credit > 0) return;
      l.credit = 1;
      this.linkFlow(s, l);
    });
  }

  private sessionFlow(s: SessionState): void {
    if (this.phase !== 'frames') return;
    this.peer.frame(s.ourChannel, {
      type: 'flow',
      nextIncomingId: s.nextIncomingId,
      incomingWindow: Math.max(0, s.windowLeft),
      nextOutgoingId: s.nextOutgoingId,
      outgoingWindow: 0x7fffffff,
    });
  }

  private linkFlow(s: SessionState, l: LinkState): void {
    if (this.phase !== 'frames') return;
    this.peer.frame(s.ourChannel, {
      type: 'flow',
      nextIncomingId: s.nextIncomingId,
      incomingWindow: Math.max(0, s.windowLeft),
      nextOutgoingId: s.nextOutgoingId,
      outgoingWindow: 0x7fffffff,
      handle: l.ourHandle,
      deliveryCount: l.deliveryCount,
      linkCredit: Math.max(0, l.credit),
    });
  }

  private drain(s: SessionState, l: LinkState): void {
    l.deliveryCount = (l.deliveryCount + Math.max(0, l.credit)) | 0;
    l.credit = 0;
    this.linkFlow(s, l);
  }

  /** Sends messages to client receivers as their credit, their window and our hold allow. */
  private pump(): void {
    if (this.phase !== 'frames' || performance.now() + 5 < this.holdUntil) return;
    for (const s of this.sessions.values()) {
      for (const l of s.links.values()) {
        while (l.role === 'sender' && l.credit > 0 && this.messagesLeft > 0) {
          const n = this.o.messages - this.messagesLeft + 1;
          const text = `amqp-one conformance message ${n} `;
          const body = text.repeat(Math.ceil(this.o.messageSize / text.length)).slice(0, this.o.messageSize);
          const bytes = encodeMessage({ body });
          const room = Math.min(this.o.maxFrameSize, this.obs.open?.maxFrameSize ?? 0xffffffff) - 64;
          const frames = Math.ceil(bytes.length / room);
          // The client's session window must take the whole delivery now (we do not split later).
          if (((s.clientLimit - s.nextOutgoingId) | 0) < frames) return;
          const id = s.nextDeliveryId++;
          for (let k = 0; k < frames; k++) {
            const chunk = bytes.subarray(k * room, (k + 1) * room);
            const more = k < frames - 1;
            this.peer.frame(
              s.ourChannel,
              k === 0
                ? {
                    type: 'transfer',
                    handle: l.ourHandle,
                    deliveryId: id,
                    deliveryTag: Buffer.from(`m${id}`),
                    messageFormat: 0,
                    settled: l.settledMode,
                    more,
                  }
                : { type: 'transfer', handle: l.ourHandle, more },
              chunk,
            );
            s.nextOutgoingId = (s.nextOutgoingId + 1) | 0;
          }
          this.obs.sent.push({ id, settled: l.settledMode });
          l.credit--;
          l.deliveryCount = (l.deliveryCount + 1) | 0;
          this.messagesLeft--;
        }
      }
    }
  }

  private finish(closed?: WireClosed): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.obs.endedAt = performance.now();
    if (closed) {
      this.obs.socketClosedBy = closed.by === 'peer' ? 'client' : 'us';
      this.obs.socketCloseHow = closed.how;
    }
    this.obs.end ??= 'socket-closed';
    clearInterval(this.heartbeat);
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sessions.values()) {
      clearTimeout(s.widenTimer);
      for (const l of s.links.values()) clearTimeout(l.creditTimer);
    }
    this.resolveDone(this.obs);
  }

  /** Ends the connection now (the suite is stopping). */
  abort(): void {
    this.peer.destroy('the suite stopped waiting (--wait)');
  }
}
