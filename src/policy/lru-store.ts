import { LRUCache } from 'lru-cache';
import type { Store, StoreOptions } from './store.js';

/**
 * Least-recently-used store on top of `lru-cache`, which does the storage and eviction.
 *
 * @internal
 */
export class LruStore<K extends {}, E extends {}> implements Store<K, E> {
  readonly #lru: LRUCache<K, E>;
  readonly #weighted: boolean;

  constructor(options: StoreOptions<K, E>) {
    const onEvict = options.onEvict;
    this.#weighted = options.maxSize !== undefined;
    const base: LRUCache.Options<K, E, unknown> = {
      disposeAfter: (value, key, reason) => {
        if (reason === 'evict') onEvict(key, value);
      },
    };
    if (options.max !== undefined) base.max = options.max;
    if (options.maxSize !== undefined) base.maxSize = options.maxSize;
    this.#lru = new LRUCache<K, E>(base);
  }

  get size(): number {
    return this.#lru.size;
  }

  get weight(): number {
    return this.#weighted ? this.#lru.calculatedSize : 0;
  }

  get(key: K): E | undefined {
    return this.#lru.get(key);
  }

  peek(key: K): E | undefined {
    return this.#lru.peek(key);
  }

  has(key: K): boolean {
    return this.#lru.has(key);
  }

  set(key: K, value: E, weight: number): void {
    if (this.#weighted) this.#lru.set(key, value, { size: weight });
    else this.#lru.set(key, value);
  }

  delete(key: K): boolean {
    return this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
  }

  keys(): IterableIterator<K> {
    return this.#lru.keys();
  }

  entries(): IterableIterator<[K, E]> {
    return this.#lru.entries();
  }
}
