/**
 * `amqp-one bench --report` as a user runs it: the built CLI through our broker with SASL PLAIN
 * credentials in the URL, amqp-one and rhea, and the page it writes opened in Chromium: the
 * sections and charts are there, nothing is fetched, and the password is nowhere in it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { BenchResult } from '../../src/bench/report.js';
import { startBroker, type Broker } from '../../src/broker/index.js';

const CLI = resolve(__dirname, '../../dist/cli/main.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'pl41n-s3cret-9f2c';

let broker: Broker;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  broker = await startBroker({ host: '127.0.0.1', port: 0, users: { bench: PASSWORD } });
  dir = mkdtempSync(join(tmpdir(), 'amqp-one-bench-report-'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      `--user-data-dir=${join(dir, 'profile')}`,
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [CLI, 'bench', ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 50_000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

test('--report with --json through a broker with credentials: both runs in one page, no password', async () => {
  const file = join(dir, 'out.html');
  const url = `amqp://bench:${PASSWORD}@127.0.0.1:${broker.port}/report-q`;
  const r = await bench([url, '--count', '2000', '--impl', 'both', '--json', '--report', file]);
  expect(r.stderr).toContain(`report written to ${file}`);
  expect(r.code).toBe(0);

  // --json is unchanged: one object per run, now with the samples and latency buckets.
  const runs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as BenchResult);
  expect(runs.map((x) => [x.impl, x.complete, x.received])).toEqual([
    ['amqp-one', true, 2000],
    ['rhea', true, 2000],
  ]);
  for (const x of runs) {
    expect(x.series.receiver.at(-1)!.n).toBe(2000);
    expect(x.latencyUs.count).toBe(2000);
  }
  expect(r.stdout).not.toContain(PASSWORD);

  const html = readFileSync(file, 'utf8');
  expect(html).not.toContain(PASSWORD);
  expect(html).toContain(`through amqp://127.0.0.1:${broker.port}/report-q`);
  expect(statSync(file).mode & 0o777).toBe(0o644);

  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (q) => requests.push(q.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  // Evaluated in the page (a string: this file is compiled without the DOM's types).
  const seen = (await page.evaluate(`({
    title: document.title,
    sections: [...document.querySelectorAll('section')].map((s) => s.id),
    scripts: document.scripts.length,
    // Per chart: its title and how many series it draws (lines or lone points, or groups of bars).
    charts: [...document.querySelectorAll('svg')].map((svg) => [
      svg.querySelector('title').textContent,
      svg.querySelectorAll('path.series, circle.series, g.series').length,
    ]),
    legends: [...document.querySelectorAll('svg .legend text')].map((t) => t.textContent),
    summaryHead: [...document.querySelectorAll('#summary th')].map((t) => t.textContent),
  })`)) as {
    title: string;
    sections: string[];
    scripts: number;
    charts: unknown[];
    legends: string[];
    summaryHead: string[];
  };
  await page.close();
  expect(requests).toEqual([pathToFileURL(file).href]);
  expect(seen.title).toBe('amqp-one bench report');
  expect(seen.sections).toEqual(['parameters', 'machine', 'summary', 'rate', 'latency', 'rss']);
  expect(seen.scripts).toBe(0);
  expect(seen.charts).toEqual([
    ['Sender: messages per second', 2],
    ['Receiver: messages per second', 2],
    ['Latency histogram', 2],
    ['Sender: RSS', 2],
    ['Receiver: RSS', 2],
  ]);
  expect(seen.legends).toEqual(Array(5).fill(['amqp-one', 'rhea']).flat());
  expect(seen.summaryHead).toEqual(['', 'amqp-one', 'rhea']);
});
