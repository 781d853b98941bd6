/** The SVG charts of the bench report and the docs: same input, same bytes; every label escaped. */
import { describe, expect, test } from 'vitest';
import { barChart, escapeXml, formatNumber, lineChart, niceTicks } from '../../src/bench/svg-plot.js';

const line = {
  title: 'Rate <live> & "quoted"',
  xLabel: 'seconds',
  yLabel: 'msg/s',
  series: [
    {
      name: 'amqp-one',
      points: [
        [0, 0],
        [1, 120_000],
        [2, 180_000],
      ] as [number, number][],
    },
    {
      name: 'rhea <2>',
      points: [
        [0, 0],
        [1, 30_000],
        [2, 31_000],
      ] as [number, number][],
    },
    { name: 'lone', points: [[1.5, 50_000]] as [number, number][] },
  ],
};

const bars = {
  title: 'CPU per message',
  xLabel: 'process',
  yLabel: 'µs/msg',
  categories: ['sender', 'receiver<'],
  series: [
    { name: 'amqp-one', values: [4.38, 2.12] },
    { name: 'rhea', values: [34, 25.57] },
  ],
  valueLabels: true,
};

const count = (s: string, re: RegExp): number => s.match(re)?.length ?? 0;
/** The text between tags, with the tags gone: what a reader sees. */
const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe('lineChart', () => {
  test('is the same bytes for the same input', () => {
    expect(lineChart(line)).toBe(lineChart(structuredClone(line)));
    expect(lineChart(line)).toMatchSnapshot();
  });

  test('draws a path per series with two or more points, a marker for a lone point, a legend entry each', () => {
    const svg = lineChart(line);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(count(svg, /<path class="series"/g)).toBe(2);
    expect(count(svg, /<circle class="series"/g)).toBe(1);
    const legend = svg.slice(svg.indexOf('<g class="legend">'));
    expect(count(legend, /<rect /g)).toBe(3);
    expect(texts(legend)).toEqual(['amqp-one', 'rhea &#60;2&#62;', 'lone']);
  });

  test('labels both axes and puts round ticks on them', () => {
    const t = texts(lineChart(line));
    expect(t).toContain('seconds');
    expect(t).toContain('msg/s');
    expect(t).toEqual(expect.arrayContaining(['0', '50k', '100k', '150k', '200k']));
    expect(t).toEqual(expect.arrayContaining(['0.5', '1', '1.5', '2']));
  });

  test('escapes < & and quotes in every label: no markup comes from the data', () => {
    const svg = lineChart(line);
    expect(svg).toContain('Rate &#60;live&#62; &#38; &#34;quoted&#34;');
    expect(svg).not.toContain('<live>');
    expect(svg).not.toContain('<2>');
    // Every '<' left opens one of the elements the module writes.
    const tags = new Set([...svg.matchAll(/<\/?([a-z]+)/g)].map((m) => m[1]));
    expect([...tags].sort()).toEqual(['circle', 'g', 'line', 'path', 'rect', 'svg', 'text', 'title']);
  });

  test('draws axes and no series for no data', () => {
    const svg = lineChart({ ...line, series: [] });
    expect(count(svg, /class="series"/g)).toBe(0);
    expect(svg).toContain('class="axis x-axis"');
  });
});

describe('barChart', () => {
  test('is the same bytes for the same input', () => {
    expect(barChart(bars)).toBe(barChart(structuredClone(bars)));
    expect(barChart(bars)).toMatchSnapshot();
  });

  test('draws one bar per series and category, with its value, heights in proportion', () => {
    const svg = barChart(bars);
    expect(count(svg, /<rect class="bar"/g)).toBe(4);
    expect(count(svg, /<g class="series"/g)).toBe(2);
    expect(texts(svg)).toEqual(expect.arrayContaining(['4.38', '2.12', '34', '25.57', 'receiver&#60;']));
    const heights = [...svg.matchAll(/class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights[2]! / heights[0]!).toBeCloseTo(34 / 4.38, 1);
  });
});

describe('ticks and numbers', () => {
  test('niceTicks covers the range with steps of 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 180_000)).toEqual([0, 50_000, 100_000, 150_000, 200_000]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.75, 0.95)).toEqual([0.75, 0.8, 0.85, 0.9, 0.95]);
    expect(niceTicks(5, 5)).toEqual([5, 5.2, 5.4, 5.6, 5.8, 6]);
  });

  test('formatNumber is short and free of float noise', () => {
    expect([0.1 + 0.2, 1234, 12_345, 3_400_000, 2.5e9].map(formatNumber)).toEqual([
      '0.3',
      '1234',
      '12.3k',
      '3.4M',
      '2.5G',
    ]);
  });

  test('escapeXml escapes the five XML specials and nothing else', () => {
    expect(escapeXml(`a<b>&"c'µ`)).toBe('a&#60;b&#62;&#38;&#34;c&#39;µ');
  });
});
