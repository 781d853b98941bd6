/**
 * A raw, frame-level AMQP endpoint over a socket: it writes protocol headers, frames with any
 * performative or payload, or plain bytes (illegal ones included), and decodes what comes back
 * without judging it, so that a case can. Every byte both ways is recorded in the case's trace.
 */
import type { ByteStream } from '../transport/byte-stream.js';
import { ByteWriter } from '../codec/byte-writer.js';
import { encodeComposite } from '../codec/composite.js';
import { decodeComposite } from '../codec/composite.js';
import type { CompositeRecord, Performative, SaslFrameBody } from '../codec/spec/records.js';
import { ProtocolHeaderMismatchError } from '../protocol/framing-errors.js';
import { FrameReader } from '../frames/frame-reader.js';
import { beginFrame, endFrame } from '../frames/frame-writer.js';
import { jsonSafe, renderFields, type TraceLog } from './trace.js';

export type WireItem = WireHeader | WireFrame | WireError | WireClosed;

export interface WireHeader {
  kind: 'header';
  /** performance.now() when it was read. */
  at: number;
  bytes: Buffer;
  /** 0 AMQP, 2 TLS, 3 SASL; -1 when the bytes are not an AMQP 1.0.0 header. */
  protocolId: number;
}

export interface WireFrame {
  kind: 'frame';
  at: number;
  /** 0 AMQP, 1 SASL. */
  type: 0 | 1;
  channel: number;
  /** The whole frame, header included. */
  size: number;
  /** The performative (or SASL body); undefined for an empty frame or when it did not decode. */
  rec?: CompositeRecord;
  /** The bytes after the performative. */
  payload: Buffer;
  /** Why the body did not decode. */
  error?: string;
}

/** Bytes that do not form frames (the stream is unusable after this). */
export interface WireError {
  kind: 'error';
  at: number;
  message: string;
}

export interface WireClosed {
  kind: 'closed';
  at: number;
  /** Who closed the socket first: the peer (its FIN or reset reached us first) or we did. */
  by: 'peer' | 'us';
  /** How: 'FIN', 'reset', or why we closed. */
  how: string;
}

export interface RawPeerOptions {
  /** 'client': we opened the socket (SASL outcome read → header next); 'server': we accepted it. */
  role: 'client' | 'server';
  /** The connection's number in the case trace. */
  conn: number;
}

type Waiter = { check: () => boolean };

export class RawPeer {
  /** Everything received, in order. */
  readonly received: WireItem[] = [];
  /** Received items not yet taken by `take`. */
  private pending: WireItem[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners: ((item: WireItem) => void)[] = [];
  private readonly reader = new FrameReader({ maxFrameSize: 0xffffffff, expectHeader: true });
  private readonly w = new ByteWriter(1024);
  private batchDepth = 0;
  private batched: Buffer[] = [];
  private broken = false;
  private mutedFrames = -1;
  isClosed = false;
  /**
   * Who closed the socket, decided by whichever came first: the peer's FIN or reset arriving, or
   * our destroy(). Judging this at 'close' time would be too late: by then both have happened.
   */
  private closer?: { by: 'peer' | 'us'; how: string };
  /** Frames written by us, for cases that check what the peer did with them. */
  framesSent = 0;
  /** performance.now() of our last write. */
  lastSentAt = 0;

  constructor(
    readonly socket: ByteStream,
    readonly log: TraceLog,
    readonly options: RawPeerOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => (this.closer ??= { by: 'peer', how: 'FIN' }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.note(`socket error: ${err.message}`);
      this.closer ??= { by: 'peer', how: err.code === 'ECONNRESET' ? 'reset' : err.message };
    });
    socket.on('close', () => this.onClose());
  }

  get conn(): number {
    return this.options.conn;
  }

  /** Called with every received item, before any `take` sees it. */
  onItem(listener: (item: WireItem) => void): void {
    this.listeners.push(listener);
  }

  note(text: string): void {
    this.log.note(text, this.conn);
  }

  // ------------------------------------------------------------------ sending

  /** An 8-byte protocol header: AMQP (0), TLS (2), SASL (3), or any 8 bytes. */
  header(protocolIdOrBytes: number | Uint8Array): void {
    const bytes =
      typeof protocolIdOrBytes === 'number'
        ? Buffer.from([0x41, 0x4d, 0x51, 0x50, protocolIdOrBytes, 1, 0, 0])
        : Buffer.from(protocolIdOrBytes);
    this.log.add({ conn: this.conn, dir: 'out', kind: 'header', text: `header ${describeHeader(bytes)}` });
    this.write(bytes);
  }

  /** A frame holding `rec` and then `payload`; SASL frames go as type 1. */
  frame(channel: number, rec: Performative | SaslFrameBody | CompositeRecord, payload?: Uint8Array): number {
    const w = this.w;
    w.reset();
    const type = rec.type.startsWith('sasl-') ? 1 : 0;
    const start = beginFrame(w, type, channel);
    encodeComposite(w, rec);
    if (payload) w.bytes(payload);
    const size = endFrame(w, start);
    if (this.traced()) this.traceFrame('out', type, channel, size, rec, payload?.length ?? 0);
    this.write(w.copy());
    this.framesSent++;
    return size;
  }

  /** A frame whose body is exactly `body` (malformed on purpose, say). */
  rawFrame(channel: number, body: Uint8Array, type: 0 | 1 = 0, text = 'raw frame body'): void {
    const w = this.w;
    w.reset();
    const start = beginFrame(w, type, channel);
    w.bytes(body);
    const size = endFrame(w, start);
    this.log.add({
      conn: this.conn,
      dir: 'out',
      kind: 'raw',
      channel,
      size,
      text: `[${channel}] ${text}: ${hexOf(body)} (size ${size})`,
    });
    this.write(w.copy());
    this.framesSent++;
  }

  /** Plain bytes (a broken frame header, say). */
  raw(bytes: Uint8Array, text = 'raw bytes'): void {
    this.log.add({ conn: this.conn, dir: 'out', kind: 'raw', text: `${text}: ${hexOf(bytes)}` });
    this.write(Buffer.from(bytes));
  }

  /** An empty frame (spec 2.4.5). */
  heartbeat(): void {
    this.log.add({
      conn: this.conn,
      dir: 'out',
      kind: 'heartbeat',
      channel: 0,
      size: 8,
      text: 'empty frame',
    });
    this.write(Buffer.from([0, 0, 0, 8, 2, 0, 0, 0]));
  }

  /**
   * Runs `fn` with our frames left out of the trace (a burst of thousands), except for the first
   * `shown`; a note counts the rest.
   */
  muted(fn: () => void, shown = 3): void {
    this.mutedFrames = 0;
    const before = this.framesSent;
    try {
      fn();
    } finally {
      this.mutedFrames = -1;
      const hidden = this.framesSent - before - shown;
      if (hidden > 0) this.note(`… and ${hidden} more frame(s) like these, not shown`);
    }
  }

  private traced(): boolean {
    if (this.mutedFrames < 0) return true;
    return this.mutedFrames++ < 3;
  }

  /** Runs `fn` and writes everything it sent in one socket write (pipelining, bursts). */
  batch(fn: () => void): void {
    this.batchDepth++;
    try {
      fn();
    } finally {
      if (--this.batchDepth === 0 && this.batched.length > 0) {
        const all = Buffer.concat(this.batched);
        this.batched = [];
        this.socketWrite(all);
      }
    }
  }

  private write(bytes: Buffer): void {
    if (this.batchDepth > 0) this.batched.push(bytes);
    else this.socketWrite(bytes);
  }

  private socketWrite(bytes: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.lastSentAt = performance.now();
    this.socket.write(bytes);
  }

  /** Closes our side of the socket now; `why` goes in the trace when we are the one closing. */
  destroy(why = 'we closed it'): void {
    if (!this.socket.destroyed) this.closer ??= { by: 'us', how: why };
    this.socket.destroy();
  }

  // ------------------------------------------------------------------ receiving

  private onData(chunk: Buffer): void {
    if (this.broken) return;
    this.reader.push(chunk);
    for (;;) {
      let it;
      try {
        it = this.reader.next();
      } catch (e) {
        this.broken = true;
        if (e instanceof ProtocolHeaderMismatchError) {
          this.deliver({ kind: 'header', at: performance.now(), bytes: e.received, protocolId: -1 });
        } else {
          this.deliver({ kind: 'error', at: performance.now(), message: (e as Error).message });
        }
        return;
      }
      if (!it) return;
      if (it.kind === 'header') {
        const bytes = Buffer.from([0x41, 0x4d, 0x51, 0x50, it.protocolId, 1, 0, 0]);
        this.deliver({ kind: 'header', at: performance.now(), bytes, protocolId: it.protocolId });
        continue;
      }
      const size = it.body.length + 8;
      const item: WireFrame = {
        kind: 'frame',
        at: performance.now(),
        type: it.type,
        channel: it.channel,
        size,
        payload: Buffer.alloc(0),
      };
      if (it.body.length > 0) {
        try {
          const { value, offset } = decodeComposite(it.body);
          item.rec = value;
          item.payload = it.body.subarray(offset);
        } catch (e) {
          item.error = (e as Error).message;
          item.payload = it.body;
        }
      }
      // The AMQP header follows a successful SASL outcome read by the client side.
      if (item.rec?.type === 'sasl-outcome' && item.rec.code === 0 && this.options.role === 'client') {
        this.reader.expectHeader();
      }
      this.deliver(item);
    }
  }

  /** Server side: after we send a successful outcome, the client's next bytes are a header. */
  expectHeader(): void {
    this.reader.expectHeader();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const { by, how } = this.closer ?? { by: 'peer', how: 'closed' };
    this.deliver({ kind: 'closed', at: performance.now(), by, how });
  }

  private deliver(item: WireItem): void {
    this.traceIn(item);
    this.received.push(item);
    this.pending.push(item);
    for (const l of this.listeners) l(item);
    for (const w of [...this.waiters]) w.check();
  }

  private traceIn(item: WireItem): void {
    const conn = this.conn;
    switch (item.kind) {
      case 'header':
        return this.log.add({
          conn,
          dir: 'in',
          kind: 'header',
          text: `header ${describeHeader(item.bytes)}`,
        });
      case 'error':
        return this.log.add({ conn, dir: 'in', kind: 'error', text: `unreadable bytes: ${item.message}` });
      case 'closed':
        return this.log.add({
          conn,
          dir: 'in',
          kind: 'closed',
          text:
            item.by === 'peer'
              ? `socket closed by the peer (${item.how})`
              : `socket closed by us: ${item.how}`,
        });
      case 'frame':
        if (item.error !== undefined) {
          return this.log.add({
            conn,
            dir: 'in',
            kind: 'error',
            channel: item.channel,
            size: item.size,
            text: `[${item.channel}] undecodable frame body (${item.error}): ${hexOf(item.payload)}`,
          });
        }
        if (!item.rec) {
          return this.log.add({
            conn,
            dir: 'in',
            kind: 'heartbeat',
            channel: item.channel,
            size: item.size,
            text: `[${item.channel}] empty frame`,
          });
        }
        return this.traceFrame('in', item.type, item.channel, item.size, item.rec, item.payload.length);
    }
  }

  private traceFrame(
    dir: 'in' | 'out',
    type: 0 | 1,
    channel: number,
    size: number,
    rec: CompositeRecord,
    payloadBytes: number,
  ): void {
    const fields = jsonSafe(rec);
    const extra = payloadBytes > 0 ? ` +${payloadBytes} payload bytes` : '';
    this.log.add({
      conn: this.conn,
      dir,
      kind: 'frame',
      channel,
      size,
      performative: rec.type,
      fields,
      payloadBytes: payloadBytes || undefined,
      text: `[${type === 1 ? 'sasl' : channel}] ${rec.type} ${renderFields(fields)}${extra} (${size} bytes)`,
    });
  }

  // ------------------------------------------------------------------ waiting

  /**
   * The first received item (not taken yet) matching `pred`, removed from the pending list; waits up
   * to `timeoutMs`. Undefined on timeout, or at once when the socket closed without a match.
   */
  take<T extends WireItem>(pred: (i: WireItem) => i is T, timeoutMs: number): Promise<T | undefined>;
  take(pred: (i: WireItem) => boolean, timeoutMs: number): Promise<WireItem | undefined>;
  take(pred: (i: WireItem) => boolean, timeoutMs: number): Promise<WireItem | undefined> {
    return new Promise((resolve) => {
      const find = (): boolean => {
        const i = this.pending.findIndex(pred);
        if (i >= 0) {
          const [item] = this.pending.splice(i, 1);
          finish(item);
          return true;
        }
        if (this.isClosed || this.broken) {
          finish(undefined);
          return true;
        }
        return false;
      };
      const waiter: Waiter = { check: find };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const finish = (item: WireItem | undefined): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(item);
      };
      if (!find()) this.waiters.add(waiter);
    });
  }

  /**
   * Resolves true as soon as `cond()` holds (checked now and after each received item); false after
   * `timeoutMs`, or as soon as the socket is closed with `cond()` still false (nothing will change).
   */
  waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (cond()) return resolve(true);
      if (this.isClosed) return resolve(false);
      const waiter: Waiter = {
        check: () => {
          if (cond()) finish(true);
          else if (this.isClosed) finish(false);
          else return false;
          return true;
        },
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(ok);
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves true when the socket is closed (by the peer), false after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.isClosed, timeoutMs);
  }

  /** Received frames carrying a performative of `type` (all of them, taken or not). */
  frames<T extends CompositeRecord['type']>(
    type?: T,
  ): (WireFrame & { rec: Extract<CompositeRecord, { type: T }> })[] {
    return this.received.filter(
      (i): i is WireFrame & { rec: Extract<CompositeRecord, { type: T }> } =>
        i.kind === 'frame' && i.rec !== undefined && (type === undefined || i.rec.type === type),
    );
  }
}

/** A predicate for `take`: a frame whose performative is `type` (and on `channel`, if given). */
export function isFrame<T extends CompositeRecord['type']>(
  type: T,
  where?: (rec: Extract<CompositeRecord, { type: T }>, f: WireFrame) => boolean,
): (i: WireItem) => i is WireFrame & { rec: Extract<CompositeRecord, { type: T }> } {
  return (i): i is WireFrame & { rec: Extract<CompositeRecord, { type: T }> } =>
    i.kind === 'frame' &&
    i.rec?.type === type &&
    (where === undefined || where(i.rec as Extract<CompositeRecord, { type: T }>, i));
}

export const isHeader = (i: WireItem): i is WireHeader => i.kind === 'header';

function describeHeader(bytes: Buffer): string {
  if (bytes.length === 8 && bytes.subarray(0, 4).toString('latin1') === 'AMQP') {
    const names: Record<number, string> = { 0: 'AMQP', 2: 'TLS', 3: 'SASL' };
    const name = names[bytes[4]] ?? `protocol-id ${bytes[4]}`;
    return `${name} ${bytes[5]}.${bytes[6]}.${bytes[7]} (${bytes.toString('hex')})`;
  }
  return `not an AMQP header: ${hexOf(bytes)}`;
}

function hexOf(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.length > 48
    ? `${buf.subarray(0, 48).toString('hex')}… (${buf.length} bytes)`
    : buf.toString('hex');
}
