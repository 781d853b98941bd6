/** The attack rows as plain-text tables (one per target) or JSON. */
import type { AttackRow } from './runner.js';

const num = (n: number | undefined, digits = 0): string => (n === undefined ? '-' : n.toFixed(digits));

function probeCell(r: AttackRow): string {
  const p = r.probe;
  if (!p) return '-';
  let s = `${num(p.p50Ms, 1)} / ${num(p.maxMs, 0)} (${p.count})`;
  if (p.pendingMs !== undefined) s += ` +1 in flight ${num(p.pendingMs, 0)}`;
  if (p.errors > 0) s += ` ${p.errors} failed`;
  return s;
}

const COLUMNS: { title: string; cell: (r: AttackRow) => string }[] = [
  { title: 'attack', cell: (r) => r.attack },
  { title: 'verdict', cell: (r) => r.verdict },
  { title: 'RSS before', cell: (r) => num(r.rssBeforeMiB) },
  { title: 'after', cell: (r) => num(r.rssAfterMiB) },
  { title: 'peak', cell: (r) => num(r.peakMiB) },
  { title: 'probe RTT ms p50 / max (n)', cell: probeCell },
  { title: 's', cell: (r) => num(r.seconds, 1) },
  {
    title: 'outcome (what the server did)',
    cell: (r) =>
      r.text +
      (r.serverExit ? ` [server ${r.serverExit}]` : '') +
      (r.probe?.firstError ? ` [probe: ${r.probe.firstError}]` : ''),
  },
];

/** One table per target; RSS in MiB. */
export function formatTables(rows: AttackRow[]): string {
  const out: string[] = [];
  for (const target of [...new Set(rows.map((r) => r.target))]) {
    const group = rows.filter((r) => r.target === target);
    const cells = group.map((r) => COLUMNS.map((c) => c.cell(r)));
    const widths = COLUMNS.map((c, i) =>
      i === COLUMNS.length - 1 ? 0 : Math.max(c.title.length, ...cells.map((row) => row[i]!.length)),
    );
    const line = (values: string[]): string =>
      values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
    out.push(`== ${target} (RSS in MiB)`);
    out.push(line(COLUMNS.map((c) => c.title)));
    out.push(line(widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? 30 : w))));
    for (const row of cells) out.push(line(row));
    out.push('');
  }
  const holes = rows.filter((r) => r.verdict === 'HOLE').length;
  out.push(
    `${rows.length} attack(s), ${holes} HOLE(s), ${rows.filter((r) => r.verdict === 'held').length} held`,
  );
  return out.join('\n');
}

export function formatJson(rows: AttackRow[]): string {
  return JSON.stringify({ tool: 'amqp-one attack', at: new Date().toISOString(), rows }, null, 2);
}
