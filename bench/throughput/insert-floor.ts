/**
 * Issue 18's set-with-eviction bar (>= 0.6x a bare lru-cache) against its floor: how fast can a W-TinyLFU insertion
 * that evicts be, next to lru-cache's, in the bars' workload (`bars-child.ts`: a cache of 10,000 of 100,000 keys
 * written in one shuffled order)? Every lru-cache set there inserts a new key and evicts one; a W-TinyLFU keeps some
 * keys from one lap to the next, so some of its sets replace a held key (cheaper) instead: the table prints each
 * variant's evictions per set.
 *
 * Each variant runs in its own processes, alternating, each process interleaving lru-cache and the variant round by
 * round; a process's ratio is lru-cache's median ns per set over the variant's. Variants:
 *
 * - `floor`: `InsertFloorStore` without ghosts: a `Map` lookup, hash, sketch increment, `Map.set`, and a comparison of
 *   two sketch estimates with `Map.delete` of the loser. A fixed-window W-TinyLFU can do no less.
 * - `floor+ghosts`: the same, plus the ghost lookups and records that larder's window climber votes from.
 * - `store`: larder's W-TinyLFU store (`TinyLfuStore`, the default policy), called directly.
 * - `cache`: `Cache.set` with the default policy (from `src/` through tsx, as the others; the bars measure `dist/`).
 *
 * Run: `npx tsx bench/throughput/insert-floor.ts [--processes 8] [--no-write]`. Writes
 * `bench/results/insert-floor.json` (docs/policy-log.md cites it).
 *
 * @module
 */
import { runMeta } from '../lib/env.js';
import { runIsolated } from '../lib/isolate.js';
import { RESULTS_DIR, writeResult } from '../lib/results.js';
import { median, quantile } from '../lib/stats.js';
import type { FloorInput, FloorOutput, FloorVariant } from './insert-floor-child.js';

const VARIANTS: FloorVariant[] = ['floor', 'floor+ghosts', 'store', 'cache'];

/** One variant's result: each process's ratio against lru-cache, the ns per set of both, evictions per set. */
export interface FloorRow {
  variant: FloorVariant;
  ratios: number[];
  medianRatio: number;
  lruNs: number;
  variantNs: number;
  evictionsPerSet: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--processes');
  const processes = at >= 0 ? Number(args[at + 1]) : 8;
  if (!(Number.isInteger(processes) && processes >= 1)) {
    throw new RangeError(`--processes must be a positive integer; got ${String(args[at + 1])}`);
  }
  const write = !args.includes('--no-write');
  const input = { keys: 100_000, rounds: 11, setsPerRound: 200_000 };
  const per = new Map<
    FloorVariant,
    { ratios: number[]; lru: number[]; variant: number[]; evictions: number[] }
  >();
  for (const v of VARIANTS) per.set(v, { ratios: [], lru: [], variant: [], evictions: [] });
  for (let p = 0; p < processes; p++) {
    for (const variant of VARIANTS) {
      const out = await runIsolated<FloorOutput>(new URL('./insert-floor-child.ts', import.meta.url), {
        ...input,
        variant,
      } satisfies FloorInput);
      const row = per.get(variant)!;
      const lru = median(out.lru);
      const ns = median(out.variant);
      row.ratios.push(lru / ns);
      row.lru.push(lru);
      row.variant.push(ns);
      row.evictions.push(out.evictionsPerSet);
    }
    process.stdout.write(`process ${p + 1} of ${processes} per variant done\n`);
  }
  const rows: FloorRow[] = VARIANTS.map((variant) => {
    const r = per.get(variant)!;
    return {
      variant,
      ratios: r.ratios.map((x) => Math.round(x * 1000) / 1000),
      medianRatio: Math.round(median(r.ratios) * 1000) / 1000,
      lruNs: Math.round(median(r.lru)),
      variantNs: Math.round(median(r.variant)),
      evictionsPerSet: Math.round(median(r.evictions) * 1000) / 1000,
    };
  });
  console.log(
    '\nset with eviction vs a bare lru-cache set (per-process ratios; median, 10th-90th percentile):',
  );
  for (const row of rows) {
    const lo = quantile(row.ratios, 0.1).toFixed(2);
    const hi = quantile(row.ratios, 0.9).toFixed(2);
    console.log(
      `  ${row.variant.padEnd(13)} ${row.medianRatio.toFixed(2)}x (${lo}-${hi})  ${row.variantNs} ns vs lru-cache ${row.lruNs} ns, ${row.evictionsPerSet} evictions per set`,
    );
  }
  if (write) {
    const path = writeResult(RESULTS_DIR, 'insert-floor', {
      kind: 'insert-floor',
      meta: runMeta('npx tsx bench/throughput/insert-floor.ts', 'src', 'full'),
      input: { ...input, processes },
      rows,
    });
    console.log(`wrote ${path}`);
  }
}

await main();
