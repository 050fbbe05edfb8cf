/**
 * A tiny SVG chart generator, written for the benchmark report: a line chart (hit ratio against cache
 * size) and a horizontal bar chart (throughput relative to a baseline). Output is small, readable,
 * self-contained SVG (no scripts, no external fonts or styles).
 *
 * @module
 */

/** Colours (Okabe–Ito palette: distinguishable with common colour-vision deficiencies). */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
];

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** Escapes text for use in SVG/XML text and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Rounds a coordinate to one decimal, for compact output. */
function r1(x: number): string {
  return String(Math.round(x * 10) / 10);
}

function checkFinite(value: number, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${what} must be a finite number; got ${String(value)}`);
}

/**
 * "Nice" tick values from at or below `min` to at or above `max`: multiples of a step of 1, 2 or 5 × 10^k
 * chosen so that there are about `count` intervals.
 *
 * @throws RangeError when max < min or count < 1.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  checkFinite(min, 'min');
  checkFinite(max, 'max');
  if (max < min) throw new RangeError(`max must be >= min; got ${min}..${max}`);
  if (!(count >= 1)) throw new RangeError(`count must be >= 1; got ${count}`);
  if (max === min) return [min];
  const raw = (max - min) / count;
  let step = 10 ** Math.floor(Math.log10(raw));
  const error = raw / step;
  if (error >= Math.sqrt(50)) step *= 10;
  else if (error >= Math.sqrt(10)) step *= 5;
  else if (error >= Math.sqrt(2)) step *= 2;
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Powers of ten (and 2×, 5× when the range is short) covering [min, max], for log axes. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max >= min)) throw new RangeError(`log ticks need 0 < min <= max; got ${min}..${max}`);
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const ticks: number[] = [];
  const dense = hi - lo <= 2;
  for (let e = lo; e <= hi; e++) {
    for (const m of dense ? [1, 2, 5] : [1]) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= min / 1.0001 && v <= max * 1.0001) ticks.push(v);
    }
  }
  return ticks;
}

/** Formats a tick value without float noise: 0.1, 1, 2.5, 1000 → "1k"... */
export function tickLabel(v: number): string {
  if (v !== 0 && Math.abs(v) >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (v !== 0 && Math.abs(v) >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** One line of a line chart. */
export interface Series {
  /** Legend entry. */
  name: string;
  /** Points, in x order. */
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw dashed (for reference lines such as OPT or published values). */
  dashed?: boolean;
  /** Colour; default from {@link PALETTE} by position. */
  color?: string;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** Title above the plot. */
  title: string;
  /** Label of the x axis. */
  xLabel: string;
  /** Label of the y axis. */
  yLabel: string;
  /** Lines to draw (at least one point overall). */
  series: readonly Series[];
  /** Lower bound of the y axis (default: 0). */
  yMin?: number;
  /** Upper bound of the y axis (default: the largest y, rounded up to a tick). */
  yMax?: number;
  /** Total width in px (default 640). */
  width?: number;
  /** Total height in px (default 360). */
  height?: number;
}

/**
 * A line chart with axes, grid, markers and a legend on the right.
 *
 * @throws TypeError when a coordinate is not finite; RangeError when there are no points.
 */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 680;
  const height = options.height ?? 360;
  // Legend on the right, as wide as the longest name needs (about 7 px per character at 12 px).
  const legend = Math.max(...options.series.map((s) => s.name.length), 4) * 7 + 44;
  const m = { left: 58, right: Math.min(legend, width / 2), top: 40, bottom: 50 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const all = options.series.flatMap((s) => s.points);
  if (all.length === 0) throw new RangeError('lineChart needs at least one point');
  for (const [x, y] of all) {
    checkFinite(x, 'x');
    checkFinite(y, 'y');
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (xMin === xMax) {
    xMin -= 1;
    xMax += 1;
  }
  const yMin = options.yMin ?? Math.min(0, ...ys);
  const yTicks = niceTicks(yMin, Math.max(options.yMax ?? Math.max(...ys), yMin + 1e-9), 5);
  const yMax = options.yMax ?? (yTicks[yTicks.length - 1] as number);
  const sx = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * pw;
  const sy = (y: number) => m.top + ph - ((y - yMin) / (yMax - yMin || 1)) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left}" y="22" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`);
  // grid and y ticks
  for (const t of yTicks) {
    if (t < yMin || t > yMax) continue;
    const y = r1(sy(t));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#444">${tickLabel(t)}</text>`,
    );
  }
  // x ticks at the data's x values when few, else nice ticks
  const distinctX = [...new Set(xs)].sort((a, b) => a - b);
  const xTicks =
    distinctX.length <= 10 ? distinctX : niceTicks(xMin, xMax, 6).filter((t) => t >= xMin && t <= xMax);
  for (const t of xTicks) {
    const x = r1(sx(t));
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 4}" stroke="#444"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 17}" text-anchor="middle" fill="#444">${tickLabel(t)}</text>`);
  }
  // axes
  out.push(
    `<path d="M${m.left} ${m.top}V${m.top + ph}H${m.left + pw}" fill="none" stroke="#444"/>`,
    `<text x="${r1(m.left + pw / 2)}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(15 ${r1(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  // series; earlier solid lines are drawn wider, so a later line with the same values does not hide them
  const solid = options.series.filter((s) => !s.dashed).length;
  let solidIndex = 0;
  options.series.forEach((s, i) => {
    const color = s.color ?? (PALETTE[i % PALETTE.length] as string);
    const dash = s.dashed ? ' stroke-dasharray="5 4"' : '';
    const strokeWidth = s.dashed ? 2 : 2 + 1.5 * (solid - 1 - solidIndex++);
    if (s.points.length > 1) {
      const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${r1(sx(x))} ${r1(sy(y))}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${strokeWidth}"${dash}/>`);
    }
    for (const [x, y] of s.points) {
      out.push(`<circle cx="${r1(sx(x))}" cy="${r1(sy(y))}" r="2.5" fill="${color}"/>`);
    }
    const ly = m.top + 8 + i * 18;
    const lx = m.left + pw + 14;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** One bar of a bar chart. */
export interface Bar {
  /** Label left of the bar. */
  label: string;
  /** Value (positive for log scales). */
  value: number;
  /** Text right of the bar (default: the value). */
  text?: string;
  /** Draw in the accent colour (e.g. the library under test). */
  highlight?: boolean;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  /** Title above the plot. */
  title: string;
  /** Label of the value axis. */
  xLabel: string;
  /** Bars, top to bottom. */
  bars: readonly Bar[];
  /** A vertical reference line (e.g. 1 = the baseline). */
  reference?: { value: number; label: string };
  /** Value axis scale (default: `log` when values span more than 20x, else `linear`). */
  scale?: 'linear' | 'log';
  /** Total width in px (default 640). */
  width?: number;
}

/**
 * A horizontal bar chart with labels, values at the bar ends, and an optional reference line.
 *
 * @throws TypeError when a value is not finite; RangeError when there are no bars or a log value is not positive.
 */
export function barChart(options: BarChartOptions): string {
  if (options.bars.length === 0) throw new RangeError('barChart needs at least one bar');
  for (const b of options.bars) checkFinite(b.value, `value of ${b.label}`);
  const width = options.width ?? 640;
  const rowH = 22;
  const m = { left: 190, right: 70, top: options.reference === undefined ? 40 : 56, bottom: 46 };
  const pw = width - m.left - m.right;
  const ph = options.bars.length * rowH;
  const height = m.top + ph + m.bottom;
  const values = options.bars.map((b) => b.value);
  if (options.reference !== undefined) values.push(options.reference.value);
  const vMax = Math.max(...values);
  const vMinPos = Math.min(...values.filter((v) => v > 0));
  const scale = options.scale ?? (vMax / vMinPos > 20 ? 'log' : 'linear');
  let sx: (v: number) => number;
  let ticks: number[];
  if (scale === 'log') {
    for (const b of options.bars) {
      if (!(b.value > 0)) throw new RangeError(`log scale needs positive values; ${b.label} is ${b.value}`);
    }
    const lo = 10 ** Math.floor(Math.log10(vMinPos));
    const hi = 10 ** Math.ceil(Math.log10(vMax));
    ticks = logTicks(lo, hi);
    sx = (v) => m.left + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * pw;
  } else {
    ticks = niceTicks(0, vMax, 5);
    const top = Math.max(ticks[ticks.length - 1] as number, vMax);
    sx = (v) => m.left + (v / (top || 1)) * pw;
  }
  const x0 = scale === 'log' ? m.left : sx(0);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (const t of ticks) {
    const x = r1(sx(t));
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle" fill="#444">${tickLabel(t)}</text>`);
  }
  // the reference line goes under the bars' value labels (which have a white halo)
  if (options.reference !== undefined) {
    const x = r1(sx(options.reference.value));
    out.push(
      `<line x1="${x}" y1="${m.top - 6}" x2="${x}" y2="${m.top + ph}" stroke="#222" stroke-dasharray="4 3"/>`,
      `<text x="${x}" y="${m.top - 10}" text-anchor="middle" fill="#222">${escapeXml(options.reference.label)}</text>`,
    );
  }
  options.bars.forEach((b, i) => {
    const y = m.top + i * rowH;
    const x1 = sx(Math.max(b.value, scale === 'log' ? vMinPos : 0));
    const color = b.highlight ? (PALETTE[1] as string) : (PALETTE[0] as string);
    out.push(
      `<text x="${m.left - 8}" y="${r1(y + rowH / 2)}" text-anchor="end" dominant-baseline="middle">${escapeXml(b.label)}</text>`,
      `<rect x="${r1(x0)}" y="${r1(y + 4)}" width="${r1(Math.max(1, x1 - x0))}" height="${rowH - 8}" fill="${color}"/>`,
      `<text x="${r1(Math.max(x1, x0) + 5)}" y="${r1(y + rowH / 2)}" dominant-baseline="middle" fill="#222" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(b.text ?? tickLabel(b.value))}</text>`,
    );
  });
  out.push(
    `<path d="M${m.left} ${m.top}V${m.top + ph}H${m.left + pw}" fill="none" stroke="#444"/>`,
    `<text x="${r1(m.left + pw / 2)}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel + (scale === 'log' ? ' (log scale)' : ''))}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
