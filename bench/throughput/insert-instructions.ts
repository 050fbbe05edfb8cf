/**
 * Machine instructions per evicting insert (callgrind), for issue 18's set-with-eviction bar: noise-free where the
 * timed ratios of `insert-floor.ts` spread by 10% or more on a shared host. Instructions are not time (lru-cache's
 * insert is mostly memory stalls in its `Map`), but they show what each piece of work costs.
 *
 * For each variant (those of `insert-floor.ts`, and a bare lru-cache), runs the bars' workload under
 * `valgrind --tool=callgrind` twice, with two numbers of inserts after the same warm-up, and prints the difference
 * per insert (so that start-up, compilation and the warm-up cancel out; the heap is collected after the warm-up).
 * Two things made counts move from one run of the same code to the next, and the children avoid both. V8 seeds its hash
 * tables (a `Map`'s among them) and `Math.random` at random in every process: fixed seeds here. And tsx transpiles in
 * a loader thread that runs beside the child's own work (two runs of the store read 2,526 and 2,574 instructions per
 * insert, with 23.0 and 29.0 simulated cache misses): the parent bundles this file once with esbuild (lru-cache left
 * out, under `node_modules/.cache/`) and the children run the bundle with plain `node`. Two runs made that way, at the
 * same time, counted 2,868 and 2,869 instructions per insert for the store (2026-12-06).
 *
 * With `--cache-sim`, callgrind also simulates the caches and the table adds first-level data cache misses per insert
 * (the simulated cache is modelled on the host's): an insert spends most of its time waiting for memory, so a change
 * that saves instructions but touches more cache lines shows here. Misses do not repeat as instructions do (the
 * store read 28.6 and 32.9 per insert in two runs that counted 2,868 and 2,869 instructions): compare only
 * differences of several misses, or repeat.
 *
 * With `--by-function`, the table also breaks each variant's count down by function, V8's generated code named from
 * the perf map node writes with `--perf-basic-prof` (see `callgrind-functions.ts`): the store's own JavaScript, the
 * `Map` builtins it shares with lru-cache, V8's runtime. What V8 inlined counts in the function it was inlined into.
 *
 * Run: `npx tsx bench/throughput/insert-instructions.ts [--cache-sim] [--by-function] [variant ...]` (needs valgrind;
 * a few minutes per variant).
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { Cache } from '../../src/index.js';
import { TinyLfuStore } from '../../src/policy/tinylfu-store.js';
import { keyOf, permutation } from '../lib/random.js';
import { selfInstructionsByFunction } from './callgrind-functions.js';
import { InsertFloorStore } from './insert-floor-store.js';

const VARIANTS = ['lru-cache', 'floor', 'floor+ghosts', 'store', 'cache'] as const;
type Variant = (typeof VARIANTS)[number];
const WARMUP = 300_000;
const SHORT = 100_000;
const LONG = 600_000;
/** Functions printed per variant with `--by-function`. */
const BY_FUNCTION_ROWS = 14;

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

/** What callgrind counted for one child run: instructions, and first-level data cache misses (0 without the simulation). */
interface Counts {
  instructions: number;
  d1Misses: number;
  /** Self instructions by function (`--by-function` only). */
  byFunction: Map<string, number> | undefined;
}

/** How to count (the command line's flags). */
interface Options {
  cacheSim: boolean;
  byFunction: boolean;
}

/** Bundles this file for the children (see the module comment); returns the bundle's path. */
async function bundleChild(): Promise<string> {
  const dir = fileURLToPath(
    new URL('../../node_modules/.cache/larder-insert-instructions/', import.meta.url),
  );
  mkdirSync(dir, { recursive: true });
  // One bundle per parent, so that two runs at once do not write the same file.
  const outfile = `${dir}child-${process.pid}.mjs`;
  // Imported here, so that the children (which run this file's bundle) do not load esbuild.
  const { build } = await import('esbuild');
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    external: ['lru-cache', 'esbuild'],
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/** What callgrind counted for a child run (the bundle at `script`) of `variant` with `n` inserts after the warm-up. */
function count(script: string, variant: Variant, n: number, options: Options): Counts {
  const { cacheSim, byFunction } = options;
  const out = byFunction ? `${script}.${n}.callgrind` : '/dev/null';
  const callgrind = [
    '--tool=callgrind',
    `--callgrind-out-file=${out}`,
    ...(cacheSim ? ['--cache-sim=yes'] : []),
    ...(byFunction ? ['--dump-instr=yes'] : []),
    process.execPath,
    ...(byFunction ? ['--perf-basic-prof', '--perf-basic-prof-only-functions'] : []),
    '--single-threaded',
    // Fixed seeds for V8's hash tables and Math.random (see the module comment).
    '--hash-seed=1',
    '--random-seed=1',
    '--expose-gc',
    script,
    '--child',
    variant,
    String(n),
  ];
  const run = spawnSync('valgrind', callgrind, { encoding: 'utf8', maxBuffer: 1 << 26 });
  // Event columns in order: Ir, and with the cache simulation Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
  const collected = /Collected : ([\d ]+)/.exec(run.stderr ?? '');
  // valgrind runs node in its own process, so the child's pid names node's perf map.
  const perfMap = `/tmp/perf-${run.pid}.map`;
  if (run.status !== 0 || collected === null) {
    if (byFunction) removeRunFiles(out, perfMap);
    throw new Error(`valgrind failed for ${variant} (status ${run.status}): ${run.error ?? run.stderr}`);
  }
  const events = (collected[1] as string).trim().split(/\s+/).map(Number);
  return {
    instructions: events[0] as number,
    d1Misses: cacheSim ? (events[4] as number) + (events[5] as number) : 0,
    byFunction: byFunction ? functionsOf(out, perfMap) : undefined,
  };
}

/** The self instructions by function of callgrind's output `out` and node's `perfMap`; removes both. */
function functionsOf(out: string, perfMap: string): Map<string, number> {
  try {
    return selfInstructionsByFunction(out, perfMap);
  } finally {
    removeRunFiles(out, perfMap);
  }
}

/** Removes callgrind's output and node's perf map of one run. */
function removeRunFiles(out: string, perfMap: string): void {
  rmSync(out, { force: true });
  rmSync(perfMap, { force: true });
}

async function parent(variants: readonly string[], options: Options): Promise<void> {
  for (const v of variants) {
    if (!(VARIANTS as readonly string[]).includes(v)) {
      throw new RangeError(`variant must be one of ${VARIANTS.join(', ')}; got ${JSON.stringify(v)}`);
    }
  }
  const script = await bundleChild();
  try {
    report(script, variants as Variant[], options);
  } finally {
    rmSync(script, { force: true });
  }
}

/** Runs each variant twice under callgrind and prints its counts per insert. */
function report(script: string, variants: readonly Variant[], options: Options): void {
  console.log(
    `machine instructions per evicting insert (callgrind; ${LONG} minus ${SHORT} inserts, after ${WARMUP}):`,
  );
  for (const variant of variants) {
    const long = count(script, variant, LONG, options);
    const short = count(script, variant, SHORT, options);
    const perInsert = (long.instructions - short.instructions) / (LONG - SHORT);
    const misses = options.cacheSim
      ? `, ${((long.d1Misses - short.d1Misses) / (LONG - SHORT)).toFixed(1)} D1 misses`
      : '';
    console.log(`  ${variant.padEnd(13)} ${Math.round(perInsert)}${misses}`);
    if (long.byFunction !== undefined && short.byFunction !== undefined) {
      printFunctions(long.byFunction, short.byFunction);
    }
  }
}

/** Prints the functions whose self instructions per insert differ most between the long and the short run. */
function printFunctions(long: Map<string, number>, short: Map<string, number>): void {
  const names = new Set([...long.keys(), ...short.keys()]);
  const perInsert = [...names].map(
    (name) => [name, ((long.get(name) ?? 0) - (short.get(name) ?? 0)) / (LONG - SHORT)] as const,
  );
  perInsert.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  for (const [name, ir] of perInsert.slice(0, BY_FUNCTION_ROWS)) {
    console.log(`      ${ir.toFixed(0).padStart(6)}  ${name.slice(0, 100)}`);
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') child(args[1] as Variant, Number(args[2]));
else {
  const options = { cacheSim: args.includes('--cache-sim'), byFunction: args.includes('--by-function') };
  const variants = args.filter((a) => a !== '--cache-sim' && a !== '--by-function');
  await parent(variants.length > 0 ? variants : VARIANTS, options);
}
