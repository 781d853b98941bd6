/** `amqp-one bench [URL]`: a quiver-style throughput and latency run, amqp-one or rhea or both. */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { renderHtmlReport } from '../bench/html-report.js';
import { runBench, type RunHooks } from '../bench/run.js';
import { DEFAULTS, type BenchImpl, type BenchOptions } from '../bench/options.js';
import { formatComparison, formatResult, ProgressLine, type BenchResult } from '../bench/report.js';
import { int, parse, UsageError, urlAndAddress } from './args.js';

/** How often the workers report when a --report is asked for (the charts' time resolution). */
const REPORT_SAMPLE_MS = 250;

export const BENCH_HELP = `amqp-one bench [URL [--address A] | --websocket] [--count N | --duration S] [--warmup N] [--body-size B]
              [--mode presettled|unsettled] [--credit C] [--connections K] [--links K]
              [--impl amqp-one|rhea|both] [--decode lazy|eager] [--json] [--report FILE] [--quiet]
              [--ca FILE] [--insecure]
  Sends messages from one process to another and reports throughput, end-to-end latency, CPU and
  memory. Without URL the two processes talk peer to peer over loopback (the receiver listens);
  with URL (amqp[s]://[user:pass@]host:port/address) both go through that broker; with
  ws[s]://[user:pass@]host:port/path, over WebSockets to the endpoint at path, and --address A.
  --websocket runs peer to peer over WebSockets (ws://127.0.0.1:port/) instead of TCP.
  The message is the project's telemetry message (annotations, properties, application
  properties, a 256-byte JSON body; --body-size changes the body), stamped with its send time.
    --count N        messages to send in all (default ${DEFAULTS.count.toLocaleString('en-US')}), split over the links
    --duration S     or: send for S seconds
    --warmup N       messages sent first and left out of the figures (default 0)
    --mode M         presettled (default): settled on send; unsettled: each accepted by the receiver
    --credit C       receiver prefetch per link (default ${DEFAULTS.credit})
    --connections K  connections per side (default 1); --links K: links per connection (default 1)
    --impl I         amqp-one (default), rhea (needs the rhea package), or both, one after the other
    --decode D       how amqp-one's receiver decodes (it reads each message's send-time annotation):
                     lazy (default: the whole message checked, only what is read decoded) or eager
                     (all of it decoded); rhea always decodes all of it
    --json           one JSON object per run on stdout instead of the report; progress stays on stderr
    --report FILE    also write an HTML page (self-contained: inline SVG, no script): parameters,
                     machine, summary, and per process the rate and RSS over time (sampled every
                     ${REPORT_SAMPLE_MS} ms) and the latency histogram; with --impl both, side by side
    --quiet          no progress line
  Exits 1 if a run lost messages or stalled.`;

export async function benchCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    count: { type: 'string', short: 'c' },
    address: { type: 'string' },
    websocket: { type: 'boolean' },
    duration: { type: 'string', short: 'd' },
    warmup: { type: 'string' },
    'body-size': { type: 'string' },
    mode: { type: 'string', short: 'm' },
    credit: { type: 'string' },
    connections: { type: 'string' },
    links: { type: 'string' },
    impl: { type: 'string' },
    decode: { type: 'string' },
    json: { type: 'boolean' },
    report: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    'stall-timeout': { type: 'string' },
  });
  if (v.help) return (console.log(BENCH_HELP), 0);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
  const url = positionals[0];
  if (v.address !== undefined && url === undefined) throw new UsageError('--address goes with a URL');
  if (url !== undefined) urlAndAddress(url, v.address);
  if (v.websocket && url !== undefined)
    throw new UsageError('--websocket is for peer to peer; with a URL, use ws:// or wss://');
  if (v.count !== undefined && v.duration !== undefined)
    throw new UsageError('give --count or --duration, not both');
  const mode = v.mode ?? DEFAULTS.mode;
  if (mode !== 'presettled' && mode !== 'unsettled')
    throw new UsageError(`--mode must be presettled or unsettled, got ${mode}`);
  const impl = v.impl ?? DEFAULTS.impl;
  if (impl !== 'amqp-one' && impl !== 'rhea' && impl !== 'both')
    throw new UsageError(`--impl must be amqp-one, rhea or both, got ${impl}`);
  const decode = v.decode ?? DEFAULTS.decode;
  if (decode !== 'lazy' && decode !== 'eager')
    throw new UsageError(`--decode must be lazy or eager, got ${decode}`);
  const positive = (value: string | undefined, name: string, fallback: number): number => {
    const n = int(value, name, fallback);
    if (n < 1) throw new UsageError(`--${name} must be at least 1`);
    return n;
  };
  const durationS = v.duration === undefined ? undefined : Number(v.duration);
  if (durationS !== undefined && !(durationS > 0)) throw new UsageError(`--duration must be > 0 seconds`);
  const base: Omit<BenchOptions, 'impl'> = {
    url,
    address: v.address,
    websocket: v.websocket,
    mode,
    decode,
    count: durationS === undefined ? positive(v.count, 'count', DEFAULTS.count) : undefined,
    durationS,
    warmup: int(v.warmup, 'warmup', DEFAULTS.warmup),
    bodySize: v['body-size'] === undefined ? undefined : int(v['body-size'], 'body-size', 0),
    credit: positive(v.credit, 'credit', DEFAULTS.credit),
    connections: positive(v.connections, 'connections', DEFAULTS.connections),
    links: positive(v.links, 'links', DEFAULTS.links),
    ca: v.ca,
    insecure: v.insecure,
    stallTimeoutMs: positive(v['stall-timeout'], 'stall-timeout', DEFAULTS.stallTimeoutMs / 1000) * 1000,
    progressMs: v.report === undefined ? DEFAULTS.progressMs : REPORT_SAMPLE_MS,
  };
  const impls: BenchImpl[] = impl === 'both' ? ['amqp-one', 'rhea'] : [impl];
  const results: BenchResult[] = [];
  for (const i of impls) {
    const line = new ProgressLine();
    const tty = process.stderr.isTTY;
    // Both processes report once per interval: print at most one line per interval.
    let printedAt = 0;
    const onProgress: RunHooks['onProgress'] = (p) => {
      const text = line.format(p);
      if (Date.now() - printedAt < DEFAULTS.progressMs * 0.8) return;
      printedAt = Date.now();
      process.stderr.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
    };
    const r = await runBench({ ...base, impl: i }, { onProgress: v.quiet ? undefined : onProgress });
    if (tty && !v.quiet) process.stderr.write('\r\x1b[K');
    results.push(r);
    process.stdout.write(v.json ? `${JSON.stringify(r)}\n` : `${formatResult(r)}\n\n`);
  }
  if (results.length === 2 && !v.json)
    process.stdout.write(`${formatComparison(results[0]!, results[1]!)}\n`);
  if (v.report !== undefined) {
    const html = renderHtmlReport(results, {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      loadAvg: loadavg(),
      generatedAt: new Date().toISOString(),
    });
    // No secret in it (URLs are shown without credentials): readable like any report.
    writeFileSync(v.report, html, { mode: 0o644 });
    if (!v.quiet) process.stderr.write(`report written to ${v.report}\n`);
  }
  return results.every((r) => r.complete) ? 0 : 1;
}
