// Summarises a .cpuprofile (from `node --cpu-prof`): self time per function, inclusive time, and
// the hottest lines, mapped from dist/*.js back to src/*.ts through the emitted source maps.
//
//   node bench/cpuprofile-summary.js <file.cpuprofile> [top=25]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/cpuprofile-summary.js <file.cpuprofile> [top]');
const top = Number(process.argv[3] ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const hits = new Map();
for (const id of prof.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = prof.samples.length;

const label = (n) => {
  const cf = n.callFrame;
  const url = cf.url.replace(/^.*\/(dist|bench|node_modules)\//, '$1/');
  return `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
};

const self = new Map();
const incl = new Map();
for (const [id, h] of hits) {
  const k = label(byId.get(id));
  self.set(k, (self.get(k) ?? 0) + h);
  // inclusive: count once per distinct label on the stack
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + h);
  }
}

const pct = (h) => `${((100 * h) / total).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${total} samples`);
console.log('\nself time:');
for (const [k, h] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(h)}  ${k}`);
console.log('\ninclusive time:');
for (const [k, h] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(h)}  ${k}`);

// Hottest lines (self ticks by line) in dist/ JavaScript, mapped back to src/ when a map exists.
const maps = new Map();
function mapFor(url) {
  if (!url.startsWith('file://')) return undefined;
  if (maps.has(url)) return maps.get(url);
  let sm;
  const mapFile = `${fileURLToPath(url)}.map`;
  if (existsSync(mapFile))
    sm = { sm: new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))), dir: mapFile };
  maps.set(url, sm);
  return sm;
}
const lines = new Map();
for (const n of prof.nodes) {
  const url = n.callFrame.url;
  if (!url.includes('/dist/') && !url.includes('/dist-')) continue;
  for (const pt of n.positionTicks ?? []) {
    let where = `${url.replace(/^.*\/(dist[^/]*)\//, '$1/')}:${pt.line}`;
    const m = mapFor(url);
    if (m) {
      const e = m.sm.findEntry(pt.line - 1, 0);
      if (e && e.originalSource)
        where = `${e.originalSource.replace(/^(\.\.\/)+/, '')}:${e.originalLine + 1}  (${where})`;
    }
    const k = `${where}  [${n.callFrame.functionName || 'anonymous'}]`;
    lines.set(k, (lines.get(k) ?? 0) + pt.ticks);
  }
}
console.log('\nhottest lines (self):');
for (const [k, h] of [...lines].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(h)}  ${k}`);
