/**
 * Hit-ratio benchmark: replays the real traces in ../shared/traces against every larder policy,
 * bare lru-cache and Belady's optimal, at the sizes of the traces README, and checks the issue-7
 * bars.
 *
 * Run alone: `npx tsx bench/hit-ratio/index.ts [--ci] [--no-write] [trace names...]` (naming traces
 * replays only those and writes nothing). `bench/run.ts` calls {@link runHitRatio} and
 * {@link checkHitRatioBars}. Results go to `bench/results/hit-ratio.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { createStore, type StorePolicy } from '../../src/policy/create-store.js';
import type { Store } from '../../src/policy/store.js';
import { TinyLfuStore, type TinyLfuTuning } from '../../src/policy/tinylfu-store.js';
import { type FrontierSummary, formatFrontier, frontierSummary } from './frontier.js';
import { LazyPromotionTinyLfu } from './lazy-promotion.js';
import { optHits, prepareOpt } from './opt.js';
import { type PolicyTable, readPoliciesMd, referencePolicyNames } from './policies-md.js';
import { REFERENCE, referenceAt } from './reference.js';
import {
  countUnique,
  defaultTracesDir,
  loadTrace,
  REPO_ROOT,
  TRACES,
  type TraceSpec,
  tracePath,
} from './traces.js';

/**
 * Policies the benchmark replays: larder's two policies, bare lru-cache, Belady's optimal, and (full
 * mode only) four design alternatives of larder's W-TinyLFU kept for `docs/policy.md`: Caffeine's
 * hit-rate hill climber instead of the gradient climber, a fixed 1% window, the default without
 * its small-window guard, a fixed 1% window with lazy promotion (`lazy-promotion.ts`), and the default with
 * eager promotion (`TinyLfuTuning.promotion: 'eager'`, the default until 2026-12-06: the same climber and
 * guards, segments in LRU order).
 */
export type HitRatioPolicy =
  | 'larder-lru'
  | 'larder-tinylfu'
  | 'lru-cache'
  | 'opt'
  | 'tinylfu-hit-rate-climber'
  | 'tinylfu-fixed-window'
  | 'tinylfu-no-small-guard'
  | 'tinylfu-lazy-promotion'
  | 'tinylfu-eager';

/** All policies, in chart order. */
export const HIT_RATIO_POLICIES: readonly HitRatioPolicy[] = [
  'larder-lru',
  'larder-tinylfu',
  'lru-cache',
  'opt',
  'tinylfu-hit-rate-climber',
  'tinylfu-fixed-window',
  'tinylfu-no-small-guard',
  'tinylfu-lazy-promotion',
  'tinylfu-eager',
];

/** Results of one trace. */
export interface TraceHitRatios {
  /** Trace file name. */
  file: string;
  requests: number;
  uniqueKeys: number;
  /** Cache sizes (entries), aligned with every array below. */
  sizes: number[];
  /**
   * `readme`: sizes and reference values from the traces README; `policies`: sizes of POLICIES.md; `suite`: sizes
   * chosen here.
   */
  sizesFrom: 'readme' | 'policies' | 'suite';
  /** Hit ratio (%, 2 decimals) per policy, aligned with `sizes`. */
  hitRatio: Partial<Record<HitRatioPolicy, number[]>>;
  /** Replay time (ms, all sizes) per policy. */
  ms: Partial<Record<HitRatioPolicy, number>>;
  /** README reference rows at these sizes, when it has them. */
  reference?: { lru: number[]; opt: number[]; wtinylfu?: number[]; wtinylfuSource?: string; arc?: number[] };
  /** POLICIES.md's table for this trace (libCacheSim's policies, exact LRU and OPT), at its own sizes. */
  libcachesim?: PolicyTable;
}

/** A trace that was not replayed. */
export interface SkippedTrace {
  trace: string;
  file: string;
  reason: string;
}

/** What {@link runHitRatio} produces (and writes to `bench/results/hit-ratio.json`). */
export interface HitRatioReport {
  kind: 'hit-ratio';
  generatedAt: string;
  ci: boolean;
  node: string;
  tracesDir: string;
  /** Policies replayed in this run. */
  policies: HitRatioPolicy[];
  /** Per trace name, in the README's order. */
  traces: Record<string, TraceHitRatios>;
  skipped: SkippedTrace[];
  /** Issue 18's yardsticks over the POLICIES.md rows replayed (absent when POLICIES.md is missing). */
  frontier?: FrontierSummary;
  durationMs: number;
}

/** Options of {@link runHitRatio}. */
export interface HitRatioOptions {
  /**
   * CI mode: only what the bars need (the README's traces and sizes; policies larder-lru,
   * larder-tinylfu and OPT). Full mode adds lru-cache, two W-TinyLFU design alternatives and the traces without
   * README sizes (among them POLICIES.md's large storage traces P2 and P12, and orm-night).
   */
  ci: boolean;
  /** Traces folder; default `$LARDER_TRACES`, else `../shared/traces` beside the repository. */
  tracesDir?: string;
  /** Progress lines; default `console.log`. */
  log?: (line: string) => void;
  /** Where to write the JSON; default `bench/results/hit-ratio.json`; `false` to not write. */
  output?: string | false;
  /** Only these traces (by name). */
  only?: readonly string[];
}

/** Replays `trace` against a store of the given policy and size; returns the hits. */
export function replayLarder(policy: StorePolicy, trace: Int32Array, size: number): number {
  const store: Store<number, true> = createStore<number, true>(policy, {
    max: size,
    maxSize: undefined,
    onEvict: () => {},
  });
  let hits = 0;
  for (let i = 0; i < trace.length; i++) {
    const k = trace[i]!;
    if (store.get(k) !== undefined) hits++;
    else store.set(k, true, 1);
  }
  return hits;
}

/** Replays `trace` against a larder W-TinyLFU store with design knobs; returns the hits. */
export function replayTinyLfu(trace: Int32Array, size: number, tuning: TinyLfuTuning): number {
  const store = new TinyLfuStore<number, true>({ max: size, maxSize: undefined, onEvict: () => {} }, tuning);
  let hits = 0;
  for (let i = 0; i < trace.length; i++) {
    const k = trace[i]!;
    if (store.get(k) !== undefined) hits++;
    else store.set(k, true, 1);
  }
  return hits;
}

/** Replays `trace` against the lazy-promotion W-TinyLFU prototype of `size` entries; returns the hits. */
export function replayLazyPromotion(trace: Int32Array, size: number): number {
  const store = new LazyPromotionTinyLfu<number, true>(Math.max(2, size));
  let hits = 0;
  for (let i = 0; i < trace.length; i++) {
    const k = trace[i]!;
    if (store.get(k) !== undefined) hits++;
    else store.set(k, true);
  }
  return hits;
}

/** Replays `trace` against a bare `lru-cache` of `size` entries; returns the hits. */
export function replayLruCache(trace: Int32Array, size: number): number {
  const cache = new LRUCache<number, true>({ max: size });
  let hits = 0;
  for (let i = 0; i < trace.length; i++) {
    const k = trace[i]!;
    if (cache.get(k) !== undefined) hits++;
    else cache.set(k, true);
  }
  return hits;
}

function percent(hits: number, requests: number): number {
  return Math.round((hits / requests) * 10000) / 100;
}

/** Runs the benchmark. */
export async function runHitRatio(opts: HitRatioOptions): Promise<HitRatioReport> {
  const started = performance.now();
  const log = opts.log ?? ((line: string) => console.log(line));
  const tracesDir = opts.tracesDir ?? defaultTracesDir();
  const policies: HitRatioPolicy[] = opts.ci
    ? ['larder-lru', 'larder-tinylfu', 'opt']
    : [...HIT_RATIO_POLICIES];
  const report: HitRatioReport = {
    kind: 'hit-ratio',
    generatedAt: new Date().toISOString(),
    ci: opts.ci,
    node: process.version,
    tracesDir,
    policies,
    traces: {},
    skipped: [],
    durationMs: 0,
  };
  log(`hit ratio: traces from ${tracesDir}${opts.ci ? ' (ci subset: README traces and sizes)' : ''}`);
  const policiesMd = readPoliciesMd(tracesDir);
  for (const spec of TRACES) {
    if (opts.only !== undefined && !opts.only.includes(spec.name)) continue;
    if (opts.ci && spec.sizesFrom !== 'readme') {
      report.skipped.push({
        trace: spec.name,
        file: spec.file,
        reason: 'ci mode: no README reference, no bar',
      });
      continue;
    }
    if (tracePath(spec, tracesDir) === undefined) {
      report.skipped.push({
        trace: spec.name,
        file: spec.file,
        reason: `missing: ${join(tracesDir, spec.file)}`,
      });
      continue;
    }
    report.traces[spec.name] = replayTrace(spec, tracesDir, policies, log, policiesMd?.[spec.name]);
    // Let timers and I/O run between traces.
    await new Promise((r) => setImmediate(r));
  }
  const missing = report.skipped.filter((s) => s.reason.startsWith('missing'));
  if (missing.length > 0) {
    log(
      `hit ratio: SKIPPED ${missing.length} trace(s), file not found: ${missing.map((s) => s.file).join(', ')} ` +
        `(set LARDER_TRACES to the traces folder)`,
    );
  }
  const frontier = frontierSummary(
    report.traces,
    policies.filter((p) => p !== 'opt'),
  );
  if (frontier !== undefined) {
    report.frontier = frontier;
    log(formatFrontier(frontier));
  }
  report.durationMs = Math.round(performance.now() - started);
  log(`hit ratio: done in ${(report.durationMs / 1000).toFixed(1)} s`);
  const output = opts.output ?? join(REPO_ROOT, 'bench', 'results', 'hit-ratio.json');
  if (output !== false) {
    mkdirSync(join(output, '..'), { recursive: true });
    writeFileSync(output, `${JSON.stringify(report, null, 2)}\n`);
    log(`hit ratio: wrote ${output}`);
  }
  return report;
}

function replayTrace(
  spec: TraceSpec,
  dir: string,
  policies: readonly HitRatioPolicy[],
  log: (line: string) => void,
  libcachesim: PolicyTable | undefined,
): TraceHitRatios {
  const trace = loadTrace(spec, dir);
  const unique = countUnique(trace);
  if (trace.length !== spec.requests || unique !== spec.uniqueKeys) {
    throw new Error(
      `${spec.file}: parsed ${trace.length} requests / ${unique} keys, README says ${spec.requests} / ${spec.uniqueKeys}`,
    );
  }
  const result: TraceHitRatios = {
    file: spec.file,
    requests: trace.length,
    uniqueKeys: unique,
    sizes: [...spec.sizes],
    sizesFrom: spec.sizesFrom,
    hitRatio: {},
    ms: {},
  };
  if (libcachesim !== undefined) result.libcachesim = libcachesim;
  const ref = REFERENCE[spec.name];
  if (ref !== undefined) {
    const pick = (row: number[] | undefined): number[] | undefined =>
      row === undefined ? undefined : spec.sizes.map((s) => row[ref.sizes.indexOf(s)]!);
    result.reference = { lru: pick(ref.lru)!, opt: pick(ref.opt)! };
    if (ref.wtinylfu !== undefined) {
      result.reference.wtinylfu = pick(ref.wtinylfu)!;
      result.reference.wtinylfuSource = ref.wtinylfuSource!;
    }
    if (ref.arc !== undefined) result.reference.arc = pick(ref.arc)!;
  }
  const prepared = policies.includes('opt') ? prepareOpt(trace) : undefined;
  for (const policy of policies) {
    const t0 = performance.now();
    result.hitRatio[policy] = spec.sizes.map((size) =>
      percent(hitsOf(policy, trace, size, prepared), trace.length),
    );
    result.ms[policy] = Math.round(performance.now() - t0);
  }
  log(formatTrace(spec.name, result, policies));
  return result;
}

function hitsOf(
  policy: HitRatioPolicy,
  trace: Int32Array,
  size: number,
  prepared: ReturnType<typeof prepareOpt> | undefined,
): number {
  switch (policy) {
    case 'larder-lru':
      return replayLarder('lru', trace, size);
    case 'larder-tinylfu':
      return replayLarder('tinylfu', trace, size);
    case 'lru-cache':
      return replayLruCache(trace, size);
    case 'opt':
      return optHits(prepared ?? prepareOpt(trace), size);
    case 'tinylfu-hit-rate-climber':
      return replayTinyLfu(trace, size, { climber: 'hit-rate' });
    case 'tinylfu-fixed-window':
      return replayTinyLfu(trace, size, { climber: 'off' });
    case 'tinylfu-no-small-guard':
      return replayTinyLfu(trace, size, { smallWindowGuard: false });
    case 'tinylfu-lazy-promotion':
      return replayLazyPromotion(trace, size);
    case 'tinylfu-eager':
      return replayTinyLfu(trace, size, { promotion: 'eager' });
    default:
      throw new RangeError(`unknown policy ${String(policy)}`);
  }
}

function formatTrace(name: string, r: TraceHitRatios, policies: readonly HitRatioPolicy[]): string {
  const lines = [`${name} (${r.requests} requests, ${r.uniqueKeys} keys)`];
  const cell = (v: number | undefined): string => (v === undefined ? '' : v.toFixed(2)).padStart(7);
  const w = 26;
  lines.push(`  ${'size'.padEnd(w)}${r.sizes.map((s) => String(s).padStart(7)).join('')}`);
  for (const p of policies) {
    lines.push(`  ${p.padEnd(w)}${r.hitRatio[p]!.map(cell).join('')}   (${r.ms[p]} ms)`);
  }
  if (r.reference !== undefined) {
    lines.push(`  ${'README LRU'.padEnd(w)}${r.reference.lru.map(cell).join('')}`);
    if (r.reference.wtinylfu !== undefined) {
      lines.push(`  ${'README W-TinyLFU'.padEnd(w)}${r.reference.wtinylfu.map(cell).join('')}`);
    }
    lines.push(`  ${'README OPT'.padEnd(w)}${r.reference.opt.map(cell).join('')}`);
  }
  const table = r.libcachesim;
  if (table !== undefined) {
    const at = r.sizes.map((s) => table.sizes.indexOf(s));
    for (const name of referencePolicyNames(table)) {
      const col = table.columns[name]!;
      lines.push(
        `  ${`libCacheSim ${name}`.padEnd(w)}${at.map((j) => cell(j < 0 ? undefined : col[j])).join('')}`,
      );
    }
  }
  return lines.join('\n');
}

/** Tolerance (points) for reproducing the README's LRU and OPT values. */
export const REFERENCE_TOLERANCE = 0.05;

/**
 * Checks the issue-7 hit-ratio bars; returns one message per bar missed (empty: all pass). Traces
 * that were not replayed are not checked (the report lists them under `skipped`).
 *
 * - gli and OLTP, every README size: larder-tinylfu ≥ the README's W-TinyLFU figure − 0.5.
 * - Every README trace and size: larder-tinylfu ≥ LRU − 1 (LRU as measured, larder-lru).
 * - loop at 500 entries: larder-tinylfu ≥ 40%.
 * - larder-lru, lru-cache and OPT reproduce the README's LRU and OPT values within 0.05 points.
 */
export function checkHitRatioBars(report: HitRatioReport): string[] {
  const failures: string[] = [];
  for (const [name, r] of Object.entries(report.traces)) {
    const tiny = r.hitRatio['larder-tinylfu'];
    const lru = r.hitRatio['larder-lru'] ?? r.hitRatio['lru-cache'];
    r.sizes.forEach((size, i) => {
      const wt = referenceAt(name, 'wtinylfu', size);
      if (tiny !== undefined && wt !== undefined && tiny[i]! < wt - 0.5) {
        failures.push(`${name}@${size}: tinylfu ${tiny[i]!.toFixed(2)}% < W-TinyLFU reference ${wt} - 0.5`);
      }
      if (r.sizesFrom === 'readme' && tiny !== undefined && lru !== undefined && tiny[i]! < lru[i]! - 1) {
        failures.push(`${name}@${size}: tinylfu ${tiny[i]!.toFixed(2)}% < LRU ${lru[i]!.toFixed(2)}% - 1`);
      }
      if (name === 'loop' && size === 500 && tiny !== undefined && tiny[i]! < 40) {
        failures.push(`loop@500: tinylfu ${tiny[i]!.toFixed(2)}% < 40%`);
      }
      for (const [policy, row] of [
        ['larder-lru', 'lru'],
        ['lru-cache', 'lru'],
        ['opt', 'opt'],
      ] as const) {
        const measured = r.hitRatio[policy]?.[i];
        const expected = referenceAt(name, row, size);
        if (
          measured !== undefined &&
          expected !== undefined &&
          Math.abs(measured - expected) > REFERENCE_TOLERANCE
        ) {
          failures.push(
            `${name}@${size}: ${policy} ${measured.toFixed(2)}% differs from README ${row.toUpperCase()} ${expected} by more than ${REFERENCE_TOLERANCE}`,
          );
        }
      }
    });
  }
  return failures;
}

/**
 * In CI the bars must be checked, not skipped: one message per trace that has bars (README sizes) and was
 * not replayed because its file was missing (empty: every such trace was replayed).
 */
export function missingBarTraces(report: HitRatioReport): string[] {
  return report.skipped
    .filter(
      (s) =>
        s.reason.startsWith('missing') && TRACES.some((t) => t.name === s.trace && t.sizesFrom === 'readme'),
    )
    .map((s) => `${s.trace}: trace ${s.reason} (in CI its bars must be checked; set LARDER_TRACES)`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ci = args.includes('--ci');
  const only = args.filter((a) => !a.startsWith('--'));
  const write = !args.includes('--no-write') && only.length === 0;
  const report = await runHitRatio({
    ci,
    only: only.length > 0 ? only : undefined,
    output: write ? undefined : false,
  });
  const failures = checkHitRatioBars(report);
  const missing = report.skipped.filter((s) => s.reason.startsWith('missing')).length;
  const note = missing > 0 ? ` (${missing} trace(s) missing: their bars were not checked)` : '';
  if (failures.length === 0) console.log(`hit ratio bars: all pass${note}`);
  else {
    console.log(`hit ratio bars: ${failures.length} missed${note}`);
    for (const f of failures) console.log(`  FAIL ${f}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
