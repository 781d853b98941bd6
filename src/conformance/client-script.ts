/**
 * A scripted AMQP client on top of a RawPeer: just enough connection, session and link state to
 * walk a server to the point a case tests (SASL, open, begin, attach, transfers, flow), while every
 * frame stays under the case's control. It follows the server's frames as they arrive: credit,
 * windows, deliveries, dispositions, detaches, ends and closes.
 */
import { decodeMessage, encodeMessage } from '../codec/message.js';
import { Role } from '../link/link.js';
import type {
  AmqpErrorRecord,
  Attach,
  Begin,
  Close,
  DeliveryState,
  Detach,
  Disposition,
  End,
  Flow,
  Open,
  Source,
  Target,
  Transfer,
} from '../codec/spec/records.js';
import { isFrame, isHeader, type RawPeer, type WireItem } from './raw-peer.js';
import { failNow, notApplicableNow } from './types.js';

/** A delivery the server sent us, assembled from its transfer frames. */
export interface InDelivery {
  id: number;
  tag?: Buffer;
  settled: boolean;
  frames: number;
  /** All frames arrived (the last had more=false), or it was aborted. */
  complete: boolean;
  aborted: boolean;
  chunks: Buffer[];
  first: Transfer;
}

export class ScriptLink {
  remoteAttach: Attach | undefined;
  /** The server's detach, when it sent one. */
  remoteDetach: Detach | undefined;
  /** Our delivery-count: deliveries we sent (sender) or received (receiver). */
  deliveryCount = 0;
  /** Sender: credit the server left us (from its last flow). Receiver: credit we granted last. */
  credit = 0;
  /** The server's flows for this link. */
  readonly flows: Flow[] = [];
  /** Receiver: deliveries received, in order. */
  readonly deliveries: InDelivery[] = [];

  constructor(
    readonly session: ScriptSession,
    readonly handle: number,
    readonly name: string,
    readonly role: 'sender' | 'receiver',
  ) {}

  /** Receiver: deliveries received in full (aborted ones left out). */
  get complete(): InDelivery[] {
    return this.deliveries.filter((d) => d.complete && !d.aborted);
  }
}

export class ScriptSession {
  remoteBegin: Begin | undefined;
  remoteChannel: number | undefined;
  remoteEnd: End | undefined;
  nextOutgoingId = 0;
  nextDeliveryId = 0;
  /** The server's next-outgoing-id as we have counted its transfer frames. */
  nextIncomingId = 0;
  /** Transfer frames the server sent on this session. */
  transfersIn = 0;
  /** Our next-outgoing-id at which the server's window is full (from its begin or last flow). */
  remoteLimit = 0;
  readonly links = new Map<number, ScriptLink>();
  readonly byRemoteHandle = new Map<number, ScriptLink>();
  /** The server's dispositions (for deliveries we sent, mostly). */
  readonly dispositions: Disposition[] = [];
  /** The server's session flows (no handle). */
  readonly flows: Flow[] = [];

  constructor(
    readonly script: ClientScript,
    readonly channel: number,
    readonly begin: Begin,
  ) {}

  /** Transfer frames the server's window still takes, as far as we know. */
  get remoteWindow(): number {
    return (this.remoteLimit - this.nextOutgoingId) | 0;
  }

  /** The disposition (from the server, as receiver) that covers our delivery `id`, if any. */
  dispositionFor(id: number, settledOnly = false): Disposition | undefined {
    return this.dispositions.find(
      (d) =>
        d.role === Role.Receiver && d.first <= id && id <= (d.last ?? d.first) && (!settledOnly || d.settled),
    );
  }
}

export interface AttachOptions {
  role: 'sender' | 'receiver';
  address: string;
  name?: string;
  handle?: number;
  sndSettleMode?: number;
  rcvSettleMode?: number;
  source?: Partial<Source>;
  target?: Partial<Target>;
}

export interface SendOptions {
  settled?: boolean;
  /** Largest frame we write (the server's max-frame-size applies too). */
  frameSize?: number;
  tag?: Buffer;
}

export interface ScriptOptions {
  timeoutMs: number;
  username?: string;
  password?: string;
  /** The open's hostname (the virtual host). */
  hostname?: string;
  containerId?: string;
}

let linkSerial = 0;

export class ClientScript {
  remoteOpen: Open | undefined;
  remoteClose: Close | undefined;
  readonly sessions = new Map<number, ScriptSession>();
  private readonly byRemoteChannel = new Map<number, ScriptSession>();
  /** The SASL mechanism used, when SASL was. */
  mechanism: string | undefined;
  private closeSent = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly peer: RawPeer,
    readonly options: ScriptOptions,
  ) {
    peer.onItem((i) => this.track(i));
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** The server's max-frame-size (512 until its open arrives). */
  get remoteMaxFrameSize(): number {
    return this.remoteOpen ? (this.remoteOpen.maxFrameSize ?? 0xffffffff) : 512;
  }

  // ------------------------------------------------------------------ state from the server's frames

  private track(i: WireItem): void {
    if (i.kind === 'closed') return this.stopHeartbeats();
    if (i.kind !== 'frame' || !i.rec) return;
    const rec = i.rec;
    switch (rec.type) {
      case 'open':
        this.remoteOpen = rec;
        return;
      case 'close':
        this.remoteClose = rec;
        return;
      case 'begin': {
        const s = rec.remoteChannel === undefined ? undefined : this.sessions.get(rec.remoteChannel);
        if (!s) return;
        s.remoteBegin = rec;
        s.remoteChannel = i.channel;
        s.nextIncomingId = rec.nextOutgoingId;
        s.remoteLimit = (s.begin.nextOutgoingId + rec.incomingWindow) | 0;
        this.byRemoteChannel.set(i.channel, s);
        return;
      }
    }
    const s = this.byRemoteChannel.get(i.channel);
    if (!s) return;
    switch (rec.type) {
      case 'end':
        s.remoteEnd = rec;
        return;
      case 'attach': {
        const l = [...s.links.values()].find((x) => x.name === rec.name && !x.remoteAttach);
        if (!l) return;
        l.remoteAttach = rec;
        s.byRemoteHandle.set(rec.handle, l);
        if (l.role === 'receiver') l.deliveryCount = rec.initialDeliveryCount ?? 0;
        return;
      }
      case 'detach': {
        const l = s.byRemoteHandle.get(rec.handle);
        if (l) l.remoteDetach = rec;
        return;
      }
      case 'flow': {
        s.remoteLimit = ((rec.nextIncomingId ?? 0) + rec.incomingWindow) | 0;
        if (rec.handle === undefined) return void s.flows.push(rec);
        const l = s.byRemoteHandle.get(rec.handle);
        if (!l) return;
        l.flows.push(rec);
        if (l.role === 'sender') {
          l.credit = ((rec.deliveryCount ?? 0) + (rec.linkCredit ?? 0) - l.deliveryCount) | 0;
        }
        return;
      }
      case 'transfer': {
        s.nextIncomingId = (s.nextIncomingId + 1) | 0;
        s.transfersIn++;
        const l = s.byRemoteHandle.get(rec.handle);
        if (!l) return;
        const last = l.deliveries[l.deliveries.length - 1];
        if (last && !last.complete) {
          last.frames++;
          last.chunks.push(Buffer.from(i.payload));
          if (rec.settled) last.settled = true;
          if (rec.aborted) last.aborted = true;
          last.complete = !rec.more || rec.aborted === true;
        } else {
          l.deliveryCount = (l.deliveryCount + 1) | 0;
          l.credit--;
          l.deliveries.push({
            id: rec.deliveryId ?? -1,
            tag: rec.deliveryTag,
            settled: rec.settled === true,
            frames: 1,
            complete: !rec.more || rec.aborted === true,
            aborted: rec.aborted === true,
            chunks: [Buffer.from(i.payload)],
            first: rec,
          });
        }
        return;
      }
      case 'disposition':
        s.dispositions.push(rec);
        return;
    }
  }

  /** What the server said when it ended things, for failure reasons. */
  errorSummary(): string {
    const parts: string[] = [];
    for (const f of this.peer.frames()) {
      const r = f.rec;
      if ((r.type === 'close' || r.type === 'end' || r.type === 'detach') && r.error) {
        parts.push(`${r.type} ${describeError(r.error)}`);
      } else if (r.type === 'close' || r.type === 'end') parts.push(`${r.type} without error`);
    }
    if (this.peer.isClosed) parts.push('socket closed');
    return parts.length > 0 ? ` (server: ${parts.join('; ')})` : '';
  }

  // ------------------------------------------------------------------ connection

  /** SASL: our header, the server's header and mechanisms, our init, its outcome (must be ok). */
  async sasl(): Promise<void> {
    const { peer, timeoutMs } = this;
    peer.header(3);
    const h = await peer.take(isHeader, timeoutMs);
    if (!h) failNow(`no protocol header in answer to the SASL header${this.errorSummary()}`);
    if (h.protocolId !== 3) failNow(`answered the SASL header with ${h.bytes.toString('hex')}`);
    const mechs = await peer.take(isFrame('sasl-mechanisms'), timeoutMs);
    if (!mechs) failNow(`no sasl-mechanisms${this.errorSummary()}`);
    const offered = mechs.rec.saslServerMechanisms.map(String);
    const { username, password } = this.options;
    let mechanism: string;
    if (username !== undefined && offered.includes('PLAIN')) mechanism = 'PLAIN';
    else if (offered.includes('ANONYMOUS')) mechanism = 'ANONYMOUS';
    else if (offered.includes('PLAIN') && username !== undefined) mechanism = 'PLAIN';
    else return notApplicableNow(`no usable SASL mechanism offered (${offered.join(', ')}); give a user`);
    this.mechanism = mechanism;
    const initialResponse =
      mechanism === 'PLAIN'
        ? Buffer.from(`\0${username ?? ''}\0${password ?? ''}`, 'utf8')
        : Buffer.from('amqp-one-conformance', 'utf8');
    peer.frame(0, { type: 'sasl-init', mechanism, initialResponse, hostname: this.options.hostname });
    const outcome = await peer.take(isFrame('sasl-outcome'), timeoutMs);
    if (!outcome) failNow(`no sasl-outcome${this.errorSummary()}`);
    if (outcome.rec.code !== 0) failNow(`SASL ${mechanism} refused with code ${outcome.rec.code}`);
  }

  /** Our AMQP header, then the server's. */
  async amqpHeader(): Promise<void> {
    this.peer.header(0);
    const h = await this.peer.take(isHeader, this.timeoutMs);
    if (!h) failNow(`no protocol header in answer to the AMQP header${this.errorSummary()}`);
    if (h.protocolId !== 0) failNow(`answered the AMQP header with ${h.bytes.toString('hex')}`);
  }

  /** Our open, then the server's. */
  async open(fields: Partial<Open> = {}): Promise<Open> {
    this.peer.frame(0, this.openFrame(fields));
    const o = await this.peer.take(isFrame('open'), this.timeoutMs);
    if (!o) failNow(`no open in answer to ours${this.errorSummary()}`);
    return o.rec;
  }

  openFrame(fields: Partial<Open> = {}): Open {
    return {
      type: 'open',
      containerId: this.options.containerId ?? `amqp-one-conformance-${process.pid}`,
      hostname: this.options.hostname,
      ...fields,
    };
  }

  /**
   * Sends an empty frame every `ms` until the socket closes or `stopHeartbeats`: for cases that
   * idle longer than the server's idle-time-out allows.
   */
  startHeartbeats(ms: number): void {
    this.stopHeartbeats();
    if (ms <= 0) return;
    this.heartbeatTimer = setInterval(() => this.peer.heartbeat(), ms);
    this.heartbeatTimer.unref();
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Keeps the connection alive through the server's idle-time-out, if it announced one. */
  keepAlive(): void {
    const t = this.remoteOpen?.idleTimeOut ?? 0;
    if (t > 0) this.startHeartbeats(Math.max(50, Math.floor(t / 2)));
  }

  /** At the end of a case: close an open connection and wait up to `ms` for the answer. */
  async closeQuietly(ms: number): Promise<void> {
    this.stopHeartbeats();
    const p = this.peer;
    if (p.isClosed || !this.remoteOpen || this.remoteClose) return;
    if (this.closeSent) return void (await p.waitClosed(ms));
    p.note('end of the case: closing');
    p.frame(0, { type: 'close' });
    this.closeSent = true;
    await p.waitFor(() => p.isClosed || this.remoteClose !== undefined, ms);
  }

  async close(error?: AmqpErrorRecord): Promise<Close | undefined> {
    this.closeSent = true;
    this.peer.frame(0, { type: 'close', error });
    const c = await this.peer.take(isFrame('close'), this.timeoutMs);
    return c?.rec;
  }

  // ------------------------------------------------------------------ sessions

  /** Sends begin on `channel` (does not wait). */
  sendBegin(channel = 0, fields: Partial<Begin> = {}): ScriptSession {
    const begin: Begin = {
      type: 'begin',
      nextOutgoingId: 0,
      incomingWindow: 2048,
      outgoingWindow: 0x7fffffff,
      ...fields,
    };
    const s = new ScriptSession(this, channel, begin);
    s.nextOutgoingId = begin.nextOutgoingId;
    this.sessions.set(channel, s);
    this.peer.frame(channel, begin);
    return s;
  }

  /** Begin on `channel` and the server's answering begin. */
  async begin(channel = 0, fields: Partial<Begin> = {}): Promise<ScriptSession> {
    const s = this.sendBegin(channel, fields);
    const b = await this.peer.take(
      isFrame('begin', (r) => r.remoteChannel === channel),
      this.timeoutMs,
    );
    if (!b) failNow(`no begin in answer to ours on channel ${channel}${this.errorSummary()}`);
    return s;
  }

  async end(s: ScriptSession, error?: AmqpErrorRecord): Promise<End | undefined> {
    this.peer.frame(s.channel, { type: 'end', error });
    const e = await this.peer.take(
      isFrame('end', (_r, f) => f.channel === s.remoteChannel),
      this.timeoutMs,
    );
    return e?.rec;
  }

  /** A session flow (no handle): our window and counters. */
  sessionFlow(s: ScriptSession, fields: Partial<Flow> = {}): void {
    this.peer.frame(s.channel, {
      type: 'flow',
      nextIncomingId: s.nextIncomingId,
      incomingWindow: s.begin.incomingWindow,
      nextOutgoingId: s.nextOutgoingId,
      outgoingWindow: s.begin.outgoingWindow,
      ...fields,
    });
  }

  // ------------------------------------------------------------------ links

  /** Sends attach (does not wait). */
  sendAttach(s: ScriptSession, o: AttachOptions): ScriptLink {
    const handle = o.handle ?? firstFreeHandle(s);
    const name = o.name ?? `amqp-one-conformance-${o.role}-${++linkSerial}`;
    const l = new ScriptLink(s, handle, name, o.role);
    s.links.set(handle, l);
    const sender = o.role === 'sender';
    this.peer.frame(s.channel, {
      type: 'attach',
      name,
      handle,
      role: sender ? Role.Sender : Role.Receiver,
      sndSettleMode: o.sndSettleMode,
      rcvSettleMode: o.rcvSettleMode,
      source: sender
        ? { type: 'source', address: 'amqp-one-conformance', ...o.source }
        : { type: 'source', address: o.address, ...o.source },
      target: sender
        ? { type: 'target', address: o.address, ...o.target }
        : { type: 'target', address: 'amqp-one-conformance', ...o.target },
      initialDeliveryCount: sender ? 0 : undefined,
    });
    return l;
  }

  /** Attach and the server's answer (of any content). */
  async attach(s: ScriptSession, o: AttachOptions): Promise<ScriptLink> {
    const l = this.sendAttach(s, o);
    const ok = await this.peer.waitFor(() => l.remoteAttach !== undefined, this.timeoutMs);
    if (!ok) failNow(`no attach in answer to ours (${o.role} for ${o.address})${this.errorSummary()}`);
    return l;
  }

  /** Attach, and fail the case unless the server really attached a node (it did not refuse). */
  async attachOrFail(s: ScriptSession, o: AttachOptions): Promise<ScriptLink> {
    const l = await this.attach(s, o);
    const a = l.remoteAttach!;
    const refused = o.role === 'sender' ? !a.target : !a.source;
    if (refused) {
      await this.peer.waitFor(() => l.remoteDetach !== undefined, 200);
      failNow(
        `the server refused the ${o.role} link to ${o.address}` +
          (l.remoteDetach?.error ? `: ${describeError(l.remoteDetach.error)}` : '') +
          this.errorSummary(),
      );
    }
    return l;
  }

  /** Link flow: receiver → credit (relative to our delivery-count), drain, echo. */
  flow(l: ScriptLink, fields: { credit?: number; drain?: boolean; echo?: boolean } = {}): void {
    const s = l.session;
    if (fields.credit !== undefined) l.credit = fields.credit;
    this.peer.frame(s.channel, {
      type: 'flow',
      nextIncomingId: s.remoteBegin ? s.nextIncomingId : undefined,
      incomingWindow: s.begin.incomingWindow,
      nextOutgoingId: s.nextOutgoingId,
      outgoingWindow: s.begin.outgoingWindow,
      handle: l.handle,
      deliveryCount: l.deliveryCount,
      linkCredit: fields.credit ?? Math.max(0, l.credit),
      drain: fields.drain,
      echo: fields.echo,
    });
  }

  /** Waits for the server to give our sender `min` credit. */
  async waitCredit(l: ScriptLink, min = 1): Promise<void> {
    if (!(await this.peer.waitFor(() => l.credit >= min, this.timeoutMs))) {
      failNow(
        `the server gave our sender ${Math.max(0, l.credit)} credit, ${min} needed${this.errorSummary()}`,
      );
    }
  }

  /**
   * Sends one message (its encoded bytes) on sender link `l`, split into frames of at most
   * `frameSize` bytes (and the server's max-frame-size). Returns the delivery id.
   */
  send(l: ScriptLink, bytes: Buffer, o: SendOptions = {}): number {
    const s = l.session;
    const id = s.nextDeliveryId;
    s.nextDeliveryId = (id + 1) | 0;
    const tag = o.tag ?? Buffer.from(`d${id}`);
    const maxFrame = Math.min(o.frameSize ?? 0xffffffff, this.remoteMaxFrameSize);
    // Room for the frame header and the first transfer's performative (the largest of them).
    const room = Math.max(1, maxFrame - 8 - 40 - tag.length);
    this.peer.batch(() => {
      let offset = 0;
      let first = true;
      do {
        const chunk = bytes.subarray(offset, offset + room);
        offset += chunk.length;
        const more = offset < bytes.length;
        const t: Transfer = first
          ? {
              type: 'transfer',
              handle: l.handle,
              deliveryId: id,
              deliveryTag: tag,
              messageFormat: 0,
              settled: o.settled ?? false,
              more,
            }
          : { type: 'transfer', handle: l.handle, more };
        this.peer.frame(s.channel, t, chunk);
        s.nextOutgoingId = (s.nextOutgoingId + 1) | 0;
        first = false;
      } while (offset < bytes.length);
    });
    l.deliveryCount = (l.deliveryCount + 1) | 0;
    l.credit--;
    return id;
  }

  /**
   * One transfer frame with exactly `fields` (for partial and aborted deliveries): counters move as
   * the frame says (a delivery-id starts a delivery).
   */
  transferFrame(l: ScriptLink, fields: Partial<Transfer>, payload?: Buffer): void {
    const s = l.session;
    const t: Transfer = { type: 'transfer', handle: l.handle, ...fields };
    if (t.deliveryId !== undefined) {
      s.nextDeliveryId = (t.deliveryId + 1) | 0;
      l.deliveryCount = (l.deliveryCount + 1) | 0;
      l.credit--;
    }
    this.peer.frame(s.channel, t, payload);
    s.nextOutgoingId = (s.nextOutgoingId + 1) | 0;
  }

  /** Sends messages on `l` as credit allows, and waits until the server settled each (accepted). */
  async sendAll(l: ScriptLink, messages: Buffer[], o: SendOptions = {}): Promise<number[]> {
    const ids: number[] = [];
    for (const m of messages) {
      await this.waitCredit(l);
      ids.push(this.send(l, m, o));
    }
    if (o.settled) return ids;
    const s = l.session;
    const settled = await this.peer.waitFor(() => ids.every((id) => s.dispositionFor(id)), this.timeoutMs);
    if (!settled) failNow(`the server did not settle ${ids.length} message(s) we sent${this.errorSummary()}`);
    for (const id of ids) {
      const state = s.dispositionFor(id)!.state;
      if (state?.type !== 'accepted') failNow(`the server answered our message with ${describeState(state)}`);
    }
    return ids;
  }

  /**
   * Puts `messages` on the queue at `address` through a link of its own (attach, send, wait for
   * every outcome, detach): setup for the cases that receive.
   */
  async fill(s: ScriptSession, address: string, messages: Buffer[]): Promise<void> {
    const l = await this.attachOrFail(s, { role: 'sender', address });
    await this.sendAll(l, messages);
    await this.detach(l);
  }

  async detach(
    l: ScriptLink,
    fields: { closed?: boolean; error?: AmqpErrorRecord } = {},
  ): Promise<Detach | undefined> {
    this.peer.frame(l.session.channel, {
      type: 'detach',
      handle: l.handle,
      closed: fields.closed ?? true,
      error: fields.error,
    });
    await this.peer.waitFor(() => l.remoteDetach !== undefined, this.timeoutMs);
    return l.remoteDetach;
  }

  /** Our disposition (as receiver) for deliveries first..last. */
  dispose(s: ScriptSession, first: number, last: number, state: DeliveryState, settled = true): void {
    this.peer.frame(s.channel, {
      type: 'disposition',
      role: Role.Receiver,
      first,
      last: last === first ? undefined : last,
      settled,
      state,
    });
  }

  /** Waits until receiver `l` has `n` complete deliveries; true if it has. */
  receive(l: ScriptLink, n: number, timeoutMs = this.timeoutMs): Promise<boolean> {
    return this.peer.waitFor(() => l.complete.length >= n, timeoutMs);
  }
}

function firstFreeHandle(s: ScriptSession): number {
  let h = 0;
  while (s.links.has(h)) h++;
  return h;
}

export function describeError(e: AmqpErrorRecord): string {
  return `${e.condition}${e.description ? ` (${e.description})` : ''}`;
}

export function describeState(state: DeliveryState | undefined): string {
  if (!state) return 'no outcome';
  if (state.type === 'rejected' && state.error) return `rejected: ${describeError(state.error)}`;
  return state.type;
}

/** A message whose body is one data section of `bytes`. */
export function dataMessage(bytes: Buffer): Buffer {
  return encodeMessage({ body: bytes });
}

/** A message whose body is the string `text` (an amqp-value). */
export function textMessage(text: string): Buffer {
  return encodeMessage({ body: text });
}

/** The body of a received delivery (its frames joined), or undefined when it does not decode. */
export function bodyOf(d: InDelivery): unknown {
  try {
    return decodeMessage(Buffer.concat(d.chunks)).body;
  } catch {
    return undefined;
  }
}

/** The header section of a received delivery, if it has one and decodes. */
export function headerOf(d: InDelivery): { deliveryCount?: number } | undefined {
  try {
    return decodeMessage(Buffer.concat(d.chunks)).header;
  } catch {
    return undefined;
  }
}

/** A payload whose every byte depends on its offset: a lost, doubled or moved chunk shows. */
export function patterned(size: number, seed = 11): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return b;
}
