/**
 * A session: a channel pair with transfer windows (spec 2.5.6), the link handle maps, delivery
 * ids, and the batching of dispositions into ranges.
 */
import { allocUnsafe } from '../codec/bytes.js';
import { AmqpOneError } from '../codec/errors.js';
import type {
  Attach,
  Begin,
  Detach,
  Disposition,
  End,
  Fields,
  Flow,
  Transfer,
} from '../codec/spec/records.js';
import type { Performative } from '../codec/spec/records.js';
import { Condition } from '../protocol/conditions.js';
import type { Connection } from '../connection/connection.js';
import {
  SessionError,
  remoteError,
  toErrorRecord,
  type AmqpError,
  type ProtocolError,
} from '../protocol/errors.js';
import type { Delivery, OutgoingStream } from '../link/delivery.js';
import { Role, type EndpointState, type Link, type LinkOptions } from '../link/link.js';
import { Receiver } from '../link/receiver.js';
import { Sender } from '../link/sender.js';
import { DeliveryIdMap } from './delivery-map.js';
import { coalesce, deliveriesInRange, type PendingDisposition } from './dispositions.js';
import { opt, type OptionSchema } from '../protocol/options.js';

/** Options of a session's begin: windows and handle max. */
export interface SessionOptions {
  /** Transfer frames the peer may send before we widen the window again (default 2048). */
  incomingWindow?: number;
  /** The outgoing window we announce (default 2^31 - 1: we never hold frames back ourselves). */
  outgoingWindow?: number;
  /** The highest link handle we accept (default 1023). */
  handleMax?: number;
  properties?: Fields;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
}

export const SESSION_OPTIONS = {
  incomingWindow: opt.number,
  outgoingWindow: opt.number,
  handleMax: opt.number,
  properties: opt.object,
  offeredCapabilities: opt.array,
  desiredCapabilities: opt.array,
} satisfies OptionSchema<SessionOptions>;

const MAX_WINDOW = 0x7fffffff;
/** A streamed delivery's frames carry this much at most (less if the peer's frames are smaller). */
const STREAM_FRAME_BYTES = 256 * 1024;
const EMPTY_PAYLOAD = allocUnsafe(0) as Buffer;

/** Joins the stream's first `want` bytes into one buffer at the front of its chunks. */
function joinFront(st: OutgoingStream, want: number): Buffer {
  const out = allocUnsafe(want) as Buffer;
  let k = 0;
  while (k < want) {
    const c = st.chunks[0]!;
    const take = Math.min(c.length - st.offset, want - k);
    out.set(c.subarray(st.offset, st.offset + take), k);
    k += take;
    st.offset += take;
    if (st.offset === c.length) {
      st.chunks.shift();
      st.offset = 0;
    }
  }
  // The joined bytes go first, from offset 0: a chunk taken in part keeps only its rest.
  if (st.offset > 0) st.chunks[0] = st.chunks[0]!.subarray(st.offset);
  st.offset = 0;
  st.chunks.unshift(out);
  return out;
}
/** Our first transfer-id; the peer's flow omits next-incoming-id until it saw our begin (2.5.6). */
const INITIAL_OUTGOING_ID = 0;

/** The engine's session: windows, handles, delivery ids. */
export class Session {
  local: EndpointState = 'unattached';
  remote: EndpointState = 'unattached';
  remoteChannel = -1;
  remoteBegin: Begin | undefined;
  error: ProtocolError | undefined;
  context: unknown;

  // Windows and counters (spec 2.5.6).
  nextOutgoingId = INITIAL_OUTGOING_ID;
  nextIncomingId = 0;
  incomingWindow: number;
  remoteIncomingWindow = 0;
  remoteOutgoingWindow = 0;
  private readonly incomingWindowSize: number;
  /**
   * @internal Frames streaming receivers handed on that their readers have not released: the window we
   * grant is what is left of ours beside them, so frames held never exceed the window.
   */
  heldFrames = 0;
  private readonly outgoingWindow: number;
  readonly handleMax: number;
  private nextDeliveryId = 0;

  /** Links by our handle, and by the peer's. */
  private readonly links: (Link | undefined)[] = [];
  private readonly byRemoteHandle = new Map<number, Link>();
  private readonly outgoingUnsettled = new DeliveryIdMap();
  private readonly incomingUnsettled = new DeliveryIdMap();
  private pendingDispositions: PendingDisposition[] = [];
  private readonly pumpSet = new Set<Sender>();
  private sessionFlowPending = false;

  constructor(
    readonly connection: Connection,
    readonly channel: number,
    readonly options: SessionOptions = {},
  ) {
    this.incomingWindowSize = options.incomingWindow ?? 2048;
    this.incomingWindow = this.incomingWindowSize;
    this.outgoingWindow = options.outgoingWindow ?? MAX_WINDOW;
    this.handleMax = options.handleMax ?? 1023;
  }

  /** True once both begins were exchanged and neither side has ended. */
  get isOpen(): boolean {
    return this.local === 'attached' && this.remote === 'attached';
  }

  /** Writes our begin (answering the peer's, if it began first). */
  begin(): void {
    if (this.local !== 'unattached') return;
    this.local = 'attached';
    const o = this.options;
    this.write({
      type: 'begin',
      remoteChannel: this.remoteChannel >= 0 ? this.remoteChannel : undefined,
      nextOutgoingId: this.nextOutgoingId,
      incomingWindow: this.incomingWindow,
      outgoingWindow: this.outgoingWindow,
      handleMax: this.handleMax,
      offeredCapabilities: o.offeredCapabilities,
      desiredCapabilities: o.desiredCapabilities,
      properties: o.properties,
    });
  }

  /** Ends the session, with an error if given. */
  end(error?: AmqpError): void {
    if (this.local === 'detached') return;
    if (this.local === 'unattached') this.begin();
    // What is pending still goes out, unless the peer already ended (it would not read it).
    if (this.remote === 'attached') this.flush();
    this.local = 'detached';
    if (error && !this.error) this.error = new SessionError(error, false);
    this.write({ type: 'end', error: error ? toErrorRecord(error) : undefined });
    this.endLinks();
    this.connection.sessionEnded(this);
  }

  /** Ending a session detaches its links (spec 2.5.5); once both ends are gone, they are closed. */
  private endLinks(): void {
    if (this.local !== 'detached' || this.remote !== 'detached') return;
    for (const l of this.links) {
      if (!l || (l.local === 'detached' && l.remote === 'detached')) continue;
      l.local = 'detached';
      l.remote = 'detached';
      if (l instanceof Receiver) {
        l.dropPartial();
        l.releaseCredit();
        l.releaseFrames(l.heldFrames);
      }
      if (!l.error && this.error) l.error = this.error;
      this.connection.emit({ type: 'link-closed', link: l });
    }
    this.links.length = 0;
    this.byRemoteHandle.clear();
    this.pumpSet.clear();
    // Nothing can settle these any more: their room goes back to the connection's other sessions.
    const incoming = this.incomingUnsettled.size;
    const outgoing = this.outgoingUnsettled.size;
    this.incomingUnsettled.clear();
    this.outgoingUnsettled.clear();
    this.connection.deliveriesForgotten(incoming, outgoing);
  }

  // ------------------------------------------------------------------ links

  /** Our handles must stay within the peer's handle-max (spec 2.7.2); ours bounds the peer's. */
  private allocateHandle(): number {
    const limit = this.remoteBegin?.handleMax ?? 0xffffffff;
    for (let h = 0; h <= limit; h++) if (this.links[h] === undefined) return h;
    throw new AmqpOneError(
      'AMQP_HANDLES_EXHAUSTED',
      `no free link handle (handle-max ${limit})`,
      Condition.ResourceLimitExceeded,
    );
  }

  /** A link needs a session that has not ended (on either side). */
  private checkOpenForLinks(): void {
    if (this.local === 'detached' || this.remote === 'detached') {
      throw (
        this.error ??
        new AmqpOneError(
          'AMQP_SESSION_ENDED',
          'the session has ended: no link can be attached on it',
          Condition.IllegalState,
        )
      );
    }
  }

  /** Creates a sender and writes its attach. */
  openSender(options: LinkOptions = {}): Sender {
    this.checkOpenForLinks();
    const s = new Sender(this, this.allocateHandle(), options);
    this.links[s.handle] = s;
    s.attach();
    return s;
  }

  /** Creates a receiver and writes its attach. Give it credit with setCredit. */
  openReceiver(options: LinkOptions = {}): Receiver {
    this.checkOpenForLinks();
    const r = new Receiver(this, this.allocateHandle(), options);
    this.links[r.handle] = r;
    r.attach();
    return r;
  }

  /** @internal */
  linkDetached(link: Link): void {
    if (link.local === 'detached' && link.remote === 'detached') {
      if (this.links[link.handle] === link) this.links[link.handle] = undefined;
      if (this.byRemoteHandle.get(link.remoteHandle) === link) this.byRemoteHandle.delete(link.remoteHandle);
      this.pumpSet.delete(link as Sender);
      this.forgetDeliveriesOf(link);
      this.connection.emit({ type: 'link-closed', link });
    }
  }

  /**
   * A closed link can settle nothing more: its unsettled deliveries leave the maps, so they stop
   * counting against the connection's unsettled limit and pinning their payloads.
   */
  private forgetDeliveriesOf(link: Link): void {
    const forget = (map: DeliveryIdMap): number => {
      const gone: number[] = [];
      for (const [id, d] of map) if (d.link === link) gone.push(id);
      for (const id of gone) map.delete(id);
      return gone.length;
    };
    this.connection.deliveriesForgotten(forget(this.incomingUnsettled), forget(this.outgoingUnsettled));
  }

  /** All links of this session with a local handle. */
  get allLinks(): Link[] {
    return this.links.filter((l): l is Link => l !== undefined);
  }

  // ------------------------------------------------------------------ output

  /** @internal */
  write(rec: Performative, payload?: Uint8Array): void {
    if (this.local === 'detached' && rec.type !== 'end') return; // nothing follows our end
    this.connection.writeFrame(this.channel, rec, payload);
  }

  /** @internal */
  wantsPump(s: Sender): void {
    this.pumpSet.add(s);
    this.connection.outputPending();
  }

  /** @internal */
  writeFlow(link: Link | undefined, echo = false): void {
    // Every flow we send re-opens our incoming window (less frames still held); the peer's limit
    // moves only now.
    this.incomingWindow = this.incomingWindowSize - this.heldFrames;
    const f: Flow = {
      type: 'flow',
      nextIncomingId: this.remote === 'attached' ? this.nextIncomingId : undefined,
      incomingWindow: this.incomingWindow,
      nextOutgoingId: this.nextOutgoingId,
      outgoingWindow: this.outgoingWindow,
      echo: echo || undefined,
    };
    if (link) Object.assign(f, link.flowFields());
    this.sessionFlowPending = false;
    this.write(f);
  }

  /** @internal */
  assignDeliveryId(d: Delivery): void {
    d.id = this.nextDeliveryId;
    this.nextDeliveryId = (this.nextDeliveryId + 1) >>> 0;
    if (!d.settled) {
      const m = this.outgoingUnsettled;
      const n = m.size;
      m.set(d.id, d);
      this.connection.unsettledOutgoing += m.size - n;
    }
  }

  /**
   * Writes a delivery's transfer frames, splitting at the peer's max-frame-size, while the peer's
   * incoming window lasts. Returns true once the whole delivery is written.
   * @internal
   */
  writeTransferFrames(s: Sender, d: Delivery): boolean {
    const payload = d.payload;
    if (d.aborted) {
      // One frame ends it; its payload (none) is ignored by the receiver.
      if (this.remoteIncomingWindow <= 0) return false;
      const first = d.offset === 0;
      this.connection.writeFrame(this.channel, {
        type: 'transfer',
        handle: s.handle,
        deliveryId: d.id,
        deliveryTag: first ? d.tag : undefined,
        messageFormat: first ? d.messageFormat : undefined,
        settled: true,
        aborted: true,
      });
      this.remoteIncomingWindow--;
      this.nextOutgoingId = (this.nextOutgoingId + 1) >>> 0;
      return true;
    }
    do {
      if (this.remoteIncomingWindow <= 0) return false;
      const first = d.offset === 0;
      const t: Transfer = {
        type: 'transfer',
        handle: s.handle,
        deliveryId: d.id,
        deliveryTag: first ? d.tag : undefined,
        messageFormat: first ? d.messageFormat : undefined,
        settled: d.settled || undefined,
      };
      d.offset += this.connection.writeTransfer(this.channel, t, payload, d.offset);
      this.remoteIncomingWindow--;
      this.nextOutgoingId = (this.nextOutgoingId + 1) >>> 0;
    } while (d.offset < payload.length);
    return true;
  }

  /**
   * Writes a streamed delivery's frames while the peer's window, this take's output cap and its
   * bytes last. It runs when output is taken, so the small chunks handed over since the last take
   * are joined into full frames; a slow producer's bytes are not held back for a full frame.
   * 'done' once the last frame is written, 'blocked' on the window or the cap, 'starved' while
   * it waits for bytes.
   * @internal
   */
  writeStreamFrames(s: Sender, d: Delivery): 'done' | 'blocked' | 'starved' {
    const st = d.stream!;
    const target = Math.min(this.connection.remoteMaxFrameSize, STREAM_FRAME_BYTES);
    for (;;) {
      if (!st.ended && st.bytes === 0) return 'starved';
      if (this.remoteIncomingWindow <= 0 || this.connection.outputFull()) return 'blocked';
      const want = Math.min(st.bytes, target);
      let chunk = st.chunks[0] ?? EMPTY_PAYLOAD;
      if (chunk.length - st.offset < want) {
        // Small chunks are joined into one frame's bytes (one copy of at most a frame).
        chunk = joinFront(st, want);
      }
      const left = chunk.length - st.offset;
      const last = st.ended && left === st.bytes;
      const first = d.offset === 0;
      const t: Transfer = {
        type: 'transfer',
        handle: s.handle,
        deliveryId: d.id,
        deliveryTag: first ? d.tag : undefined,
        messageFormat: first ? d.messageFormat : undefined,
        settled: d.settled || undefined,
        more: last ? undefined : true, // a frame too small for the rest gets more=true anyway
      };
      const n = this.connection.writeTransfer(this.channel, t, chunk, st.offset);
      this.remoteIncomingWindow--;
      this.nextOutgoingId = (this.nextOutgoingId + 1) >>> 0;
      d.offset += n === 0 ? 1 : n; // an empty last frame still counts as the first one written
      st.bytes -= n;
      st.offset += n;
      if (st.offset === chunk.length && st.chunks.length > 0) {
        st.chunks.shift();
        st.offset = 0;
      }
      if (last && n === left) {
        st.sent = true;
        return 'done';
      }
    }
  }

  /** @internal */
  forgetOutgoing(d: Delivery): void {
    if (this.outgoingUnsettled.get(d.id) === d) {
      this.outgoingUnsettled.delete(d.id);
      this.connection.outgoingSettled();
    }
  }

  /** @internal */
  queueDisposition(d: Delivery, role: 'sender' | 'receiver'): void {
    this.pendingDispositions.push({ d, role });
    this.connection.outputPending();
  }

  /** @internal Writes pending dispositions, coalescing consecutive ids with the same outcome into ranges. */
  flushDispositions(): void {
    const queued = this.pendingDispositions;
    if (queued.length === 0) return;
    this.pendingDispositions = [];
    if (this.local !== 'attached') return;
    for (const disp of coalesce(queued)) this.write(disp);
  }

  /** @internal Called when the connection gathers output: transfers, dispositions, then flows. */
  flush(): void {
    if (this.local !== 'attached') return;
    if (this.remote === 'attached') {
      for (const s of this.pumpSet) {
        if (s.pump()) this.pumpSet.delete(s);
        else break;
      }
    }
    this.flushDispositions();
    let wroteFlow = false;
    for (const l of this.links) {
      if (l && (l.flowPending || l.echoPending) && l.writeFlow(l.echoPending)) wroteFlow = true;
    }
    if (this.sessionFlowPending && !wroteFlow) this.writeFlow(undefined);
    this.sessionFlowPending = false;
  }

  // ------------------------------------------------------------------ input

  /** @internal */
  onBegin(b: Begin): void {
    this.remoteBegin = b;
    this.remote = 'attached';
    this.nextIncomingId = b.nextOutgoingId;
    this.remoteIncomingWindow = b.incomingWindow;
    this.remoteOutgoingWindow = b.outgoingWindow;
    this.connection.outputPending();
  }

  /** @internal */
  onEnd(e: End): void {
    this.remote = 'detached';
    if (e.error) this.error = remoteError('session', e.error);
    if (this.local !== 'detached') this.end();
    else {
      this.endLinks();
      this.connection.sessionEnded(this);
    }
  }

  /** @internal */
  onAttach(a: Attach): void {
    if (a.handle > this.handleMax) {
      // Spec 2.7.2: a handle beyond our handle-max is a framing error.
      return this.connection.violation(
        Condition.FramingError,
        `handle ${a.handle} exceeds handle-max ${this.handleMax}`,
      );
    }
    if (this.byRemoteHandle.has(a.handle)) {
      return this.fail(Condition.HandleInUse, `handle ${a.handle} is already attached`);
    }
    if (a.role === Role.Sender && a.initialDeliveryCount === undefined) {
      return this.connection.violation(
        Condition.InvalidField,
        'a sender attach needs initial-delivery-count',
      );
    }
    // Our link of the opposite role with the same name, waiting for this answer.
    const wantRole = a.role === Role.Receiver ? 'sender' : 'receiver';
    let link = this.links.find(
      (l) => l && l.name === a.name && l.role === wantRole && l.remote === 'unattached',
    );
    const fresh = !link;
    if (!link) {
      let handle: number;
      try {
        handle = this.allocateHandle();
      } catch {
        return this.fail(Condition.ResourceLimitExceeded, `no handle left to answer link ${a.name}`);
      }
      const options: LinkOptions = { name: a.name };
      link =
        a.role === Role.Receiver ? new Sender(this, handle, options) : new Receiver(this, handle, options);
      this.links[link.handle] = link;
    }
    link.remoteHandle = a.handle;
    this.byRemoteHandle.set(a.handle, link);
    if (a.role === Role.Sender && link instanceof Receiver)
      link.deliveryCount = a.initialDeliveryCount! >>> 0;
    link.onRemoteAttach(a);
    this.connection.emit({ type: fresh ? 'link-remote-open' : 'link-opened', link });
  }

  private linkFor(handle: number | undefined, what: string): Link | undefined {
    const link = handle === undefined ? undefined : this.byRemoteHandle.get(handle);
    if (!link || link.remote !== 'attached') {
      this.fail(Condition.UnattachedHandle, `${what} on handle ${String(handle)}, which is not attached`);
      return undefined;
    }
    return link;
  }

  /** @internal */
  onFlow(f: Flow): void {
    // Spec 2.5.6: remote-incoming-window = next-incoming-id + incoming-window - next-outgoing-id.
    // Computed as window minus transfers in flight, so a window near 2^32 cannot wrap negative.
    const theirNextIncoming = f.nextIncomingId ?? INITIAL_OUTGOING_ID;
    const inFlight = (this.nextOutgoingId - theirNextIncoming) >>> 0;
    this.remoteIncomingWindow = f.incomingWindow > inFlight ? f.incomingWindow - inFlight : 0;
    this.remoteOutgoingWindow = f.outgoingWindow;
    if (f.handle !== undefined) {
      const link = this.linkFor(f.handle, 'flow');
      if (!link) return;
      if (link.local !== 'detached') link.onFlow(f); // a link we detached ignores its flow
    } else if (f.echo) {
      this.sessionFlowPending = true;
    }
    for (const l of this.links) if (l instanceof Sender && l.queued > 0) this.pumpSet.add(l);
    this.connection.outputPending();
  }

  /** @internal */
  onTransfer(t: Transfer, payload: Buffer): void {
    if (this.incomingWindow <= 0) {
      return this.fail(Condition.WindowViolation, 'transfer beyond the incoming window');
    }
    const link = this.linkFor(t.handle, 'transfer');
    if (!link) return;
    if (!(link instanceof Receiver)) {
      return this.connection.violation(
        Condition.NotAllowed,
        `transfer on handle ${t.handle}, where the peer is the receiver`,
      );
    }
    this.incomingWindow--;
    this.nextIncomingId = (this.nextIncomingId + 1) >>> 0;
    this.remoteOutgoingWindow--;
    this.widenWindowIfDue();
    if (link.local === 'detached') return; // we detached: drop what is still in flight
    link.onTransfer(t, payload);
  }

  /**
   * Half the window is used (frames still held aside): widen it with the next output, not before
   * the peer is told. Without held frames, this is incomingWindow * 2 < size.
   */
  private widenWindowIfDue(): void {
    const size = this.incomingWindowSize;
    if ((size - this.heldFrames - this.incomingWindow) * 2 > size && !this.sessionFlowPending) {
      this.sessionFlowPending = true;
      this.connection.outputPending();
    }
  }

  /** @internal A streaming receiver's reader released `n` held frames. */
  releaseFrames(n: number): void {
    this.heldFrames -= n;
    if (this.local === 'attached') this.widenWindowIfDue();
  }

  /** @internal */
  trackIncoming(d: Delivery, id: number): void {
    const m = this.incomingUnsettled;
    const n = m.size;
    m.set(id, d);
    this.connection.unsettledIncoming += m.size - n;
  }

  /** @internal */
  forgetIncoming(d: Delivery): void {
    if (this.incomingUnsettled.get(d.id) === d) {
      this.incomingUnsettled.delete(d.id);
      this.connection.incomingSettled();
    }
  }

  /** @internal */
  onDisposition(disp: Disposition): void {
    const map = disp.role === Role.Receiver ? this.outgoingUnsettled : this.incomingUnsettled;
    const first = disp.first;
    const span = (((disp.last ?? first) - first) >>> 0) + 1;
    if (span <= map.size) {
      // The usual range: walked id by id, without collecting the deliveries first.
      for (let i = 0; i < span; i++) {
        const id = (first + i) >>> 0;
        const d = map.get(id);
        if (d) this.applyDisposition(map, d, id, disp);
      }
      return;
    }
    // A range may be huge (0..2^32-1): walked in bounded time.
    for (const d of deliveriesInRange(map, first, disp.last ?? first))
      this.applyDisposition(map, d, d.id, disp);
  }

  private applyDisposition(map: DeliveryIdMap, d: Delivery, id: number, disp: Disposition): void {
    if (disp.settled && map.delete(id)) {
      if (map === this.outgoingUnsettled) this.connection.outgoingSettled();
      else this.connection.incomingSettled();
    }
    if (d.link instanceof Sender) d.link.onDisposition(d, disp);
    else (d.link as Receiver).onDisposition(d, disp);
  }

  /** @internal */
  onDetach(dt: Detach): void {
    const link = this.linkFor(dt.handle, 'detach');
    if (!link) return;
    link.onRemoteDetach(dt);
  }

  /** @internal The peer broke a session rule: end the session with the condition (spec 2.8.17). */
  fail(condition: string, description: string): void {
    this.connection.emit({ type: 'protocol-violation', scope: 'session', condition, description });
    this.end({ condition, description });
  }

  /** Unsettled outgoing deliveries (for the layer above, on loss of the connection). */
  get unsettledOutgoing(): IterableIterator<Delivery> {
    return this.outgoingUnsettled.values();
  }
}
