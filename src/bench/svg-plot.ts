/**
 * Small SVG charts for the bench's HTML report and the plots docs/performance.md embeds: line
 * charts (a value over time or over messages) and grouped bar charts (a histogram, or one figure
 * per implementation). No dependency, no script, no font file: plain SVG text.
 *
 * The output is a pure function of the input (coordinates rounded to 0.1, fixed colours, no ids
 * from counters or clocks), so the committed plots only change when their data does, and a test
 * can compare it. Every label is escaped.
 */

export interface LineSeries {
  name: string;
  /** [x, y] points, in x order. */
  points: readonly (readonly [number, number])[];
}

export interface BarSeries {
  name: string;
  /** One value per category. */
  values: readonly number[];
}

interface ChartFrame {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Tick and value text; default: 1.2k, 3.4M, 0.25. */
  yFormat?: (n: number) => string;
}

export interface LineChartSpec extends ChartFrame {
  series: readonly LineSeries[];
  xFormat?: (n: number) => string;
}

export interface BarChartSpec extends ChartFrame {
  categories: readonly string[];
  series: readonly BarSeries[];
  /** Print each bar's value above it (for a few bars, as in the docs). */
  valueLabels?: boolean;
}

/** Colour-blind-safe (Okabe-Ito), in series order. */
const COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#d55e00', '#56b4e9', '#000000'];
const colour = (i: number): string => COLOURS[i % COLOURS.length]!;

const MARGIN = { top: 34, right: 16, bottom: 62, left: 64 };
const FONT = 'font-family="system-ui, sans-serif" font-size="11"';

/** Text for XML/HTML element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const r = (n: number): number => Math.round(n * 10) / 10;

/** 1234 -> 1.2k, 3_400_000 -> 3.4M, 0.25 -> 0.25: short tick text without float noise. */
export function formatNumber(n: number): string {
  const a = Math.abs(n);
  const trim = (x: number, unit: string): string => `${Number(x.toPrecision(3))}${unit}`;
  if (a >= 1e9) return trim(n / 1e9, 'G');
  if (a >= 1e6) return trim(n / 1e6, 'M');
  if (a >= 1e4) return trim(n / 1e3, 'k');
  return String(Number(n.toPrecision(4)));
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const first = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let t = first; t < max + step - 1e-9 * step; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

interface Frame {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  w: number;
  h: number;
}

function frameOf(spec: ChartFrame): Frame {
  const w = spec.width ?? 480;
  const h = spec.height ?? 280;
  return { x0: MARGIN.left, x1: w - MARGIN.right, y0: h - MARGIN.bottom, y1: MARGIN.top, w, h };
}

function open(spec: ChartFrame, f: Frame): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.w} ${f.h}" width="${f.w}" height="${f.h}" role="img" ${FONT}>`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect width="${f.w}" height="${f.h}" fill="#ffffff"/>`,
    `<text class="title" x="${r(f.w / 2)}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
}

/** The y axis with its ticks and grid lines, and both axis labels. */
function yAxis(spec: ChartFrame, f: Frame, ticks: number[], y: (v: number) => number): string[] {
  const fmt = spec.yFormat ?? formatNumber;
  const out = [`<g class="axis y-axis">`];
  for (const t of ticks) {
    const ty = r(y(t));
    out.push(
      `<line x1="${f.x0}" y1="${ty}" x2="${f.x1}" y2="${ty}" stroke="#e0e0e0"/>`,
      `<text class="tick" x="${f.x0 - 6}" y="${r(ty + 4)}" text-anchor="end">${escapeXml(fmt(t))}</text>`,
    );
  }
  out.push(
    `<line x1="${f.x0}" y1="${f.y0}" x2="${f.x0}" y2="${f.y1}" stroke="#333333"/>`,
    `<text class="axis-label" transform="translate(14 ${r((f.y0 + f.y1) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
    `</g>`,
    `<text class="axis-label" x="${r((f.x0 + f.x1) / 2)}" y="${f.h - 26}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  );
  return out;
}

/** One swatch and name per series, in a row under the x axis label. */
function legend(names: readonly string[], f: Frame): string[] {
  const out = [`<g class="legend">`];
  let x = f.x0;
  names.forEach((name, i) => {
    out.push(
      `<rect x="${x}" y="${f.h - 14}" width="10" height="10" fill="${colour(i)}"/>`,
      `<text x="${x + 14}" y="${f.h - 5}">${escapeXml(name)}</text>`,
    );
    x += 24 + name.length * 6.5;
  });
  out.push(`</g>`);
  return out;
}

function scale(d0: number, d1: number, p0: number, p1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (p1 - p0) / (d1 - d0);
  return (v) => p0 + (v - d0) * k;
}

/** A line per series over shared x and y axes (y from 0). */
export function lineChart(spec: LineChartSpec): string {
  const f = frameOf(spec);
  const all = spec.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const xTicks = niceTicks(xMin, xMax > xMin ? xMax : xMin + 1);
  const yTicks = niceTicks(0, ys.length ? Math.max(...ys) : 1);
  const x = scale(xTicks[0]!, xTicks[xTicks.length - 1]!, f.x0, f.x1);
  const y = scale(0, yTicks[yTicks.length - 1]!, f.y0, f.y1);
  const xFmt = spec.xFormat ?? formatNumber;
  const out = open(spec, f);
  out.push(...yAxis(spec, f, yTicks, y), `<g class="axis x-axis">`);
  for (const t of xTicks) {
    const tx = r(x(t));
    out.push(
      `<line x1="${tx}" y1="${f.y0}" x2="${tx}" y2="${f.y0 + 4}" stroke="#333333"/>`,
      `<text class="tick" x="${tx}" y="${f.y0 + 16}" text-anchor="middle">${escapeXml(xFmt(t))}</text>`,
    );
  }
  out.push(`<line x1="${f.x0}" y1="${f.y0}" x2="${f.x1}" y2="${f.y0}" stroke="#333333"/>`, `</g>`);
  spec.series.forEach((s, i) => {
    const pts = s.points.map(([px, py]) => `${r(x(px))} ${r(y(py))}`);
    if (pts.length === 0) return;
    // A lone point draws no line: mark it.
    if (pts.length === 1) {
      const [cx, cy] = pts[0]!.split(' ');
      out.push(`<circle class="series" cx="${cx}" cy="${cy}" r="3" fill="${colour(i)}"/>`);
      return;
    }
    out.push(
      `<path class="series" d="M${pts.join(' L')}" fill="none" stroke="${colour(i)}" stroke-width="1.8"><title>${escapeXml(s.name)}</title></path>`,
    );
  });
  out.push(
    ...legend(
      spec.series.map((s) => s.name),
      f,
    ),
    `</svg>`,
  );
  return out.join('\n');
}

/** Bars grouped by category, one bar per series in each group (y from 0). */
export function barChart(spec: BarChartSpec): string {
  const f = frameOf(spec);
  const values = spec.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const yTicks = niceTicks(0, values.length ? Math.max(...values) : 1);
  const y = scale(0, yTicks[yTicks.length - 1]!, f.y0, f.y1);
  const fmt = spec.yFormat ?? formatNumber;
  const n = Math.max(1, spec.categories.length);
  const group = (f.x1 - f.x0) / n;
  const bar = (group * 0.8) / Math.max(1, spec.series.length);
  const out = open(spec, f);
  out.push(...yAxis(spec, f, yTicks, y), `<g class="axis x-axis">`);
  // Many categories (a histogram): label every k-th so the labels do not overlap.
  const every = Math.max(1, Math.ceil((n * 44) / (f.x1 - f.x0)));
  spec.categories.forEach((c, i) => {
    if (i % every !== 0) return;
    out.push(
      `<text class="tick" x="${r(f.x0 + group * (i + 0.5))}" y="${f.y0 + 16}" text-anchor="middle">${escapeXml(c)}</text>`,
    );
  });
  out.push(`<line x1="${f.x0}" y1="${f.y0}" x2="${f.x1}" y2="${f.y0}" stroke="#333333"/>`, `</g>`);
  spec.series.forEach((s, si) => {
    out.push(`<g class="series" fill="${colour(si)}"><title>${escapeXml(s.name)}</title>`);
    s.values.forEach((v, ci) => {
      if (!Number.isFinite(v) || ci >= n) return;
      const bx = r(f.x0 + group * ci + group * 0.1 + bar * si);
      const by = r(y(v));
      out.push(
        `<rect class="bar" x="${bx}" y="${by}" width="${r(bar)}" height="${r(f.y0 - by)}"><title>${escapeXml(`${s.name}, ${spec.categories[ci]}: ${fmt(v)}`)}</title></rect>`,
      );
      if (spec.valueLabels)
        out.push(
          `<text class="value" x="${r(bx + bar / 2)}" y="${r(by - 3)}" text-anchor="middle" fill="#333333">${escapeXml(fmt(v))}</text>`,
        );
    });
    out.push(`</g>`);
  });
  out.push(
    ...legend(
      spec.series.map((s) => s.name),
      f,
    ),
    `</svg>`,
  );
  return out.join('\n');
}
