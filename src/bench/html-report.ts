/**
 * `amqp-one bench --report FILE`: the runs of one invocation as a single self-contained HTML page
 * (inline CSS and SVG; no script, font or link to fetch): parameters, machine, the summary table,
 * and per process the message rate and RSS over time, with the end-to-end latency histogram. Runs
 * of `--impl both` share each chart, one line or bar colour per implementation.
 *
 * Every text that reaches the page is escaped; URLs arrive without credentials (report.ts).
 */
import { histogramInternals } from './histogram.js';
import type { BenchResult, Sample } from './report.js';
import { barChart, escapeXml as esc, formatNumber, lineChart, type LineSeries } from './svg-plot.js';

/** What the page says about where it ran, taken when it is written. */
export interface ReportMachine {
  node: string;
  platform: string;
  cpuModel: string;
  cpus: number;
  /** 1, 5 and 15 minute load averages. */
  loadAvg: readonly number[];
  /** ISO time the report was written. */
  generatedAt: string;
}

const MiB = 1048576;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A name per run: the implementation, numbered only if two runs share one. */
function names(results: readonly BenchResult[]): string[] {
  return results.map((r, i) =>
    results.filter((x) => x.impl === r.impl).length > 1 ? `${r.impl} #${i + 1}` : r.impl,
  );
}

/** Messages per second between consecutive samples, at the later one (seconds since the start). */
export function rateSeries(samples: readonly Sample[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dt = b.ms - a.ms;
    if (dt >= 1) out.push([b.ms / 1000, ((b.n - a.n) * 1000) / dt]);
  }
  return out;
}

/** Lower edges of the latency bins in µs: 1, 2, 5, 10, 20, 50, ... (three per decade). */
const edge = (j: number): number => [1, 2, 5][j % 3]! * 10 ** Math.floor(j / 3);
function binOf(us: number): number {
  if (us < 2) return 0;
  const d = Math.floor(Math.log10(us) + 1e-12);
  const m = us / 10 ** d;
  return 3 * d + (m >= 5 ? 2 : m >= 2 ? 1 : 0);
}
const usText = (us: number): string =>
  us >= 1e6 ? `${us / 1e6}s` : us >= 1000 ? `${us / 1000}ms` : `${us}µs`;

/**
 * The latency histograms of the runs on shared log-scale bins, as percent of each run's messages.
 * A bucket of the recording histogram goes to the bin of its smallest value (within 1.6 %).
 */
export function latencyBins(results: readonly BenchResult[]): { categories: string[]; values: number[][] } {
  const counts = results.map((r) => {
    const m = new Map<number, number>();
    for (const [i, n] of r.latencyUs.buckets) {
      const b = binOf(histogramInternals.lowestOf(i));
      m.set(b, (m.get(b) ?? 0) + n);
    }
    return { m, total: r.latencyUs.count };
  });
  const used = counts.flatMap((c) => [...c.m.keys()]);
  if (used.length === 0) return { categories: [], values: results.map(() => []) };
  const lo = Math.min(...used);
  const hi = Math.max(...used);
  const bins = Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
  return {
    categories: bins.map((b) => usText(edge(b))),
    values: counts.map((c) => bins.map((b) => (c.total ? ((c.m.get(b) ?? 0) * 100) / c.total : 0))),
  };
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const tr = (cells: readonly string[], tag: string): string =>
    `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
  return `<table>\n<thead>${tr(head, 'th')}</thead>\n<tbody>\n${rows.map((r) => tr(r, 'td')).join('\n')}\n</tbody>\n</table>`;
}

function parameters(results: readonly BenchResult[]): string {
  const r = results[0]!;
  const rows: [string, string][] = [
    ['implementations', results.map((x) => x.impl).join(', ')],
    ['where', r.url ? `through ${r.url}` : 'peer to peer, loopback'],
    ['mode', r.mode],
    ['messages sent', results.map((x) => int(x.sent)).join(', ')],
    ['warm-up (not measured)', int(r.warmup)],
    ['message', `${r.bodyBytes} B body, ${r.messageBytes} B encoded`],
    ['credit per link', int(r.credit)],
    ['connections x links', `${r.connections} x ${r.links}`],
  ];
  return table(['parameter', 'value'], rows);
}

function machine(m: ReportMachine, results: readonly BenchResult[]): string {
  return table(
    ['fact', 'value'],
    [
      ['node', m.node],
      ['platform', m.platform],
      ['cpus', `${m.cpus} x ${m.cpuModel}`],
      ['load average at the end (1, 5, 15 min)', m.loadAvg.map((x) => x.toFixed(2)).join(', ')],
      [
        'load average (1 min) after each run',
        results.map((r) => `${r.impl} ${r.machine.loadAvg1m}`).join(', '),
      ],
      ['written', m.generatedAt],
    ],
  );
}

function summary(results: readonly BenchResult[], runNames: readonly string[]): string {
  const mib = (b: number): string => `${(b / MiB).toFixed(1)}`;
  const rows = (label: string, f: (r: BenchResult) => string): string[] => [label, ...results.map(f)];
  return table(
    ['', ...runNames],
    [
      rows('complete', (r) => (r.complete ? 'yes' : `NO (${int(r.lost)} lost)`)),
      rows('end-to-end msg/s', (r) => int(r.rate)),
      rows('MB/s', (r) => String(r.mbPerSec)),
      rows('sender msg/s', (r) => int(r.sender.rate)),
      rows('receiver msg/s', (r) => int(r.receiver.rate)),
      rows('sender CPU µs/msg', (r) => r.sender.cpuUsPerMsg.toFixed(2)),
      rows('receiver CPU µs/msg', (r) => r.receiver.cpuUsPerMsg.toFixed(2)),
      rows('sender CPU %', (r) => String(r.sender.cpuPercent)),
      rows('receiver CPU %', (r) => String(r.receiver.cpuPercent)),
      rows('sender peak RSS MiB', (r) => mib(r.sender.peakRssBytes)),
      rows('receiver peak RSS MiB', (r) => mib(r.receiver.peakRssBytes)),
      rows('latency p50 ms', (r) => String(r.latencyMs.p50)),
      rows('latency p90 ms', (r) => String(r.latencyMs.p90)),
      rows('latency p99 ms', (r) => String(r.latencyMs.p99)),
      rows('latency p99.9 ms', (r) => String(r.latencyMs.p999)),
      rows('latency max ms', (r) => String(r.latencyMs.max)),
    ],
  );
}

function overTime(
  results: readonly BenchResult[],
  runNames: readonly string[],
  side: 'sender' | 'receiver',
  what: 'rate' | 'rss',
): string {
  const series: LineSeries[] = results.map((r, i) => ({
    name: runNames[i]!,
    points:
      what === 'rate'
        ? rateSeries(r.series[side])
        : r.series[side].map((s): [number, number] => [s.ms / 1000, s.rssBytes / MiB]),
  }));
  return lineChart({
    title: `${side === 'sender' ? 'Sender' : 'Receiver'}: ${what === 'rate' ? 'messages per second' : 'RSS'}`,
    xLabel: 'seconds since the run started',
    yLabel: what === 'rate' ? 'msg/s' : 'MiB',
    series,
  });
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1020px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
td:not(:first-child){text-align:right}.charts{display:flex;flex-wrap:wrap;gap:12px}
.incomplete{color:#b00020;font-weight:bold}`;

/** The whole page. */
export function renderHtmlReport(results: readonly BenchResult[], m: ReportMachine): string {
  const runNames = names(results);
  const bins = latencyBins(results);
  const incomplete = results.flatMap((r, i) => (r.complete ? [] : [runNames[i]!]));
  const body = [
    `<h1>amqp-one bench: ${esc(results.map((r) => r.impl).join(' and '))}, ${esc(results[0]?.mode ?? '')}</h1>`,
    incomplete.length
      ? `<p class="incomplete">Incomplete (stalled or lost messages): ${esc(incomplete.join(', '))}. The figures cover what arrived.</p>`
      : '',
    `<section id="parameters"><h2>Parameters</h2>\n${parameters(results)}</section>`,
    `<section id="machine"><h2>Machine</h2>\n${machine(m, results)}</section>`,
    `<section id="summary"><h2>Summary</h2>\n${summary(results, runNames)}</section>`,
    `<section id="rate"><h2>Message rate over time</h2>`,
    `<p>From each process's samples: messages done between two samples over the time between them. The warm-up is included.</p>`,
    `<div class="charts">\n${overTime(results, runNames, 'sender', 'rate')}\n${overTime(results, runNames, 'receiver', 'rate')}\n</div></section>`,
    `<section id="latency"><h2>End-to-end latency</h2>`,
    `<p>Send to arrival of every measured message, on log-scale bins (each bar: from its label to the next one).</p>`,
    `<div class="charts">\n${barChart({
      title: 'Latency histogram',
      xLabel: 'latency (bin lower edge)',
      yLabel: '% of messages',
      categories: bins.categories,
      series: results.map((_, i) => ({ name: runNames[i]!, values: bins.values[i]! })),
      width: 720,
      yFormat: formatNumber,
    })}\n</div></section>`,
    `<section id="rss"><h2>Resident memory (RSS) over time</h2>`,
    `<div class="charts">\n${overTime(results, runNames, 'sender', 'rss')}\n${overTime(results, runNames, 'receiver', 'rss')}\n</div></section>`,
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>amqp-one bench report</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body.filter(Boolean),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
