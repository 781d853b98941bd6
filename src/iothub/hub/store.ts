/**
 * Durability: an append-only record log per component, with group commit, and atomic JSON files.
 *
 * On-disk record (all integers big-endian):
 *
 *   u32 bodyLength | u32 crc32(body) | body = u32 metaLength | meta (UTF-8 JSON) | payload (bytes)
 *
 * The payload is an encoded AMQP message (or nothing); the meta is small JSON telling the component
 * what the record means. Why a CRC and not just the length: after a crash (kill -9, power loss) the
 * tail of the file can hold a partial record or, on some file systems, zeroes; the CRC tells a
 * record that was completely written from one that was not. Replay stops at the first record that
 * fails the length or CRC check and the file is truncated there, so that later appends are not
 * hidden behind garbage.
 *
 * Group commit: `append` queues the record and returns a promise; all records queued in the same
 * microtask turn (and all queued while a write+fsync is in flight) go out in one write and one
 * fdatasync, and their promises resolve together. "Accepted" = the promise resolved.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { HubError } from './errors.js';

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, the zlib/PNG one). */
export function crc32(b: Uint8Array, start = 0, end = b.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Records larger than this are taken as corruption, not as a reason to allocate. */
const MAX_RECORD = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export type RecordMeta = { [key: string]: unknown };

export interface LogRecord {
  meta: RecordMeta;
  payload: Buffer;
  /** Where the payload starts in the file (set when read from one): readers can fetch it again. */
  payloadPosition?: number;
  /** The payload's length in the file (with `payloads: false` the payload itself is not read). */
  payloadLength?: number;
}

export function encodeRecord(meta: RecordMeta, payload: Uint8Array = EMPTY): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const bodyLen = 4 + json.length + payload.length;
  const out = Buffer.allocUnsafe(8 + bodyLen);
  out.writeUInt32BE(bodyLen, 0);
  out.writeUInt32BE(json.length, 8);
  json.copy(out, 12);
  out.set(payload, 12 + json.length);
  out.writeUInt32BE(crc32(out, 8, 8 + bodyLen), 4);
  return out;
}

/** One record read at `pos` of `buf`, or undefined when the bytes there are not a whole, valid record. */
function recordAt(
  buf: Buffer,
  pos: number,
): { meta: RecordMeta; payloadStart: number; end: number } | undefined {
  if (pos + 8 > buf.length) return undefined;
  const bodyLen = buf.readUInt32BE(pos);
  if (bodyLen < 4 || bodyLen > MAX_RECORD || pos + 8 + bodyLen > buf.length) return undefined;
  const start = pos + 8;
  if (crc32(buf, start, start + bodyLen) !== buf.readUInt32BE(pos + 4)) return undefined;
  const metaLen = buf.readUInt32BE(start);
  if (metaLen > bodyLen - 4) return undefined;
  try {
    const meta = JSON.parse(buf.toString('utf8', start + 4, start + 4 + metaLen)) as RecordMeta;
    return { meta, payloadStart: start + 4 + metaLen, end: start + bodyLen };
  } catch {
    return undefined;
  }
}

/**
 * Decodes the records of a log file's contents. `validLength` is where the last good record ends:
 * anything after it is a torn (or corrupt) tail.
 */
export function decodeRecords(buf: Buffer): { records: LogRecord[]; validLength: number } {
  const records: LogRecord[] = [];
  let pos = 0;
  for (let r = recordAt(buf, pos); r; r = recordAt(buf, pos)) {
    // Copy the payload out: the file buffer can then be dropped.
    const payload = Buffer.from(buf.subarray(r.payloadStart, r.end));
    records.push({ meta: r.meta, payload, payloadPosition: r.payloadStart, payloadLength: payload.length });
    pos = r.end;
  }
  return { records, validLength: pos };
}

/** Bytes written at a time when a log is compacted (rewrite): what it holds in memory. */
export const REWRITE_CHUNK_BYTES = 1024 * 1024;

/** Bytes read at a time when a log is replayed without its payloads. */
const SCAN_CHUNK = 1024 * 1024;

/**
 * Reads a log file's records a chunk at a time, without their payloads (position and length
 * only): memory holds one chunk (or one record), not the whole file. Undefined when there is no
 * file.
 */
async function scanRecords(
  file: string,
): Promise<{ records: LogRecord[]; validLength: number; length: number } | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const { size } = await fh.stat();
    const records: LogRecord[] = [];
    let chunk = Buffer.alloc(0);
    let chunkStart = 0;
    let pos = 0;
    for (;;) {
      let r = recordAt(chunk, pos - chunkStart);
      if (!r) {
        // Not whole in this chunk (or not valid): read from here, at least the record's length.
        const rest = size - pos;
        if (rest < 8) break;
        const head = Buffer.alloc(4);
        await fh.read(head, 0, 4, pos);
        const want = Math.min(rest, Math.max(SCAN_CHUNK, 8 + Math.min(head.readUInt32BE(0), MAX_RECORD)));
        chunk = Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(chunk, got, want - got, pos + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        chunk = chunk.subarray(0, got);
        chunkStart = pos;
        r = recordAt(chunk, 0);
        if (!r) break;
      }
      const payloadPosition = chunkStart + r.payloadStart;
      records.push({ meta: r.meta, payload: EMPTY, payloadPosition, payloadLength: r.end - r.payloadStart });
      pos = chunkStart + r.end;
    }
    return { records, validLength: pos, length: size };
  } finally {
    await fh.close();
  }
}

export interface RecordLogOptions {
  /** fdatasync after each group write (default true). Off only for throwaway state. */
  fsync?: boolean;
  /**
   * Return the records' payloads (default true). Without them the file is read a chunk at a
   * time, and each record tells where its payload is (`payloadPosition`, `payloadLength`).
   */
  payloads?: boolean;
}

/** What components need from a log. */
export interface RecordSink {
  /** Resolves once the record is durably written (after the fsync of its group). */
  append(meta: RecordMeta, payload?: Uint8Array): Promise<void>;
  /** Resolves once everything appended so far is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Set once a write failed; every later append rejects with it. */
  readonly error: HubError | undefined;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

async function fsyncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    // Some platforms cannot open or fsync a directory; the data itself is still synced.
  } finally {
    await h?.close();
  }
}

export class FileRecordLog implements RecordSink {
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private flushing = false;
  private closed = false;
  error: HubError | undefined;

  private constructor(
    readonly file: string,
    private fh: fsp.FileHandle,
    private readonly fsync: boolean,
    /** The file's length once every queued record is written: where the next record goes. */
    private end: number,
  ) {}

  /**
   * Opens (creating) the log at `file`, returns its valid records and truncates a torn tail.
   */
  static async open(
    file: string,
    opts: RecordLogOptions = {},
  ): Promise<{ log: FileRecordLog; records: LogRecord[]; tornBytes: number }> {
    const dir = path.dirname(file);
    await fsp.mkdir(dir, { recursive: true });
    let found: { records: LogRecord[]; validLength: number; length: number } | undefined;
    if (opts.payloads === false) found = await scanRecords(file);
    else {
      try {
        const buf = await fsp.readFile(file);
        found = { ...decodeRecords(buf), length: buf.length };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    const records = found?.records ?? [];
    const tornBytes = found ? found.length - found.validLength : 0;
    if (tornBytes > 0) await fsp.truncate(file, found!.validLength);
    const fh = await fsp.open(file, 'a');
    if (!found || tornBytes > 0) {
      await fh.sync();
      await fsyncDir(dir);
    }
    const end = found?.validLength ?? 0;
    return { log: new FileRecordLog(file, fh, opts.fsync ?? true, end), records, tornBytes };
  }

  append(meta: RecordMeta, payload?: Uint8Array): Promise<void> {
    return this.appendAt(meta, payload).written;
  }

  /**
   * Like append, and tells where the payload will be in the file (records are written in the
   * order they are queued, at the end of the file), so that it can be read back from there.
   */
  appendAt(
    meta: RecordMeta,
    payload: Uint8Array = EMPTY,
  ): { payloadPosition: number; written: Promise<void> } {
    if (this.error) return { payloadPosition: -1, written: Promise.reject(this.error) };
    if (this.closed)
      return {
        payloadPosition: -1,
        written: Promise.reject(new HubError('HUB_CLOSED', `log ${this.file} is closed`)),
      };
    const rec = encodeRecord(meta, payload);
    this.end += rec.length;
    this.pending.push(rec);
    return { payloadPosition: this.end - payload.length, written: this.wait() };
  }

  flush(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (!this.flushing && !this.scheduled && this.pending.length === 0) return Promise.resolve();
    return this.wait();
  }

  /**
   * Replaces the whole file with `records` (compaction at start-up, before any append): written to
   * a temporary file, synced, renamed over the log, directory synced. Resolves with where each
   * record's payload now starts in the file.
   *
   * Streamed: records are taken from the iterable one at a time and written about `chunkBytes` at
   * a time, so a log of any size is compacted with one chunk (plus one record) in memory, not the
   * whole retained log twice (its records, then their concatenation).
   */
  async rewrite(records: Iterable<LogRecord>, chunkBytes = REWRITE_CHUNK_BYTES): Promise<number[]> {
    if (this.flushing || this.scheduled || this.pending.length > 0)
      throw new Error('rewrite() needs an idle log');
    const tmp = `${this.file}.tmp`;
    const positions: number[] = [];
    let end = 0;
    const out = await fsp.open(tmp, 'w');
    try {
      let chunk: Buffer[] = [];
      let chunkLength = 0;
      const writeChunk = async (): Promise<void> => {
        const data = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk);
        for (let off = 0; off < data.length;)
          off += (await out.write(data, off, data.length - off)).bytesWritten;
        chunk = [];
        chunkLength = 0;
      };
      for (const r of records) {
        const rec = encodeRecord(r.meta, r.payload);
        end += rec.length;
        positions.push(end - r.payload.length);
        chunk.push(rec);
        chunkLength += rec.length;
        if (chunkLength >= chunkBytes) await writeChunk();
      }
      if (chunkLength > 0) await writeChunk();
      await out.sync();
    } finally {
      await out.close();
    }
    await this.fh.close();
    await fsp.rename(tmp, this.file);
    await fsyncDir(path.dirname(this.file));
    this.fh = await fsp.open(this.file, 'a');
    this.end = end;
    return positions;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } catch {
      // The error is kept in `error`; closing goes on.
    }
    this.closed = true;
    await this.fh.close();
  }

  private wait(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.scheduled && !this.flushing) {
      // Group commit: everything appended in this microtask turn goes out together.
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        void this.run();
      });
    }
    return p;
  }

  private async run(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    while (this.waiters.length > 0) {
      const bufs = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        if (bufs.length > 0) {
          const data = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
          let off = 0;
          while (off < data.length) {
            const { bytesWritten } = await this.fh.write(data, off, data.length - off);
            off += bytesWritten;
          }
        }
        if (this.fsync) await this.fh.datasync();
        for (const w of waiters) w.resolve();
      } catch (e) {
        this.error = new HubError('HUB_STORE_FAILED', `cannot write ${this.file}: ${(e as Error).message}`, {
          cause: e,
        });
        for (const w of [...waiters, ...this.waiters]) w.reject(this.error);
        this.pending = [];
        this.waiters = [];
      }
    }
    this.flushing = false;
  }
}

/**
 * Writes a file atomically and durably: temporary file, fsync, rename, directory fsync. With
 * `mode` (0o600 for key files) the temporary file gets it before any byte is written, umask or not:
 * the rename keeps it.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  o: { mode?: number } = {},
): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const h = await fsp.open(tmp, 'w', o.mode ?? 0o666);
  try {
    if (o.mode !== undefined) await h.chmod(o.mode); // a leftover tmp file keeps its old mode
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

/** Reads a JSON file, or undefined when it does not exist. */
export async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
