/**
 * larder `get` hits against a bare lru-cache `get` under three access orders over the same 100,000 keys, each
 * policy in a fresh process (not part of `bench:ci`; run it alone):
 *
 * - `sweep`: the bars' order (bench/throughput/bars-child.ts): a fixed random permutation, walked again and
 *   again. Every key comes back after all the others, which is the worst case for a segmented LRU: each hit
 *   finds its entry demoted to probation and promotes it, moving two entries over cold memory.
 * - `uniform`: independent uniform draws (about one hit in five lands in probation).
 * - `zipf`: independent Zipf(0.99) draws, the skew of real cache traffic and of Caffeine's read benchmarks.
 *
 * `npx tsx bench/throughput/access-patterns.ts [--larder auto|build|dist|src]`. Prints the median of 31
 * interleaved rounds of per-round ratios (each round keeps the fastest of three ~3 ms slices per case).
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { LARDER_ENV, type LarderSource, larderEnv, loadLarder, prepareLarder } from '../lib/larder.js';
import { keyOf, permutation, zipfSequence } from '../lib/random.js';

const K = 100_000;
const PATTERNS = ['sweep', 'uniform', 'zipf'] as const;
const POLICIES = ['lru', 'tinylfu'] as const;
type Pattern = (typeof PATTERNS)[number];
type Policy = (typeof POLICIES)[number];

function accessOrder(pattern: Pattern): Uint32Array {
  if (pattern === 'sweep') return permutation(K, 42);
  if (pattern === 'zipf') return zipfSequence(K, 0.99, 1 << 20, 7);
  const out = new Uint32Array(1 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % K;
  }
  return out;
}

/** One (pattern, policy) pair, in this process: prints the median ratio larder / lru-cache. */
async function measure(pattern: Pattern, policy: Policy): Promise<number> {
  const { Cache } = await loadLarder();
  const keys = Array.from({ length: K }, (_, i) => keyOf(i));
  const order = Array.from(accessOrder(pattern), (i) => keys[i] as string);
  const L = order.length;
  const lru = new LRUCache<string, object>({ max: K });
  const larder = new Cache<string, object>({ max: K, policy });
  for (let i = 0; i < K; i++) {
    const v = { id: i };
    lru.set(keys[i] as string, v);
    larder.set(keys[i] as string, v);
  }
  // Hand-written loops: each library is called from a call site of its own.
  let pa = 0;
  let pb = 0;
  const bare = (n: number): number => {
    let hits = 0;
    let p = pa;
    for (let i = 0; i < n; i++) {
      if (lru.get(order[p] as string) !== undefined) hits++;
      if (++p === L) p = 0;
    }
    pa = p;
    return hits;
  };
  const ours = (n: number): number => {
    let hits = 0;
    let p = pb;
    for (let i = 0; i < n; i++) {
      if (larder.get(order[p] as string) !== undefined) hits++;
      if (++p === L) p = 0;
    }
    pb = p;
    return hits;
  };
  const n = 50_000;
  const fastest = (loop: (n: number) => number): number => {
    let best = Number.POSITIVE_INFINITY;
    for (let s = 0; s < 3; s++) {
      const t0 = performance.now();
      if (loop(n) !== n) throw new Error('every read must hit');
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  for (let w = 0; w < 40; w++) {
    bare(n);
    ours(n);
  }
  const ratios: number[] = [];
  for (let r = 0; r < 31; r++) {
    // Alternate which case goes first, so that drift falls on both.
    if (r % 2 === 0) {
      const a = fastest(bare);
      ratios.push(a / fastest(ours));
    } else {
      const b = fastest(ours);
      ratios.push(fastest(bare) / b);
    }
  }
  ratios.sort((x, y) => x - y);
  return ratios[15] as number;
}

async function main(): Promise<void> {
  const [pattern, policy] = process.argv.slice(2);
  if ((PATTERNS as readonly string[]).includes(pattern ?? '') && process.env[LARDER_ENV] !== undefined) {
    process.stdout.write(String(await measure(pattern as Pattern, policy as Policy)));
    return;
  }
  const at = process.argv.indexOf('--larder');
  const prepared = await prepareLarder(at < 0 ? 'auto' : ((process.argv[at + 1] ?? 'auto') as LarderSource));
  if ('error' in prepared) throw new Error(prepared.error);
  console.log(`larder get hit / bare lru-cache get, ${K} keys, all hits (${prepared.description})`);
  console.log('access     policy    ratio');
  const self = fileURLToPath(import.meta.url);
  for (const pattern of PATTERNS) {
    for (const policy of POLICIES) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, pattern, policy], {
        encoding: 'utf8',
        env: { ...process.env, ...larderEnv(prepared) },
      });
      console.log(`${pattern.padEnd(10)} ${policy.padEnd(9)} ${Number(out).toFixed(2)}x`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
