/**
 * Reference hit ratios (%) transcribed from ../shared/traces/README.md ("Reference hit ratios (%),
 * entry-bounded caches"). test/bench/traces.test.ts checks the transcription against the README.
 *
 * LRU and OPT were recomputed by the README's author from the files; the W-TinyLFU rows are published
 * figures (gli: Caffeine's simulator; OLTP: a C# port of Caffeine with its adaptive window).
 */

/** Reference rows of one trace, aligned with `sizes`. */
export interface TraceReference {
  sizes: number[];
  lru: number[];
  opt: number[];
  /** Published W-TinyLFU hit ratios (only gli and OLTP). */
  wtinylfu?: number[];
  /** Label of the W-TinyLFU row, as the README names it. */
  wtinylfuSource?: string;
  /** Published ARC hit ratios (only gli and OLTP), for the charts. */
  arc?: number[];
}

const SIZES_8 = [250, 500, 750, 1000, 1250, 1500, 1750, 2000];

/** README references by trace name. */
export const REFERENCE: Readonly<Record<string, TraceReference>> = {
  gli: {
    sizes: SIZES_8,
    lru: [0.91, 0.95, 1.15, 11.21, 21.25, 36.56, 45.04, 57.41],
    arc: [1.38, 1.38, 1.41, 21.3, 34.43, 50.44, 55.06, 57.41],
    wtinylfu: [15.15, 33.08, 43.11, 50.57, 51.87, 53.57, 55.61, 57.96],
    wtinylfuSource: 'W-TinyLFU (Caffeine simulator)',
    opt: [17.64, 34.26, 46.1, 53.13, 57.29, 57.96, 57.96, 57.96],
  },
  OLTP: {
    sizes: SIZES_8,
    lru: [16.47, 23.45, 28.28, 32.83, 36.21, 38.7, 40.79, 42.47],
    arc: [21.46, 30.61, 36.04, 39.06, 41.34, 43.15, 44.77, 46.17],
    wtinylfu: [24.88, 33.73, 37.46, 40.01, 42.28, 43.8, 45.06, 46.09],
    wtinylfuSource: 'W-TinyLFU, adaptive window (C# port)',
    opt: [38.43, 46.42, 50.66, 53.61, 55.83, 57.62, 59.13, 60.4],
  },
  loop: {
    sizes: [100, 250, 500, 750, 1000, 1250],
    lru: [0, 0, 0, 0, 0, 99.8],
    opt: [9.79, 24.63, 49.36, 74.04, 98.71, 99.8],
  },
  multi2: { sizes: [100, 600, 1800], lru: [6.73, 37.13, 48.49], opt: [35.39, 55.51, 73.13] },
  multi3: { sizes: [256, 512, 1000], lru: [18.19, 32.78, 37.7], opt: [42.38, 49.08, 56.28] },
  sprite: {
    sizes: [100, 200, 400, 800],
    lru: [21.58, 39.88, 70.77, 88.55],
    opt: [50.8, 68.86, 84.56, 92.19],
  },
  cpp: { sizes: [50, 100, 300], lru: [9.26, 69.71, 83.49], opt: [62.76, 82.51, 86.48] },
  cs: { sizes: [256, 512, 1000], lru: [1.83, 1.83, 1.83], opt: [16.93, 32.03, 60.82] },
  ps: { sizes: [256, 512, 1000], lru: [13.06, 48.55, 48.55], opt: [53.43, 58.33, 67.67] },
  '2_pools': { sizes: [256, 512, 1000], lru: [42.18, 51.22, 54.41], opt: [58.07, 63.01, 68.52] },
  multi1: { sizes: [256, 512, 1000], lru: [43.05, 46.66, 48.23], opt: [52.63, 59.09, 71.4] },
};

/** The reference value of a row at a size, or `undefined`. */
export function referenceAt(
  trace: string,
  row: 'lru' | 'opt' | 'wtinylfu' | 'arc',
  size: number,
): number | undefined {
  const ref = REFERENCE[trace];
  if (ref === undefined) return undefined;
  const i = ref.sizes.indexOf(size);
  return i < 0 ? undefined : ref[row]?.[i];
}
