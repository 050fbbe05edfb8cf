/**
 * Machine instructions per evicting insert (callgrind), for issue 18's set-with-eviction bar: noise-free where the
 * timed ratios of `insert-floor.ts` spread by 10% or more on a shared host. Instructions are not time (lru-cache's
 * insert is mostly memory stalls in its `Map`), but they show what each piece of work costs.
 *
 * For each variant (those of `insert-floor.ts`, and a bare lru-cache), runs the bars' workload under
 * `valgrind --tool=callgrind` twice, with two numbers of inserts after the same warm-up, and prints the difference
 * per insert (so that start-up, compilation and the warm-up cancel out; the heap is collected after the warm-up).
 *
 * Run: `npx tsx bench/throughput/insert-instructions.ts [variant ...]` (needs valgrind; a few minutes per variant).
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { Cache } from '../../src/index.js';
import { TinyLfuStore } from '../../src/policy/tinylfu-store.js';
import { keyOf, permutation } from '../lib/random.js';
import { InsertFloorStore } from './insert-floor-store.js';

const VARIANTS = ['lru-cache', 'floor', 'floor+ghosts', 'store', 'cache'] as const;
type Variant = (typeof VARIANTS)[number];
const WARMUP = 300_000;
const SHORT = 100_000;
const LONG = 600_000;

/** Child: the warm-up and `n` more evicting inserts of `variant`. */
function child(variant: Variant, n: number): void {
  const K = 100_000;
  const cap = K / 10;
  const keys = Array.from({ length: K }, (_, i) => keyOf(i));
  const order = Array.from(permutation(K, 42), (i) => keys[i] as string);
  const values = keys.map((_, i) => ({ id: i }));
  let set: (key: string, value: { id: number }) => void;
  if (variant === 'lru-cache') {
    const c = new LRUCache<string, { id: number }>({ max: cap });
    set = (k, v) => c.set(k, v);
  } else if (variant === 'floor' || variant === 'floor+ghosts') {
    const c = new InsertFloorStore<string, { id: number }>(cap, () => {}, variant === 'floor+ghosts');
    set = (k, v) => c.set(k, v);
  } else if (variant === 'store') {
    const c = new TinyLfuStore<string, { id: number }>({ max: cap, maxSize: undefined, onEvict: () => {} });
    set = (k, v) => c.set(k, v, 0);
  } else {
    const c = new Cache<string, { id: number }>({ max: cap });
    set = (k, v) => c.set(k, v);
  }
  let p = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      set(order[p] as string, values[p] as { id: number });
      if (++p === K) p = 0;
    }
  };
  run(WARMUP);
  // A collection after the warm-up, so that no run's own inserts pay for a collection of what the set-up left
  // (one full collection of this process's heap weighs as much as hundreds of instructions per insert).
  (globalThis as { gc?: () => void }).gc?.();
  run(n);
}

/** Instructions callgrind counted for a child run of `variant` with `n` inserts after the warm-up. */
function instructions(variant: Variant, n: number): number {
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      '--expose-gc',
      '--import',
      import.meta.resolve('tsx'),
      fileURLToPath(import.meta.url),
      '--child',
      variant,
      String(n),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr ?? '');
  if (run.status !== 0 || collected === null) {
    throw new Error(`valgrind failed for ${variant} (status ${run.status}): ${run.error ?? run.stderr}`);
  }
  return Number(collected[1]);
}

function parent(variants: readonly string[]): void {
  for (const v of variants) {
    if (!(VARIANTS as readonly string[]).includes(v)) {
      throw new RangeError(`variant must be one of ${VARIANTS.join(', ')}; got ${JSON.stringify(v)}`);
    }
  }
  console.log(
    `machine instructions per evicting insert (callgrind; ${LONG} minus ${SHORT} inserts, after ${WARMUP}):`,
  );
  for (const variant of variants as Variant[]) {
    const perInsert = (instructions(variant, LONG) - instructions(variant, SHORT)) / (LONG - SHORT);
    console.log(`  ${variant.padEnd(13)} ${Math.round(perInsert)}`);
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') child(args[1] as Variant, Number(args[2]));
else parent(args.length > 0 ? args : VARIANTS);
