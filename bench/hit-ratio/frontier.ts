/**
 * Issue 18's yardsticks, computed from a hit-ratio run: per policy (larder's, measured here, and libCacheSim's
 * from POLICIES.md), the mean share of the LRU-to-OPT gap closed, the worst row against LRU, and the rows more
 * than 3 points behind the best libCacheSim policy. Rows are the trace/size pairs of POLICIES.md that this run
 * replayed; the mean is over those where OPT is above LRU (a row where LRU is already optimal has no gap to
 * close), the worst row and the rows behind the best over all of them.
 */

/** The parts of a trace's results the summary reads. */
export interface FrontierTrace {
  sizes: number[];
  hitRatio: Partial<Record<string, number[]>>;
  /** POLICIES.md's table for this trace (its own sizes and columns). */
  libcachesim?: { sizes: number[]; columns: Record<string, number[]> };
}

/** One row (trace and size) against which a policy is worse than it should be. */
export interface FrontierRow {
  trace: string;
  size: number;
  /** The policy's hit ratio minus the yardstick's (LRU or the best libCacheSim policy), in points. */
  delta: number;
  /** The yardstick's name. */
  against: string;
}

/** One policy's summary. */
export interface FrontierPolicy {
  name: string;
  /** Mean over the rows of (policy − LRU) / (OPT − LRU), as a percentage. */
  meanGapClosed: number;
  /** The row where the policy is furthest below LRU (or closest above it). */
  worstVsLru: FrontierRow;
  /** Rows where the policy is more than 3 points below the best libCacheSim policy of that row. */
  behindBest: FrontierRow[];
}

/** What {@link frontierSummary} returns. */
export interface FrontierSummary {
  /** Number of trace/size rows (POLICIES.md's, replayed here). */
  rows: number;
  /** How many of them have OPT above LRU: the mean share of the gap closed is over these. */
  gapRows: number;
  policies: FrontierPolicy[];
}

/** The policies that are not libCacheSim's (LRU and OPT are the yardsticks, larder's is of one day). */
const NOT_LIBCACHESIM = new Set(['size', 'LRU', 'OPT']);

/** Points behind the best libCacheSim policy that issue 18 tolerates. */
export const BEHIND_BEST_POINTS = 3;

/**
 * Computes the summary for larder's measured policies in `measured` (keys of `hitRatio`, e.g. `larder-tinylfu`)
 * and every libCacheSim column. LRU and OPT are POLICIES.md's exact values. Returns `undefined` when no row
 * qualifies (POLICIES.md missing, or none of its traces replayed).
 */
export function frontierSummary(
  traces: Readonly<Record<string, FrontierTrace>>,
  measured: readonly string[],
): FrontierSummary | undefined {
  interface Row {
    trace: string;
    size: number;
    lru: number;
    opt: number;
    values: Map<string, number>;
    best: { name: string; value: number };
  }
  const rows: Row[] = [];
  const names = new Set<string>(measured);
  for (const [trace, t] of Object.entries(traces)) {
    const table = t.libcachesim;
    if (table === undefined) continue;
    const lruCol = table.columns.LRU;
    const optCol = table.columns.OPT;
    if (lruCol === undefined || optCol === undefined) continue;
    table.sizes.forEach((size, j) => {
      const i = t.sizes.indexOf(size);
      const lru = lruCol[j]!;
      const opt = optCol[j]!;
      if (i < 0) return;
      const values = new Map<string, number>();
      for (const m of measured) {
        const v = t.hitRatio[m]?.[i];
        if (v !== undefined) values.set(m, v);
      }
      let best = { name: '', value: Number.NEGATIVE_INFINITY };
      for (const [name, col] of Object.entries(table.columns)) {
        if (NOT_LIBCACHESIM.has(name) || name.startsWith('larder')) continue;
        names.add(name);
        values.set(name, col[j]!);
        if (col[j]! > best.value) best = { name, value: col[j]! };
      }
      rows.push({ trace, size, lru, opt, values, best });
    });
  }
  if (rows.length === 0) return undefined;
  const policies: FrontierPolicy[] = [];
  for (const name of names) {
    const mine = rows.filter((r) => r.values.has(name));
    if (mine.length !== rows.length) continue;
    let sum = 0;
    let gapRows = 0;
    let worst: FrontierRow | undefined;
    const behindBest: FrontierRow[] = [];
    for (const r of mine) {
      const v = r.values.get(name)!;
      if (r.opt > r.lru) {
        sum += (v - r.lru) / (r.opt - r.lru);
        gapRows++;
      }
      const vsLru = round2(v - r.lru);
      if (worst === undefined || vsLru < worst.delta)
        worst = { trace: r.trace, size: r.size, delta: vsLru, against: 'LRU' };
      if (v < r.best.value - BEHIND_BEST_POINTS)
        behindBest.push({
          trace: r.trace,
          size: r.size,
          delta: round2(v - r.best.value),
          against: r.best.name,
        });
    }
    policies.push({
      name,
      meanGapClosed: round2((sum / gapRows) * 100),
      worstVsLru: worst!,
      behindBest,
    });
  }
  return { rows: rows.length, gapRows: rows.filter((r) => r.opt > r.lru).length, policies };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Lines for the benchmark's log: one per policy, best mean first. */
export function formatFrontier(summary: FrontierSummary): string {
  const lines = [
    `frontier (issue 18): ${summary.rows} POLICIES.md rows; mean share of the LRU-to-OPT gap closed over the ${summary.gapRows} with OPT above LRU`,
  ];
  for (const p of [...summary.policies].sort((a, b) => b.meanGapClosed - a.meanGapClosed)) {
    const w = p.worstVsLru;
    lines.push(
      `  ${p.name.padEnd(28)}${p.meanGapClosed.toFixed(1).padStart(7)}%   worst vs LRU ${w.delta.toFixed(2)} (${w.trace}@${w.size})` +
        `   >${BEHIND_BEST_POINTS} behind best: ${p.behindBest.length}`,
    );
    // larder's own policies: which rows, so that a change in the count can be traced.
    if (/^(larder-tinylfu|tinylfu-)/.test(p.name) && p.behindBest.length > 0) {
      lines.push(
        `      ${p.behindBest.map((r) => `${r.trace}@${r.size} ${r.delta.toFixed(2)} (${r.against})`).join(', ')}`,
      );
    }
  }
  return lines.join('\n');
}
