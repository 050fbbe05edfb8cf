/**
 * Child process of the stampede test: for each library with cache-aside, 1,000 concurrent cold calls for
 * one key whose loader takes 10 ms; counts loader calls.
 *
 * @module
 */
import { childMain, childProgress } from '../lib/isolate.js';
import { larderAvailable } from '../lib/larder.js';
import type { StampedeRow } from '../lib/results.js';
import { ADAPTERS, type Value } from '../throughput/adapters.js';

/** Input of the stampede child. */
export interface StampedeChildInput {
  /** Concurrent callers. */
  concurrency: number;
  /** Loader latency, ms. */
  loaderMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function stampede(
  call: (key: string) => Promise<unknown>,
  concurrency: number,
  calls: () => number,
): Promise<Pick<StampedeRow, 'loaderCalls' | 'served' | 'ms'>> {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: concurrency }, () => call('hot')));
  const ms = performance.now() - t0;
  let served = 0;
  for (const r of results) if (r !== undefined && (r as Value).id === 1) served++;
  return { loaderCalls: calls(), served, ms };
}

async function run(input: StampedeChildInput): Promise<StampedeRow[]> {
  const rows: StampedeRow[] = [];
  for (const adapter of ADAPTERS) {
    if (adapter.floor === true) continue;
    if (adapter.name.startsWith('larder') && !larderAvailable()) continue;
    for (const op of ['getOrSet', 'wrap'] as const) {
      const via = adapter.via[op];
      if (via === undefined) continue;
      let calls = 0;
      const load = async (): Promise<Value> => {
        calls++;
        await sleep(input.loaderMs);
        return { id: 1 };
      };
      const row: StampedeRow = { library: adapter.name, via, loaderCalls: 0, served: 0, ms: 0 };
      try {
        const inst = await adapter.create({ capacity: 1000, load, mode: 'async' });
        const call = (op === 'getOrSet' ? inst.getOrSet : inst.wrapped) as (key: string) => Promise<unknown>;
        Object.assign(row, await stampede(call, input.concurrency, () => calls));
        await inst.close?.();
      } catch (error) {
        row.error = error instanceof Error ? error.message : String(error);
        row.loaderCalls = calls;
      }
      rows.push(row);
      childProgress(
        `${adapter.name} ${via}: ${row.loaderCalls} loader call(s), ${row.ms.toFixed(0)} ms${row.error ? ` (${row.error})` : ''}`,
      );
    }
  }
  // The pattern without single-flight, for reference: get, on a miss load and set.
  let calls = 0;
  const map = new Map<string, Value>();
  const naive = async (key: string): Promise<Value> => {
    const hit = map.get(key);
    if (hit !== undefined) return hit;
    calls++;
    await sleep(input.loaderMs);
    const v = { id: 1 };
    map.set(key, v);
    return v;
  };
  rows.push({
    library: 'Map (floor)',
    via: 'get, on a miss await load() then set',
    ...(await stampede(naive, input.concurrency, () => calls)),
  });
  return rows;
}

childMain(run);
