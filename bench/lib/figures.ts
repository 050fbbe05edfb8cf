/**
 * Ratios the issues stated as bars that sit at a physical floor: the benchmark measures and prints them every
 * run, as figures, but they never fail `bench:ci` (issue 21). Every other bar gates. Each has the reason it
 * cannot be a gate; bench/report.ts prints the reasons in docs/benchmarks.md.
 *
 * This list is permanent, unlike bench/open-bars.json (bars that are gates but are not met reliably yet).
 *
 * @module
 */
import type { BarResult } from './results.js';

/** A ratio printed as a figure instead of gating. */
export interface Figure {
  /** A substring of the bar's label (or the Next.js result's name) that identifies it. */
  match: string;
  /** What is compared, in words. */
  label: string;
  /** The issue that stated the bar. */
  issue: number;
  /** The bar as the issue stated it. */
  bar: string;
  /** Why it is a figure: what floor the ratio sits at. */
  reason: string;
}

/** The figures (issue 21). */
export const FIGURES: readonly Figure[] = [
  {
    match: "vs cache-manager's awaited wrap hit",
    label: "larder's awaited getOrSet hit vs cache-manager's awaited wrap hit",
    issue: 2,
    bar: '≥ 5x',
    reason:
      "larder's awaited getOrSet hit already runs at the await floor (the `await Promise.resolve(lru.get(key))` bar, " +
      "which gates): one lookup, one promise, one await. cache-manager's wrap hit costs a few awaits more, so the " +
      'ratio is fixed by how many awaits each pays and by the memory wait of the lookup common to both; it moves ' +
      "with the machine's memory latency, not with larder's code. 5x would need a hit faster than the floor itself.",
  },
  {
    match: "vs lru-cache's awaited fetch hit",
    label: "larder's awaited getOrSet hit vs lru-cache's awaited fetch hit",
    issue: 2,
    bar: '≥ 1.0x',
    reason:
      'Both hits pay the same three things: one lru-cache lookup, one promise, one await. The two costs are equal, ' +
      'so a 1.0x bar passes or fails on noise; the await-floor bar, which gates, already holds larder to the least ' +
      'an awaited API can cost.',
  },
  {
    match: 'cached page throughput, larder handlers',
    label: 'Next.js cached page throughput, larder handlers vs the built-in ones',
    issue: 8,
    bar: '≥ 0.9x',
    reason:
      "The remainder is Next.js's own cost for any custom cacheHandler: Next.js imports the handler module on every " +
      'request and renders a build-time prerender once more at runtime, so a handler that is only a Map measures ' +
      "the same ratio as larder (docs/nextjs.md). The `revalidateTag` latency bar, which is larder's own work, gates.",
  },
];

/** The figure `text` (a bar's label, a Next.js result's name, or a line containing one) is, if any. */
export function figureFor(text: string): Figure | undefined {
  return FIGURES.find((f) => text.includes(f.match));
}

/** The bars that gate and missed: every missed bar that is not a figure. */
export function missedGates(bars: readonly BarResult[]): BarResult[] {
  return bars.filter((b) => !b.pass && figureFor(b.label) === undefined);
}
