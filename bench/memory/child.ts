/**
 * Child process of the memory benchmark (started with --expose-gc): heap growth per entry of one library
 * holding N small entries. Keys (short strings) and values (small objects) are allocated before the first
 * measurement, so the figure is what the cache structure itself costs per entry.
 *
 * With `evicting`, the library is filled and then takes N more sets of new keys, each of which evicts: the state a
 * bounded cache spends its life in, where a W-TinyLFU also holds the memory of evicted keys and its guards. The
 * figure is then the heap the instance holds: measured with it, then again once it is dropped.
 *
 * @module
 */
import { childMain } from '../lib/isolate.js';
import { keyOf } from '../lib/random.js';
import type { MemoryRow } from '../lib/results.js';
import { adapterNamed, type Instance, type Value } from '../throughput/adapters.js';

/** Input of the memory child. */
export interface MemoryChildInput {
  /** Library (adapter) name. */
  library: string;
  /** Entries to insert (the capacity). */
  entries: number;
  /** After the fill, insert `entries` more new keys, each evicting, and measure the state then. */
  evicting?: boolean;
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
  return input.evicting === true ? runEvicting(input) : runFilled(input);
}

async function runFilled(input: MemoryChildInput): Promise<Omit<MemoryRow, 'version'>> {
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

/** The instance under measure, in the one place that refers to it (see {@link runEvicting}). */
interface Box {
  inst: Instance | undefined;
  /** The library's own object (the cache), weakly: tells when it has been collected. */
  readonly ref: WeakRef<object>;
}

/**
 * The evicting state: the instance filled to its capacity N, then N more sets of keys it does not hold. Its size is
 * measured by dropping it (heap with it, minus heap without it), because the sets that evict free and allocate
 * along the way (a `Map`'s deleted entries, for one), which a before-and-after difference would mix with what the
 * process itself frees meanwhile. Only `box` refers to the instance, and only the helpers below touch it; even so,
 * something V8 keeps for a while (not traced) sometimes held a dropped instance through several collections and
 * the figure read below zero, so the second measurement waits until the cache itself is known to be collected.
 */
async function runEvicting(input: MemoryChildInput): Promise<Omit<MemoryRow, 'version'>> {
  const N = input.entries;
  const keys = Array.from({ length: 2 * N }, (_, i) => keyOf(i));
  const values: Value[] = Array.from({ length: 2 * N }, (_, i) => ({ id: i }));
  const box = await boxed(input.library, N, values);
  const t0 = performance.now();
  fill(box, keys, values);
  const fillMs = performance.now() - t0;
  const held = settledHeap();
  const size = countHeld(box, keys);
  await drop(box);
  await collected(box);
  const dropped = settledHeap();
  // Keep the keys and values reachable until after the second measurement, so that it does not count them freed.
  if (keys.length + values.length === 0) console.log(box);
  return { library: input.library, size, bytesPerEntry: (held - dropped) / N, fillMs };
}

/** A new instance of `library` with capacity `capacity`, in a box. */
async function boxed(library: string, capacity: number, values: readonly Value[]): Promise<Box> {
  const inst = await adapterNamed(library).create({
    capacity,
    load: (key) => values[Number(key.slice(5))] as Value,
    mode: 'sync',
  });
  if (inst.set === undefined || inst.get === undefined) throw new Error(`${library} has no sync get and set`);
  // The cache itself, not the adapter's wrapper: the wrapper can go while something still holds the cache.
  if (inst.target === undefined) throw new Error(`${library}: the adapter gives no target to watch`);
  return { inst, ref: new WeakRef(inst.target) };
}

/** Sets every key in turn. */
function fill(box: Box, keys: readonly string[], values: readonly Value[]): void {
  const set = box.inst?.set;
  if (set === undefined) return;
  for (let i = 0; i < keys.length; i++) set(keys[i] as string, values[i] as Value);
}

/** How many of `keys` the instance holds. */
function countHeld(box: Box, keys: readonly string[]): number {
  const get = box.inst?.get;
  if (get === undefined) return 0;
  let size = 0;
  for (let i = 0; i < keys.length; i++) if (get(keys[i] as string) !== undefined) size++;
  return size;
}

/**
 * Waits (up to 5 s) until the dropped cache has been collected: a `WeakRef`'s target stays alive until the end of
 * the task that read it, so each check collects and reads in a task of its own.
 *
 * @throws Error when it is still reachable then
 */
async function collected(box: Box): Promise<void> {
  const start = performance.now();
  do {
    await new Promise((resolve) => setTimeout(resolve, 10));
    settledHeap();
    if (box.ref.deref() === undefined) return;
  } while (performance.now() - start < 5_000);
  throw new Error('the dropped cache is still reachable: its memory cannot be measured');
}

/** Closes the instance and lets go of it. */
async function drop(box: Box): Promise<void> {
  const closing = box.inst?.close?.();
  box.inst = undefined;
  await closing;
}
