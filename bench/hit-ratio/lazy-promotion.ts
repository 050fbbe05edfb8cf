/**
 * W-TinyLFU with lazy promotion: a design alternative for issue 18, benchmark-only.
 *
 * larder's W-TinyLFU (`src/policy/tinylfu-store.ts`) keeps its three segments in LRU order, so a hit
 * relinks the entry (a probation hit also demotes protected's least recent entry): that list work is
 * what keeps its `get` below lru-cache's. Here a hit only bumps a 4-bit reference count in a byte array
 * (S3-FIFO's "a hit sets a bit"), and the order is repaired lazily, when an entry reaches the old end
 * of its segment (CLOCK's second chance, "lazy promotion" in Yang et al., HotOS '23):
 *
 * - window (1% of capacity): FIFO; a referenced entry at its old end goes round once more, an
 *   unreferenced one leaves as the admission candidate;
 * - probation: FIFO; a referenced entry at its old end is promoted to protected; the first
 *   unreferenced one is the victim the candidate is compared with (TinyLFU admission);
 * - protected (80% of main): FIFO; a referenced entry at its old end goes round once more, an
 *   unreferenced one is demoted to probation.
 *
 * Reference counts reach the frequency sketch when an entry is looked at by that sweep (the same
 * deferral larder's store does with its pending-hit bits). Entry-bounded, fixed window (no climber):
 * it exists to measure what lazy promotion does to hit ratios and to the hit's cost, beside
 * `tinylfu-fixed-window` (the same static policy in LRU order).
 *
 * @module
 */
import { FrequencySketch } from '../../src/policy/frequency-sketch.js';
import { hashKey } from '../../src/policy/hash.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
/** Slots 0-2 are the segments' list sentinels. */
const FIRST = 3;
const MAX_REFS = 15;

/** W-TinyLFU with lazy promotion (see the module comment). */
export class LazyPromotionTinyLfu<K, V> {
  readonly #map = new Map<K, number>();
  readonly #keys: (K | undefined)[];
  readonly #vals: (V | undefined)[];
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #hash: Int32Array;
  /** Hits not yet given to the sketch (saturating at 15). */
  readonly #refs: Uint8Array;
  readonly #seg: Uint8Array;
  readonly #count = new Int32Array(3);
  readonly #sketch: FrequencySketch;
  readonly #max: number;
  readonly #windowMax: number;
  readonly #protectedMax: number;
  #top = FIRST;
  #free: number[] = [];
  #lastMiss: K | undefined;
  #lastMissHash = 0;
  #random = 0x2545f491;

  /**
   * @param max - entries
   * @param window - the window's share of `max` (default 0.01)
   */
  constructor(max: number, window = 0.01) {
    if (!(Number.isSafeInteger(max) && max > 1))
      throw new RangeError(`max must be an integer > 1; got ${max}`);
    this.#max = max;
    this.#windowMax = Math.max(1, Math.round(max * window));
    this.#protectedMax = Math.floor(0.8 * (max - this.#windowMax));
    const slots = max + FIRST + 1;
    this.#keys = new Array(slots);
    this.#vals = new Array(slots);
    this.#next = new Int32Array(slots);
    this.#prev = new Int32Array(slots);
    this.#hash = new Int32Array(slots);
    this.#refs = new Uint8Array(slots);
    this.#seg = new Uint8Array(slots);
    for (let s = 0; s < FIRST; s++) {
      this.#next[s] = s;
      this.#prev[s] = s;
    }
    this.#sketch = new FrequencySketch(max);
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** Returns the value; a hit only bumps the entry's reference count. */
  get(key: K): V | undefined {
    const i = this.#map.get(key);
    if (i === undefined) {
      const h = hashKey(key);
      this.#sketch.increment(h);
      this.#lastMiss = key;
      this.#lastMissHash = h;
      return undefined;
    }
    const r = this.#refs[i]!;
    if (r < MAX_REFS) this.#refs[i] = r + 1;
    return this.#vals[i];
  }

  /** Inserts a new key or replaces a held one's value (a replacement counts as a hit). */
  set(key: K, value: V): void {
    const held = this.#map.get(key);
    if (held !== undefined) {
      this.#vals[held] = value;
      const r = this.#refs[held]!;
      if (r < MAX_REFS) this.#refs[held] = r + 1;
      return;
    }
    let h: number;
    if (this.#lastMiss === key) h = this.#lastMissHash;
    else {
      h = hashKey(key);
      this.#sketch.increment(h);
    }
    this.#lastMiss = undefined;
    const i = this.#free.length > 0 ? (this.#free.pop() as number) : this.#top++;
    this.#keys[i] = key;
    this.#vals[i] = value;
    this.#hash[i] = h;
    this.#refs[i] = 0;
    this.#map.set(key, i);
    this.#link(i, WINDOW);
    while (this.#count[WINDOW]! > this.#windowMax) this.#leaveWindow();
  }

  /** Gives an entry's pending hits to the sketch. */
  #flush(i: number): void {
    const r = this.#refs[i]!;
    if (r !== 0) {
      this.#sketch.add(this.#hash[i]!, r);
      this.#refs[i] = 0;
    }
  }

  #leaveWindow(): void {
    const c = this.#next[WINDOW]!;
    if (this.#refs[c] !== 0) {
      this.#flush(c);
      this.#unlink(c);
      this.#link(c, WINDOW);
      return;
    }
    this.#unlink(c);
    if (this.#count[PROBATION]! + this.#count[PROTECTED]! < this.#max - this.#windowMax) {
      this.#link(c, PROBATION);
      return;
    }
    const v = this.#victim();
    const cf = this.#sketch.frequency(this.#hash[c]!);
    const vf = this.#sketch.frequency(this.#hash[v]!);
    let admit = cf > vf;
    if (!admit && cf >= 6) {
      // Hash flooding: a frequent candidate is admitted at random 1 time in 128.
      this.#random ^= this.#random << 13;
      this.#random ^= this.#random >>> 17;
      this.#random ^= this.#random << 5;
      admit = (this.#random & 127) === 0;
    }
    if (admit) {
      this.#evict(v);
      this.#link(c, PROBATION);
    } else {
      this.#drop(c); // already unlinked
    }
  }

  /** Probation's oldest unreferenced entry, promoting the referenced ones it passes. */
  #victim(): number {
    for (;;) {
      if (this.#count[PROBATION] === 0) this.#demote(true);
      const v = this.#next[PROBATION]!;
      if (this.#refs[v] === 0) return v;
      this.#flush(v);
      this.#unlink(v);
      this.#link(v, PROTECTED);
      if (this.#count[PROTECTED]! > this.#protectedMax) this.#demote(false);
    }
  }

  /** Demotes protected's oldest unreferenced entry (`force`: the oldest, referenced or not). */
  #demote(force: boolean): void {
    for (;;) {
      const p = this.#next[PROTECTED]!;
      this.#unlink(p);
      if (force || this.#refs[p] === 0) {
        this.#link(p, PROBATION);
        return;
      }
      this.#flush(p);
      this.#link(p, PROTECTED);
    }
  }

  #evict(i: number): void {
    this.#unlink(i);
    this.#drop(i);
  }

  /** Forgets an unlinked entry and frees its slot. */
  #drop(i: number): void {
    this.#map.delete(this.#keys[i] as K);
    this.#keys[i] = undefined;
    this.#vals[i] = undefined;
    this.#free.push(i);
  }

  #link(i: number, s: number): void {
    const last = this.#prev[s]!;
    this.#next[last] = i;
    this.#prev[i] = last;
    this.#next[i] = s;
    this.#prev[s] = i;
    this.#seg[i] = s;
    this.#count[s]!++;
  }

  #unlink(i: number): void {
    const p = this.#prev[i]!;
    const n = this.#next[i]!;
    this.#next[p] = n;
    this.#prev[n] = p;
    this.#count[this.#seg[i]!]!--;
  }
}
