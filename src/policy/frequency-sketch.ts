/**
 * Bits of {@link FrequencySketch.add}'s result. (An enum, so that the bundle holds literals where a module-level const
 * would be a variable read on every use: see `tinylfu-store.ts`.)
 */
export enum AddResult {
  /** A counter changed. */
  CHANGED = 1,
  /** All four counters of the key are saturated. */
  SATURATED = 2,
}

/**
 * A count-min sketch of 4-bit counters that estimates how often each key was seen recently: the
 * TinyLFU frequency filter (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission
 * Policy", 2017), laid out as in Caffeine's `FrequencySketch`.
 *
 * - Counters are 4 bits (they saturate at 15), eight to a 32-bit word.
 * - A key's four counters live in one 64-byte block of 16 words (one cache line): the block is
 *   chosen by the key's hash, each of the four counters by 5 more bits of a rehash (one of 4 words in
 *   its quarter of the block, one of 8 nibbles in that word).
 * - The estimate is the minimum of the four counters.
 * - Aging: after `sampleSize` (10 × capacity) increments that changed a counter, every counter is
 *   halved, so old popularity fades and the sketch follows a changing workload.
 *
 * Memory: 8 bytes per entry of capacity (rounded up to a power of two, at least 256 entries).
 *
 * The sketch takes 32-bit key hashes (see `hash.ts`), not keys.
 *
 * @internal
 */
export class FrequencySketch {
  /** Increments (that changed a counter) between two halvings. */
  sampleSize = 0;
  /** Increments since the last halving. */
  size = 0;
  /**
   * Bumped whenever counters may go down (halving, reallocation). A key whose four counters are all
   * saturated stays saturated until the epoch changes, so callers may skip its increments until then.
   */
  epoch = 0;
  /** Called at the start of every halving (the store settles hits it has not added yet). */
  beforeReset: (() => void) | undefined = undefined;
  /**
   * Called after `epoch` changed: `aged` is true after an aging (counters halved, `beforeReset` called first),
   * false when the table was reallocated or cleared (every count forgotten).
   */
  onEpoch: ((aged: boolean) => void) | undefined = undefined;
  #table: Uint32Array = new Uint32Array(0);
  /** The block {@link FrequencySketch.frequency} was last asked to watch (-1: none). */
  #watchedBlock = -1;
  /**
   * False while no counter of the watched block can have changed since it was watched (see
   * {@link FrequencySketch.frequency}'s `watch`): every write to that block, aging, clearing and reallocation set it.
   */
  watchedChanged = true;
  #blockMask = 0;
  #capacity = 0;

  /**
   * @param capacity - expected number of distinct keys the cache holds (0: not allocated yet, every
   * call is a no-op until {@link FrequencySketch.ensureCapacity})
   */
  constructor(capacity = 0) {
    if (capacity > 0) this.ensureCapacity(capacity);
  }

  /** Whether the table is allocated. */
  get initialized(): boolean {
    return this.#capacity > 0;
  }

  /** The capacity the table was sized for (a power of two), 0 before allocation. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Sizes the table for `capacity` keys. Growing reallocates the table and forgets every count;
   * asking for less than the current capacity does nothing.
   *
   * @param capacity - expected number of distinct keys the cache holds
   */
  ensureCapacity(capacity: number): void {
    if (!(capacity >= 0)) throw new RangeError(`capacity must be a non-negative number; got ${capacity}`);
    const wanted = Math.max(256, Math.min(Math.ceil(capacity), 1 << 22));
    if (wanted <= this.#capacity) return;
    let pow = 256;
    while (pow < wanted) pow *= 2;
    this.#capacity = pow;
    // 8 bytes per entry: 2 words of 8 nibbles; blocks of 16 words.
    this.#table = new Uint32Array(pow * 2);
    this.#blockMask = (pow * 2) / 16 - 1;
    this.watchedChanged = true;
    this.sampleSize = 10 * wanted;
    this.size = 0;
    this.epoch++;
    this.onEpoch?.(false);
  }

  /**
   * Estimated number of times the key was seen (0 to 15), aged.
   *
   * With `watch`, the sketch also watches the key's block: {@link FrequencySketch.watchedChanged} then reads false
   * until a write that may change the estimate (an increment or add landing in that block, an aging, a clear, a
   * reallocation), so that a caller who asks again for the same key can reuse the answer. The W-TinyLFU store
   * does so for probation's victim, which usually faces several candidates in a row (an evicting set measured
   * 2,826 machine instructions without it and 2,674 with it in scratch builds, callgrind, 2026-12-06).
   *
   * @param hash - the key's 32-bit hash
   * @param watch - watch the key's block (one block at a time: this replaces the last one watched)
   */
  frequency(hash: number, watch = false): number {
    const table = this.#table;
    if (table.length === 0) return 0;
    // `spread` then `rehash`, written out (the same values; `add` calls them, and the tests read its counts
    // back through here): V8 did not inline the calls into the store's admission, and writing them out took
    // an evicting set from 4,697 to 4,548 instructions (callgrind, 2026-12-05).
    let blockHash = hash ^ (hash >>> 17);
    blockHash = Math.imul(blockHash, 0xed5ad4bb);
    blockHash ^= blockHash >>> 11;
    blockHash = Math.imul(blockHash, 0xac4c1b51);
    blockHash ^= blockHash >>> 15;
    let counterHash = Math.imul(blockHash, 0x31848bab);
    counterHash ^= counterHash >>> 14;
    const block = (blockHash & this.#blockMask) << 4;
    if (watch) {
      this.#watchedBlock = block;
      this.watchedChanged = false;
    }
    const h1 = counterHash >>> 8;
    const h2 = counterHash >>> 16;
    const h3 = counterHash >>> 24;
    const c0 = (table[block + (counterHash & 3)]! >>> (((counterHash >>> 2) & 7) << 2)) & 15;
    const c1 = (table[block + 4 + (h1 & 3)]! >>> (((h1 >>> 2) & 7) << 2)) & 15;
    const c2 = (table[block + 8 + (h2 & 3)]! >>> (((h2 >>> 2) & 7) << 2)) & 15;
    const c3 = (table[block + 12 + (h3 & 3)]! >>> (((h3 >>> 2) & 7) << 2)) & 15;
    let min = Math.min(c0, c1);
    if (c2 < min) min = c2;
    return Math.min(c3, min);
  }

  /**
   * Records one occurrence of the key; halves every counter when `sampleSize` is reached.
   *
   * @param hash - the key's 32-bit hash
   * @returns `false` when all four counters were already saturated (nothing changed), else `true`
   */
  increment(hash: number): boolean {
    const table = this.#table;
    if (table.length === 0) return true;
    // `spread` then `rehash`, written out, as in `frequency` (see there).
    let blockHash = hash ^ (hash >>> 17);
    blockHash = Math.imul(blockHash, 0xed5ad4bb);
    blockHash ^= blockHash >>> 11;
    blockHash = Math.imul(blockHash, 0xac4c1b51);
    blockHash ^= blockHash >>> 15;
    let counterHash = Math.imul(blockHash, 0x31848bab);
    counterHash ^= counterHash >>> 14;
    const block = (blockHash & this.#blockMask) << 4;
    if (block === this.#watchedBlock) this.watchedChanged = true;
    const added =
      incrementAt(table, block + (counterHash & 3), ((counterHash >>> 2) & 7) << 2) |
      incrementAt(table, block + 4 + ((counterHash >>> 8) & 3), ((counterHash >>> 10) & 7) << 2) |
      incrementAt(table, block + 8 + ((counterHash >>> 16) & 3), ((counterHash >>> 18) & 7) << 2) |
      incrementAt(table, block + 12 + ((counterHash >>> 24) & 3), ((counterHash >>> 26) & 7) << 2);
    if (added === 0) return false;
    if (++this.size === this.sampleSize) this.reset();
    return true;
  }

  /**
   * Records `count` occurrences of the key at once (counters saturate at 15). With `counted`, they
   * count toward aging like `count` increments; without, the caller already did (see {@link tick}).
   *
   * @param hash - the key's 32-bit hash
   * @param count - occurrences, 0 to 15
   * @param counted - whether to count them toward aging now
   * @returns a bit set: {@link AddResult.CHANGED} when a counter changed, {@link AddResult.SATURATED} when all
   * four counters are now at 15 (further occurrences change nothing until the next halving)
   */
  add(hash: number, count: number, counted = true): number {
    const table = this.#table;
    if (table.length === 0) return AddResult.CHANGED;
    const blockHash = spread(hash);
    const counterHash = rehash(blockHash);
    const block = (blockHash & this.#blockMask) << 4;
    if (block === this.#watchedBlock) this.watchedChanged = true;
    const a = addAt(table, block + (counterHash & 3), ((counterHash >>> 2) & 7) << 2, count);
    const b = addAt(table, block + 4 + ((counterHash >>> 8) & 3), ((counterHash >>> 10) & 7) << 2, count);
    const c = addAt(table, block + 8 + ((counterHash >>> 16) & 3), ((counterHash >>> 18) & 7) << 2, count);
    const d = addAt(table, block + 12 + ((counterHash >>> 24) & 3), ((counterHash >>> 26) & 7) << 2, count);
    const result = ((a | b | c | d) & AddResult.CHANGED) | (a & b & c & d & AddResult.SATURATED);
    if ((result & AddResult.CHANGED) !== 0 && counted) {
      this.size += count;
      if (this.size >= this.sampleSize) this.reset();
    }
    return result;
  }

  /**
   * Counts occurrences toward aging without touching the table: for callers that record them
   * elsewhere and {@link add} them later (uncounted), settling them in `beforeReset`.
   *
   * @param count - occurrences (default 1)
   */
  tick(count = 1): void {
    if (this.#table.length === 0) return;
    this.size += count;
    if (this.size >= this.sampleSize) this.reset();
  }

  /** Halves every counter (aging) and adjusts `size` for the truncated halves. */
  reset(): void {
    this.beforeReset?.();
    const table = this.#table;
    let odd = 0;
    for (let i = 0; i < table.length; i++) {
      const w = table[i]!;
      odd += popcount(w & 0x11111111);
      table[i] = (w >>> 1) & 0x77777777;
    }
    this.size = Math.max(0, (this.size - (odd >>> 2)) >>> 1);
    this.watchedChanged = true;
    this.epoch++;
    this.onEpoch?.(true);
  }

  /** Sets every counter to zero. */
  clear(): void {
    this.#table.fill(0);
    this.watchedChanged = true;
    this.size = 0;
    this.epoch++;
    this.onEpoch?.(false);
  }
}

function incrementAt(table: Uint32Array, word: number, shift: number): number {
  const w = table[word]!;
  if (((w >>> shift) & 15) === 15) return 0;
  table[word] = w + (1 << shift);
  return 1;
}

/** Adds to one counter; returns `AddResult.CHANGED` and/or `AddResult.SATURATED` (see `add`). */
function addAt(table: Uint32Array, word: number, shift: number, count: number): number {
  const w = table[word]!;
  const c = (w >>> shift) & 15;
  if (c === 15) return AddResult.SATURATED;
  const next = Math.min(c + count, 15);
  if (next === c) return 0;
  table[word] = w + ((next - c) << shift);
  return next === 15 ? AddResult.CHANGED | AddResult.SATURATED : AddResult.CHANGED;
}

/** Mixes a 32-bit hash (a MurmurHash3/lowbias32-style finalizer): neighbouring keys land far apart. */
function spread(x: number): number {
  x ^= x >>> 17;
  x = Math.imul(x, 0xed5ad4bb);
  x ^= x >>> 11;
  x = Math.imul(x, 0xac4c1b51);
  x ^= x >>> 15;
  return x;
}

/** Second mix, for the counter positions inside the block. */
function rehash(x: number): number {
  x = Math.imul(x, 0x31848bab);
  x ^= x >>> 14;
  return x;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
