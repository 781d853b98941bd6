/**
 * The IO-free AMQP connection engine. Bytes in (`receive`), bytes out (`takeOutput`), time in
 * (`tick`, which returns the next deadline), typed events out (`takeEvents`). No sockets, timers
 * or promises: the same engine runs over TCP, TLS or in memory against another engine.
 */
import { alloc, fromValues } from '../codec/bytes.js';
import { decodeComposite } from '../codec/composite.js';
import { AmqpOneError, DecodeError } from '../codec/errors.js';
import type { Attach, Begin, Close, Fields, Open, Performative, Transfer } from '../codec/spec/records.js';
import { FramingError, ProtocolHeaderMismatchError } from '../protocol/framing-errors.js';
import { FrameReader, type Frame } from '../frames/frame-reader.js';
import { MIN_MAX_FRAME_SIZE } from '../frames/frame-writer.js';
import { PROTOCOL_ID_AMQP, PROTOCOL_ID_SASL, type ProtocolHeader } from '../frames/protocol-header.js';
import type { SaslClientMechanism, SaslServerMechanism } from '../sasl/mechanisms.js';
import { SaslClient } from '../sasl/sasl-client.js';
import { SaslServer } from '../sasl/sasl-server.js';
import type { Receiver } from '../link/receiver.js';
import type { Sender } from '../link/sender.js';
import { Session, type SessionOptions } from '../session/session.js';
import { Condition } from '../protocol/conditions.js';
import {
  AuthenticationError,
  ConnectionError,
  LinkError,
  remoteError,
  toErrorRecord,
  type AmqpError,
} from '../protocol/errors.js';
import type { EngineEvent } from './events.js';
import { randomContainerId } from './container-id.js';
import { FrameOutput } from './output.js';
import { framesWanted, onFrame } from './trace.js';
import { errorFields, Log, type Logger } from '../util/logger.js';
import { logEvent } from './log-events.js';
import { opt, type OptionSchema } from '../protocol/options.js';

/** Options of an engine Connection: its role, the open's fields, limits and SASL. */
export interface ConnectionOptions {
  role?: 'client' | 'server';
  containerId?: string;
  /** The virtual host we ask for (client) or the host name we answer with. */
  hostname?: string;
  /** The largest frame we accept (default 256 KiB, at least 512). */
  maxFrameSize?: number;
  /** The highest channel number we accept (default 255). */
  channelMax?: number;
  /** Close the connection when the peer is silent this long (ms); also announced to it. 0 = never. */
  idleTimeoutMs?: number;
  /** After we sent close, give up waiting for the peer's close after this long (ms, default 5000). */
  closeTimeoutMs?: number;
  /**
   * The peer's protocol header, SASL exchange and open must all arrive within this long (ms) of
   * the start, else the connection is dropped (a peer that trickles its handshake holds nothing
   * for long). 0 = no deadline (the default here; `listen` sets one).
   */
  handshakeTimeoutMs?: number;
  /**
   * Unsettled deliveries held on this connection, in each direction. Incoming: no receiver is
   * granted credit past the room left; a transfer that still finds the connection full detaches
   * its link with amqp:resource-limit-exceeded. Outgoing: senders hold their next unsettled
   * delivery until the peer settles some. 0 = no limit (the default here; `listen` sets one).
   */
  maxUnsettledDeliveries?: number;
  /**
   * Bytes of messages being reassembled from several frames, all links together: a transfer that
   * would grow them past this detaches its link with amqp:resource-limit-exceeded (each link's
   * max-message-size bounds one message; this bounds them all). 0 = no limit (the default here).
   */
  maxReassemblyBytes?: number;
  properties?: Fields;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  /** Client: authenticate with this mechanism. Without it, no SASL layer is used. */
  sasl?: SaslClientMechanism;
  /** Server: the mechanisms offered. Without it, only bare AMQP connections are accepted. */
  saslServer?: {
    mechanisms: SaslServerMechanism[];
    /** Refuse clients that skip SASL (default false here; `listen()` decides from its options). */
    required?: boolean;
  };
  /** The TLS client certificate identity, for SASL EXTERNAL. */
  externalIdentity?: string;
  /** Default options for sessions the peer begins. */
  sessionDefaults?: SessionOptions;
  /**
   * Structured diagnostics of this connection (open, close, sessions, links, SASL, and at 'trace'
   * every frame); without it they go to the process-wide logger (`setLogger`), if any.
   */
  logger?: Logger;
}

/** The options a client may set (role and SASL are the API's to decide), as connect checks them. */
export const CONNECTION_OPTIONS = {
  containerId: opt.string,
  hostname: opt.string,
  maxFrameSize: opt.number,
  channelMax: opt.number,
  idleTimeoutMs: opt.number,
  closeTimeoutMs: opt.number,
  handshakeTimeoutMs: opt.number,
  maxUnsettledDeliveries: opt.number,
  maxReassemblyBytes: opt.number,
  properties: opt.object,
  offeredCapabilities: opt.array,
  desiredCapabilities: opt.array,
  externalIdentity: opt.string,
  sessionDefaults: opt.object,
  logger: opt.either(opt.function, opt.object),
} satisfies OptionSchema<Omit<ConnectionOptions, 'role' | 'sasl' | 'saslServer'>>;

/**
 * The connection's phases before and around the frames, one table for each role (as h11 keeps its
 * states): a protocol header, the SASL outcome or the client's open() moves the phase along the
 * table; a header the table has no entry for is a mismatch (spec 2.2). Any phase may end in `done`
 * (close, violation, timeout, SASL failure), outside the table.
 *
 *   client: start -open-> amqp-header -amqp-header-> frames
 *           start -open (with SASL)-> sasl-header -sasl-header-> sasl -sasl-ok-> amqp-header
 *   server: header -sasl-header-> sasl -sasl-ok-> amqp-header -amqp-header-> frames
 *           header -amqp-header-> frames (when SASL is not required)
 *
 * The server's choices (SASL offered, SASL required) are checked before the table is consulted.
 */
type Phase = 'start' | 'header' | 'sasl-header' | 'sasl' | 'amqp-header' | 'frames' | 'done';
type PhaseInput = 'open' | 'open-sasl' | 'sasl-header' | 'amqp-header' | 'sasl-ok';

const PHASES: Record<'client' | 'server', { [P in Phase]?: { [I in PhaseInput]?: Phase } }> = {
  client: {
    // A server's AMQP header before our open() is taken as its answer.
    start: { open: 'amqp-header', 'open-sasl': 'sasl-header', 'amqp-header': 'frames' },
    'sasl-header': { 'sasl-header': 'sasl' },
    sasl: { 'sasl-ok': 'amqp-header' },
    'amqp-header': { 'amqp-header': 'frames' },
  },
  server: {
    header: { 'sasl-header': 'sasl', 'amqp-header': 'frames' },
    sasl: { 'sasl-ok': 'amqp-header' },
    'amqp-header': { 'amqp-header': 'frames' },
  },
};

/** The protocol headers the table knows; any other (TLS) is a mismatch in every phase. */
const HEADER_INPUT: Partial<Record<number, PhaseInput>> = {
  [PROTOCOL_ID_AMQP]: 'amqp-header',
  [PROTOCOL_ID_SASL]: 'sasl-header',
};

const DEFAULT_MAX_FRAME = 256 * 1024;

/**
 * The most output one takeOutput() builds from queued messages (plus the one message under way).
 * A peer granting huge credit and window would otherwise have one take encode every queued
 * message at once: a copy of the whole queue in memory, however slowly the peer reads.
 */
export const MAX_OUTPUT_PER_TAKE = 1024 * 1024;

/**
 * The IO-free AMQP connection engine: bytes in with receive(), bytes out with takeOutput(), time in
 * with tick(), events out with takeEvents(). It opens sessions, which open links.
 */
export class Connection {
  readonly role: 'client' | 'server';
  readonly containerId: string;
  local: 'unopened' | 'open' | 'closed' = 'unopened';
  remote: 'unopened' | 'open' | 'closed' = 'unopened';
  remoteOpen: Open | undefined;
  /** Why the connection ended badly, if it did. */
  error: AmqpOneError | undefined;
  /** The identity SASL authenticated (server) or the mechanism used (client). */
  saslIdentity: string | undefined;
  context: unknown;

  readonly maxFrameSize: number;
  readonly channelMax: number;
  readonly idleTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxUnsettledDeliveries: number;
  readonly maxReassemblyBytes: number;
  /** @internal Bytes held by messages being reassembled (kept by the receivers). */
  reassemblyBytes = 0;
  /** @internal Unsettled deliveries in the sessions' maps, both directions (kept by the sessions). */
  unsettledIncoming = 0;
  /** @internal Link credit our receivers granted and the peers have not used yet (kept by Receiver). */
  outstandingCredit = 0;
  /** @internal */
  unsettledOutgoing = 0;
  /** Receivers granted less credit than they asked for, and senders held back, by the limit. */
  private readonly starvedReceivers = new Set<Receiver>();
  private readonly heldSenders = new Set<Sender>();
  /** Until the peer's open, frames larger than 512 bytes wait (spec 2.4.1). */
  remoteMaxFrameSize = 0xffffffff;
  remoteChannelMax = 0xffff;
  remoteIdleTimeoutMs = 0;

  private phase: Phase = 'start';
  private readonly reader: FrameReader;
  private readonly output: FrameOutput;
  /** A sender stopped at MAX_OUTPUT_PER_TAKE during this take. */
  private outputCapped = false;
  /** When our close was written: the peer's close is awaited until closeTimeoutMs later. */
  private closeSentAt: number | undefined;
  private readonly sessions: (Session | undefined)[] = [];
  private readonly byRemoteChannel = new Map<number, Session>();
  private events: EngineEvent[] = [];
  private saslClient: SaslClient | undefined;
  private saslServer: SaslServer | undefined;
  private clockStarted = false;
  private startedAt = 0;
  private now = 0;
  private lastReceived = 0;
  private lastSent = 0;
  private readonly id: string;
  /** @internal Where this connection's diagnostics go (see util/logger.ts). */
  readonly log: Log;

  constructor(readonly options: ConnectionOptions = {}) {
    this.role = options.role ?? 'client';
    this.containerId = options.containerId ?? randomContainerId();
    this.maxFrameSize = Math.min(
      0xffffffff,
      Math.max(MIN_MAX_FRAME_SIZE, options.maxFrameSize ?? DEFAULT_MAX_FRAME),
    );
    this.channelMax = Math.max(0, Math.min(0xffff, options.channelMax ?? 255));
    this.idleTimeoutMs = options.idleTimeoutMs ?? 0;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.handshakeTimeoutMs = Math.max(0, options.handshakeTimeoutMs ?? 0);
    this.maxUnsettledDeliveries = Math.max(0, options.maxUnsettledDeliveries ?? 0);
    this.maxReassemblyBytes = Math.max(0, options.maxReassemblyBytes ?? 0);
    this.reader = new FrameReader({ maxFrameSize: this.maxFrameSize, expectHeader: true });
    this.id = `${this.role}:${this.containerId.slice(0, 8)}`;
    this.log = new Log(options.logger, { connection: this.id });
    this.output = new FrameOutput(this.id, this.log, (rec, channel) =>
      rec.type === 'attach'
        ? this.attachTooLarge(channel, rec)
        : // Our performative cannot fit the peer's frame size: nothing else can be said here.
          this.close({
            condition: Condition.FrameSizeTooSmall,
            description: `${rec.type} does not fit in ${this.remoteMaxFrameSize} bytes`,
          }),
    );
    if (this.role === 'server') {
      this.phase = 'header';
      this.output.hold(); // nothing may precede our protocol header, which answers the client's
    }
  }

  /**
   * Our attach cannot fit the peer's frame size (a huge address or filter): it was not sent, so
   * only that link fails, detached on both sides at once, and the connection goes on.
   */
  private attachTooLarge(channel: number, a: Attach): void {
    const link = this.sessions[channel]?.allLinks.find((l) => l.handle === a.handle);
    if (!link) return;
    link.error = new LinkError(
      {
        condition: Condition.FrameSizeTooSmall,
        description: `attach of ${link.name} does not fit in ${this.remoteMaxFrameSize} bytes`,
      },
      false,
    );
    link.local = 'detached';
    link.remote = 'detached';
    link.session.linkDetached(link);
  }

  /** True once nothing more will be read or written. */
  get finished(): boolean {
    return this.phase === 'done';
  }

  /** True once both opens were exchanged and neither side has closed. */
  get isOpen(): boolean {
    return this.local === 'open' && this.remote === 'open';
  }

  // ------------------------------------------------------------------ API

  /** Client: starts the connection (header, SASL, open). Server: answers the peer's open. */
  open(): void {
    if (this.local !== 'unopened' || this.phase === 'done') return;
    this.local = 'open';
    if (this.advance(this.options.sasl ? 'open-sasl' : 'open')) {
      if (this.options.sasl) {
        this.saslClient = new SaslClient(this.options.sasl, this.options.hostname);
        this.output.header(PROTOCOL_ID_SASL);
        this.output.hold(); // open, begin, attach wait for the SASL outcome
      } else {
        this.output.header(PROTOCOL_ID_AMQP);
      }
    }
    const o = this.options;
    if (this.log.enabled('debug', 'connection'))
      this.log.write('debug', 'connection', this.role === 'client' ? 'opening' : 'answering the open', {
        containerId: this.containerId,
        hostname: o.hostname,
        sasl: this.options.sasl?.name,
      });
    this.writeFrame(0, {
      type: 'open',
      containerId: this.containerId,
      hostname: o.hostname,
      maxFrameSize: this.maxFrameSize,
      channelMax: this.channelMax,
      // Spec 2.4.5: announce half the real threshold, so that a peer beating once per announced
      // period (as Proton's clients do) is never cut off.
      idleTimeOut: this.idleTimeoutMs > 0 ? Math.max(1, Math.floor(this.idleTimeoutMs / 2)) : undefined,
      offeredCapabilities: o.offeredCapabilities,
      desiredCapabilities: o.desiredCapabilities,
      properties: o.properties,
    });
  }

  /** Closes the connection, with an error if given. Sessions get their pending output out first. */
  close(error?: AmqpError): void {
    if (this.local === 'closed' || this.phase === 'done') return;
    if (this.local === 'unopened') this.open();
    this.local = 'closed';
    if (error && !this.error) this.error = new ConnectionError(error, false);
    try {
      for (const s of this.sessions) s?.flush();
    } catch {
      // We are closing anyway; the close frame below still goes out.
    }
    this.writeFrame(0, { type: 'close', error: error ? toErrorRecord(error) : undefined });
    this.output.closed = true;
    this.closeSentAt = this.now;
    if (this.remote === 'closed') this.finish();
  }

  /** Begins a session (pipelined: it goes out before the peer answers our open). */
  beginSession(options: SessionOptions = {}): Session {
    const s = new Session(this, this.allocateChannel(), options);
    this.sessions[s.channel] = s;
    s.begin();
    return s;
  }

  private allocateChannel(): number {
    const limit = Math.min(this.channelMax, this.remoteChannelMax);
    for (let c = 0; c <= limit; c++) if (this.sessions[c] === undefined) return c;
    throw new AmqpOneError(
      'AMQP_CHANNELS_EXHAUSTED',
      `no free channel (channel-max ${limit})`,
      Condition.ResourceLimitExceeded,
    );
  }

  /** Every session of the connection, open or ending. */
  get allSessions(): Session[] {
    return this.sessions.filter((s): s is Session => s !== undefined);
  }

  // ------------------------------------------------------------------ IO

  /** Feeds bytes from the peer. Never throws: bad input closes the connection with a condition. */
  receive(bytes: Uint8Array): void {
    if (this.phase === 'done') return;
    this.lastReceived = this.now;
    this.reader.push(bytes);
    try {
      this.readFrames();
    } catch (e) {
      this.onInputError(e);
    }
  }

  /** The bytes to send now, or undefined. One call per event-loop turn gives one socket write. */
  takeOutput(): Buffer | undefined {
    if (this.phase === 'frames' && !this.output.holding && this.local === 'open') {
      try {
        for (const s of this.sessions) s?.flush();
      } catch (e) {
        this.onInputError(e);
      }
    }
    const bytes = this.output.take();
    if (bytes) this.lastSent = this.now;
    if (this.outputCapped) {
      // Senders stopped at the cap: the next take goes on with them.
      this.outputCapped = false;
      this.output.dirty = true;
    }
    return bytes;
  }

  /**
   * Whether this take's output reached MAX_OUTPUT_PER_TAKE: a sender then starts no new delivery
   * (one compare per message), and the next take goes on where it stopped.
   * @internal
   */
  outputFull(): boolean {
    if (this.output.pending < MAX_OUTPUT_PER_TAKE) return false;
    this.outputCapped = true;
    return true;
  }

  /** True when takeOutput() has something (or may, after flushing sessions). */
  get hasOutput(): boolean {
    return this.output.dirty || this.output.pending > 0;
  }

  /** @internal Marks that output is waiting (the layer above schedules a flush). */
  outputPending(): void {
    this.output.dirty = true;
  }

  /**
   * Advances time: sends heartbeats, enforces our idle timeout and the close timeout. Returns the
   * next deadline (ms), or undefined when there is none.
   */
  tick(nowMs: number): number | undefined {
    if (!this.clockStarted) {
      this.clockStarted = true;
      this.startedAt = nowMs;
      this.lastReceived = nowMs;
      this.lastSent = nowMs;
      if (this.closeSentAt !== undefined) this.closeSentAt = nowMs;
    }
    this.now = nowMs;
    if (this.phase === 'done') return undefined;
    let next: number | undefined;
    const soonest = (t: number): void => {
      next = next === undefined ? t : Math.min(next, t);
    };
    if (this.handshakeTimeoutMs > 0 && this.remote === 'unopened') {
      const deadline = this.startedAt + this.handshakeTimeoutMs;
      if (nowMs >= deadline) {
        this.violation(
          Condition.ResourceLimitExceeded,
          `the handshake (header, SASL, open) took more than ${this.handshakeTimeoutMs} ms`,
        );
        this.finish();
        return undefined;
      }
      soonest(deadline);
    }
    if (this.idleTimeoutMs > 0 && this.phase !== 'start') {
      const deadline = this.lastReceived + this.idleTimeoutMs;
      if (nowMs >= deadline) {
        this.violation(
          Condition.ResourceLimitExceeded,
          `no frame from the peer for ${this.idleTimeoutMs} ms`,
        );
        this.finish();
        return undefined;
      }
      soonest(deadline);
    }
    if (this.closeSentAt !== undefined) {
      // Spec 2.4.3: read on for the peer's close, but not for ever.
      const deadline = this.closeSentAt + this.closeTimeoutMs;
      if (nowMs >= deadline) {
        this.finish();
        return undefined;
      }
      soonest(deadline);
    }
    if (
      this.remoteIdleTimeoutMs > 0 &&
      this.phase === 'frames' &&
      this.remote === 'open' &&
      !this.output.closed
    ) {
      // Spec 2.4.5: send something at least every half of the peer's idle timeout.
      const half = Math.max(1, Math.floor(this.remoteIdleTimeoutMs / 2));
      if (this.output.pending > 0) {
        soonest(nowMs + half); // output is waiting to be taken: that is traffic enough
      } else {
        if (nowMs - this.lastSent >= half) {
          this.output.heartbeat();
          this.lastSent = nowMs;
        }
        soonest(this.lastSent + half);
      }
    }
    return next;
  }

  // ------------------------------------------------------------------ unsettled limit

  /** @internal Credit for new deliveries left under the unsettled limit (Infinity without one). */
  creditRoom(): number {
    const max = this.maxUnsettledDeliveries;
    if (max === 0) return Infinity;
    return Math.max(0, max - this.unsettledIncoming - this.outstandingCredit);
  }

  /** @internal A receiver's credit was set: it waits for room while the limit holds part of it back. */
  creditShort(r: Receiver): void {
    if (r.creditShortfall > 0) this.starvedReceivers.add(r);
    else if (this.starvedReceivers.size > 0) this.starvedReceivers.delete(r);
  }

  /** @internal Credit was given back (lowered, drained, a link closed): receivers short of credit get it. */
  creditReturned(): void {
    if (this.starvedReceivers.size === 0) return;
    let room = this.creditRoom();
    for (const r of this.starvedReceivers) {
      if (room <= 0) break;
      if (r.local === 'attached') room -= r.grantShortfall(room);
      if (r.creditShortfall === 0 || r.local !== 'attached') this.starvedReceivers.delete(r);
    }
  }

  /** @internal Whether the unsettled limit holds a sender's next unsettled delivery back (until a settlement). */
  holdsSender(s: Sender): boolean {
    const max = this.maxUnsettledDeliveries;
    if (max === 0 || this.unsettledOutgoing < max) return false;
    this.heldSenders.add(s);
    return true;
  }

  /** @internal An incoming delivery left the sessions' maps: receivers short of credit get it back. */
  incomingSettled(): void {
    this.deliveriesForgotten(1, 0);
  }

  /** @internal An outgoing delivery left the sessions' maps: held senders may go on. */
  outgoingSettled(): void {
    this.deliveriesForgotten(0, 1);
  }

  /**
   * Deliveries left the sessions' maps (settled, or their link or session gone): the room goes to
   * receivers short of credit and to senders held back, on every session of the connection.
   * @internal
   */
  deliveriesForgotten(incoming: number, outgoing: number): void {
    this.unsettledIncoming -= incoming;
    this.unsettledOutgoing -= outgoing;
    if (incoming > 0) this.creditReturned();
    if (outgoing === 0 || this.heldSenders.size === 0) return;
    for (const s of this.heldSenders) if (s.local === 'attached') s.session.wantsPump(s);
    this.heldSenders.clear();
  }

  /** @internal */
  emit(e: EngineEvent): void {
    this.events.push(e);
    if (this.log.active()) logEvent(this.log, e);
  }

  /** The events since the last call, in order; the caller handles them. */
  takeEvents(): EngineEvent[] {
    const e = this.events;
    if (e.length === 0) return e;
    this.events = [];
    return e;
  }

  // ------------------------------------------------------------------ output

  /** @internal Writes one performative frame (held back while the connection cannot carry it yet). */
  writeFrame(channel: number, rec: Performative, payload?: Uint8Array): void {
    if (this.phase !== 'done') this.output.frame(channel, rec, payload);
  }

  /** @internal Writes one transfer frame, as much of `payload` from `offset` as fits; returns the bytes written. */
  writeTransfer(channel: number, t: Transfer, payload: Buffer, offset: number): number {
    return this.output.transfer(channel, t, payload, offset);
  }

  // ------------------------------------------------------------------ input

  private readFrames(): void {
    while (this.phase !== 'done') {
      const item = this.reader.next();
      if (item === undefined) return;
      if (item.kind === 'header') this.onHeader(item);
      else if (item.type === 1) this.onSaslFrame(item);
      else this.onAmqpFrame(item);
    }
  }

  private onInputError(e: unknown): void {
    if (e instanceof ProtocolHeaderMismatchError) {
      this.headerMismatch(e);
    } else if (e instanceof FramingError) {
      this.violation(e.condition ?? Condition.FramingError, e.message, e);
      this.finish(); // the byte stream is unusable: nothing more can be read
    } else if (e instanceof DecodeError) {
      this.violation(Condition.DecodeError, e.message, e);
    } else {
      this.violation(Condition.InternalError, e instanceof Error ? e.message : String(e), e);
    }
  }

  /** Moves the phase along the table; false when the table has no such step from here. */
  private advance(input: PhaseInput): boolean {
    const next = PHASES[this.role][this.phase]?.[input];
    if (next === undefined) return false;
    this.phase = next;
    return true;
  }

  private onHeader(h: ProtocolHeader): void {
    const input = HEADER_INPUT[h.protocolId];
    if (this.role === 'server' && this.phase === 'header') {
      const offered = this.options.saslServer;
      if (input === 'sasl-header' && !offered) return this.headerMismatch(mismatch(h));
      if (input === 'amqp-header' && offered?.required) {
        // Spec 5.1: the SASL header answers, then the connection closes: no way round the credentials.
        this.error = new AuthenticationError(
          'AMQP_SASL_REQUIRED',
          'the client skipped SASL (bare AMQP header) and this server requires it',
        );
        return this.headerMismatch(mismatch(h));
      }
    }
    if (this.role === 'client' && input === 'sasl-header' && !this.options.sasl && !this.error)
      this.error = new AuthenticationError(
        'AMQP_SASL_REQUIRED',
        'the server requires SASL; this client skipped it',
      );
    if (!input || !this.advance(input)) return this.headerMismatch(mismatch(h));
    if (this.role === 'client') return;
    if (this.phase === 'sasl') {
      this.output.header(PROTOCOL_ID_SASL);
      this.saslServer = new SaslServer(this.options.saslServer!.mechanisms, {
        externalIdentity: this.options.externalIdentity,
      });
      this.output.sasl(this.saslServer.mechanismsFrame());
    } else {
      // Answer with the AMQP header; what was held (an early open) follows it.
      this.output.header(PROTOCOL_ID_AMQP);
      this.output.release();
    }
  }

  /** Spec 2.2: a server answers a header it does not speak with the one it does, then closes. */
  private headerMismatch(e: ProtocolHeaderMismatchError): void {
    if (this.role === 'server') {
      const sasl = this.options.saslServer && this.phase === 'header';
      this.output.header(sasl ? PROTOCOL_ID_SASL : PROTOCOL_ID_AMQP);
    }
    if (!this.error) this.error = e;
    this.emit({
      type: 'protocol-violation',
      scope: 'connection',
      condition: Condition.FramingError,
      description: e.message,
    });
    this.finish();
  }

  private onSaslFrame(f: Frame): void {
    if (this.phase !== 'sasl')
      return this.violation(Condition.NotAllowed, 'SASL frame outside SASL negotiation');
    const rec = decodeComposite(f.body, 0, f.body.length).value;
    if (framesWanted(this.log)) onFrame(this.log, this.id, '<-', 0, rec);
    if (this.saslServer) {
      const r = this.saslServer.onFrame(rec);
      if (r.reply) this.output.sasl(r.reply);
      if (r.done === 'ok') {
        this.saslIdentity = r.identity;
        this.emit({ type: 'sasl-done', mechanism: r.mechanism!, identity: r.identity! });
        this.advance('sasl-ok');
        this.reader.expectHeader();
      } else if (r.done === 'fail') {
        this.error = r.error;
        this.saslFailed();
        this.finish();
      }
      return;
    }
    const r = this.saslClient!.onFrame(rec);
    if (r.reply) this.output.sasl(r.reply);
    if (r.done === 'ok') {
      this.saslIdentity = r.mechanism;
      this.emit({ type: 'sasl-done', mechanism: r.mechanism!, identity: r.mechanism! });
      this.output.header(PROTOCOL_ID_AMQP);
      this.reader.expectHeader();
      // The AMQP header is sent: open, begin and attach follow at once (pipelined).
      this.advance('sasl-ok');
      this.saslClient = undefined;
      this.output.release();
    } else if (r.done === 'fail') {
      this.error = r.error;
      this.saslFailed();
      this.finish();
    }
  }

  private saslFailed(): void {
    // The error says which mechanism and outcome code: never what was sent.
    if (this.log.enabled('warn', 'sasl'))
      this.log.write('warn', 'sasl', 'SASL failed', { error: errorFields(this.error) });
  }

  private onAmqpFrame(f: Frame): void {
    if (this.phase !== 'frames')
      return this.violation(Condition.NotAllowed, 'AMQP frame before the AMQP header');
    const body = f.body;
    if (body.length === 0) return; // heartbeat
    const { value: rec, offset } = decodeComposite(body, 0, body.length);
    const payload = offset < body.length ? body.subarray(offset) : EMPTY;
    if (framesWanted(this.log)) onFrame(this.log, this.id, '<-', f.channel, rec, payload.length);
    // After we sent close, only the peer's close matters (spec 2.4.3); and its open, which
    // releases frames (our close among them) that waited for its max-frame-size.
    if (this.local === 'closed' && rec.type !== 'close' && rec.type !== 'open') return;
    switch (rec.type) {
      case 'open':
        return this.onOpen(rec);
      case 'close':
        return this.onClose(rec);
      case 'begin':
        return this.onBegin(f.channel, rec);
      case 'attach':
      case 'flow':
      case 'transfer':
      case 'disposition':
      case 'detach':
      case 'end':
        break;
      default:
        return this.violation(Condition.NotAllowed, `${rec.type} is not a performative`);
    }
    if (this.remote !== 'open') return this.violation(Condition.NotAllowed, `${rec.type} before open`);
    const s = this.byRemoteChannel.get(f.channel);
    if (!s) {
      // Spec 2.7.1: a channel beyond our channel-max is a framing error; an unused one is not allowed.
      const condition = f.channel > this.channelMax ? Condition.FramingError : Condition.NotAllowed;
      return this.violation(condition, `${rec.type} on channel ${f.channel}, which has no session`);
    }
    if (rec.type === 'end') {
      this.byRemoteChannel.delete(f.channel);
      return s.onEnd(rec);
    }
    if (s.local === 'detached') return; // we ended it: only the peer's end matters now
    switch (rec.type) {
      case 'attach':
        return s.onAttach(rec);
      case 'flow':
        return s.onFlow(rec);
      case 'transfer':
        return s.onTransfer(rec, payload);
      case 'disposition':
        return s.onDisposition(rec);
      case 'detach':
        return s.onDetach(rec);
    }
  }

  private onOpen(o: Open): void {
    if (this.remote !== 'unopened') return this.violation(Condition.NotAllowed, 'a second open');
    this.remoteOpen = o;
    this.remote = 'open';
    this.remoteChannelMax = o.channelMax ?? 0xffff;
    this.remoteIdleTimeoutMs = o.idleTimeOut ?? 0;
    const mfs = o.maxFrameSize ?? 0xffffffff;
    if (mfs < MIN_MAX_FRAME_SIZE) {
      // Frames waiting for the peer's limit can never fit it; only our close goes out.
      this.remoteMaxFrameSize = MIN_MAX_FRAME_SIZE;
      this.output.dropHeld();
      this.output.peerOpened(MIN_MAX_FRAME_SIZE);
      return this.violation(Condition.InvalidField, `max-frame-size ${mfs} is below the minimum of 512`);
    }
    this.remoteMaxFrameSize = mfs;
    this.emit({ type: 'connection-remote-open' });
    this.output.peerOpened(mfs);
  }

  private onClose(c: Close): void {
    this.remote = 'closed';
    const err = c.error ? remoteError('connection', c.error) : undefined;
    if (err && !this.error) this.error = err;
    if (this.local !== 'closed') this.close();
    this.emit({ type: 'connection-closed', error: err });
    this.finish();
  }

  private onBegin(channel: number, b: Begin): void {
    if (this.remote !== 'open') return this.violation(Condition.NotAllowed, 'begin before open');
    if (channel > this.channelMax) {
      return this.violation(
        Condition.FramingError,
        `channel ${channel} exceeds channel-max ${this.channelMax}`,
      );
    }
    if (this.byRemoteChannel.has(channel))
      return this.violation(Condition.NotAllowed, `channel ${channel} is in use`);
    let s: Session | undefined;
    if (b.remoteChannel !== undefined) {
      s = this.sessions[b.remoteChannel];
      if (!s || s.remote !== 'unattached') {
        return this.violation(
          Condition.NotAllowed,
          `begin answers channel ${b.remoteChannel}, where we began no session`,
        );
      }
    } else {
      let ch: number;
      try {
        ch = this.allocateChannel();
      } catch {
        return this.violation(Condition.ResourceLimitExceeded, 'no channel left for another session');
      }
      s = new Session(this, ch, this.options.sessionDefaults);
      this.sessions[ch] = s;
    }
    s.remoteChannel = channel;
    this.byRemoteChannel.set(channel, s);
    s.onBegin(b);
    this.emit({ type: b.remoteChannel === undefined ? 'session-remote-open' : 'session-opened', session: s });
  }

  /** @internal */
  sessionEnded(s: Session): void {
    if (s.local === 'detached' && s.remote === 'detached') {
      if (this.sessions[s.channel] === s) this.sessions[s.channel] = undefined;
      this.emit({ type: 'session-closed', session: s });
    }
  }

  /** @internal The peer broke a connection rule: close with the condition (spec 2.8.15). */
  violation(condition: string, description: string, cause?: unknown): void {
    if (this.phase === 'done') return;
    this.emit({ type: 'protocol-violation', scope: 'connection', condition, description });
    if (!this.error) this.error = new ConnectionError({ condition, description }, false, { cause });
    if (this.phase === 'frames') this.close({ condition, description });
    else this.finish(); // no AMQP frames can be exchanged yet: just stop
  }

  private finish(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.output.dropHeld();
    this.output.dirty = true;
    this.emit({ type: 'transport-done', error: this.error });
  }
}

/** A valid protocol header we do not accept here, as the typed mismatch error. */
function mismatch(h: ProtocolHeader): ProtocolHeaderMismatchError {
  return new ProtocolHeaderMismatchError(
    fromValues([0x41, 0x4d, 0x51, 0x50, h.protocolId, 1, 0, 0]),
    'protocol-id',
  );
}

const EMPTY = alloc(0) as Buffer;
