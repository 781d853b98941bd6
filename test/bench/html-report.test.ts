/** The HTML page of `amqp-one bench --report`, from results made here: its sections, charts and escaping. */
import { describe, expect, test } from 'vitest';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import {
  latencyBins,
  rateSeries,
  renderHtmlReport,
  type ReportMachine,
} from '../../src/bench/html-report.js';
import type { BenchResult, Sample } from '../../src/bench/report.js';

const side = {
  total: 1000,
  measured: 1000,
  ms: 1000,
  rate: 1000,
  cpuPercent: 50,
  cpuUsPerMsg: 5,
  peakRssBytes: 64 << 20,
};

function result(impl: 'amqp-one' | 'rhea', latenciesUs: number[], samples: Sample[]): BenchResult {
  const h = new LatencyHistogram();
  for (const v of latenciesUs) h.record(v);
  return {
    impl,
    mode: 'presettled',
    url: 'amqp://broker.example:5672/a<b>',
    sent: 1000,
    received: 1000,
    lost: 0,
    complete: impl === 'amqp-one',
    warmup: 0,
    bodyBytes: 256,
    messageBytes: 548,
    credit: 1000,
    connections: 1,
    links: 1,
    durationMs: 1000,
    rate: 1000,
    mbPerSec: 0.5,
    sender: { ...side, accepted: 0, otherOutcomes: 0 },
    receiver: side,
    latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1 },
    latencyUs: h.snapshot(),
    series: { sender: samples, receiver: samples },
    machine: { node: 'v20.0.0', cpus: 2, loadAvg1m: 1.5 },
  };
}

const samples: Sample[] = [
  { ms: 0, n: 0, cpuMs: 0, rssBytes: 50 << 20 },
  { ms: 250, n: 250, cpuMs: 100, rssBytes: 60 << 20 },
  { ms: 500, n: 1000, cpuMs: 200, rssBytes: 62 << 20 },
];

const machine: ReportMachine = {
  node: 'v20.0.0',
  platform: 'linux x64',
  cpuModel: 'Test <CPU> & co',
  cpus: 2,
  loadAvg: [1.5, 1.25, 1],
  generatedAt: '2026-01-01T00:00:00.000Z',
};

describe('renderHtmlReport', () => {
  const html = renderHtmlReport(
    [result('amqp-one', [900, 1100, 2500], samples), result('rhea', [6000, 60_000], samples.slice(0, 2))],
    machine,
  );

  test('has each section, and two charts per process plus the histogram, all inline', () => {
    for (const id of ['parameters', 'machine', 'summary', 'rate', 'latency', 'rss'])
      expect(html).toContain(`<section id="${id}">`);
    expect(html.match(/<svg /g)).toHaveLength(5);
    // RSS: a line per run in both charts. Rate: amqp-one's three samples make a line, rhea's two
    // make one rate, a point.
    expect(html.match(/<path class="series"/g)).toHaveLength(2 + 2 + 1 + 1);
    expect(html.match(/<circle class="series"/g)).toHaveLength(2);
    expect(html.match(/<rect class="bar"/g)).toHaveLength(2 * 7);
    expect(html).not.toMatch(/<script|<link|src=|href=|@import|url\(/i);
  });

  test('escapes the text it is given', () => {
    expect(html).toContain('amqp://broker.example:5672/a&#60;b&#62;');
    expect(html).toContain('Test &#60;CPU&#62; &#38; co');
    expect(html).not.toContain('<CPU>');
    expect(html).not.toContain('a<b>');
  });

  test('says which runs are incomplete', () => {
    expect(html).toContain('<p class="incomplete">Incomplete (stalled or lost messages): rhea.');
  });
});

describe('the series the charts draw', () => {
  test('rateSeries is the messages per second between samples, at the later one', () => {
    expect(rateSeries(samples)).toEqual([
      [0.25, 1000],
      [0.5, 3000],
    ]);
    expect(rateSeries(samples.slice(0, 1))).toEqual([]);
  });

  test('latencyBins puts both runs on the same 1-2-5 bins, in percent of each run', () => {
    const b = latencyBins([result('amqp-one', [900, 1100, 2500], []), result('rhea', [6000, 60_000], [])]);
    expect(b.categories).toEqual(['500µs', '1ms', '2ms', '5ms', '10ms', '20ms', '50ms']);
    expect(b.values[0]!.map((v) => Math.round(v * 10) / 10)).toEqual([33.3, 33.3, 33.3, 0, 0, 0, 0]);
    expect(b.values[1]).toEqual([0, 0, 0, 50, 0, 0, 50]);
  });
});
