/**
 * Memory per entry at 1,000,000 small entries, each library in its own `node --expose-gc` process.
 *
 * @module
 */
import type { RunMeta } from '../lib/env.js';
import { runIsolated } from '../lib/isolate.js';
import { larderAvailable } from '../lib/larder.js';
import { type BarResult, type MemoryResult, type MemoryRow, packageVersion } from '../lib/results.js';
import { ADAPTERS, LARDER_LRU, LARDER_TINYLFU } from '../throughput/adapters.js';
import type { MemoryChildInput } from './child.js';

/** Options of {@link runMemory}. */
export interface MemoryOptions {
  /** Provenance. */
  meta: RunMeta;
  /** Entries per library (1,000,000). */
  entries: number;
  /** Libraries to measure (default: every adapter that can hold entries). */
  libraries?: readonly string[];
  /**
   * Libraries also measured in the evicting state (see {@link MemoryResult.evicting}); default
   * {@link EVICTING_LIBRARIES}.
   */
  evicting?: readonly string[];
  /** Children run at the same time (memory figures do not depend on it; fill times do a little). Default 1. */
  concurrency?: number;
  /** Progress output. */
  log: (line: string) => void;
}

/** Libraries measured by default: all but the Promise.resolve floor (it is not a store). */
export const MEMORY_LIBRARIES: readonly string[] = ADAPTERS.filter(
  (a) => a.name !== 'Promise.resolve (floor)',
).map((a) => a.name);

/**
 * Libraries measured in the evicting state by default: the default policy, whose ghosts (memory of evicted keys)
 * and guards exist only once it evicts, and the lru-cache it is compared with.
 */
export const EVICTING_LIBRARIES: readonly string[] = [LARDER_TINYLFU, 'lru-cache'];

/** Runs the memory benchmark. */
export async function runMemory(options: MemoryOptions): Promise<MemoryResult> {
  const libraries = options.libraries ?? MEMORY_LIBRARIES;
  const evicting = options.evicting ?? EVICTING_LIBRARIES;
  const jobs = [
    ...libraries.map((library) => ({ library, evicting: false })),
    ...evicting.map((library) => ({ library, evicting: true })),
  ];
  const rows: MemoryRow[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const measureOne = async (index: number): Promise<void> => {
    const job = jobs[index] as { library: string; evicting: boolean };
    const library = job.library;
    const what = job.evicting ? `${library}, evicting` : library;
    const adapter = ADAPTERS.find((a) => a.name === library);
    const version = adapter?.pkg === undefined ? undefined : packageVersion(adapter.pkg);
    const base: MemoryRow = { library, size: 0, bytesPerEntry: 0, fillMs: 0 };
    if (version !== undefined) base.version = version;
    if (library.startsWith('larder') && !larderAvailable()) {
      rows[index] = { ...base, error: 'larder not available in this run' };
      return;
    }
    const input: MemoryChildInput = { library, entries: options.entries, evicting: job.evicting };
    try {
      const r = await runIsolated<Omit<MemoryRow, 'version'>>(new URL('./child.ts', import.meta.url), input, {
        exposeGc: true,
        timeoutMs: 240_000,
      });
      rows[index] = { ...base, ...r };
      options.log(
        `(${++done}/${jobs.length}) ${what}: ${r.bytesPerEntry.toFixed(1)} B/entry, ${r.size.toLocaleString('en-US')} held, fill ${(r.fillMs / 1000).toFixed(1)} s`,
      );
    } catch (error) {
      const message =
        error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
      rows[index] = { ...base, error: message };
      options.log(`(${++done}/${jobs.length}) ${what}: failed: ${message}`);
    }
  };
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await measureOne(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  return {
    meta: options.meta,
    entries: options.entries,
    rows: rows.slice(0, libraries.length),
    evicting: rows.slice(libraries.length),
  };
}

/**
 * An error when a row of the evicting state reads less than the same library filled: it holds as many entries
 * and everything it held then, so less means the measurement went wrong (say, the cache was not collected when
 * the heap was read without it).
 */
function belowFilled(result: MemoryResult, evicting: readonly MemoryRow[]): string | undefined {
  for (const row of evicting) {
    const filled = result.rows.find((r) => r.library === row.library && r.error === undefined);
    if (filled !== undefined && row.bytesPerEntry < filled.bytesPerEntry) {
      return `${row.library} read ${row.bytesPerEntry.toFixed(1)} B/entry evicting, below its ${filled.bytesPerEntry.toFixed(1)} filled`;
    }
  }
  return undefined;
}

/**
 * A memory bar: larder's bytes per entry <= 1.2x a bare lru-cache's. With policy 'lru' (the default
 * `candidate`, id `memory-vs-lru`) or with the default policy 'tinylfu' (issue 18, id
 * `memory-tinylfu-vs-lru`); with `evicting`, the default policy in the evicting state (id
 * `memory-tinylfu-vs-lru-evicting`, see {@link MemoryResult.evicting}).
 */
export function memoryBar(
  result: MemoryResult,
  candidate: typeof LARDER_LRU | typeof LARDER_TINYLFU = LARDER_LRU,
  evicting = false,
): BarResult {
  const rows = evicting ? (result.evicting ?? []) : result.rows;
  const larder = rows.find((r) => r.library === candidate);
  const lru = rows.find((r) => r.library === 'lru-cache');
  const tinylfu = candidate === LARDER_TINYLFU;
  const state = evicting
    ? ` entries, after ${result.entries.toLocaleString('en-US')} more sets that each evict`
    : ' small entries';
  const base = {
    id: `${tinylfu ? 'memory-tinylfu-vs-lru' : 'memory-vs-lru'}${evicting ? '-evicting' : ''}`,
    label: `larder (${tinylfu ? "default policy 'tinylfu'" : "policy 'lru'"}) bytes per entry vs bare lru-cache at ${result.entries.toLocaleString('en-US')}${state}`,
    kind: 'memory' as const,
    candidate,
    baseline: 'lru-cache',
    bar: 1.2,
    source: tinylfu ? 'policy' : 'core',
  };
  const error =
    larder === undefined || lru === undefined
      ? 'not measured'
      : (larder.error ??
        lru.error ??
        (larder.size !== result.entries ? `larder held ${larder.size} entries` : undefined) ??
        (evicting ? belowFilled(result, [larder, lru]) : undefined));
  if (error !== undefined || larder === undefined || lru === undefined) {
    return {
      ...base,
      ratio: 0,
      pass: false,
      candidateValue: 0,
      baselineValue: 0,
      error: error ?? 'not measured',
    };
  }
  const ratio = larder.bytesPerEntry / lru.bytesPerEntry;
  return {
    ...base,
    ratio,
    pass: ratio <= 1.2,
    candidateValue: larder.bytesPerEntry,
    baselineValue: lru.bytesPerEntry,
  };
}
