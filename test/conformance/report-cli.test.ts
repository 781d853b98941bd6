/**
 * The outputs and the command: JSON and HTML come from the same results object; the CLI runs the
 * server suite against a URL and the client suite with --listen, and exits 1 when a case fails.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect } from '../../src/client/index.js';
import { conformanceCommand } from '../../src/cli/conformance.js';
import { matrixMarkdown, toHtml, toJson, toText } from '../../src/conformance/report.js';
import type { ConformanceResults } from '../../src/conformance/types.js';

let broker: Broker;
let dir: string;

beforeAll(async () => {
  broker = await startBroker({ port: 0, sasl: { anonymous: true } });
  dir = await mkdtemp(path.join(tmpdir(), 'amqp-one-conformance-'));
});

afterAll(async () => {
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the command with stdout and console.log captured. */
async function run(
  argv: string[],
  during?: (out: () => string) => Promise<void>,
): Promise<{ code: number; out: string }> {
  let out = '';
  const log = vi
    .spyOn(console, 'log')
    .mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    const running = conformanceCommand(argv);
    if (during) await during(() => out);
    return { code: await running, out };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

const sample: ConformanceResults = {
  tool: 'amqp-one conformance',
  version: '0.0.0',
  mode: 'server',
  target: 'amqp://example:5672/',
  startedAt: '2024-01-01T00:00:00.000Z',
  durationMs: 12,
  summary: { pass: 1, fail: 1, notApplicable: 1, total: 3 },
  results: [
    { id: 'a.one', section: '2.2', title: 'first', status: 'pass', reason: 'ok', durationMs: 1, trace: [] },
    {
      id: 'b.two',
      section: '2.6.7',
      title: 'second <b>',
      status: 'fail',
      reason: 'sent 3 with credit 2 & more',
      durationMs: 2,
      trace: [
        { t: 1, conn: 1, dir: 'in', kind: 'frame', channel: 0, performative: 'flow', text: '[0] flow <x>' },
      ],
    },
    {
      id: 'c.three',
      section: '5.3.2',
      title: 'third',
      status: 'not-applicable',
      reason: 'no SASL',
      durationMs: 0,
      trace: [],
    },
  ],
};

describe('conformance outputs', () => {
  it('JSON round-trips the results; HTML shows every case with its status, reason and escaped trace', () => {
    expect(JSON.parse(toJson(sample))).toEqual(sample);
    const html = toHtml(sample);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const r of sample.results) expect(html).toContain(`<code>${r.id}</code>`);
    expect(html).toContain('<span class="badge fail">FAIL</span>');
    expect(html).toContain('<span class="badge not-applicable">n/a</span>');
    expect(html).toContain('sent 3 with credit 2 &amp; more');
    expect(html).toContain('second &lt;b&gt;');
    expect(html).toContain('&lt;- [0] flow &lt;x&gt;');
    expect(html).not.toMatch(/<script|https?:\/\//); // self-contained
    expect(toText(sample)).toContain('1 pass, 1 fail, 1 not applicable');
  });

  it('the matrix has a row per case and a column per implementation', () => {
    const md = matrixMarkdown([
      { name: 'A', results: sample },
      { name: 'B', results: { ...sample, results: sample.results.slice(0, 1) } },
    ]);
    expect(md.split('\n')).toEqual([
      '| Case | Section | A | B |',
      '|---|---|---|---|',
      '| `a.one` | 2.2 | pass | pass |',
      '| `b.two` | 2.6.7 | FAIL |  |',
      '| `c.three` | 5.3.2 | n/a |  |',
    ]);
  });
});

describe('amqp-one conformance (command)', () => {
  it('tests a URL: --case selects, --json prints the results, --report writes the same results as HTML', async () => {
    const report = path.join(dir, 'report.html');
    const { code, out } = await run([
      `amqp://127.0.0.1:${broker.port}`,
      '--case',
      'open.basic',
      '--case',
      'link.',
      '--json',
      '--report',
      report,
    ]);
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1); // --json is one object per line everywhere
    const results = JSON.parse(out) as ConformanceResults;
    expect(results.mode).toBe('server');
    expect(results.results.map((r) => r.id)).toEqual([
      'open.basic',
      'link.attach-sender',
      'link.attach-receiver',
      'link.credit',
      'link.drain-empty',
      'link.drain-partial',
      'link.flow-echo',
      'link.detach-closed',
      'link.detach-error',
    ]);
    expect(results.summary).toMatchObject({ pass: 9, fail: 0, total: 9 });
    expect(results.results[0].trace.some((e) => e.performative === 'open' && e.dir === 'in')).toBe(true);
    const html = await readFile(report, 'utf8');
    for (const r of results.results) {
      expect(html).toContain(`<code>${r.id}</code>`);
      expect(html).toContain(r.reason.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    }
  });

  it('exits 1 when a case fails (a server that answers nothing in time)', async () => {
    // A listener that accepts and stays silent: the header case fails.
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const { code, out } = await run([
        `amqp://127.0.0.1:${port}`,
        '--case',
        'header.amqp',
        '--timeout',
        '300',
        '--no-sasl',
      ]);
      expect(code).toBe(1);
      expect(out).toMatch(/FAIL\s+header\.amqp/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('--listen tests the client that connects', { timeout: 20_000 }, async () => {
    const { code, out } = await run(['--listen', '0', '--scenarios', 'close-error'], async (output) => {
      const deadline = Date.now() + 5000;
      let m: RegExpMatchArray | null = null;
      while (!(m = output().match(/listening on amqp:\/\/127\.0\.0\.1:(\d+)/)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(m).not.toBeNull();
      const c = await connect(`amqp://127.0.0.1:${m![1]}`).catch(() => undefined);
      await c?.close().catch(() => undefined);
    });
    expect(out).toMatch(/connection 1 of 1: scenario close-error/);
    expect(out).toMatch(/pass\s+client\.close-answer\s+2\.4\.3/);
    expect(out).toMatch(/0 fail/);
    expect(code).toBe(0);
  });
});
