/**
 * `get` hit throughput of larder's stores against a bare lru-cache `get`, measured in one run (issue
 * 7 bar: TinyLFU ≥ 0.6× lru-cache), plus the cost of hashing keys for the frequency sketch.
 *
 * Run alone: `npx tsx bench/policy-throughput.ts [--ci]`. `bench/run.ts` calls
 * {@link runPolicyThroughput} and {@link checkPolicyThroughputBars}.
 */
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { hashKey } from '../src/policy/hash.js';
import { LruStore } from '../src/policy/lru-store.js';
import { TinyLfuStore } from '../src/policy/tinylfu-store.js';
import { LazyPromotionTinyLfu } from './hit-ratio/lazy-promotion.js';
import { LruCacheSegmentsTinyLfu } from './hit-ratio/lru-cache-segments.js';

/** One measured operation: millions of operations per second, median of the rounds. */
export interface ThroughputRow {
  name: string;
  mops: number;
}

/** What {@link runPolicyThroughput} produces. */
export interface PolicyThroughputReport {
  kind: 'policy-throughput';
  node: string;
  /** Entries in each cache; every `get` is a hit. */
  entries: number;
  keyType: 'number' | 'string';
  distribution: 'zipf' | 'uniform';
  rounds: number;
  gets: ThroughputRow[];
  /** `larder-tinylfu` ÷ `lru-cache`, from medians of rounds run interleaved. */
  tinylfuRatio: number;
  /** `larder-lru` ÷ `lru-cache`. */
  lruRatio: number;
  /** The W-TinyLFU prototype built on three lru-cache instances ÷ `lru-cache` (design comparison). */
  segmentsRatio: number;
  /**
   * The W-TinyLFU with lazy promotion (a hit only bumps a reference count; see
   * `bench/hit-ratio/lazy-promotion.ts`) ÷ `lru-cache` (design comparison for issue 18).
   */
  lazyRatio: number;
  /** Nanoseconds per call of the key hash, by key shape, and of a `Map.get` hit for scale. */
  hashNs: Record<string, number>;
}

/** Options of {@link runPolicyThroughput}. */
export interface PolicyThroughputOptions {
  /** Fewer rounds. */
  ci: boolean;
  log?: (line: string) => void;
  entries?: number;
  keyType?: 'number' | 'string';
  /** Key popularity: `'zipf'` (exponent 0.99, as YCSB; the default) or `'uniform'`. */
  distribution?: 'zipf' | 'uniform';
}

/**
 * Indices of `count` accesses over `entries` keys: Zipf with exponent 0.99 (YCSB's default skew;
 * rank 1 is the most popular, ranks shuffled over the keys) or uniform. Deterministic.
 */
function accessPattern(entries: number, count: number, distribution: 'zipf' | 'uniform'): Int32Array {
  let x = 0x12345678;
  const random = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const out = new Int32Array(count);
  if (distribution === 'uniform') {
    for (let i = 0; i < count; i++) out[i] = Math.floor(random() * entries);
    return out;
  }
  const cdf = new Float64Array(entries);
  let sum = 0;
  for (let r = 0; r < entries; r++) {
    sum += 1 / (r + 1) ** 0.99;
    cdf[r] = sum;
  }
  const rankToKey = new Int32Array(entries);
  for (let i = 0; i < entries; i++) rankToKey[i] = i;
  for (let i = entries - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = rankToKey[i]!;
    rankToKey[i] = rankToKey[j]!;
    rankToKey[j] = t;
  }
  for (let i = 0; i < count; i++) {
    const u = random() * sum;
    let lo = 0;
    let hi = entries - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = rankToKey[lo]!;
  }
  return out;
}

type Key = string | number;

function loopLruCache(cache: LRUCache<Key, number>, access: Key[]): number {
  let hits = 0;
  for (let i = 0; i < access.length; i++) if (cache.get(access[i]!) !== undefined) hits++;
  return hits;
}

function loopLruStore(store: LruStore<Key, number>, access: Key[]): number {
  let hits = 0;
  for (let i = 0; i < access.length; i++) if (store.get(access[i]!) !== undefined) hits++;
  return hits;
}

function loopTinyLfu(store: TinyLfuStore<Key, number>, access: Key[]): number {
  let hits = 0;
  for (let i = 0; i < access.length; i++) if (store.get(access[i]!) !== undefined) hits++;
  return hits;
}

function loopSegments(store: LruCacheSegmentsTinyLfu<Key, number>, access: Key[]): number {
  let hits = 0;
  for (let i = 0; i < access.length; i++) if (store.get(access[i]!) !== undefined) hits++;
  return hits;
}

function loopLazy(store: LazyPromotionTinyLfu<Key, number>, access: Key[]): number {
  let hits = 0;
  for (let i = 0; i < access.length; i++) if (store.get(access[i]!) !== undefined) hits++;
  return hits;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs the measurement. */
export async function runPolicyThroughput(opts: PolicyThroughputOptions): Promise<PolicyThroughputReport> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const entries = opts.entries ?? 10_000;
  const keyType = opts.keyType ?? 'string';
  const rounds = opts.ci ? 7 : 15;
  const keys: (string | number)[] = [];
  for (let i = 0; i < entries; i++) keys.push(keyType === 'string' ? `user:${i * 7919}` : i * 7919);
  const access: Key[] = Array.from(
    accessPattern(entries, 1 << 20, opts.distribution ?? 'zipf'),
    (i) => keys[i]!,
  );
  const n = access.length;

  const lru = new LRUCache<string | number, number>({ max: entries });
  const lruStore = new LruStore<string | number, number>({
    max: entries,
    maxSize: undefined,
    onEvict: () => {},
  });
  const tiny = new TinyLfuStore<string | number, number>({
    max: entries,
    maxSize: undefined,
    onEvict: () => {},
  });
  const segments = new LruCacheSegmentsTinyLfu<Key, number>(entries);
  const lazy = new LazyPromotionTinyLfu<Key, number>(entries);
  keys.forEach((k, i) => {
    lru.set(k, i);
    lruStore.set(k, i, 1);
    tiny.set(k, i, 1);
    segments.set(k, i);
    lazy.set(k, i);
  });
  // Warm the policies (TinyLFU moves hot keys to protected) and the JIT.
  for (let w = 0; w < 3; w++) {
    loopLruCache(lru, access);
    loopLruStore(lruStore, access);
    loopTinyLfu(tiny, access);
    loopSegments(segments, access);
    loopLazy(lazy, access);
  }

  // One loop function per contender, so that every call site stays monomorphic.
  const loops: [string, () => number][] = [
    ['lru-cache', () => loopLruCache(lru, access)],
    ['larder-lru', () => loopLruStore(lruStore, access)],
    ['larder-tinylfu', () => loopTinyLfu(tiny, access)],
    ['tinylfu-on-lru-cache-segments', () => loopSegments(segments, access)],
    ['tinylfu-lazy-promotion', () => loopLazy(lazy, access)],
  ];
  const samples = new Map<string, number[]>(loops.map(([name]) => [name, []]));
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    // Interleave, rotating the order, so drift (other processes, GC) hits every contender alike.
    for (let j = 0; j < loops.length; j++) {
      const [name, run] = loops[(r + j) % loops.length]!;
      const t0 = performance.now();
      sink += run();
      const ms = performance.now() - t0;
      samples.get(name)!.push(n / ms / 1000);
    }
    await new Promise((res) => setImmediate(res));
  }
  if (sink === 0) throw new Error('no hits');
  const gets = loops.map(([name]) => ({ name, mops: round(median(samples.get(name)!)) }));
  const ratioOf = (name: string): number => {
    // Per-round ratios, then the median: both sides of a ratio come from the same round.
    const a = samples.get(name)!;
    const b = samples.get('lru-cache')!;
    return round(median(a.map((v, i) => v / b[i]!)));
  };
  const report: PolicyThroughputReport = {
    kind: 'policy-throughput',
    node: process.version,
    entries,
    keyType,
    distribution: opts.distribution ?? 'zipf',
    rounds,
    gets,
    tinylfuRatio: ratioOf('larder-tinylfu'),
    lruRatio: ratioOf('larder-lru'),
    segmentsRatio: ratioOf('tinylfu-on-lru-cache-segments'),
    lazyRatio: ratioOf('tinylfu-lazy-promotion'),
    hashNs: measureHashing(opts.ci),
  };
  log(
    `policy get-hit throughput (${entries} ${keyType} keys, ${report.distribution} access, all hits, median of ${rounds} rounds):`,
  );
  for (const g of gets) log(`  ${g.name.padEnd(30)} ${g.mops.toFixed(1)} M ops/s`);
  log(`  larder-tinylfu / lru-cache = ${report.tinylfuRatio.toFixed(2)}x (bar >= 0.6x)`);
  log(`  larder-lru / lru-cache     = ${report.lruRatio.toFixed(2)}x`);
  log(
    `  tinylfu on lru-cache segments / lru-cache = ${report.segmentsRatio.toFixed(2)}x (design comparison)`,
  );
  log(`  tinylfu with lazy promotion / lru-cache = ${report.lazyRatio.toFixed(2)}x (design comparison)`);
  log('  key hashing (ns per call):');
  for (const [k, v] of Object.entries(report.hashNs)) log(`    ${k.padEnd(28)} ${v.toFixed(1)}`);
  return report;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** ns per call of `hashKey` on keys of several shapes, and of a `Map.get` hit on the same keys. */
function measureHashing(ci: boolean): Record<string, number> {
  const count = 4096;
  const shapes: Record<string, unknown[]> = {
    'int number': Array.from({ length: count }, (_, i) => i * 7919),
    'float number': Array.from({ length: count }, (_, i) => i * 0.37 + 0.1),
    'string 8 chars': Array.from({ length: count }, (_, i) => `k:${String(i).padStart(6, '0')}`),
    'string 32 chars': Array.from(
      { length: count },
      (_, i) => `tenant:42:user:${String(i).padStart(17, '0')}`,
    ),
    'string 128 chars': Array.from(
      { length: count },
      (_, i) => `${'/api/v1/items?'.padEnd(110, 'x')}${String(i).padStart(18, '0')}`,
    ),
    object: Array.from({ length: count }, () => ({})),
  };
  const reps = ci ? 100 : 300;
  const out: Record<string, number> = {};
  let sink = 0;
  for (const [name, keys] of Object.entries(shapes)) {
    for (let w = 0; w < 20; w++) for (const k of keys) sink ^= hashKey(k);
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) for (let i = 0; i < keys.length; i++) sink ^= hashKey(keys[i]);
    out[`hashKey ${name}`] = round(((performance.now() - t0) * 1e6) / (reps * keys.length));
  }
  for (const shape of ['string 32 chars', 'string 128 chars']) {
    const strings = shapes[shape] as string[];
    const map = new Map<string, number>(strings.map((k, i) => [k, i]));
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) for (let i = 0; i < strings.length; i++) sink ^= map.get(strings[i]!)!;
    out[`Map.get hit, ${shape}`] = round(((performance.now() - t0) * 1e6) / (reps * strings.length));
  }
  if (sink === 0.5) console.log(sink);
  return out;
}

/** The issue-7 throughput bar; returns one message per bar missed. */
export function checkPolicyThroughputBars(report: PolicyThroughputReport): string[] {
  return report.tinylfuRatio >= 0.6
    ? []
    : [`tinylfu get-hit throughput ${report.tinylfuRatio.toFixed(2)}x lru-cache < 0.6x`];
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ci = process.argv.includes('--ci');
  const keyType = process.argv.includes('--number') ? 'number' : 'string';
  const distribution = process.argv.includes('--uniform') ? 'uniform' : 'zipf';
  const report = await runPolicyThroughput({ ci, keyType, distribution });
  const failures = checkPolicyThroughputBars(report);
  for (const f of failures) console.log(`FAIL ${f}`);
  if (failures.length > 0) process.exitCode = 1;
}
