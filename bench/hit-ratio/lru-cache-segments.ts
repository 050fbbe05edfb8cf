/**
 * A W-TinyLFU built from three `lru-cache` instances (window, probation, protected) and larder's
 * frequency sketch: the alternative design issue 7 asked to weigh against larder's own structure.
 * Benchmark-only, entry-bounded, fixed 1% window (no climber): it exists to measure what the
 * segments approach costs on a hit, and to check that it computes the same policy.
 */
import { LRUCache } from 'lru-cache';
import { FrequencySketch } from '../../src/policy/frequency-sketch.js';
import { hashKey } from '../../src/policy/hash.js';

interface Slot<V> {
  value: V;
  hash: number;
}

/** W-TinyLFU on `lru-cache` segments. */
export class LruCacheSegmentsTinyLfu<K extends {}, V> {
  readonly #window: LRUCache<K, Slot<V>>;
  readonly #probation: LRUCache<K, Slot<V>>;
  readonly #protected: LRUCache<K, Slot<V>>;
  readonly #sketch: FrequencySketch;
  readonly #max: number;
  readonly #windowMax: number;
  readonly #protectedMax: number;

  /** @param max - entries */
  constructor(max: number) {
    this.#max = max;
    this.#windowMax = Math.max(1, max - Math.floor(0.99 * max));
    this.#protectedMax = Math.floor(0.8 * (max - this.#windowMax));
    // The segments never reach these bounds; this class moves entries itself.
    this.#window = new LRUCache<K, Slot<V>>({ max: max + 1 });
    this.#probation = new LRUCache<K, Slot<V>>({ max: max + 1 });
    this.#protected = new LRUCache<K, Slot<V>>({ max: max + 1 });
    this.#sketch = new FrequencySketch(max);
  }

  /** Number of entries. */
  get size(): number {
    return this.#window.size + this.#probation.size + this.#protected.size;
  }

  /** Returns the value and records the access. */
  get(key: K): V | undefined {
    let slot = this.#protected.get(key);
    if (slot === undefined) {
      slot = this.#window.get(key);
      if (slot === undefined) {
        slot = this.#probation.peek(key);
        if (slot === undefined) {
          this.#sketch.increment(hashKey(key));
          return undefined;
        }
        // Promote to protected; demote its overflow to probation.
        this.#probation.delete(key);
        this.#protected.set(key, slot);
        if (this.#protected.size > this.#protectedMax) {
          const demoted = this.#protected.rkeys().next().value as K;
          const d = this.#protected.peek(demoted)!;
          this.#protected.delete(demoted);
          this.#probation.set(demoted, d);
        }
      }
    }
    this.#sketch.increment(slot.hash);
    return slot.value;
  }

  /** Inserts a new key (the replay only inserts after a miss). */
  set(key: K, value: V): void {
    this.#window.set(key, { value, hash: hashKey(key) });
    if (this.#window.size <= this.#windowMax) return;
    const candidate = this.#window.rkeys().next().value as K;
    const slot = this.#window.peek(candidate)!;
    this.#window.delete(candidate);
    if (this.size < this.#max) {
      this.#probation.set(candidate, slot);
      return;
    }
    const victim = this.#probation.rkeys().next().value as K | undefined;
    if (victim === undefined) return; // main is all protected: drop the candidate
    const v = this.#probation.peek(victim)!;
    if (this.#sketch.frequency(slot.hash) > this.#sketch.frequency(v.hash)) {
      this.#probation.delete(victim);
      this.#probation.set(candidate, slot);
    }
  }
}
