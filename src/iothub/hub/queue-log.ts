/**
 * How a LockQueue is kept in a record log, shared by the C2D and feedback stores: open (replay,
 * then compact when the snapshot is shorter), and the record kinds every queue log has: 'seq'
 * (next sequence number), 'dc' (a delivery count) and 'rm' (a message left the queue). Each store
 * adds its own kinds (how a message enters) through `other`.
 */
import * as path from 'node:path';
import { decodeMessage, encodeMessage } from '../../codec/message.js';
import type { QueueEntry } from './queue.js';
import { FileRecordLog, type LogRecord, type RecordMeta } from './store.js';

const NONE = Buffer.alloc(0);

/** Opens `stateDir/file`, hands its records to `replay`, and rewrites it when `snapshot` is shorter. */
export async function openQueueLog(
  stateDir: string,
  file: string,
  fsync: boolean | undefined,
  replay: (records: LogRecord[]) => void,
  snapshot: () => LogRecord[],
): Promise<{ log: FileRecordLog; tornBytes: number }> {
  const { log, records, tornBytes } = await FileRecordLog.open(
    path.join(stateDir, file),
    fsync === undefined ? {} : { fsync },
  );
  replay(records);
  const compact = snapshot();
  if (compact.length < records.length) await log.rewrite(compact);
  return { log, tornBytes };
}

/**
 * Replays the shared kinds; `other` handles the rest and returns the entry a record adds (if any).
 * Returns the entries still queued, in sequence order, and the next sequence number.
 */
export function replayQueue<M>(
  records: LogRecord[],
  nextSeq: number,
  other: (r: LogRecord, seq: number) => QueueEntry<M> | undefined,
): { entries: QueueEntry<M>[]; nextSeq: number } {
  const entries = new Map<number, QueueEntry<M>>();
  for (const r of records) {
    const m = r.meta;
    const seq = Number(m.s);
    if (m.k === 'seq') nextSeq = Math.max(nextSeq, seq);
    else if (m.k === 'dc') {
      const e = entries.get(seq);
      if (e) e.deliveryCount = Number(m.c);
    } else if (m.k === 'rm') entries.delete(seq);
    else {
      const e = other(r, seq);
      if (e) {
        entries.set(seq, e);
        nextSeq = Math.max(nextSeq, seq + 1);
      }
    }
  }
  return { entries: [...entries.values()].sort((a, b) => a.sequenceNumber - b.sequenceNumber), nextSeq };
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
