/**
 * The asserted throughput bars (core issue and policy issue), measured interleaved in one fresh process.
 *
 * @module
 */
import { figureFor } from '../lib/figures.js';
import { formatBarRatio, formatRate } from '../lib/format.js';
import { runIsolated } from '../lib/isolate.js';
import type { BarResult } from '../lib/results.js';
import type { SampleOptions } from '../lib/sample.js';
import { summarize } from '../lib/stats.js';
import type { BarsChildInput, BarsGroup, MeasuredRatio } from './bars-child.js';

/**
 * Every group of the bars child, in the order they run, and how many fresh processes measure it. A
 * synchronous `get` ratio is steady within a process but can differ between processes, with how V8
 * happened to compile it: before `Cache.get` shrank to fit V8's inlining budget, about half the processes
 * measured larder's 'lru' `get` at 0.78-0.82x and the rest at 0.90-0.93x, each with a tight spread. So
 * the `get` groups run in three processes and their rounds are pooled; the awaited group, whose spread
 * within a process is wider than between processes, runs in one.
 */
const BARS_GROUPS: readonly { group: BarsGroup; processes: number }[] = [
  { group: 'get-lru', processes: 3 },
  { group: 'get-tinylfu', processes: 3 },
  { group: 'async', processes: 1 },
  { group: 'otel', processes: 1 },
];

/** A throughput bar: candidate / baseline must be at least `bar`. */
export interface ThroughputBarSpec {
  /** Stable id. */
  id: string;
  /** Description. */
  label: string;
  /** Candidate case id in the bars child. */
  candidate: string;
  /** Baseline case id in the bars child. */
  baseline: string;
  /** Minimum ratio. */
  bar: number;
  /** Issue that set the bar. */
  source: string;
  /** The group of the bars child that measures it. */
  group: BarsGroup;
}

/** The bars, as the issues state them. */
export const THROUGHPUT_BARS: readonly ThroughputBarSpec[] = [
  {
    id: 'get-vs-lru-get',
    label: "larder get hit (policy 'lru') vs bare lru-cache get",
    candidate: 'larder.get',
    baseline: 'lru.get',
    bar: 0.9,
    group: 'get-lru',
    source: 'core',
  },
  {
    id: 'getOrSet-vs-promise-floor',
    label: "larder awaited getOrSet hit (policy 'lru') vs await Promise.resolve(lru.get(key))",
    candidate: 'larder.getOrSet',
    baseline: 'await Promise.resolve(lru.get)',
    bar: 0.8,
    group: 'async',
    source: 'core',
  },
  {
    id: 'getOrSet-vs-lru-fetch',
    label: "larder awaited getOrSet hit (policy 'lru') vs lru-cache's awaited fetch hit",
    candidate: 'larder.getOrSet',
    baseline: 'lru.fetch',
    bar: 1.0,
    group: 'async',
    source: 'core',
  },
  {
    id: 'getOrSet-vs-cache-manager-wrap',
    label: "larder awaited getOrSet hit (policy 'lru') vs cache-manager's awaited wrap hit (default store)",
    candidate: 'larder.getOrSet',
    baseline: 'cache-manager.wrap',
    bar: 5,
    group: 'async',
    source: 'core',
  },
  {
    id: 'getOrSet-vs-bentocache-getOrSet',
    label: "larder awaited getOrSet hit (policy 'lru') vs bentocache's awaited getOrSet hit",
    candidate: 'larder.getOrSet',
    baseline: 'bentocache.getOrSet',
    bar: 10,
    group: 'async',
    source: 'core',
  },
  {
    // Issue 18: the default policy's get hit at >= 0.85x lru-cache's (issue 7 asked 0.6x).
    id: 'tinylfu-get-vs-lru-get',
    label: "larder get hit with policy 'tinylfu' vs bare lru-cache get",
    candidate: 'larder-tinylfu.get',
    baseline: 'lru.get',
    bar: 0.85,
    group: 'get-tinylfu',
    source: 'policy',
  },
  {
    // Issue 18: the default policy's set that evicts, in the same processes as its get bar.
    id: 'tinylfu-set-evict-vs-lru-set',
    label: "larder set that evicts with policy 'tinylfu' vs bare lru-cache set that evicts",
    candidate: 'larder-tinylfu.setEvict',
    baseline: 'lru.setEvict',
    bar: 0.6,
    group: 'get-tinylfu',
    source: 'policy',
  },
  {
    // Issue 19: an instrumented hit may cost at most 1.5x an uninstrumented one, i.e. run at >= 1/1.5 of its rate.
    id: 'otel-getOrSet-vs-uninstrumented',
    label:
      "larder awaited getOrSet hit (policy 'lru') instrumented by larder/otel vs the same cache uninstrumented",
    candidate: 'larder.getOrSet+otel',
    baseline: 'larder.getOrSet',
    bar: 0.67,
    group: 'otel',
    source: 'otel',
  },
];

/** Options of {@link runThroughputBars}. */
export interface BarsOptions {
  /** Distinct keys (100,000). */
  keys: number;
  /**
   * Sampling per group; `samples` is the number of interleaved rounds, shared among the group's
   * processes (each runs `ceil(samples / processes)`).
   */
  sampling: SampleOptions;
  /** Progress output. */
  log: (line: string) => void;
  /** Only these groups, and their bars (default: every group). */
  groups?: readonly BarsGroup[];
}

/** The measurement of `pair`'s candidate and baseline in one process's results, if any. */
function samePair(results: readonly MeasuredRatio[], pair: MeasuredRatio): MeasuredRatio | undefined {
  return results.find((m) => m.candidate === pair.candidate && m.baseline === pair.baseline);
}

/**
 * Pools the measurements of one group made by several processes: for each pair, the median and quartiles
 * of every process's per-round ratios together, and the median rates. A pair with an error in any
 * process keeps the first error.
 */
export function poolProcesses(runs: readonly (readonly MeasuredRatio[])[]): MeasuredRatio[] {
  if (runs.length === 1) return [...(runs[0] as readonly MeasuredRatio[])];
  const out: MeasuredRatio[] = [];
  for (const first of runs[0] ?? []) {
    const same = runs.map((r) => samePair(r, first));
    const bad = same.findIndex((m) => m === undefined || m.error !== undefined || m.rounds === undefined);
    if (bad >= 0) {
      out.push({ ...first, error: same[bad]?.error ?? 'not measured in every process' });
      continue;
    }
    const pick = (f: (r: NonNullable<MeasuredRatio['rounds']>) => number[]) =>
      same.flatMap((m) => f((m as MeasuredRatio).rounds as NonNullable<MeasuredRatio['rounds']>));
    const ratios = summarize(pick((r) => r.ratios));
    out.push({
      candidate: first.candidate,
      baseline: first.baseline,
      ratio: ratios.median,
      spread: [ratios.p25, ratios.p75],
      candidateRate: summarize(pick((r) => r.candidate)).median,
      baselineRate: summarize(pick((r) => r.baseline)).median,
    });
  }
  return out;
}

/**
 * Measures every throughput bar, each group of cases in fresh processes (see `BARS_GROUPS`). A failed
 * group marks its bars as missed, with the reason; the other groups are still measured.
 */
export async function runThroughputBars(options: BarsOptions): Promise<BarResult[]> {
  const measured: MeasuredRatio[] = [];
  const failures: string[] = [];
  const only = options.groups;
  for (const { group, processes } of BARS_GROUPS) {
    if (only !== undefined && !only.includes(group)) continue;
    const samples = Math.ceil(options.sampling.samples / processes);
    const input: BarsChildInput = { group, keys: options.keys, sampling: { ...options.sampling, samples } };
    try {
      const runs: MeasuredRatio[][] = [];
      for (let p = 0; p < processes; p++) {
        if (processes > 1) options.log(`${group}: process ${p + 1} of ${processes}`);
        runs.push(
          await runIsolated<MeasuredRatio[]>(new URL('./bars-child.ts', import.meta.url), input, {
            onProgress: options.log,
            timeoutMs: 240_000,
          }),
        );
      }
      if (processes > 1) {
        for (const m of runs[0] ?? []) {
          const each = runs.map((r) => samePair(r, m)?.ratio);
          options.log(
            `${m.candidate} / ${m.baseline}, per process: ${each.map((x) => (x === undefined ? '-' : `${x.toFixed(2)}x`)).join(', ')}`,
          );
        }
      }
      measured.push(...poolProcesses(runs));
    } catch (error) {
      const why = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
      failures.push(`${group}: ${why}`);
      options.log(`failed: ${group}: ${why}`);
    }
  }
  const failure = failures.length > 0 ? failures.join('; ') : undefined;
  const specs = only === undefined ? THROUGHPUT_BARS : THROUGHPUT_BARS.filter((b) => only.includes(b.group));
  return specs.map((spec): BarResult => {
    const m = measured.find((x) => x.candidate === spec.candidate && x.baseline === spec.baseline);
    const base = {
      id: spec.id,
      label: spec.label,
      kind: 'throughput' as const,
      candidate: spec.candidate,
      baseline: spec.baseline,
      bar: spec.bar,
      source: spec.source,
    };
    if (m === undefined || m.error !== undefined) {
      return {
        ...base,
        ratio: 0,
        pass: false,
        candidateValue: 0,
        baselineValue: 0,
        error: m?.error ?? failure ?? 'not measured',
      };
    }
    return {
      ...base,
      ratio: m.ratio,
      spread: m.spread,
      pass: m.ratio >= spec.bar,
      candidateValue: m.candidateRate,
      baselineValue: m.baselineRate,
    };
  });
}

/**
 * One line per bar: `PASS  1.02x >= 0.90x  larder get hit vs ... (12.3M vs 12.1M ops/s)`. A figure (bench/lib/figures.ts)
 * says `FIGURE` and that its bar does not gate.
 */
export function formatBar(b: BarResult): string {
  const figure = figureFor(b.label) !== undefined;
  const verdict = figure ? 'FIGURE' : b.pass ? 'PASS' : 'MISS';
  const op = b.kind === 'memory' ? '<=' : '>=';
  if (b.error !== undefined) return `${verdict}  ${b.label}: ${b.error}`;
  const ratio = formatBarRatio(b.ratio, b.bar);
  const spread =
    b.spread === undefined ? '' : ` [p25 ${b.spread[0].toFixed(2)}, p75 ${b.spread[1].toFixed(2)}]`;
  const values =
    b.kind === 'memory'
      ? `${b.candidateValue.toFixed(1)} vs ${b.baselineValue.toFixed(1)} B/entry`
      : `${formatRate(b.candidateValue)} vs ${formatRate(b.baselineValue)} ops/s`;
  if (figure)
    return `${verdict}  ${ratio}x (issue bar ${op} ${b.bar}x, not gated)${spread}  ${b.label} (${values})`;
  return `${verdict}  ${ratio}x ${op} ${b.bar}x${spread}  ${b.label} (${values})`;
}
