/**
 * One process of the insert-floor benchmark (`insert-floor.ts`): a bare lru-cache and one variant, each a cache of
 * a tenth of 100,000 keys written in one shuffled order over every key (the bars' set-with-eviction workload: for
 * lru-cache every set inserts a new key and evicts one; a W-TinyLFU keeps some keys from one lap to the next, so
 * some of its sets replace a held key instead), interleaved round by round. Returns each round's ns per set of
 * both, and the variant's evictions per set.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import { Cache } from '../../src/index.js';
import { TinyLfuStore } from '../../src/policy/tinylfu-store.js';
import { childMain } from '../lib/isolate.js';
import { keyOf, permutation } from '../lib/random.js';
import { InsertFloorStore } from './insert-floor-store.js';

/** The variants measured against lru-cache. */
export type FloorVariant = 'floor' | 'floor+ghosts' | 'store' | 'cache';

/** What the parent sends. */
export interface FloorInput {
  variant: FloorVariant;
  keys: number;
  rounds: number;
  setsPerRound: number;
}

/** What the child returns: ns per set, round by round, and the variant's evictions per set over the rounds. */
export interface FloorOutput {
  lru: number[];
  variant: number[];
  evictionsPerSet: number;
}

interface Value {
  id: number;
}

async function run(input: FloorInput): Promise<FloorOutput> {
  const K = input.keys;
  const cap = Math.max(1, Math.floor(K / 10));
  const keys = Array.from({ length: K }, (_, i) => keyOf(i));
  const order = Array.from(permutation(K, 42), (i) => keys[i] as string);
  const values: Value[] = keys.map((_, i) => ({ id: i }));
  const lru = new LRUCache<string, Value>({ max: cap });
  let evictions = 0;
  const onEvict = () => {
    evictions++;
  };
  let set: (key: string, value: Value) => void;
  let size: () => number;
  let close = async () => {};
  let cacheEvictions = () => 0;
  switch (input.variant) {
    case 'floor':
    case 'floor+ghosts': {
      const s = new InsertFloorStore<string, Value>(cap, onEvict, input.variant === 'floor+ghosts');
      set = (k, v) => s.set(k, v);
      size = () => s.size;
      break;
    }
    case 'store': {
      const s = new TinyLfuStore<string, Value>({ max: cap, maxSize: undefined, onEvict });
      set = (k, v) => s.set(k, v, 0);
      size = () => s.size;
      break;
    }
    case 'cache': {
      const c = new Cache<string, Value>({ max: cap });
      set = (k, v) => c.set(k, v);
      size = () => c.size;
      cacheEvictions = () => c.stats().evictions;
      close = async () => {
        evictions = c.stats().evictions;
        await c.close();
      };
      break;
    }
  }
  let pLru = 0;
  let pVar = 0;
  const loopLru = (n: number) => {
    let p = pLru;
    for (let i = 0; i < n; i++) {
      lru.set(order[p] as string, values[p] as Value);
      if (++p === K) p = 0;
    }
    pLru = p;
  };
  const loopVar = (n: number) => {
    let p = pVar;
    for (let i = 0; i < n; i++) {
      set(order[p] as string, values[p] as Value);
      if (++p === K) p = 0;
    }
    pVar = p;
  };
  const n = input.setsPerRound;
  loopLru(n * 2);
  loopVar(n * 2);
  const out: FloorOutput = { lru: [], variant: [], evictionsPerSet: 0 };
  const evictionsBefore = (): number => (input.variant === 'cache' ? cacheEvictions() : evictions);
  const before = evictionsBefore();
  for (let r = 0; r < input.rounds; r++) {
    let t = performance.now();
    loopLru(n);
    out.lru.push(((performance.now() - t) * 1e6) / n);
    t = performance.now();
    loopVar(n);
    out.variant.push(((performance.now() - t) * 1e6) / n);
  }
  out.evictionsPerSet = (evictionsBefore() - before) / (n * input.rounds);
  if (lru.size > cap || size() > cap) throw new Error(`over capacity: ${lru.size}, ${size()} of ${cap}`);
  await close();
  if (evictions === 0) throw new Error('no evictions reported');
  return out;
}

childMain(run);
