/**
 * `npm run bench:plots` (bench/plots.js, over dist/): the plots committed in docs/plots/ are the
 * ones the recorded results in bench/results/ make, and drawing them twice gives the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function draw(): Map<string, string> {
  const out = mkdtempSync(join(tmpdir(), 'amqp-one-plots-'));
  dirs.push(out);
  execFileSync(process.execPath, [join(ROOT, 'bench/plots.js'), '--out', out]);
  return new Map(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
}

test('the committed plots are what bench/results makes, byte for byte', () => {
  if (!existsSync(join(ROOT, 'dist/bench/svg-plot.js')))
    throw new Error('dist/ is missing: run npm run build first');
  const a = draw();
  const b = draw();
  expect([...a.keys()].sort()).toEqual(
    expect.arrayContaining(['cpu-per-message.svg', 'rate-proton-c.svg', 'rate-rhea.svg', 'rss.svg']),
  );
  expect(b).toEqual(a);
  for (const [name, svg] of a) expect(readFileSync(join(ROOT, 'docs/plots', name), 'utf8'), name).toBe(svg);
  // Each plot is one SVG document with a legend entry per series.
  expect(a.get('rate-proton-c.svg')!.match(/<g class="legend">[\s\S]*<\/g>/)![0]).toContain('Proton C');
  // Four series (amqp-one and rhea, amqp-one and Proton C, each pair from its own run), four bars each.
  expect(a.get('cpu-per-message.svg')!.match(/<rect class="bar"/g)).toHaveLength(4 * 4);
});
