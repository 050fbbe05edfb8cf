/**
 * Child process of the asserted throughput bars. It measures one group of cases (see {@link BarsGroup}); each
 * group runs in a fresh process, as every library does in the suite, so that one group's code cannot change
 * how V8 compiles another's (with the 'lru' and 'tinylfu' caches in one process, `Cache.get` sees both
 * stores, grows past V8's inlining budget, and every cache's hits slow down). Within a group, baselines and
 * candidates run interleaved round by round (see `interleave`), so machine noise falls on both; each ratio
 * is the median of per-round ratios. Every case has its own hand-written loop so that no call site is
 * shared between libraries.
 *
 * @module
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import { LRUCache } from 'lru-cache';
import { formatRate } from '../lib/format.js';
import { childMain, childProgress } from '../lib/isolate.js';
import { loadLarder, loadLarderOtel } from '../lib/larder.js';
import { keyOf, permutation } from '../lib/random.js';
import { type Case, interleave, type SampleOptions } from '../lib/sample.js';
import { pairedRatios, summarize } from '../lib/stats.js';
import type { Value } from './adapters.js';

/**
 * A group of cases measured together in one process: `'get-lru'` (a bare lru-cache `get` and larder's with
 * policy 'lru'), `'get-tinylfu'` (the same baseline and larder's with policy 'tinylfu'), `'async'` (the
 * awaited cache-aside hits of larder, lru-cache, cache-manager and bentocache, and the await floor), `'otel'`
 * (larder's awaited getOrSet hit with and without `larder/otel`'s `instrument`).
 */
export type BarsGroup = 'get-lru' | 'get-tinylfu' | 'async' | 'otel';

/** Input of the bars child. */
export interface BarsChildInput {
  /** The group this process measures. */
  group: BarsGroup;
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
  /** The per-round ratios, candidate rates and baseline rates (to pool several processes' rounds). */
  rounds?: { ratios: number[]; candidate: number[]; baseline: number[] };
  /** Why the pair could not be measured (the other pairs still are). */
  error?: string;
}

/** The pairs compared, by case id: [candidate, baseline]. */
export const PAIRS = [
  ['larder.get', 'lru.get'],
  ['larder-tinylfu.get', 'lru.get'],
  ['larder-tinylfu.setEvict', 'lru.setEvict'],
  ['larder.getOrSet', 'await Promise.resolve(lru.get)'],
  ['larder.getOrSet', 'lru.fetch'],
  ['larder.getOrSet', 'cache-manager.wrap'],
  ['larder.getOrSet', 'bentocache.getOrSet'],
  ['larder.getOrSet+otel', 'larder.getOrSet'],
] as const;

function allHit(id: string): (checksum: number, n: number) => void {
  return (checksum, n) => {
    if (checksum !== n) throw new Error(`${id}: ${n - checksum} of ${n} reads missed; every read must hit`);
  };
}

/** Interleaves `cases` and returns each one's per-round rates. */
async function measure(name: string, cases: Case[], sampling: SampleOptions): Promise<Map<string, number[]>> {
  childProgress(`${name}: ${cases.map((c) => c.id).join(', ')} (${sampling.samples} rounds)`);
  const rates = await interleave(cases, sampling, (round) => {
    if (round % 10 === 0) childProgress(`  ${name}: round ${round}/${sampling.samples}`);
  });
  for (const [id, values] of rates) {
    const s = summarize(values);
    childProgress(`  ${id}: ${formatRate(s.median)} ops/s ±${s.iqrPercent.toFixed(1)}%`);
  }
  return rates;
}

/** Synchronous reads: a bare lru-cache vs larder with one policy, the same keys, all hits. */
async function getGroup(
  policy: 'lru' | 'tinylfu',
  keys: readonly string[],
  order: readonly string[],
  sampling: SampleOptions,
): Promise<Map<string, number[]>> {
  const K = keys.length;
  const { Cache } = await loadLarder();
  const lru = new LRUCache<string, Value>({ max: K });
  const larder = new Cache<string, Value>({ max: K, policy });
  for (let i = 0; i < K; i++) {
    const v = { id: i };
    lru.set(keys[i] as string, v);
    larder.set(keys[i] as string, v);
  }
  // Hand-written loops: each calls its library from a call site of its own.
  let jLru = 0;
  let jLarder = 0;
  const cases: Case[] = [
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
      id: policy === 'lru' ? 'larder.get' : 'larder-tinylfu.get',
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
  for (const c of cases) c.verify = allHit(c.id);
  // Issue 18: the default policy's insert that evicts. Caches of a tenth of the keys, written in the
  // same shuffled order over every key, so every set inserts a key not held and evicts one (with
  // 'tinylfu', often the newcomer itself, refused admission: an eviction all the same).
  let larderEvict: { close(): Promise<void> } | undefined;
  if (policy === 'tinylfu') {
    const cap = Math.max(1, Math.floor(K / 10));
    const lruE = new LRUCache<string, Value>({ max: cap });
    const larderE = new Cache<string, Value>({ max: cap, policy });
    larderEvict = larderE;
    const values = keys.map((_, i) => ({ id: i }));
    let pLru = 0;
    let pLarder = 0;
    const bounded = (id: string, size: () => number) => (checksum: number, n: number) => {
      if (checksum !== n || size() > cap)
        throw new Error(`${id}: ${checksum} of ${n} sets, ${size()} held of ${cap}`);
    };
    cases.push(
      {
        id: 'lru.setEvict',
        loop: (n) => {
          let p = pLru;
          for (let i = 0; i < n; i++) {
            lruE.set(order[p] as string, values[p] as Value);
            if (++p === K) p = 0;
          }
          pLru = p;
          return n;
        },
        verify: bounded('lru.setEvict', () => lruE.size),
      },
      {
        id: 'larder-tinylfu.setEvict',
        loop: (n) => {
          let p = pLarder;
          for (let i = 0; i < n; i++) {
            larderE.set(order[p] as string, values[p] as Value);
            if (++p === K) p = 0;
          }
          pLarder = p;
          return n;
        },
        verify: bounded('larder-tinylfu.setEvict', () => larderE.size),
      },
    );
  }
  const what = policy === 'tinylfu' ? 'sync reads and evicting sets' : 'sync reads';
  const rates = await measure(`${what}, policy '${policy}'`, cases, sampling);
  await larder.close();
  await larderEvict?.close();
  return rates;
}

/** Awaited cache-aside hits of every library that has cache-aside, and the await floor. */
async function asyncGroup(
  keys: readonly string[],
  order: readonly string[],
  sampling: SampleOptions,
): Promise<Map<string, number[]>> {
  const K = keys.length;
  let loads = 0;
  const load = (key: string): Value => {
    loads++;
    return { id: key.length };
  };
  const { Cache } = await loadLarder();
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
  // Hand-written loops: each calls its library from a call site of its own.
  const cases: Case[] = [
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
  for (const c of cases) c.verify = allHit(c.id);
  const rates = await measure('awaited cache-aside hits', cases, sampling);
  if (loads !== loadsAfterFill)
    throw new Error(`a loader ran ${loads - loadsAfterFill} times during the hit benchmarks`);
  await bento.disconnect();
  await manager.disconnect();
  await larderAsync.close();
  return rates;
}

/**
 * Awaited getOrSet hits of two identical caches, one instrumented by `larder/otel` on a real SDK MeterProvider
 * (with a reader, as in production), the other not. The instrumented cache's metrics are collected once at the
 * end, to check that it did report its hits.
 */
async function otelGroup(
  keys: readonly string[],
  order: readonly string[],
  sampling: SampleOptions,
): Promise<Map<string, number[]>> {
  const K = keys.length;
  const { Cache } = await loadLarder();
  const { instrument } = await loadLarderOtel();
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  class PullReader extends MetricReader {
    protected async onForceFlush(): Promise<void> {}
    protected async onShutdown(): Promise<void> {}
  }
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  let loads = 0;
  const load = (key: string): Value => {
    loads++;
    return { id: key.length };
  };
  const plain = new Cache<string, Value>({ max: K, policy: 'lru' });
  const instrumented = new Cache<string, Value>({ max: K, policy: 'lru' });
  const stop = instrument(instrumented, { name: 'bench', meter: provider.getMeter('bench') });
  for (let i = 0; i < K; i++) {
    const k = keys[i] as string;
    plain.set(k, { id: i });
    instrumented.set(k, { id: i });
  }
  let jPlain = 0;
  let jOtel = 0;
  // Hand-written loops: each calls its cache from a call site of its own.
  const cases: Case[] = [
    {
      id: 'larder.getOrSet',
      loop: async (n) => {
        let hits = 0;
        let p = jPlain;
        for (let i = 0; i < n; i++) {
          const k = order[p] as string;
          if ((await plain.getOrSet(k, () => load(k))) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jPlain = p;
        return hits;
      },
    },
    {
      id: 'larder.getOrSet+otel',
      loop: async (n) => {
        let hits = 0;
        let p = jOtel;
        for (let i = 0; i < n; i++) {
          const k = order[p] as string;
          if ((await instrumented.getOrSet(k, () => load(k))) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        jOtel = p;
        return hits;
      },
    },
  ];
  for (const c of cases) c.verify = allHit(c.id);
  const rates = await measure('awaited getOrSet hits, with and without larder/otel', cases, sampling);
  if (loads !== 0) throw new Error(`a loader ran ${loads} times during the hit benchmarks`);
  const { resourceMetrics } = await reader.collect();
  let reported = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'larder.cache.requests') continue;
      for (const point of metric.dataPoints) {
        if (point.attributes.result === 'hit') reported += point.value as number;
      }
    }
  }
  if (reported < K) throw new Error(`larder/otel reported ${reported} hits; expected at least ${K}`);
  stop();
  await provider.shutdown();
  await plain.close();
  await instrumented.close();
  return rates;
}

async function run(input: BarsChildInput): Promise<MeasuredRatio[]> {
  const K = input.keys;
  const keys = Array.from({ length: K }, (_, i) => keyOf(i));
  const order = Array.from(permutation(K, 42), (i) => keys[i] as string);
  const rates =
    input.group === 'async'
      ? await asyncGroup(keys, order, input.sampling)
      : input.group === 'otel'
        ? await otelGroup(keys, order, input.sampling)
        : await getGroup(input.group === 'get-lru' ? 'lru' : 'tinylfu', keys, order, input.sampling);
  const out: MeasuredRatio[] = [];
  for (const [candidate, baseline] of PAIRS) {
    const c = rates.get(candidate);
    const b = rates.get(baseline);
    if (c === undefined || b === undefined) continue;
    const ratios = pairedRatios(c, b);
    const s = summarize(ratios);
    out.push({
      candidate,
      baseline,
      ratio: s.median,
      spread: [s.p25, s.p75],
      candidateRate: summarize(c).median,
      baselineRate: summarize(b).median,
      rounds: { ratios, candidate: c, baseline: b },
    });
  }
  return out;
}

childMain(run);
