/**
 * Result files: their types, and reading/writing them under bench/results/.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OpId } from '../throughput/adapters.js';
import type { OpMeasurement } from '../throughput/child.js';
import type { RunMeta } from './env.js';
import { ROOT } from './larder.js';
import type { SampleOptions } from './sample.js';

/** Directory of the full run's results (committed, read by the report). */
export const RESULTS_DIR = join(ROOT, 'bench/results');
/** Directory of `--ci` results (git-ignored, never read by the report). */
export const CI_RESULTS_DIR = join(ROOT, 'bench/results/tmp/ci');

/** One library's row in the throughput table. */
export interface ThroughputRow {
  /** Library (adapter) name. */
  library: string;
  /** Installed version, when a package. */
  version?: string;
  /** Configuration used. */
  config: string;
  /** Whether this row is a floor. */
  floor: boolean;
  /** Measurements per operation the library has. */
  ops: Partial<Record<OpId, OpMeasurement>>;
  /** Why the row has no numbers (for example, larder not built). */
  error?: string;
}

/** bench/results/throughput.json */
export interface ThroughputResult {
  /** Provenance. */
  meta: RunMeta;
  /** Distinct keys. */
  keys: number;
  /** Capacity of evicting caches (set with eviction, Zipf loop). */
  evictingCapacity: number;
  /** Zipf skew. */
  zipfS: number;
  /** Sampling settings. */
  sampling: SampleOptions;
  /** Rows in table order. */
  rows: ThroughputRow[];
}

/** One asserted bar. */
export interface BarResult {
  /** Stable id, e.g. `get-vs-lru`. */
  id: string;
  /** What is compared, in words. */
  label: string;
  /** `ratio` bars compare throughput (higher is better); `memory` bars compare bytes (lower is better). */
  kind: 'throughput' | 'memory';
  /** Candidate name. */
  candidate: string;
  /** Baseline name. */
  baseline: string;
  /** Measured ratio candidate / baseline (median of per-round ratios for throughput). */
  ratio: number;
  /** 25th and 75th percentile of the per-round ratios (throughput only). */
  spread?: [number, number];
  /** The bar: ratio >= bar for throughput, ratio <= bar for memory. */
  bar: number;
  /** Whether the bar is met. */
  pass: boolean;
  /** Median candidate and baseline rates (ops/s) or bytes per entry. */
  candidateValue: number;
  /** See candidateValue. */
  baselineValue: number;
  /** Which issue asked for the bar. */
  source: string;
  /** Why it could not be measured, when it could not (counts as missed). */
  error?: string;
}

/** bench/results/bars.json */
export interface BarsResult {
  /** Provenance. */
  meta: RunMeta;
  /** Interleaved rounds per group. */
  rounds: number;
  /** Every bar. */
  bars: BarResult[];
}

/** One stampede row. */
export interface StampedeRow {
  /** Library name. */
  library: string;
  /** What was called. */
  via: string;
  /** How many times the loader ran. */
  loaderCalls: number;
  /** How many callers got the loaded value. */
  served: number;
  /** Time for all callers to settle, ms. */
  ms: number;
  /** Failure, if the library threw. */
  error?: string;
}

/** bench/results/stampede.json */
export interface StampedeResult {
  /** Provenance. */
  meta: RunMeta;
  /** Concurrent callers. */
  concurrency: number;
  /** Loader latency, ms. */
  loaderMs: number;
  /** Rows. */
  rows: StampedeRow[];
}

/** One memory row. */
export interface MemoryRow {
  /** Library name. */
  library: string;
  /** Installed version, when a package. */
  version?: string;
  /** Entries held after the fill. */
  size: number;
  /** Heap growth (V8 heap + ArrayBuffers) per entry, bytes, keys and values excluded. */
  bytesPerEntry: number;
  /** Fill time, ms. */
  fillMs: number;
  /** Failure, if any. */
  error?: string;
}

/** bench/results/memory.json */
export interface MemoryResult {
  /** Provenance. */
  meta: RunMeta;
  /** Entries inserted. */
  entries: number;
  /** Rows. */
  rows: MemoryRow[];
  /**
   * Rows in the evicting state: the library filled to `entries`, then `entries` more sets of new keys, each
   * evicting (`size` is what it holds of the 2 × `entries` keys). Absent in results written before 2026-12-06.
   */
  evicting?: MemoryRow[];
}

/** One HTTP run. */
export interface HttpRow {
  /** Whether the app's cache was on. */
  cache: boolean;
  /** Requests per second (median over the windows of autocannon's per-window mean). */
  requestsPerSec: number;
  /** Median latency, ms (median over the windows). */
  p50: number;
  /** 99th percentile latency, ms (median over the windows). */
  p99: number;
  /** Requests completed. */
  requests: number;
  /** Non-2xx responses plus errors. */
  errors: number;
  /** Database queries during the measured window. */
  queries: number;
  /** Queries per request. */
  queriesPerRequest: number;
}

/** bench/results/http.json */
export interface HttpResult {
  /** Provenance. */
  meta: RunMeta;
  /** Which app was measured (the example, or the bench's stand-in). */
  app: string;
  /** Request mix description. */
  workload: string;
  /** Seconds per measured window. */
  durationS: number;
  /** Windows per configuration, alternating between cache off and on. */
  rounds: number;
  /** Concurrent connections. */
  connections: number;
  /** Cache off, then on. */
  rows: HttpRow[];
}

/** Writes `value` as pretty JSON to `dir/name.json` and returns the path. */
export function writeResult(dir: string, name: string, value: unknown): string {
  const path = join(dir, `${name}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/** Reads `dir/name.json`, or undefined when it does not exist. */
export function readResult<T>(dir: string, name: string): T | undefined {
  const path = join(dir, `${name}.json`);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The installed version of package `name`, or undefined. */
export function packageVersion(name: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version;
  } catch {
    return undefined;
  }
}

/** One ratio of the Redis benchmark (bench/redis, a separate part). */
export interface RedisRatio {
  /** What is compared, and in which direction the bar applies. */
  name: string;
  /** Median of the per-round ratios. */
  ratio: number;
  /** The bar (a minimum for throughput ratios, a maximum for latency ratios). */
  bar: number;
  /** Whether the bar is met. */
  pass: boolean;
}

/** bench/results/redis.json */
export interface RedisResult {
  /** Provenance. */
  meta: RunMeta;
  /** The ratios, or an empty list when Redis was not reachable outside CI. */
  results: RedisRatio[];
  /** Why the part did not run, when it did not. */
  error?: string;
}

/** bench/results/policy.json: store-level get-hit throughput (bench/policy-throughput.ts, a separate part). */
export interface PolicyResult {
  /** Provenance. */
  meta: RunMeta;
  /** The part's report (its own shape; the report reads what it knows). */
  report?: {
    entries?: number;
    keyType?: string;
    rounds?: number;
    gets?: Array<{ name: string; mops: number }>;
    tinylfuRatio?: number;
    lruRatio?: number;
    hashNs?: Record<string, number>;
  };
  /** Bars missed, as the part words them. */
  missed: string[];
  /** Why the part did not run, when it did not. */
  error?: string;
}

/** One bar of the Next.js benchmark (bench/next, a separate part). */
export interface NextRatio {
  /** What was measured. */
  name: string;
  /** larder / baseline (throughput), or large / small (latency). */
  ratio: number;
  /** The bar, as text (e.g. `>= 0.9`). */
  bar: string;
  /** Whether it met the bar. */
  ok: boolean;
  /** The raw numbers. */
  detail: string;
}

/** bench/results/next.json */
export interface NextResult {
  /** Provenance. */
  meta: RunMeta;
  /** The bars. */
  results: NextRatio[];
  /** Why the part did not run, when it did not. */
  error?: string;
}
