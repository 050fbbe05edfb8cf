/**
 * Child process of the asserted throughput bars. Baselines and candidates run in this one process,
 * interleaved round by round (see `interleave`), so machine noise falls on both; each ratio is the median
 * of per-round ratios. Every case has its own hand-written loop so that no call site is shared between
 * libraries (a shared call site would turn polymorphic and slow every library down).
 *
 * @module
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import { LRUCache } from 'lru-cache';
import { formatRate } from '../lib/format.js';
import { childMain, childProgress } from '../lib/isolate.js';
import { loadLarder } from '../lib/larder.js';
import { keyOf, permutation } from '../lib/random.js';
import { type Case, interleave, type SampleOptions } from '../lib/sample.js';
import { pairedRatios, summarize } from '../lib/stats.js';
import type { Value } from './adapters.js';

/** Input of the bars child. */
export interface BarsChildInput {
  /** Distinct keys (100,000). */
  keys: number;
  /** Sampling per group (samples = interleaved rounds). */
  sampling: SampleOptions;
}

/** A ratio measured in this process. */
export interface MeasuredRatio {
  /** Candidate case id. */
  candidate: string;
  /** Baseline case id. */
  baseline: string;
  /** Median of the per-round ratios. */
  ratio: number;
  /** 25th and 75th percentile of the per-round ratios. */
  spread: [number, number];
  /** Median rate of the candidate, ops/s. */
  candidateRate: number;
  /** Median rate of the baseline, ops/s. */
  baselineRate: number;
  /** Why the pair could not be measured (the other pairs still are). */
  error?: string;
}

/** The pairs compared, by case id: [candidate, baseline]. */
export const PAIRS = [
  ['larder.get', 'lru.get'],
  ['larder-tinylfu.get', 'lru.get'],
  ['larder.getOrSet', 'await Promise.resolve(lru.get)'],
  ['larder.getOrSet', 'lru.fetch'],
  ['larder.getOrSet', 'cache-manager.wrap'],
  ['larder.getOrSet', 'bentocache.getOrSet'],
] as const;

function allHit(id: string): (checksum: number, n: number) => void {
  return (checksum, n) => {
    if (checksum !== n) throw new Error(`${id}: ${n - checksum} of ${n} reads missed; every read must hit`);
  };
}

async function run(input: BarsChildInput): Promise<MeasuredRatio[]> {
  const K = input.keys;
  const keys = Array.from({ length: K }, (_, i) => keyOf(i));
  const order = Array.from(permutation(K, 42), (i) => keys[i] as string);
  let loads = 0;
  const load = (key: string): Value => {
    loads++;
    return { id: key.length };
  };
  const { Cache } = await loadLarder();

  // ---- synchronous reads: a bare lru-cache vs larder (lru and tinylfu), the same keys, all hits
  const lru = new LRUCache<string, Value>({ max: K });
  const larder = new Cache<string, Value>({ max: K, policy: 'lru' });
  let tiny: InstanceType<typeof Cache<string, Value>> | undefined;
  let tinyError: string | undefined;
  try {
    tiny = new Cache<string, Value>({ max: K, policy: 'tinylfu' });
  } catch (error) {
    tinyError = `policy 'tinylfu' failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  for (let i = 0; i < K; i++) {
    const v = { id: i };
    lru.set(keys[i] as string, v);
    larder.set(keys[i] as string, v);
    tiny?.set(keys[i] as string, v);
  }
  let jLru = 0;
  let jLarder = 0;
  let jTiny = 0;
  const syncCases: Case[] = [
    {
      id: 'lru.get',
      loop: (n) => {
        let hits = 0;
        let p = jLru;
        for (let i = 0; i < n; i++) {
          if (lru.get(order[p] as string) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jLru = p;
        return hits;
      },
    },
    {
      id: 'larder.get',
      loop: (n) => {
        let hits = 0;
        let p = jLarder;
        for (let i = 0; i < n; i++) {
          if (larder.get(order[p] as string) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jLarder = p;
        return hits;
      },
    },
  ];
  const t = tiny;
  if (t !== undefined) {
    syncCases.push({
      id: 'larder-tinylfu.get',
      loop: (n) => {
        let hits = 0;
        let p = jTiny;
        for (let i = 0; i < n; i++) {
          if (t.get(order[p] as string) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jTiny = p;
        return hits;
      },
    });
  }
  for (const c of syncCases) c.verify = allHit(c.id);

  // ---- awaited cache-aside hits
  const floorLru = new LRUCache<string, Value>({ max: K });
  const fetching = new LRUCache<string, Value>({ max: K, fetchMethod: (k) => load(k) });
  const manager = createCache();
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: K })) },
  });
  // Issue 2's cache-aside bars are about the core path; the default policy's own cost has issue 7's bar.
  const larderAsync = new Cache<string, Value>({ max: K, policy: 'lru' });
  // Filled with each library's set (a later hit is the same as after a first load, and it is faster).
  for (let i = 0; i < K; i++) {
    const k = keys[i] as string;
    const v = { id: i };
    floorLru.set(k, v);
    fetching.set(k, v);
    larderAsync.set(k, v);
    await manager.set(k, v);
    await bento.set({ key: k, value: v });
  }
  const loadsAfterFill = loads;
  let jFloor = 0;
  let jGos = 0;
  let jFetch = 0;
  let jCm = 0;
  let jBento = 0;
  const asyncCases: Case[] = [
    {
      id: 'await Promise.resolve(lru.get)',
      loop: async (n) => {
        let hits = 0;
        let p = jFloor;
        for (let i = 0; i < n; i++) {
          if ((await Promise.resolve(floorLru.get(order[p] as string))) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jFloor = p;
        return hits;
      },
    },
    {
      id: 'larder.getOrSet',
      loop: async (n) => {
        let hits = 0;
        let p = jGos;
        for (let i = 0; i < n; i++) {
          const k = order[p] as string;
          if ((await larderAsync.getOrSet(k, () => load(k))) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jGos = p;
        return hits;
      },
    },
    {
      id: 'lru.fetch',
      loop: async (n) => {
        let hits = 0;
        let p = jFetch;
        for (let i = 0; i < n; i++) {
          if ((await fetching.fetch(order[p] as string)) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jFetch = p;
        return hits;
      },
    },
    {
      id: 'cache-manager.wrap',
      loop: async (n) => {
        let hits = 0;
        let p = jCm;
        for (let i = 0; i < n; i++) {
          const k = order[p] as string;
          if ((await manager.wrap(k, () => load(k))) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jCm = p;
        return hits;
      },
    },
    {
      id: 'bentocache.getOrSet',
      loop: async (n) => {
        let hits = 0;
        let p = jBento;
        for (let i = 0; i < n; i++) {
          const k = order[p] as string;
          if ((await bento.getOrSet({ key: k, factory: () => load(k) })) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jBento = p;
        return hits;
      },
    },
  ];
  for (const c of asyncCases) c.verify = allHit(c.id);

  const rates = new Map<string, number[]>();
  for (const [name, cases] of [
    ['sync reads', syncCases],
    ['awaited cache-aside hits', asyncCases],
  ] as const) {
    childProgress(`${name}: ${cases.map((c) => c.id).join(', ')} (${input.sampling.samples} rounds)`);
    const r = await interleave(cases, input.sampling, (round) => {
      if (round % 10 === 0) childProgress(`  ${name}: round ${round}/${input.sampling.samples}`);
    });
    for (const [id, values] of r) {
      rates.set(id, values);
      childProgress(
        `  ${id}: ${formatRate(summarize(values).median)} ops/s ±${summarize(values).iqrPercent.toFixed(1)}%`,
      );
    }
  }
  if (loads !== loadsAfterFill)
    throw new Error(`a loader ran ${loads - loadsAfterFill} times during the hit benchmarks`);
  await bento.disconnect();
  await manager.disconnect();
  await larder.close();
  await tiny?.close();
  await larderAsync.close();

  return PAIRS.map(([candidate, baseline]): MeasuredRatio => {
    const c = rates.get(candidate);
    const b = rates.get(baseline) as number[];
    if (c === undefined) {
      return {
        candidate,
        baseline,
        ratio: 0,
        spread: [0, 0],
        candidateRate: 0,
        baselineRate: 0,
        error: tinyError ?? 'not measured',
      };
    }
    const s = summarize(pairedRatios(c, b));
    return {
      candidate,
      baseline,
      ratio: s.median,
      spread: [s.p25, s.p75],
      candidateRate: summarize(c).median,
      baselineRate: summarize(b).median,
    };
  });
}

childMain(run);
