// Summarises a sampling heap profile written by the throughput benchmark (BENCH_ALLOC_PROFILE=<dir>):
// bytes allocated per function (self) and per call path ending in amqp-one code, scaled to bytes
// per message when the message count is given.
//
//   node bench/throughput-allocs.js <file.heapprofile> [messages] [top=25]
import { readFileSync } from 'node:fs';

const [file, countArg, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/throughput-allocs.js <file.heapprofile> [messages] [top]');
const count = Number(countArg ?? 0);
const top = Number(topArg ?? 25);
const { head } = JSON.parse(readFileSync(file, 'utf8'));

const where = (cf) => {
  const url = cf.url
    .replace(/^.*\/(dist|bench|node_modules)\//, '$1/')
    .replace(/^file:\/\/\/tmp\/[^/]+\/[^/]+\//, 'dist/');
  return `${cf.functionName || '(anonymous)'}${url ? ` ${url}:${cf.lineNumber + 1}` : ''}`;
};
const self = new Map();
const site = new Map(); // nearest frame in our code (dist/ or bench/) that led to the allocation
let total = 0;
(function walk(n, ours) {
  const w = where(n.callFrame);
  const mine = /(^|\s)(dist|bench)\//.test(w) ? w : ours;
  if (n.selfSize > 0) {
    total += n.selfSize;
    self.set(w, (self.get(w) ?? 0) + n.selfSize);
    const k = mine && mine !== w ? `${w}  <- ${mine}` : w;
    site.set(k, (site.get(k) ?? 0) + n.selfSize);
  }
  for (const c of n.children ?? []) walk(c, mine);
})(head, undefined);

const show = (bytes) => {
  const pct = `${((100 * bytes) / total).toFixed(1).padStart(5)}%`;
  return count > 0
    ? `${pct} ${(bytes / count).toFixed(0).padStart(6)} B/msg`
    : `${pct} ${(bytes / 1048576).toFixed(1).padStart(8)} MB`;
};
console.log(
  `${file}: ${(total / 1048576).toFixed(1)} MB sampled${count > 0 ? `, ${(total / count).toFixed(0)} B/msg over ${count} messages` : ''}`,
);
console.log('\nby function (self):');
for (const [k, b] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${show(b)}  ${k}`);
console.log('\nby allocation site (function <- nearest amqp-one/bench caller):');
for (const [k, b] of [...site].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${show(b)}  ${k}`);
