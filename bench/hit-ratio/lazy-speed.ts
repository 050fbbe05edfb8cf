/**
 * Speed of the lazy-promotion W-TinyLFU (`lazy-promotion.ts`) against a bare lru-cache and larder's W-TinyLFU
 * store, in one process, interleaved round by round (medians; ratios against lru-cache from the same run):
 * `get` hits over a shuffled sweep of N keys (every key once per lap, the throughput bench's `get`), then
 * inserts that evict (a cache of N / 10, every key new: lru-cache `set`, the lazy store's miss and `set`,
 * larder's store `set`).
 *
 * Run: `npx tsx bench/hit-ratio/lazy-speed.ts [N]` (default 100,000)
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import { TinyLfuStore } from '../../src/policy/tinylfu-store.js';
import { LazyPromotionTinyLfu } from './lazy-promotion.js';

const N = Number(process.argv[2] ?? 100000);
const keys = Array.from({ length: N }, (_, i) => `key:${i}`);
let x = 42;
const perm = Array.from({ length: N }, (_, i) => i);
for (let i = N - 1; i > 0; i--) {
  x = (x * 1103515245 + 12345) & 0x7fffffff;
  const j = x % (i + 1);
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
}
const order = perm.map((i) => keys[i]!);
const lru = new LRUCache<string, number>({ max: N });
const lazy = new LazyPromotionTinyLfu<string, number>(N);
const tiny = new TinyLfuStore<string, number>({ max: N, maxSize: undefined, onEvict: () => {} });
for (let i = 0; i < N; i++) {
  lru.set(keys[i]!, i);
  lazy.set(keys[i]!, i);
  tiny.set(keys[i]!, i, 1);
}
const M = 1_000_000;
function a() {
  let s = 0;
  for (let i = 0; i < M; i++) s += lru.get(order[i % N]!)!;
  return s;
}
function b() {
  let s = 0;
  for (let i = 0; i < M; i++) s += lazy.get(order[i % N]!)!;
  return s;
}
function c() {
  let s = 0;
  for (let i = 0; i < M; i++) s += tiny.get(order[i % N]!)!;
  return s;
}
const fns = { 'lru-cache': a, lazy: b, tinylfu: c } as Record<string, () => number>;
const rates: Record<string, number[]> = { 'lru-cache': [], lazy: [], tinylfu: [] };
for (let r = 0; r < 11; r++)
  for (const [n, f] of Object.entries(fns)) {
    const t = performance.now();
    f();
    rates[n]!.push(M / (performance.now() - t) / 1000);
  }
const med = (v: number[]) => v.sort((p, q) => p - q)[v.length >> 1]!;
const base = med(rates['lru-cache']!);
for (const n of Object.keys(fns))
  console.log(n, med(rates[n]!).toFixed(2), 'Mops', (med(rates[n]!) / base).toFixed(2) + 'x');
// set with eviction: capacity 10% of N, every set a new key
{
  const cap = Math.max(100, N / 10);
  const L = new LRUCache<string, number>({ max: cap });
  const Z = new LazyPromotionTinyLfu<string, number>(cap);
  const T = new TinyLfuStore<string, number>({ max: cap, maxSize: undefined, onEvict: () => {} });
  let p = 0,
    q = 0,
    u = 0;
  function sa() {
    for (let i = 0; i < M; i++) L.set(keys[p++ % N]!, i);
  }
  function sb() {
    for (let i = 0; i < M; i++) {
      const k = keys[q++ % N]!;
      if (Z.get(k) === undefined) Z.set(k, i);
    }
  }
  function sc() {
    for (let i = 0; i < M; i++) T.set(keys[u++ % N]!, i, 1);
  }
  const sf = { 'lru-cache set': sa, 'lazy get-miss+set': sb, 'tinylfu set': sc } as Record<
    string,
    () => void
  >;
  const sr: Record<string, number[]> = {};
  for (let r = 0; r < 7; r++)
    for (const [n, f] of Object.entries(sf)) {
      const t = performance.now();
      f();
      const list = sr[n] ?? [];
      list.push(M / (performance.now() - t) / 1000);
      sr[n] = list;
    }
  const b2 = med(sr['lru-cache set']!);
  for (const n of Object.keys(sf))
    console.log(n, med(sr[n]!).toFixed(2), 'Mops', (med(sr[n]!) / b2).toFixed(2) + 'x');
}
