// The one table of `npm run bench:all`, built from the JSON each comparison records. Pure: no
// timing and no files, so test/bench/all-table.test.ts checks it against recorded results.
//
// A row is { measure, ours, theirs, ratio, target, met }. ratio is how many times faster ours is:
// ours/theirs for rates, theirs/ours for times (registry round trips), so above 1 is better in
// every row. target is issue 15's target where one exists (codec 10x rhea, 5x rhea end to end,
// 0.67x Proton C, the sender's CPU per message at most 1.5x Proton C's, RSS flat through the
// broker); met is true/false against it, null without one.

/**
 * Issue 15's targets, as ratios (above 1 is better): protonCSenderCpu is Proton's CPU per message
 * over ours, so "at most 1.5x Proton's" is 1/1.5.
 */
export const TARGETS = { codec: 10, rhea: 5, protonC: 0.67, protonCSenderCpu: 1 / 1.5 };

/**
 * RSS counts as flat when the median over the last quarter of the messages is at most this much
 * above the median over the second quarter (the first quarter is the heap's warm-up).
 */
export const FLAT_GROWTH = 0.1;

/** The cases of bench/codec.js that carry a target: what an application encodes and reads. */
const CODEC_TARGET_CASES = new Set(['telemetry-encode', 'telemetry-decode', 'telemetry-read-lazy']);

const MODES = ['presettled', 'unsettled'];

function si(n) {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  if (a >= 100) return n.toFixed(0);
  return n.toFixed(a >= 10 ? 1 : 2);
}

function row(measure, ours, theirs, ratio, target) {
  return {
    measure,
    ours,
    theirs,
    ratio: ratio === undefined || !Number.isFinite(ratio) ? null : Number(ratio.toFixed(2)),
    target: target ?? null,
    met: target === undefined || ratio === undefined || !Number.isFinite(ratio) ? null : ratio >= target,
  };
}

/** A row saying why a step has no figures (skipped, failed, not run). */
function note(measure, text) {
  return { measure, ours: text, theirs: '', ratio: null, target: null, met: null };
}

/** bench/codec.js (medians) or bench/codec-benchmarkjs.js (with ±rme): one row per compared case. */
export function codecRows(rec) {
  const rows = [];
  for (const r of rec.ratios ?? []) {
    const a = rec.results.find((x) => x.case === r.case && x.impl === r.subject);
    const b = rec.results.find((x) => x.case === r.case && x.impl === r.baseline);
    if (!a || !b) continue;
    const cell = (x) => `${si(x.opsPerSec)} ops/s${x.rmePercent === undefined ? '' : ` ±${x.rmePercent}%`}`;
    const label = r.baseline === 'rhea' ? `codec ${r.case}` : `${r.case} (${r.subject} vs ${r.baseline})`;
    const target = r.baseline === 'rhea' && CODEC_TARGET_CASES.has(r.case) ? TARGETS.codec : undefined;
    rows.push(row(label, cell(a), cell(b), a.opsPerSec / b.opsPerSec, target));
  }
  return rows;
}

/** `amqp-one bench --impl both --json`: one JSON object per run (impl, mode, rate). */
export function cliRows(runs) {
  return MODES.map((mode) => {
    const of = (impl) => runs.find((r) => r.impl === impl && r.mode === mode);
    const a = of('amqp-one');
    const b = of('rhea');
    if (!a || !b) return note(`amqp-one bench ${mode} vs rhea`, 'no result');
    return row(
      `amqp-one bench ${mode} vs rhea`,
      `${si(a.rate)} msg/s`,
      `${si(b.rate)} msg/s`,
      a.rate / b.rate,
      TARGETS.rhea,
    );
  });
}

/**
 * bench/proton-c.js's record (summary of medians per impl and mode): the rate, and the sender's
 * CPU per message, per mode.
 */
export function protonCRows(rec) {
  return MODES.flatMap((mode) => {
    const of = (impl) => rec.summary.find((s) => s.impl === impl && s.mode === mode);
    const a = of('amqp-one');
    const b = of('proton-c');
    const cpu = `${mode} sender CPU/msg vs Proton C`;
    if (!a || !b) return [note(`${mode} vs Proton C`, 'no result'), note(cpu, 'no result')];
    return [
      row(
        `${mode} vs Proton C`,
        `${si(a.msgsPerSec)} msg/s`,
        `${si(b.msgsPerSec)} msg/s`,
        a.msgsPerSec / b.msgsPerSec,
        TARGETS.protonC,
      ),
      row(
        cpu,
        `${si(a.senderUsPerMsg)} us`,
        `${si(b.senderUsPerMsg)} us`,
        b.senderUsPerMsg / a.senderUsPerMsg,
        TARGETS.protonCSenderCpu,
      ),
    ];
  });
}

/** bench/websocket.js's record: amqp-one and rhea over WebSockets, per mode. */
export function websocketRows(rec) {
  return MODES.map((mode) => {
    const of = (impl) => rec.rows.find((r) => r.impl === impl && r.mode === mode);
    const a = of('amqp-one');
    const b = of('rhea');
    if (!a || !b) return note(`websocket ${mode} vs rhea`, 'no result');
    return row(
      `websocket ${mode} vs rhea`,
      `${si(a.websocket)} msg/s`,
      `${si(b.websocket)} msg/s`,
      a.websocket / b.websocket,
    );
  });
}

/** bench/iothub-round-trips.js's stdout lines: ours only (the emulator has no other client here). */
export function iothubRows(lines) {
  return lines.map((l) => row(`iothub ${l.name} (median)`, `${si(l.medianUs)} us`, '', undefined));
}

/** bench/registry-rest.js's record: ours against azure-iothub's Registry, median pair in ms. */
export function registryRows(rec) {
  const a = rec.rows.find((r) => r.impl === 'amqp-one');
  const b = rec.rows.find((r) => r.impl === 'azure-iothub');
  if (!a) return [note('registry create+get (median)', 'no result')];
  return [
    row(
      'registry create+get (median)',
      `${si(a.medianMs)} ms`,
      b ? `${si(b.medianMs)} ms` : 'not run (needs port 443)',
      b ? b.medianMs / a.medianMs : undefined,
    ),
  ];
}

/** bench/iothub-capacity.js's stdout lines, one per N: ours only. */
export function capacityRows(lines) {
  return lines.map((l) =>
    row(
      `capacity ${l.devices} devices: RSS per device`,
      `${si(l.rssPerDeviceKiB)} KiB${l.failed ? ` (${l.failed} failed)` : ''}`,
      '',
      undefined,
    ),
  );
}

/** bench/large-messages.js's record: MB/s per size against rhea, where rhea ran it. */
export function largeRows(rec) {
  const sizes = [...new Set(rec.rows.map((r) => r.mib))];
  return sizes.map((mib) => {
    const a = rec.rows.find((r) => r.mib === mib && r.impl === 'amqp-one');
    const b = rec.rows.find((r) => r.mib === mib && r.impl === 'rhea');
    const cell = (x) =>
      `${si(x.mbPerS)} MB/s, +${si(Math.max(x.senderOverIdleMiB, x.receiverOverIdleMiB))} MiB`;
    return row(
      `large message ${mib} MiB vs rhea`,
      a ? cell(a) : '-',
      b ? cell(b) : 'not run',
      a && b ? a.mbPerS / b.mbPerS : undefined,
    );
  });
}

/** The median RSS (bytes) of a series' samples with `from` <= n <= `to`, or NaN with none. */
function medianRss(series, from, to) {
  const xs = series
    .filter((x) => x.n >= from && x.n <= to)
    .map((x) => x.rssBytes)
    .sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

/**
 * bench/rss-broker.js's record: per mode, each process's median RSS over the second quarter of the
 * messages and over the last, and whether the largest growth is within FLAT_GROWTH.
 */
export function rssBrokerRows(rec) {
  return MODES.map((mode) => {
    const measure = `RSS through the broker ${mode}, ${si(rec.count)} msgs`;
    const r = rec.runs.find((x) => x.mode === mode);
    if (!r) return note(measure, 'no result');
    const processes = {
      broker: r.broker.samples,
      sender: r.result.series.sender,
      receiver: r.result.series.receiver,
    };
    const parts = [];
    let worst = -Infinity;
    for (const [name, s] of Object.entries(processes)) {
      const end = s.length > 0 ? s[s.length - 1].n : 0;
      const early = medianRss(s, 0.25 * end, 0.5 * end);
      const late = medianRss(s, 0.75 * end, end);
      if (!(early > 0) || !(late > 0)) return note(measure, `too few ${name} samples`);
      worst = Math.max(worst, late / early - 1);
      parts.push(`${name} ${Math.round(early / 1048576)}->${Math.round(late / 1048576)}`);
    }
    const growth = `${worst >= 0 ? '+' : ''}${(worst * 100).toFixed(1)} %`;
    return {
      measure,
      ours: `${parts.join(', ')} MiB (largest ${growth})`,
      theirs: '',
      ratio: null,
      target: `flat: +${FLAT_GROWTH * 100} % at most`,
      met: worst <= FLAT_GROWTH,
    };
  });
}

const BUILDERS = {
  codec: codecRows,
  cli: cliRows,
  protonC: protonCRows,
  websocket: websocketRows,
  iothub: iothubRows,
  registry: registryRows,
  capacity: capacityRows,
  large: largeRows,
  rss: rssBrokerRows,
};

/**
 * All rows, in step order. `recorded` maps a step (a key of BUILDERS) to what it recorded, or to
 * { skipped: reason } / { failed: reason } when it has no figures.
 */
export function buildRows(recorded) {
  const rows = [];
  for (const [step, build] of Object.entries(BUILDERS)) {
    const rec = recorded[step];
    if (rec === undefined) continue;
    if (rec.skipped) rows.push(note(step, `skipped: ${rec.skipped}`));
    else if (rec.failed) rows.push(note(step, `failed: ${rec.failed}`));
    else rows.push(...build(rec));
  }
  return rows;
}

/** The rows as an aligned text table. */
export function formatTable(rows) {
  const cells = [
    ['measure', 'ours', 'theirs', 'ratio', 'target', 'met'],
    ...rows.map((r) => [
      r.measure,
      r.ours,
      r.theirs,
      r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
      r.target === null ? '' : typeof r.target === 'string' ? r.target : `>= ${Number(r.target.toFixed(2))}x`,
      r.met === null ? '' : r.met ? 'yes' : 'NO',
    ]),
  ];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c) =>
    c
      .map((cell, i) => (i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}
