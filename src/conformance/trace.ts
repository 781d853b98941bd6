/** Frame traces: what each side sent, decoded into JSON-safe values and one-line texts. */
import type { TraceEntry } from './types.js';

const MAX_HEX = 24;

/** A decoded value made JSON-safe: binaries as hex (shortened), bigints as strings, maps as objects. */
export function jsonSafe(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (depth > 6) return '…';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const hex = b.subarray(0, MAX_HEX).toString('hex');
    return `<${b.length} bytes ${hex}${b.length > MAX_HEX ? '…' : ''}>`;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (Array.isArray(v)) return v.map((x) => jsonSafe(x, depth + 1));
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(jsonSafe(k, depth + 1))] = jsonSafe(x, depth + 1);
    return o;
  }
  if (typeof v === 'object') {
    const json = (v as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return jsonSafe(json.call(v), depth + 1);
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = jsonSafe(x, depth + 1);
    return o;
  }
  return String(v);
}

/** A compact one-line rendering of a decoded record (its `type` key left out). */
export function renderFields(fields: unknown): string {
  if (fields === undefined) return '';
  const { type: _type, ...rest } = (fields ?? {}) as Record<string, unknown>;
  const text = JSON.stringify(rest);
  return text === '{}' ? '' : text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

/**
 * Collects a case's trace: entries from every connection of the case, timed from the case start.
 * A burst (2000 frames to overrun a window) keeps its first `head` and last `tail` entries.
 */
export class TraceLog {
  private readonly first: TraceEntry[] = [];
  private last: TraceEntry[] = [];
  private omitted = 0;
  private connections = 0;

  constructor(
    readonly startedAt = performance.now(),
    readonly head = 300,
    readonly tail = 100,
  ) {}

  /** A number for the next connection of the case. */
  nextConnection(): number {
    return ++this.connections;
  }

  add(e: Omit<TraceEntry, 't'>): void {
    const entry = { t: Math.round(performance.now() - this.startedAt), ...e };
    if (this.first.length < this.head) return void this.first.push(entry);
    this.last.push(entry);
    if (this.last.length > this.tail * 2) {
      this.omitted += this.last.length - this.tail;
      this.last = this.last.slice(-this.tail);
    }
  }

  note(text: string, conn = 0): void {
    this.add({ conn, dir: 'note', kind: 'note', text });
  }

  /** The entries, with a note where some were left out. */
  get entries(): TraceEntry[] {
    let last = this.last;
    let omitted = this.omitted;
    if (last.length > this.tail) {
      omitted += last.length - this.tail;
      last = last.slice(-this.tail);
    }
    if (omitted === 0) return [...this.first, ...last];
    const gap: TraceEntry = {
      t: last[0]?.t ?? 0,
      conn: 0,
      dir: 'note',
      kind: 'note',
      text: `… ${omitted} entries not shown`,
    };
    return [...this.first, gap, ...last];
  }
}

/** One trace entry as text: `+12ms #1 -> [0] open {"containerId":"x"}`. */
export function formatEntry(e: TraceEntry): string {
  const arrow = e.dir === 'out' ? '->' : e.dir === 'in' ? '<-' : '--';
  const conn = e.conn > 0 ? `#${e.conn} ` : '';
  return `+${e.t}ms ${conn}${arrow} ${e.text}`;
}
