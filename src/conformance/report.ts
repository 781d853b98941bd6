/**
 * The outputs of a run, all made from the one ConformanceResults object: JSON, a self-contained HTML
 * report (a table a person reads at a glance, with each case's trace one click away), a plain-text
 * summary for the terminal, and a Markdown matrix of several runs side by side.
 */
import { formatEntry } from './trace.js';
import type { CaseStatus, ConformanceResults } from './types.js';

/** The results as JSON (bigints as strings). */
export function toJson(results: ConformanceResults, indent = 2): string {
  return JSON.stringify(results, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

const LABEL: Record<CaseStatus, string> = { pass: 'pass', fail: 'FAIL', 'not-applicable': 'n/a' };

/** A line per case and a summary, for the terminal. */
export function toText(results: ConformanceResults): string {
  const lines = results.results.map(
    (r) => `${LABEL[r.status].padEnd(5)} ${r.id.padEnd(28)} ${r.section.padEnd(8)} ${r.reason}`,
  );
  const s = results.summary;
  lines.push(
    '',
    `${results.target}: ${s.pass} pass, ${s.fail} fail, ${s.notApplicable} not applicable (${s.total} cases, ${results.durationMs} ms)`,
  );
  return lines.join('\n');
}

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A self-contained HTML page: one row per case with its spec section, status, reason and trace. */
export function toHtml(results: ConformanceResults): string {
  const s = results.summary;
  const peer = results.peer;
  const peerText = peer
    ? [peer.product, peer.version, peer.containerId && `container-id ${peer.containerId}`]
        .filter(Boolean)
        .join(' · ')
    : '';
  const rows = results.results
    .map((r) => {
      const trace = r.trace.map((e) => esc(formatEntry(e))).join('\n');
      return `<tr class="${r.status}">
<td class="id"><code>${esc(r.id)}</code></td>
<td class="section">${esc(r.section)}</td>
<td class="title">${esc(r.title)}</td>
<td class="status"><span class="badge ${r.status}">${LABEL[r.status]}</span></td>
<td class="reason">${esc(r.reason)}<details><summary>trace (${r.trace.length} entries, ${r.durationMs} ms)</summary><pre>${trace}</pre></details></td>
</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>AMQP 1.0 conformance: ${esc(results.target)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #555; margin-bottom: 12px; }
.summary span { display: inline-block; padding: 2px 10px; border-radius: 10px; margin-right: 6px; color: #fff; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.id { white-space: nowrap; }
td.section { white-space: nowrap; }
.badge { display: inline-block; min-width: 40px; text-align: center; padding: 1px 8px; border-radius: 4px; color: #fff; font-weight: 600; }
.pass { background: #2e7d32; }
.fail { background: #c62828; }
.not-applicable { background: #757575; }
tr.pass, tr.fail, tr.not-applicable { background: none; }
tr.fail td { background: #fdecea; }
details summary { cursor: pointer; color: #555; margin-top: 4px; }
pre { font-size: 12px; background: #f7f7f7; padding: 8px; overflow-x: auto; max-height: 480px; }
</style>
</head>
<body>
<h1>AMQP 1.0 conformance: ${esc(results.mode === 'server' ? 'server' : 'client')} ${esc(results.target)}</h1>
<div class="meta">${esc(peerText)}${peerText ? '<br>' : ''}${esc(results.tool)} ${esc(results.version)} · ${esc(results.startedAt)} · ${results.durationMs} ms</div>
<div class="summary"><span class="pass">${s.pass} pass</span><span class="fail">${s.fail} fail</span><span class="not-applicable">${s.notApplicable} not applicable</span> of ${s.total} cases</div>
<p>Sections are those of the OASIS AMQP 1.0 standard. Not applicable: the peer declined in a way the spec allows, or the case cannot apply to it (the reason says which).</p>
<table>
<thead><tr><th>Case</th><th>Section</th><th>What is checked</th><th>Status</th><th>Reason and frame trace</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}

/** A Markdown table: one row per case, one column per run (name → results). */
export function matrixMarkdown(columns: { name: string; results: ConformanceResults }[]): string {
  const ids: { id: string; section: string }[] = [];
  for (const c of columns) {
    for (const r of c.results.results)
      if (!ids.some((x) => x.id === r.id)) ids.push({ id: r.id, section: r.section });
  }
  const head = `| Case | Section | ${columns.map((c) => c.name).join(' | ')} |`;
  const rule = `|---|---|${columns.map(() => '---').join('|')}|`;
  const rows = ids.map(({ id, section }) => {
    const cells = columns.map((c) => {
      const r = c.results.results.find((x) => x.id === id);
      return r ? LABEL[r.status] : '';
    });
    return `| \`${id}\` | ${section} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}
