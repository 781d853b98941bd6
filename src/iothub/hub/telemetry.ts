/**
 * The telemetry store: device-to-cloud events in N partitions, as the Event Hubs-compatible
 * endpoint serves them.
 *
 * - Partition = FNV-1a(deviceId) mod N (partition-hash.ts), stable across restarts.
 * - `append` stamps the annotations of contract section 5 (dropping any `iothub-*` / `x-opt-*`
 *   annotation the device sent itself: those are the hub's word) and stores the encoded message;
 *   the stored bytes are what a consumer link sends, so nothing is re-encoded per reader.
 * - Sequence numbers count from 0 per partition. `x-opt-offset` is the event's byte position in
 *   the partition's logical log: the sum of the encoded sizes of every earlier event of the
 *   partition. It only grows, survives restarts and compaction (it is stored, not recomputed from
 *   the file), and is a numeric string, as clients expect.
 * - Enqueued times never go backwards within a partition (max(now, last)), so that time filters can
 *   binary-search.
 * - An event becomes visible to readers only once it is durable (with a state directory): a reader
 *   never sees, and checkpoints, an event that a crash could take back.
 * - Retention (default 1 day) is applied by `tick(now)` and on append; with a state directory the
 *   log is compacted at start-up. An accepted event is never dropped before its retention ends:
 *   when a partition (or the hub) holds as many events or bytes as its limits allow, new sends are
 *   refused with HUB_QUOTA_EXCEEDED until retention frees space.
 * - Memory: without a state directory the byte limits bound it. With one, the events live in the
 *   partition logs; memory holds an index (sequence number -> file position) and a bounded cache
 *   of the newest events' bytes, and readers of older events read them from the file.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import { decodeMessage, encodeMessage, type Message } from '../../codec/message.js';
import type { AmqpValue } from '../../codec/values.js';
import type { Clock } from '../../util/timers.js';
import { Fifo } from '../../util/fifo.js';
import { HubError } from './errors.js';
import type { EventPosition } from './filter.js';
import { isSystemAnnotation, withMessageAnnotations } from './message-utils.js';
import { partitionForDevice } from './partition-hash.js';
import { FileRecordLog, type LogRecord } from './store.js';

/** D2C size limit: 256 KiB (contract section 5). */
export const MAX_TELEMETRY_SIZE = 256 * 1024;
export const DEFAULT_RETENTION_MS = 24 * 3600 * 1000;
/** Events a partition holds before sends to it are refused (until retention frees space). */
export const DEFAULT_MAX_EVENTS_PER_PARTITION = 100_000;
/** Bytes (encoded events) a partition holds before sends to it are refused: 128 MiB. */
export const DEFAULT_MAX_PARTITION_BYTES = 128 * 1024 * 1024;
/** Bytes all partitions together hold before sends are refused: 512 MiB. */
export const DEFAULT_MAX_TELEMETRY_BYTES = 512 * 1024 * 1024;
/** With a state directory: bytes of the newest events each partition keeps in memory: 8 MiB. */
export const DEFAULT_EVENT_CACHE_BYTES = 8 * 1024 * 1024;

/** The value of `iothub-connection-auth-method`, serialised as JSON on the event. */
export interface AuthMethod {
  scope: 'device' | 'module' | 'hub';
  type: 'sas' | 'x509Certificate' | 'x509CA';
  issuer: 'iothub';
  acceptingIpFilterRule: null;
}

/** The auth-method JSON string, keys in the real hub's order. */
export function authMethodJson(m: Partial<AuthMethod> = {}): string {
  return JSON.stringify({
    scope: m.scope ?? 'device',
    type: m.type ?? 'sas',
    issuer: m.issuer ?? 'iothub',
    acceptingIpFilterRule: null,
  });
}

export interface AppendOptions {
  moduleId?: string;
  /** How the sender authenticated; an object is serialised, a string is used as is. */
  authMethod?: Partial<AuthMethod> | string;
  /** `iothub-connection-auth-generation-id`: the sending identity's generation id. */
  generationId?: string;
  /** Each message's encoded size as received, when the caller has them (saves an encode each). */
  sizes?: readonly number[];
}

/** Reads an event's bytes back from its partition log. */
interface EventSource {
  read(position: number, length: number): Buffer;
}

/**
 * One stored event. `bytes` is the encoded message with every annotation stamped: held in memory,
 * or (with a state directory, once out of the cache) read from the partition log on demand.
 */
export class StoredEvent {
  /** @internal Where the bytes start in the partition log (-1: memory only). */
  filePosition = -1;
  /** @internal */
  source: EventSource | undefined;
  constructor(
    readonly partition: number,
    readonly sequenceNumber: number,
    readonly offset: number,
    readonly enqueuedTime: number,
    readonly deviceId: string,
    /** The encoded size in bytes. */
    readonly size: number,
    /** @internal The bytes, while held in memory. */
    public cached: Buffer | undefined,
  ) {}
  /** The encoded event (read from the log when not in memory; HUB_STORE_FAILED if that fails). */
  get bytes(): Buffer {
    return this.cached ?? this.source!.read(this.filePosition, this.size);
  }
  /** The message, decoded on demand (events are kept encoded). */
  get message(): Message {
    return decodeMessage(this.bytes);
  }
}

/** Synchronous positional reads of a partition log (cursors are synchronous), opened on first use. */
class LogReader implements EventSource {
  private fd: number | undefined;
  constructor(private readonly file: string) {}
  read(position: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    try {
      this.fd ??= openSync(this.file, 'r');
      let done = 0;
      while (done < length) {
        const n = readSync(this.fd, out, done, length - done, position + done);
        if (n === 0) throw new Error(`unexpected end of file at ${position + done}`);
        done += n;
      }
    } catch (e) {
      throw new HubError('HUB_STORE_FAILED', `cannot read ${this.file}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return out;
  }
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface PartitionInfo {
  partitionId: string;
  /** First retained sequence number; -1 for a partition that never had an event. */
  beginSequenceNumber: number;
  /** -1 when the partition never had an event. */
  lastEnqueuedSequenceNumber: number;
  /** '-1' when the partition never had an event. */
  lastEnqueuedOffset: string;
  /** The epoch when the partition never had an event. */
  lastEnqueuedTimeUtc: Date;
  isEmpty: boolean;
}

/** A reader's position in one partition. */
export interface EventCursor {
  readonly partition: number;
  /** The next event at or after the position, or undefined when caught up. */
  next(): StoredEvent | undefined;
  /** Whether next() would return an event now. */
  hasNext(): boolean;
  /**
   * Calls `cb` once, as soon as next() has an event (at once, synchronously, if it has one now).
   * Returns a cancel function.
   */
  wait(cb: () => void): () => void;
}

/** A partition: events are appended at the end and dropped from the front. */
class Partition {
  readonly events = new Fifo<StoredEvent>();
  /** Next sequence number / offset to assign (assigned at append, before durability). */
  nextSeq = 0;
  nextOffset = 0;
  lastTime = 0;
  /** One past the last visible (committed) sequence number. */
  committedNext = 0;
  last: StoredEvent | undefined;
  readonly listeners = new Set<(e: StoredEvent) => void>();
  log: FileRecordLog | undefined;
  reader: LogReader | undefined;
  /** Bytes and events held (retained, plus appended and not yet durable): what limits count. */
  bytes = 0;
  count = 0;
  /** With a log: the events whose bytes are in memory, oldest first, and their total. */
  readonly cache = new Fifo<StoredEvent>();
  cacheBytes = 0;

  constructor(readonly id: number) {}

  get size(): number {
    return this.events.length;
  }
  first(): StoredEvent | undefined {
    return this.events.peek();
  }
  at(i: number): StoredEvent {
    return this.events.at(i);
  }
  push(e: StoredEvent): void {
    this.events.push(e);
    this.committedNext = e.sequenceNumber + 1;
    this.last = e;
  }
  dropFirst(): void {
    this.events.shift();
  }
  /** Index of the first event satisfying the monotone predicate, or size. */
  search(pred: (e: StoredEvent) => boolean): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(this.at(mid))) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

export interface TelemetryOptions {
  clock: Clock;
  /** Default 4. */
  partitions?: number;
  /** Default 1 day ({@link DEFAULT_RETENTION_MS}). */
  retentionMs?: number;
  /** Events per partition before sends are refused; default {@link DEFAULT_MAX_EVENTS_PER_PARTITION}. */
  maxEventsPerPartition?: number;
  /** Bytes per partition before sends are refused; default {@link DEFAULT_MAX_PARTITION_BYTES}. */
  maxPartitionBytes?: number;
  /** Bytes in all partitions before sends are refused; default {@link DEFAULT_MAX_TELEMETRY_BYTES}. */
  maxTotalBytes?: number;
  /** With a state directory, bytes of recent events kept in memory per partition; default {@link DEFAULT_EVENT_CACHE_BYTES}. */
  cacheBytesPerPartition?: number;
  /** Default 256 KiB. */
  maxMessageSize?: number;
  /** With a state directory, each partition is a log in `<stateDir>/telemetry/partition-<n>.log`. */
  stateDir?: string;
  fsync?: boolean;
  /** Called when the earliest retention deadline may have moved earlier. */
  onDeadline?: () => void;
}

function positiveLimit(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(Number.isInteger(v) && v > 0) && v !== Infinity)
    throw new HubError('HUB_BAD_ARGUMENT', `${name} must be a positive integer, not ${v}`);
  return v;
}

export class TelemetryStore {
  readonly partitionCount: number;
  readonly retentionMs: number;
  readonly maxEventsPerPartition: number;
  readonly maxPartitionBytes: number;
  readonly maxTotalBytes: number;
  readonly cacheBytesPerPartition: number;
  readonly maxMessageSize: number;
  private readonly clock: Clock;
  private readonly parts: Partition[];
  private readonly onDeadline: (() => void) | undefined;
  /** Bytes held in all partitions (retained, plus not yet durable). */
  private totalBytes = 0;
  /** Bytes of torn tails dropped at open, per partition (diagnostics). */
  readonly tornBytes: number[];

  private constructor(opts: TelemetryOptions) {
    const n = opts.partitions ?? 4;
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw new HubError('HUB_BAD_ARGUMENT', `partitions must be 1..1024, not ${n}`);
    this.partitionCount = n;
    this.clock = opts.clock;
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxEventsPerPartition = positiveLimit(
      'maxEventsPerPartition',
      opts.maxEventsPerPartition,
      DEFAULT_MAX_EVENTS_PER_PARTITION,
    );
    this.maxPartitionBytes = positiveLimit(
      'maxPartitionBytes',
      opts.maxPartitionBytes,
      DEFAULT_MAX_PARTITION_BYTES,
    );
    this.maxTotalBytes = positiveLimit('maxTotalBytes', opts.maxTotalBytes, DEFAULT_MAX_TELEMETRY_BYTES);
    this.cacheBytesPerPartition = opts.cacheBytesPerPartition ?? DEFAULT_EVENT_CACHE_BYTES;
    this.maxMessageSize = opts.maxMessageSize ?? MAX_TELEMETRY_SIZE;
    this.onDeadline = opts.onDeadline;
    this.parts = Array.from({ length: n }, (_, i) => new Partition(i));
    this.tornBytes = new Array<number>(n).fill(0);
  }

  static async open(opts: TelemetryOptions): Promise<TelemetryStore> {
    const t = new TelemetryStore(opts);
    if (opts.stateDir !== undefined) {
      for (const p of t.parts) {
        const file = path.join(opts.stateDir, 'telemetry', `partition-${p.id}.log`);
        // Replayed without payloads: the events stay in the file, memory gets the index.
        const logOpts = { payloads: false, ...(opts.fsync === undefined ? {} : { fsync: opts.fsync }) };
        const { log, records, tornBytes } = await FileRecordLog.open(file, logOpts);
        t.tornBytes[p.id] = tornBytes;
        p.log = log;
        p.reader = new LogReader(file);
        const dropped = t.replay(p, records);
        if (dropped > 0) {
          // The snapshot reads the kept events from the old file; then positions change (the
          // first record is the head record) and the reader must open the new file.
          const positions = await log.rewrite(t.snapshot(p));
          p.reader.close();
          for (let i = 0; i < p.size; i++) p.at(i).filePosition = positions[i + 1]!;
        }
      }
    }
    return t;
  }

  /** Rebuilds a partition from its records; returns how many events retention dropped. */
  private replay(p: Partition, records: LogRecord[]): number {
    for (const r of records) {
      const m = r.meta;
      if (m.k === 'h') {
        // Head record of a compacted log: counters survive even when every event has expired.
        p.nextSeq = p.committedNext = Number(m.s);
        p.nextOffset = Number(m.o);
        p.lastTime = Number(m.t);
        if (typeof m.ls === 'number' && m.ls >= 0)
          p.last = new StoredEvent(p.id, m.ls, Number(m.lo), Number(m.lt), '', 0, Buffer.alloc(0));
      } else if (m.k === 'e') {
        const e = new StoredEvent(
          p.id,
          Number(m.s),
          Number(m.o),
          Number(m.t),
          String(m.d),
          r.payloadLength ?? r.payload.length,
          undefined,
        );
        e.filePosition = r.payloadPosition ?? -1;
        e.source = p.reader;
        // Events accepted under other limits are kept: limits only refuse new sends.
        this.hold(p, e.size);
        p.push(e);
        p.nextSeq = e.sequenceNumber + 1;
        p.nextOffset = e.offset + e.size;
        p.lastTime = Math.max(p.lastTime, e.enqueuedTime);
      }
    }
    return this.trim(p, this.clock.now());
  }

  /**
   * The records of a compacted partition log: a head record, then the retained events. A
   * generator: each event's bytes are read from the old file only when the rewrite takes it.
   */
  private *snapshot(p: Partition): Generator<LogRecord> {
    yield {
      meta: {
        k: 'h',
        s: p.nextSeq,
        o: p.nextOffset,
        t: p.lastTime,
        ls: p.last?.sequenceNumber ?? -1,
        lo: p.last?.offset ?? -1,
        lt: p.last?.enqueuedTime ?? 0,
      },
      payload: Buffer.alloc(0),
    };
    for (let i = 0; i < p.size; i++) yield eventRecord(p.at(i));
  }

  partitionOf(deviceId: string): number {
    return partitionForDevice(deviceId, this.partitionCount);
  }

  /**
   * Stamps and stores a device's message. Resolves with the stored event once it is accepted
   * (durable, with a state directory); rejects with HUB_MESSAGE_TOO_LARGE
   * (amqp:link:message-size-exceeded) over the size limit, HUB_QUOTA_EXCEEDED when the partition
   * or the hub is full, HUB_STORE_FAILED when the log broke.
   */
  append(deviceId: string, message: Message, opts: AppendOptions = {}): Promise<StoredEvent> {
    return this.appendBatch(deviceId, [message], opts).then((es) => es[0]!);
  }

  /**
   * Stores the messages of one batch, all or none: either every one is accepted (in order, with
   * consecutive sequence numbers) or the whole batch is refused, so that a refused batch leaves
   * nothing behind that its sender was told was not taken.
   */
  appendBatch(deviceId: string, messages: Message[], opts: AppendOptions = {}): Promise<StoredEvent[]> {
    try {
      for (let i = 0; i < messages.length; i++) {
        const size = opts.sizes?.[i] ?? encodeMessage(messages[i]!).length;
        if (size > this.maxMessageSize)
          throw new HubError(
            'HUB_MESSAGE_TOO_LARGE',
            `message of ${size} bytes is over the ${this.maxMessageSize}-byte limit`,
          );
      }
      const p = this.parts[this.partitionOf(deviceId)]!;
      const now = this.clock.now();
      const time = Math.max(now, p.lastTime);
      const enqueued = new Date(time);
      let offset = p.nextOffset;
      const stamped: Buffer[] = [];
      // The same for every message of the batch.
      const authMethod =
        typeof opts.authMethod === 'string'
          ? opts.authMethod
          : authMethodJson({ scope: opts.moduleId === undefined ? 'device' : 'module', ...opts.authMethod });
      for (let i = 0; i < messages.length; i++) {
        const ann: { [key: string]: AmqpValue } = {
          'iothub-connection-device-id': deviceId,
        };
        if (opts.moduleId !== undefined) ann['iothub-connection-module-id'] = opts.moduleId;
        if (opts.generationId !== undefined) ann['iothub-connection-auth-generation-id'] = opts.generationId;
        ann['iothub-connection-auth-method'] = authMethod;
        ann['iothub-enqueuedtime'] = enqueued;
        ann['iothub-message-source'] = 'Telemetry';
        ann['x-opt-sequence-number'] = BigInt(p.nextSeq + i);
        ann['x-opt-offset'] = String(offset);
        ann['x-opt-enqueued-time'] = enqueued;
        const bytes = encodeMessage(withMessageAnnotations(messages[i]!, ann, isSystemAnnotation));
        stamped.push(bytes);
        offset += bytes.length;
      }
      this.checkRoom(p, stamped, now);
      const events = stamped.map((bytes) => {
        const e = new StoredEvent(p.id, p.nextSeq, p.nextOffset, time, deviceId, bytes.length, bytes);
        p.nextSeq++;
        p.nextOffset += bytes.length;
        this.hold(p, bytes.length);
        return e;
      });
      p.lastTime = time;
      if (!p.log) {
        for (const e of events) this.commit(p, e);
        return Promise.resolve(events);
      }
      const log = p.log;
      const written = events.map((e) => {
        const { payloadPosition, written } = log.appendAt(eventRecord(e).meta, e.cached);
        e.filePosition = payloadPosition;
        e.source = p.reader;
        return written;
      });
      return Promise.all(written).then(
        () => {
          for (const e of events) this.commit(p, e);
          return events;
        },
        (err: unknown) => {
          // Not stored, so not accepted: the room held for the batch is free again.
          for (const e of events) this.release(p, e.size);
          throw err;
        },
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Refuses a send that would take the partition or the hub over a limit. Expired events are
   * dropped first, so that space freed by retention is used even between ticks.
   *
   * Why `com.microsoft:quota-exceeded` (HUB_QUOTA_EXCEEDED): space comes back only as retention
   * expires events, hours later, as the real hub's daily message quota comes back only the next
   * day; it answers that case with this condition (IotHubQuotaExceeded). Throttling
   * (`device-container-throttled`) means "retry in a moment", which would not help here.
   */
  private checkRoom(p: Partition, stamped: Buffer[], now: number): void {
    const bytes = stamped.reduce((n, b) => n + b.length, 0);
    const fits = (): boolean =>
      p.count + stamped.length <= this.maxEventsPerPartition &&
      p.bytes + bytes <= this.maxPartitionBytes &&
      this.totalBytes + bytes <= this.maxTotalBytes;
    if (fits()) return;
    this.tick(now);
    if (fits()) return;
    const which =
      this.totalBytes + bytes > this.maxTotalBytes
        ? `the hub holds ${this.totalBytes} bytes of events (limit ${this.maxTotalBytes})`
        : `partition ${p.id} holds ${p.count} events, ${p.bytes} bytes ` +
          `(limits ${this.maxEventsPerPartition} events, ${this.maxPartitionBytes} bytes)`;
    throw new HubError(
      'HUB_QUOTA_EXCEEDED',
      `${which}; accepted events are kept for their ${this.retentionMs} ms retention, ` +
        'and sends are refused until it frees space',
    );
  }

  private hold(p: Partition, bytes: number): void {
    p.count++;
    p.bytes += bytes;
    this.totalBytes += bytes;
  }

  private release(p: Partition, bytes: number): void {
    p.count--;
    p.bytes -= bytes;
    this.totalBytes -= bytes;
  }

  private commit(p: Partition, e: StoredEvent): void {
    const wasEmpty = p.size === 0;
    p.push(e);
    if (p.log) this.cache(p, e);
    if (wasEmpty) this.onDeadline?.();
    for (const l of [...p.listeners]) l(e);
  }

  /** Keeps the newest events' bytes in memory (live readers read them), the rest on disk only. */
  private cache(p: Partition, e: StoredEvent): void {
    p.cache.push(e);
    p.cacheBytes += e.size;
    while (p.cacheBytes > this.cacheBytesPerPartition && p.cache.length > 0) {
      const old = p.cache.shift()!;
      p.cacheBytes -= old.size;
      old.cached = undefined;
    }
  }

  /** Calls `listener` for every event that becomes visible in `partition`. */
  subscribe(partition: number, listener: (e: StoredEvent) => void): () => void {
    const p = this.part(partition);
    p.listeners.add(listener);
    return () => p.listeners.delete(listener);
  }

  /** A cursor over `partition`, starting at `from` (default: earliest). */
  read(partition: number, from: EventPosition = { kind: 'earliest' }): EventCursor {
    const p = this.part(partition);
    let pos = 0;
    // Offsets and times are matched per event until the first match: a position past the end
    // then still means "the first future event after it", not "whatever comes next".
    let pred: ((e: StoredEvent) => boolean) | undefined;
    switch (from.kind) {
      case 'earliest':
        pos = 0;
        break;
      case 'latest':
        pos = p.committedNext;
        break;
      case 'sequenceNumber':
        pos = Math.max(0, from.inclusive ? from.value : from.value + 1);
        break;
      case 'offset': {
        const v = from.value;
        pred = from.inclusive ? (e) => e.offset >= v : (e) => e.offset > v;
        break;
      }
      case 'enqueuedTime': {
        const v = from.value;
        pred = from.inclusive ? (e) => e.enqueuedTime >= v : (e) => e.enqueuedTime > v;
        break;
      }
    }
    if (pred) {
      const i = p.search(pred);
      pos = i < p.size ? p.at(i).sequenceNumber : p.committedNext;
    }
    const peek = (): StoredEvent | undefined => {
      for (;;) {
        const first = p.first();
        if (!first || pos >= p.committedNext) return undefined;
        if (pos < first.sequenceNumber) pos = first.sequenceNumber;
        const e = p.at(pos - first.sequenceNumber);
        if (pred && !pred(e)) {
          pos++;
          continue;
        }
        pred = undefined;
        return e;
      }
    };
    const cursor: EventCursor = {
      partition,
      next: () => {
        const e = peek();
        if (e) pos = e.sequenceNumber + 1;
        return e;
      },
      hasNext: () => peek() !== undefined,
      wait: (cb) => {
        if (peek()) {
          cb();
          return () => {};
        }
        const unsubscribe = this.subscribe(partition, () => {
          if (!peek()) return;
          unsubscribe();
          cb();
        });
        return unsubscribe;
      },
    };
    return cursor;
  }

  partitionInfo(partition: number): PartitionInfo {
    const p = this.part(partition);
    const first = p.first();
    const last = p.last;
    return {
      partitionId: String(partition),
      beginSequenceNumber: first ? first.sequenceNumber : last ? p.committedNext : -1,
      lastEnqueuedSequenceNumber: last ? last.sequenceNumber : -1,
      lastEnqueuedOffset: last ? String(last.offset) : '-1',
      lastEnqueuedTimeUtc: new Date(last ? last.enqueuedTime : 0),
      isEmpty: first === undefined,
    };
  }

  /** Retained events in a partition. */
  size(partition: number): number {
    return this.part(partition).size;
  }

  /** The first partition log's write failure, if one happened. */
  get storeError(): HubError | undefined {
    for (const p of this.parts) if (p.log?.error) return p.log.error;
    return undefined;
  }

  /** When the oldest retained event expires, or undefined. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const p of this.parts) {
      const f = p.first();
      if (f && (min === undefined || f.enqueuedTime + this.retentionMs < min))
        min = f.enqueuedTime + this.retentionMs;
    }
    return min;
  }

  /** Drops events past retention; returns how many. */
  tick(now: number): number {
    let n = 0;
    for (const p of this.parts) n += this.trim(p, now);
    return n;
  }

  async flush(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.log?.flush()));
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.log?.close()));
    for (const p of this.parts) p.reader?.close();
  }

  /** Bytes held by a partition (retained events, plus appended ones not yet durable). */
  bytesHeld(partition: number): number {
    return this.part(partition).bytes;
  }

  /** Drops the events whose retention has ended (and only those). */
  private trim(p: Partition, now: number): number {
    let n = 0;
    for (let f = p.first(); f && f.enqueuedTime + this.retentionMs <= now; f = p.first()) {
      p.dropFirst();
      this.release(p, f.size);
      n++;
    }
    return n;
  }

  private part(partition: number): Partition {
    const p = this.parts[partition];
    if (!p || !Number.isInteger(partition))
      throw new HubError('HUB_BAD_ARGUMENT', `no partition ${String(partition)}`);
    return p;
  }
}

function eventRecord(e: StoredEvent): LogRecord {
  return {
    meta: { k: 'e', s: e.sequenceNumber, o: e.offset, t: e.enqueuedTime, d: e.deviceId },
    payload: e.bytes,
  };
}
