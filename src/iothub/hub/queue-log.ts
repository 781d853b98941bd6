/**
 * How a LockQueue is kept in a record log, shared by the C2D and feedback stores: open (replay,
 * then compact when the snapshot is shorter), and the record kinds every queue log has: 'seq'
 * (next sequence number), 'dc' (a delivery count) and 'rm' (a message left the queue). Each store
 * adds its own kinds (how a message enters) through `entered`.
 */
import * as path from 'node:path';
import { decodeMessage, encodeMessage } from '../../codec/message.js';
import type { HubError } from './errors.js';
import type { QueueEntry } from './queue.js';
import { FileRecordLog, type LogRecord, type RecordMeta } from './store.js';

const NONE = Buffer.alloc(0);

/**
 * A store of peek-lock queues with its limits and its record log (none without a state directory).
 * At open the log is replayed: the shared kinds here, the store's own through `entered`; the
 * entries still queued go back through `restore`, and the log is compacted to `snapshot` when that
 * is shorter.
 */
export abstract class LoggedQueueStore<M, L extends { [name: string]: number }> {
  readonly limits: L;
  /** Bytes of a torn tail dropped at open (diagnostics). */
  tornBytes = 0;
  protected nextSeq = 1;
  protected log: FileRecordLog | undefined;

  /** Each limit is the one in `opts`, where set, else its default. */
  protected constructor(defaults: Readonly<L>, opts: Partial<L>) {
    const limits = { ...defaults } as L;
    for (const k of Object.keys(defaults) as (keyof L)[]) limits[k] = opts[k] ?? defaults[k];
    this.limits = limits;
  }

  /** The entry one of the store's own records adds (decoded with loggedEntry), if it adds one. */
  protected abstract entered(r: LogRecord, seq: number): QueueEntry<M> | undefined;
  /** Puts back the entries still queued after the replay, in sequence order. */
  protected abstract restore(entries: QueueEntry<M>[]): void;
  /** What a compacted log holds: queueSnapshot() of the queues, and the store's other records. */
  protected abstract snapshot(): LogRecord[];

  /** Opens `stateDir/file`, replays it, and rewrites it when the snapshot is shorter. */
  protected async openLog(opts: { stateDir?: string; fsync?: boolean }, file: string): Promise<this> {
    if (opts.stateDir === undefined) return this;
    const { log, records, tornBytes } = await FileRecordLog.open(
      path.join(opts.stateDir, file),
      opts.fsync === undefined ? {} : { fsync: opts.fsync },
    );
    this.tornBytes = tornBytes;
    this.replay(records);
    const compact = this.snapshot();
    if (compact.length < records.length) await log.rewrite(compact);
    this.log = log;
    return this;
  }

  /** The log's write failure, if one happened. */
  get storeError(): HubError | undefined {
    return this.log?.error;
  }

  async flush(): Promise<void> {
    await this.log?.flush();
  }

  async close(): Promise<void> {
    await this.log?.close();
  }

  /** Bookkeeping records: group-committed; a failure is kept in the log's `error`, never thrown. */
  protected write(meta: RecordMeta): Promise<void> {
    return this.log ? this.log.append(meta).catch(() => {}) : Promise.resolve();
  }

  private replay(records: LogRecord[]): void {
    const entries = new Map<number, QueueEntry<M>>();
    for (const r of records) {
      const m = r.meta;
      const seq = Number(m.s);
      if (m.k === 'seq') this.nextSeq = Math.max(this.nextSeq, seq);
      else if (m.k === 'dc') {
        const e = entries.get(seq);
        if (e) e.deliveryCount = Number(m.c);
      } else if (m.k === 'rm') entries.delete(seq);
      else {
        const e = this.entered(r, seq);
        if (e) {
          entries.set(seq, e);
          this.nextSeq = Math.max(this.nextSeq, seq + 1);
        }
      }
    }
    this.restore([...entries.values()].sort((a, b) => a.sequenceNumber - b.sequenceNumber));
  }
}

/** The entry an entering record stands for: both stores write `t` (enqueued) and `x` (expires). */
export function loggedEntry<M>(r: LogRecord, seq: number, meta: M): QueueEntry<M> {
  return {
    sequenceNumber: seq,
    message: decodeMessage(r.payload),
    enqueuedAt: Number(r.meta.t),
    expiresAt: Number(r.meta.x),
    deliveryCount: 0,
    meta,
  };
}

/** The snapshot of a queue: 'seq', then each entry as `enter(e)` with its delivery count. */
export function queueSnapshot<M>(
  nextSeq: number,
  entries: QueueEntry<M>[],
  enter: (e: QueueEntry<M>) => RecordMeta,
): LogRecord[] {
  const out: LogRecord[] = [{ meta: { k: 'seq', s: nextSeq }, payload: NONE }];
  for (const e of entries) {
    out.push({ meta: enter(e), payload: encodeMessage(e.message) });
    if (e.deliveryCount > 0)
      out.push({ meta: { k: 'dc', s: e.sequenceNumber, c: e.deliveryCount }, payload: NONE });
  }
  return out;
}
