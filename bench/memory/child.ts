/**
 * Child process of the memory benchmark (started with --expose-gc): heap growth per entry of one library
 * holding N small entries. Keys (short strings) and values (small objects) are allocated before the first
 * measurement, so the figure is what the cache structure itself costs per entry.
 *
 * @module
 */
import { childMain } from '../lib/isolate.js';
import { keyOf } from '../lib/random.js';
import type { MemoryRow } from '../lib/results.js';
import { adapterNamed, type Value } from '../throughput/adapters.js';

/** Input of the memory child. */
export interface MemoryChildInput {
  /** Library (adapter) name. */
  library: string;
  /** Entries to insert. */
  entries: number;
}

function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the memory child must run with --expose-gc');
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  // lru-cache, mnemonist and others keep their links in typed arrays, whose backing stores live outside
  // the V8 heap: count them too.
  return m.heapUsed + m.arrayBuffers;
}

async function run(input: MemoryChildInput): Promise<Omit<MemoryRow, 'version'>> {
  const adapter = adapterNamed(input.library);
  const N = input.entries;
  const keys = Array.from({ length: N }, (_, i) => keyOf(i));
  const values: Value[] = Array.from({ length: N }, (_, i) => ({ id: i }));
  const byKey = (key: string): Value => values[Number(key.slice(5))] as Value;
  const before = settledHeap();
  const inst = await adapter.create({ capacity: N, load: byKey, mode: adapter.via.get ? 'sync' : 'async' });
  const t0 = performance.now();
  let size = 0;
  if (inst.set !== undefined) {
    for (let i = 0; i < N; i++) inst.set(keys[i] as string, values[i] as Value);
  } else if (inst.setAsync !== undefined) {
    for (let i = 0; i < N; i++) await inst.setAsync(keys[i] as string, values[i] as Value);
  } else if (inst.wrapped !== undefined) {
    for (let i = 0; i < N; i++) await inst.wrapped(keys[i] as string);
  } else {
    throw new Error(`${adapter.name} has no way to insert`);
  }
  const fillMs = performance.now() - t0;
  const after = settledHeap();
  // Count what is still held: every key must be readable (nothing evicted).
  if (inst.get !== undefined) {
    for (let i = 0; i < N; i++) if (inst.get(keys[i] as string) !== undefined) size++;
  } else if (inst.getOrSet !== undefined) {
    for (let i = 0; i < N; i += 1000)
      if ((await inst.getOrSet(keys[i] as string)) !== undefined) size += 1000;
  } else {
    size = N;
  }
  const row = { library: adapter.name, size, bytesPerEntry: (after - before) / N, fillMs };
  // Keep everything reachable until after the measurement.
  if (keys.length + values.length === 0) console.log(inst);
  await inst.close?.();
  return row;
}

childMain(run);
