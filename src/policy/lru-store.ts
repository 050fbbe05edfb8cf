import { LRUCache } from 'lru-cache';
import type { Store, StoreOptions } from './store.js';

/**
 * Least-recently-used store: `lru-cache` itself, which does the storage and eviction. It extends `LRUCache`
 * rather than wrapping it, so a cache hit costs exactly one `lru-cache` `get` and no extra call.
 *
 * @internal
 */
export class LruStore<K extends {}, E extends {}> extends LRUCache<K, E> implements Store<K, E> {
  readonly #weighted: boolean;

  constructor(options: StoreOptions<K, E>) {
    const onEvict = options.onEvict;
    const base = {
      disposeAfter: (value: E, key: K, reason: LRUCache.DisposeReason) => {
        if (reason === 'evict') onEvict(key, value);
      },
    } as LRUCache.Options<K, E, unknown>;
    if (options.max !== undefined) base.max = options.max;
    if (options.maxSize !== undefined) base.maxSize = options.maxSize;
    super(base);
    this.#weighted = options.maxSize !== undefined;
  }

  get weight(): number {
    return this.#weighted ? this.calculatedSize : 0;
  }

  /** Inserts or replaces; `weight` is the entry's size when the store is bounded by `maxSize`. */
  override set(key: K, value: E, weight?: number | LRUCache.SetOptions<K, E, unknown>): this {
    if (typeof weight === 'number') {
      return this.#weighted ? super.set(key, value, { size: weight }) : super.set(key, value);
    }
    return super.set(key, value, weight);
  }
}
