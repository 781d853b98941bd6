/** The figures of a bench run (one JSON object) and their text forms: the progress line and the report. */
import { loadavg, cpus } from 'node:os';
import { encodeMessage } from '../codec/message.js';
import { LatencyHistogram, type HistogramSnapshot } from './histogram.js';
import type { Progress, WorkerReport } from './meter.js';
import { SENT_AT, type BenchOptions } from './options.js';
import { jsonBody, telemetryMessage } from './telemetry.js';

export interface SideResult {
  /** Messages done in all, and in the measured interval. */
  total: number;
  measured: number;
  ms: number;
  rate: number;
  cpuPercent: number;
  cpuUsPerMsg: number;
  peakRssBytes: number;
}

/** One point of a process's series: at `ms` after the run started, `n` messages done so far. */
export interface Sample {
  ms: number;
  n: number;
  cpuMs: number;
  rssBytes: number;
}

export interface BenchResult {
  impl: BenchOptions['impl'];
  mode: BenchOptions['mode'];
  /** How the amqp-one receiver decoded ('lazy' or 'eager'); rhea always decodes whole. */
  decode?: BenchOptions['decode'];
  /** The broker's URL without credentials, or null peer to peer. */
  url: string | null;
  sent: number;
  received: number;
  /** Messages sent but not received (a lossy broker, or a stalled run). */
  lost: number;
  complete: boolean;
  warmup: number;
  bodyBytes: number;
  /** The encoded size of one message, stamp included. */
  messageBytes: number;
  credit: number;
  connections: number;
  links: number;
  /** From the first measured send to the last measured arrival. */
  durationMs: number;
  /** End-to-end rate over durationMs. */
  rate: number;
  mbPerSec: number;
  sender: SideResult & { accepted: number; otherOutcomes: number };
  receiver: SideResult;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Every measured message's end-to-end latency, as the histogram's non-empty buckets (µs). */
  latencyUs: HistogramSnapshot;
  /** Each process's progress samples, warm-up included (for `--report` and plots). */
  series: { sender: Sample[]; receiver: Sample[] };
  /** The instant the series' `ms` count from, in ms since the epoch (to line up other samples). */
  seriesOrigin?: number;
  machine: { node: string; cpus: number; loadAvg1m: number };
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

function side(w: WorkerReport): SideResult {
  const ms = Math.max(w.t1 - w.t0, 1e-3);
  const cpuMs = w.cpuUserMs + w.cpuSystemMs;
  return {
    total: w.total,
    measured: w.measured,
    ms: r1(ms),
    rate: Math.round((w.measured * 1000) / ms),
    cpuPercent: r1((cpuMs * 100) / ms),
    cpuUsPerMsg: w.measured > 0 ? Math.round((cpuMs * 1000 * 100) / w.measured) / 100 : 0,
    peakRssBytes: w.peakRssBytes,
  };
}

/** The URL without user and password. */
function redact(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export function summarize(
  o: BenchOptions,
  sender: WorkerReport,
  receiver: WorkerReport,
  sent: number,
  stalled: boolean,
  series: BenchResult['series'] = { sender: [], receiver: [] },
): BenchResult {
  const body = jsonBody(o.bodySize);
  const stamped = telemetryMessage(body);
  (stamped.messageAnnotations as Record<string, unknown>)[SENT_AT] = 1.7e12 + 0.5;
  const messageBytes = encodeMessage(stamped).length;
  const durationMs = Math.max(receiver.t1 - sender.t0, 1e-3);
  const rate = Math.round((receiver.measured * 1000) / durationMs);
  const latencyUs = receiver.latencyUs ?? { buckets: [], count: 0, min: 0, max: 0, sum: 0 };
  const h = LatencyHistogram.from(latencyUs);
  const ms = (us: number): number => r3(us / 1000);
  const lost = Math.max(0, sent - receiver.total);
  const settledAll = o.mode === 'presettled' || sender.accepted + sender.otherOutcomes >= sent;
  return {
    impl: o.impl,
    mode: o.mode,
    decode: o.impl === 'amqp-one' ? o.decode : undefined,
    url: redact(o.url),
    sent,
    received: receiver.total,
    lost,
    complete: !stalled && lost === 0 && settledAll,
    warmup: o.warmup,
    bodyBytes: body.length,
    messageBytes,
    credit: o.credit,
    connections: o.connections,
    links: o.links,
    durationMs: r1(durationMs),
    rate,
    mbPerSec: r1((rate * messageBytes) / 1e6),
    sender: { ...side(sender), accepted: sender.accepted, otherOutcomes: sender.otherOutcomes },
    receiver: side(receiver),
    latencyMs: {
      p50: ms(h.percentile(50)),
      p90: ms(h.percentile(90)),
      p99: ms(h.percentile(99)),
      p999: ms(h.percentile(99.9)),
      max: ms(h.max),
      mean: ms(h.mean),
    },
    latencyUs,
    series,
    machine: { node: process.version, cpus: cpus().length, loadAvg1m: r1(loadavg()[0]!) },
  };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * One line of live figures: each process's rate and CPU since its previous report, and its RSS.
 * The two processes report at their own instants, so each side keeps its last computed text.
 */
export class ProgressLine {
  private readonly last: { [side: string]: { p: Progress; text: string } } = {};

  format(p: { sender?: Progress; receiver?: Progress; startedAt: number }): string {
    const part = (name: 'sender' | 'receiver'): string => {
      const now = p[name];
      const before = this.last[name];
      if (!now) return `${name} -`;
      if (before && now.at <= before.p.at) return before.text;
      let text = `${name} ${int(now.n)} msgs  rss ${mb(now.rssBytes)}`;
      if (before) {
        const dt = now.at - before.p.at;
        const rate = ((now.n - before.p.n) * 1000) / dt;
        const cpu = ((now.cpuMs - before.p.cpuMs) * 100) / dt;
        text = `${name} ${int(rate)} msg/s  cpu ${Math.round(cpu)}%  rss ${mb(now.rssBytes)}`;
      }
      this.last[name] = { p: now, text };
      return text;
    };
    return `${((Date.now() - p.startedAt) / 1000).toFixed(1)} s  ${part('sender')} | ${part('receiver')}`;
  }
}

/** The final report, quiver-style. */
export function formatResult(r: BenchResult): string {
  const where = r.url ? `through ${r.url}` : 'peer to peer';
  const l = r.latencyMs;
  const sideLine = (s: SideResult): string =>
    `${int(s.rate).padStart(9)} msg/s   CPU ${String(Math.round(s.cpuPercent)).padStart(3)}%  ` +
    `${s.cpuUsPerMsg.toFixed(2)} µs/msg   peak RSS ${mb(s.peakRssBytes)}`;
  const lines = [
    `${r.impl}, ${r.mode}${r.decode ? `, ${r.decode} decoding` : ''}, ${where}, ${r.connections} connection(s) x ${r.links} link(s), credit ${r.credit}`,
    `  Messages          ${int(r.sent)} sent, ${int(r.received)} received` +
      (r.warmup ? ` (first ${int(r.warmup)} are warm-up, not measured)` : '') +
      (r.lost ? `, ${int(r.lost)} LOST` : ''),
    `  Message size      ${r.bodyBytes} B body, ${r.messageBytes} B encoded`,
    `  Duration          ${(r.durationMs / 1000).toFixed(3)} s`,
    `  Sender            ${sideLine(r.sender)}` +
      (r.mode === 'unsettled' ? `   ${int(r.sender.accepted)} accepted` : ''),
    `  Receiver          ${sideLine(r.receiver)}`,
    `  End to end        ${int(r.rate).padStart(9)} msg/s   ${r.mbPerSec} MB/s`,
    `  Latency (ms)      p50 ${l.p50}   p99 ${l.p99}   p99.9 ${l.p999}   max ${l.max}`,
  ];
  if (!r.complete)
    lines.push('  INCOMPLETE: the run stalled or lost messages; the figures cover what arrived.');
  return lines.join('\n');
}

/** Two results side by side (amqp-one against rhea on the same scenario). */
export function formatComparison(a: BenchResult, b: BenchResult): string {
  const ratio = (x: number, y: number): string => (y > 0 ? `${(x / y).toFixed(2)}x` : '-');
  const row = (name: string, x: string, y: string, rt: string): string =>
    `  ${name.padEnd(22)}${x.padStart(14)}${y.padStart(14)}${rt.padStart(10)}`;
  return [
    row('', a.impl, b.impl, 'ratio'),
    row('end-to-end msg/s', int(a.rate), int(b.rate), ratio(a.rate, b.rate)),
    row('sender msg/s', int(a.sender.rate), int(b.sender.rate), ratio(a.sender.rate, b.sender.rate)),
    row(
      'receiver msg/s',
      int(a.receiver.rate),
      int(b.receiver.rate),
      ratio(a.receiver.rate, b.receiver.rate),
    ),
    row(
      'sender CPU µs/msg',
      a.sender.cpuUsPerMsg.toFixed(2),
      b.sender.cpuUsPerMsg.toFixed(2),
      ratio(b.sender.cpuUsPerMsg, a.sender.cpuUsPerMsg),
    ),
    row(
      'receiver CPU µs/msg',
      a.receiver.cpuUsPerMsg.toFixed(2),
      b.receiver.cpuUsPerMsg.toFixed(2),
      ratio(b.receiver.cpuUsPerMsg, a.receiver.cpuUsPerMsg),
    ),
    row('latency p50 ms', String(a.latencyMs.p50), String(b.latencyMs.p50), ''),
    row('latency p99 ms', String(a.latencyMs.p99), String(b.latencyMs.p99), ''),
  ].join('\n');
}
