/**
 * The stampede test and its bar: larder's getOrSet must run the loader exactly once.
 *
 * @module
 */
import type { RunMeta } from '../lib/env.js';
import { runIsolated } from '../lib/isolate.js';
import type { StampedeResult, StampedeRow } from '../lib/results.js';
import type { StampedeChildInput } from './child.js';

/** Options of {@link runStampede}. */
export interface StampedeOptions {
  /** Provenance. */
  meta: RunMeta;
  /** Progress output. */
  log: (line: string) => void;
}

/** Runs the stampede test for every library with cache-aside (1,000 callers, 10 ms loader). */
export async function runStampede(options: StampedeOptions): Promise<StampedeResult> {
  const input: StampedeChildInput = { concurrency: 1000, loaderMs: 10 };
  const rows = await runIsolated<StampedeRow[]>(new URL('./child.ts', import.meta.url), input, {
    onProgress: options.log,
    timeoutMs: 120_000,
  });
  return { meta: options.meta, concurrency: input.concurrency, loaderMs: input.loaderMs, rows };
}

/** The stampede bar: every larder row has exactly one loader call and served every caller. Returns misses. */
export function checkStampedeBar(result: StampedeResult): string[] {
  const larder = result.rows.filter((r) => r.library.startsWith('larder'));
  if (larder.length === 0) return ['stampede: larder was not measured'];
  const missed: string[] = [];
  for (const r of larder) {
    if (r.error !== undefined) missed.push(`stampede: ${r.library} ${r.via} failed: ${r.error}`);
    else if (r.loaderCalls !== 1)
      missed.push(`stampede: ${r.library} ${r.via} ran the loader ${r.loaderCalls} times (bar: exactly 1)`);
    else if (r.served !== result.concurrency) {
      missed.push(`stampede: ${r.library} ${r.via} served ${r.served} of ${result.concurrency} callers`);
    }
  }
  return missed;
}
