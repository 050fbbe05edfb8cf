/**
 * The cross-library throughput table: every library in its own fresh process, warmed up, several samples.
 *
 * @module
 */
import type { RunMeta } from '../lib/env.js';
import { runIsolated } from '../lib/isolate.js';
import { larderAvailable } from '../lib/larder.js';
import { packageVersion, type ThroughputResult, type ThroughputRow } from '../lib/results.js';
import type { SampleOptions } from '../lib/sample.js';
import { ADAPTERS, type OpId } from './adapters.js';
import type { ThroughputChildInput, ThroughputChildOutput } from './child.js';

/** Every operation, in table order. */
export const OPS: readonly OpId[] = ['get', 'setOverwrite', 'setEvict', 'getOrSet', 'wrap', 'zipf'];

/** Options of {@link runThroughput}. */
export interface ThroughputOptions {
  /** Provenance to store. */
  meta: RunMeta;
  /** Distinct keys (100,000). */
  keys: number;
  /** Sampling per operation. */
  sampling: SampleOptions;
  /** Progress output. */
  log: (line: string) => void;
}

/** Runs the table. */
export async function runThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const rows: ThroughputRow[] = [];
  let i = 0;
  for (const adapter of ADAPTERS) {
    i++;
    const row: ThroughputRow = {
      library: adapter.name,
      config: adapter.config,
      floor: adapter.floor === true,
      ops: {},
    };
    const version = adapter.pkg === undefined ? undefined : packageVersion(adapter.pkg);
    if (version !== undefined) row.version = version;
    rows.push(row);
    if (adapter.name.startsWith('larder') && !larderAvailable()) {
      row.error = 'larder not available in this run';
      options.log(`(${i}/${ADAPTERS.length}) ${adapter.name}: skipped (${row.error})`);
      continue;
    }
    options.log(`(${i}/${ADAPTERS.length}) ${adapter.name}`);
    const input: ThroughputChildInput = {
      library: adapter.name,
      keys: options.keys,
      ops: [...OPS],
      sampling: options.sampling,
    };
    try {
      row.ops = await runIsolated<ThroughputChildOutput>(new URL('./child.ts', import.meta.url), input, {
        onProgress: (line) => options.log(`  ${line}`),
        timeoutMs: 180_000,
      });
    } catch (error) {
      row.error = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
      options.log(`  failed: ${row.error}`);
    }
  }
  return {
    meta: options.meta,
    keys: options.keys,
    evictingCapacity: Math.floor(options.keys / 10),
    zipfS: 0.99,
    sampling: { ...options.sampling },
    rows,
  };
}
