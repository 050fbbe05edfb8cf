import { LRUCache } from 'lru-cache';
import type { Store, StoreOptions } from './store.js';

/**
 * Least-recently-used store: `lru-cache` does the storage and eviction.
 *
 * It holds a plain `LRUCache` (not a subclass) and exposes it as {@link LruStore.lru}, so that the cache's
 * read path calls `lru-cache`'s own `get` on an ordinary `LRUCache` instance: a hit costs one `lru-cache`
 * `get` and no extra call, and in a process that also uses `lru-cache` directly, `LRUCache.prototype.get`
 * still sees a single receiver shape.
 *
 * @internal
 */
export class LruStore<K extends {}, E extends {}> implements Store<K, E> {
  /** The `lru-cache` instance holding the entries. Read it directly on hot paths; write through the store. */
  readonly lru: LRUCache<K, E>;
  readonly #weighted: boolean;

  constructor(options: StoreOptions<K, E>) {
    const onEvict = options.onEvict;
    const base: LRUCache.Options<K, E, unknown> = {
      disposeAfter: (value: E, key: K, reason: LRUCache.DisposeReason) => {
        if (reason === 'evict') onEvict(key, value);
      },
    } as LRUCache.Options<K, E, unknown>;
    if (options.max !== undefined) base.max = options.max;
    if (options.maxSize !== undefined) base.maxSize = options.maxSize;
    this.lru = new LRUCache<K, E>(base);
    this.#weighted = options.maxSize !== undefined;
  }

  /** Number of entries held. */
  get size(): number {
    return this.lru.size;
  }

  /** Total weight held; 0 when the store is not weighted. */
  get weight(): number {
    return this.#weighted ? this.lru.calculatedSize : 0;
  }

  /** Returns the value and marks it most recently used. */
  get(key: K): E | undefined {
    return this.lru.get(key);
  }

  /** Returns the value without changing its recency. */
  peek(key: K): E | undefined {
    return this.lru.peek(key);
  }

  /** Whether the key is held; its recency is unchanged. */
  has(key: K): boolean {
    return this.lru.has(key);
  }

  /**
   * Inserts or replaces; `weight` is the entry's size when the store is bounded by `maxSize`. Every write counts
   * as a use (LRU has no counts, so `Store.set`'s `counted` changes nothing here).
   */
  set(key: K, value: E, weight: number): void {
    if (this.#weighted) this.lru.set(key, value, { size: weight });
    else this.lru.set(key, value);
  }

  /** Removes the key without reporting an eviction. */
  delete(key: K): boolean {
    return this.lru.delete(key);
  }

  /** Removes everything without reporting evictions. */
  clear(): void {
    this.lru.clear();
  }

  /** Keys from most to least recently used. */
  keys(): IterableIterator<K> {
    return this.lru.keys();
  }

  /** Key/value pairs, most recently used first. */
  entries(): IterableIterator<[K, E]> {
    return this.lru.entries();
  }
}
