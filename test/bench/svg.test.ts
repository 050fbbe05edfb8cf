import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, lineChart, logTicks, niceTicks, tickLabel } from '../../bench/lib/svg.js';
import { checkWellFormed } from './xml.js';

describe('checkWellFormed (the test helper itself)', () => {
  it('rejects what is not well-formed', () => {
    expect(() => checkWellFormed('<svg><g></svg>')).toThrow();
    expect(() => checkWellFormed('<svg><text>a & b</text></svg>')).toThrow(/stray &/);
    expect(() => checkWellFormed('<svg x=1></svg>')).toThrow(/malformed/);
    expect(() => checkWellFormed('<a/><b/>')).toThrow(/one root/);
    expect(checkWellFormed('<svg><text>a &amp; b</text><g/></svg>')).toEqual(['svg', 'text', 'g']);
  });
});

describe('escapeXml', () => {
  it('escapes the five XML special characters', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});

describe('ticks', () => {
  it('niceTicks uses steps of 1, 2 or 5 × 10^k and covers the whole range', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 0.9, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 97, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(() => niceTicks(2, 1)).toThrow(RangeError);
  });
  it('logTicks gives powers of ten, denser for short ranges', () => {
    expect(logTicks(0.001, 10)).toEqual([0.001, 0.01, 0.1, 1, 10]);
    expect(logTicks(0.1, 10)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
    expect(() => logTicks(0, 1)).toThrow(RangeError);
  });
  it('tickLabel avoids float noise and shortens large numbers', () => {
    expect(tickLabel(0.1 + 0.2)).toBe('0.3');
    expect(tickLabel(20_000)).toBe('20k');
    expect(tickLabel(2_500_000)).toBe('2.5M');
    expect(tickLabel(750)).toBe('750');
  });
});

describe('lineChart', () => {
  const svg = lineChart({
    title: 'Hit ratio, gli <test> & co',
    xLabel: 'cache size',
    yLabel: 'hit ratio (%)',
    series: [
      {
        name: "larder 'tinylfu'",
        points: [
          [250, 15.2],
          [500, 33.1],
          [1000, 50.6],
        ],
      },
      {
        name: 'OPT',
        points: [
          [250, 17.6],
          [500, 34.3],
          [1000, 53.1],
        ],
        dashed: true,
      },
    ],
    yMin: 0,
  });
  it('is well-formed SVG with a title, a path per series, a marker per point and a legend', () => {
    const names = checkWellFormed(svg);
    expect(names[0]).toBe('svg');
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(names.filter((n) => n === 'circle')).toHaveLength(6);
    expect(svg.match(/<path d="M[\d.]+ [\d.]+L/g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('larder &apos;tinylfu&apos;');
    expect(svg).toContain('<title>Hit ratio, gli &lt;test&gt; &amp; co</title>');
  });
  it('places larger y values higher (smaller SVG y)', () => {
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys[0]).toBeGreaterThan(ys[1] as number);
    expect(ys[1]).toBeGreaterThan(ys[2] as number);
  });
  it('labels the x axis with the data sizes when there are few', () => {
    for (const x of ['250', '500', '1000']) expect(svg).toContain(`>${x}</text>`);
  });
  it('refuses non-finite points and empty charts', () => {
    expect(() =>
      lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[1, Number.NaN]] }] }),
    ).toThrow(TypeError);
    expect(() => lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toThrow(RangeError);
  });
});

describe('barChart', () => {
  const bars = [
    { label: 'larder', value: 0.95, highlight: true },
    { label: 'lru-cache', value: 1 },
    { label: 'bentocache', value: 0.004 },
  ];
  it('is well-formed SVG with one rect per bar (plus the background) and a reference line', () => {
    const svg = barChart({
      title: 'get hit',
      xLabel: 'ratio',
      bars,
      reference: { value: 1, label: 'lru-cache' },
    });
    const names = checkWellFormed(svg);
    expect(names.filter((n) => n === 'rect')).toHaveLength(4);
    expect(svg).toContain('(log scale)');
    expect(svg).toContain('stroke-dasharray="4 3"');
  });
  it('uses a linear scale for close values, and draws longer bars for larger values', () => {
    const svg = barChart({
      title: 'mem',
      xLabel: 'bytes',
      bars: [
        { label: 'a', value: 50 },
        { label: 'b', value: 100 },
      ],
    });
    expect(svg).not.toContain('log scale');
    const widths = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(widths).toHaveLength(2);
    expect(widths[1]).toBeCloseTo((widths[0] as number) * 2, 0);
  });
  it('refuses an empty chart and non-positive values on a log scale', () => {
    expect(() => barChart({ title: 't', xLabel: 'x', bars: [] })).toThrow(RangeError);
    expect(() =>
      barChart({ title: 't', xLabel: 'x', bars: [{ label: 'a', value: 0 }], scale: 'log' }),
    ).toThrow(RangeError);
  });
});
