/**
 * Child process of the throughput table: measures every operation one library has, alone in this process.
 *
 * @module
 */
import { formatRate } from '../lib/format.js';
import { childMain, childProgress } from '../lib/isolate.js';
import { keyOf, permutation, zipfSequence } from '../lib/random.js';
import { interleave, type Loop, type SampleOptions } from '../lib/sample.js';
import { median, pairedRatios, summarize } from '../lib/stats.js';
import { type Adapter, adapterNamed, type Instance, type OpId, type Value } from './adapters.js';

/** Input of the child. */
export interface ThroughputChildInput {
  /** Adapter name. */
  library: string;
  /** Number of distinct keys. */
  keys: number;
  /** Operations to measure (those the library lacks are skipped). */
  ops: OpId[];
  /** Sampling settings. */
  sampling: SampleOptions;
}

/** Measurements of one operation. */
export interface OpMeasurement {
  /** What was called. */
  via: string;
  /** Median operations per second. */
  median: number;
  /** Slowest sample, ops/s. */
  min: number;
  /** Fastest sample, ops/s. */
  max: number;
  /** Interquartile range relative to the median, percent. */
  iqrPercent: number;
  /** Number of samples. */
  samples: number;
  /** Hit ratio observed by the Zipf loop, percent. */
  hitRatio?: number;
  /**
   * Rate relative to this process's yardstick (a bare `Map` read loop over the same keys, awaited for the
   * awaited operations), interleaved with the operation round by round: median of the per-round ratios.
   * Dividing two libraries' figures cancels out how fast or busy the machine was for each process.
   */
  perYardstick: number;
}

/** Output of the child. */
export type ThroughputChildOutput = Partial<Record<OpId, OpMeasurement>>;

const ZIPF_LENGTH = 1 << 20;

async function fill(inst: Instance, keys: readonly string[], values: readonly Value[]): Promise<void> {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = values[i] as Value;
    if (inst.set !== undefined) inst.set(k, v);
    else if (inst.setAsync !== undefined) await inst.setAsync(k, v);
    else throw new Error('fill: the instance has no set or setAsync');
  }
}

function expectAll(op: string): (checksum: number, n: number) => void {
  return (checksum, n) => {
    if (checksum !== n)
      throw new Error(`${op}: ${n - checksum} of ${n} operations missed (expected every one to hit)`);
  };
}

async function run(input: ThroughputChildInput): Promise<ThroughputChildOutput> {
  const adapter: Adapter = adapterNamed(input.library);
  const K = input.keys;
  const keys = Array.from({ length: K }, (_, i) => keyOf(i));
  const values: Value[] = Array.from({ length: K }, (_, i) => ({ id: i }));
  const perm = permutation(K, 42);
  const order = Array.from(perm, (i) => keys[i] as string);
  const orderValues = Array.from(perm, (i) => values[i] as Value);
  // The yardstick: a bare Map read over the same keys in the same order, run interleaved with every
  // operation. Its own loops (sync and awaited), so no call site is shared with the library's.
  const yard = new Map<string, Value>();
  for (let i = 0; i < K; i++) yard.set(keys[i] as string, values[i] as Value);
  let y = 0;
  const yardSync: Loop = (n) => {
    let hits = 0;
    let p = y;
    for (let i = 0; i < n; i++) {
      if (yard.get(order[p] as string) !== undefined) hits++;
      if (++p === K) p = 0;
    }
    y = p;
    return hits;
  };
  const yardAsync: Loop = async (n) => {
    let hits = 0;
    for (let i = 0; i < n; i++) {
      if ((await Promise.resolve(yard.get(order[y] as string))) !== undefined) hits++;
      if (++y === K) y = 0;
    }
    return hits;
  };
  let loads = 0;
  const load = (key: string): Value => {
    loads++;
    return { id: key.length };
  };
  const out: ThroughputChildOutput = {};

  for (const op of input.ops) {
    const via = adapter.via[op];
    if (via === undefined) continue;
    const evicting = op === 'setEvict' || op === 'zipf';
    const mode = op === 'getOrSet' || op === 'wrap' ? 'async' : 'sync';
    const inst = await adapter.create({ capacity: evicting ? Math.floor(K / 10) : K, load, mode });
    let loop: Loop;
    let check: ((checksum: number, n: number) => void) | undefined;
    let zipfHits = 0;
    let zipfOps = 0;
    let j = 0;
    if (op === 'get') {
      await fill(inst, keys, values);
      const get = inst.get as NonNullable<Instance['get']>;
      loop = (n) => {
        let hits = 0;
        let p = j;
        for (let i = 0; i < n; i++) {
          if (get(order[p] as string) !== undefined) hits++;
          if (++p === K) p = 0;
        }
        j = p;
        return hits;
      };
      check = expectAll('get');
    } else if (op === 'setOverwrite' || op === 'setEvict') {
      if (op === 'setOverwrite') await fill(inst, keys, values);
      const set = inst.set as NonNullable<Instance['set']>;
      loop = (n) => {
        let p = j;
        for (let i = 0; i < n; i++) {
          set(order[p] as string, orderValues[p] as Value);
          if (++p === K) p = 0;
        }
        j = p;
        return n;
      };
    } else if (op === 'getOrSet' || op === 'wrap') {
      const call = (op === 'getOrSet' ? inst.getOrSet : inst.wrapped) as (key: string) => Promise<unknown>;
      // Floors are filled with set; libraries through the operation itself (one load per key), so the
      // entries are exactly those the operation reads (a memoized function's keys differ from plain keys).
      if (adapter.floor === true) await fill(inst, keys, values);
      else for (const k of keys) await call(k);
      loop = async (n) => {
        let hits = 0;
        for (let i = 0; i < n; i++) {
          if ((await call(order[j] as string)) !== undefined) hits++;
          if (++j === K) j = 0;
        }
        return hits;
      };
      check = expectAll(op);
    } else {
      const seq = Array.from(zipfSequence(K, 0.99, ZIPF_LENGTH, 7), (i) => keys[i] as string);
      const get = inst.get as NonNullable<Instance['get']>;
      const set = inst.set as NonNullable<Instance['set']>;
      loop = (n) => {
        let hits = 0;
        let p = j;
        for (let i = 0; i < n; i++) {
          const k = seq[p] as string;
          const v = get(k);
          if (v === undefined) set(k, load(k));
          else hits++;
          if (++p === ZIPF_LENGTH) p = 0;
        }
        j = p;
        zipfHits += hits;
        zipfOps += n;
        return hits;
      };
    }
    const loadsBefore = loads;
    const checked: Loop = check === undefined ? loop : wrapCheck(loop, check);
    const yardstick = mode === 'async' ? yardAsync : yardSync;
    const rates = await interleave(
      [
        { id: 'op', loop: checked },
        { id: 'yardstick', loop: yardstick },
      ],
      input.sampling,
    );
    const opRates = rates.get('op') as number[];
    if (op !== 'zipf' && op !== 'setEvict' && op !== 'setOverwrite' && loads !== loadsBefore) {
      throw new Error(
        `${adapter.name} ${op}: the loader ran ${loads - loadsBefore} times during a hit benchmark`,
      );
    }
    const s = summarize(opRates);
    const perYardstick = median(pairedRatios(opRates, rates.get('yardstick') as number[]));
    out[op] = {
      via,
      median: s.median,
      min: s.min,
      max: s.max,
      iqrPercent: s.iqrPercent,
      samples: s.n,
      perYardstick,
    };
    // Hit ratio over all runs of the loop (warm-up included; the 2^20-long sequence is cycled many times).
    if (op === 'zipf') (out[op] as OpMeasurement).hitRatio = (zipfHits / zipfOps) * 100;
    childProgress(`${adapter.name} ${op}: ${formatRate(s.median)} ops/s ±${s.iqrPercent.toFixed(1)}%`);
    await inst.close?.();
  }
  return out;
}

function wrapCheck(loop: Loop, check: (checksum: number, n: number) => void): Loop {
  return (n) => {
    const r = loop(n);
    if (typeof r === 'number') {
      check(r, n);
      return r;
    }
    return r.then((x) => {
      check(x, n);
      return x;
    });
  };
}

childMain(run);
