/**
 * The storage contract between {@link Cache} and an eviction policy.
 *
 * A store holds opaque values under keys, bounded by an entry count (`max`) and/or a total weight
 * (`maxSize`). It decides what to evict; the cache decides what is fresh. Stores never look inside
 * the values they hold and never call back into the cache while an operation is under way: evictions
 * are reported through {@link StoreOptions.onEvict} only after the operation that caused them has
 * finished.
 *
 * @internal
 */
export interface Store<K, E> {
  /** Number of entries held (fresh or not: freshness is the cache's business). */
  readonly size: number;
  /** Total weight held (the sum of the weights passed to {@link Store.set}); 0 when unweighted. */
  readonly weight: number;
  /** Returns the value and records the access for the policy (recency, frequency). */
  get(key: K): E | undefined;
  /** Returns the value without recording an access. */
  peek(key: K): E | undefined;
  /** Whether the key is held. No access is recorded. */
  has(key: K): boolean;
  /**
   * Inserts or replaces. `weight` is a positive integer when the store is weighted (`maxSize`),
   * otherwise it is ignored. May evict other entries, or the new one itself when the policy refuses
   * to admit it; each is reported to `onEvict` after the call.
   *
   * `counted` (default false) says the request this write answers was already recorded: a loader's or the tier's
   * value for a `get` that missed or a stale hit, or a write that answers no request at all (an entry marked
   * stale). A frequency-counting policy then does not count the write again; an LRU ignores it.
   */
  set(key: K, value: E, weight: number, counted?: boolean): void;
  /** Removes the key without reporting an eviction. Returns whether it was held. */
  delete(key: K): boolean;
  /** Removes everything without reporting evictions. */
  clear(): void;
  /** Keys from most to least recently used (order is advisory for non-LRU policies). */
  keys(): IterableIterator<K>;
  /** Key/value pairs, in the order of {@link Store.keys}. */
  entries(): IterableIterator<[K, E]>;
}

/** Options every store factory receives. @internal */
export interface StoreOptions<K, E> {
  /** Maximum number of entries, or `undefined` for no count bound. */
  max: number | undefined;
  /** Maximum total weight, or `undefined` for no weight bound. */
  maxSize: number | undefined;
  /** Called once per entry the policy removed to respect its bounds (never for delete/clear/replace). */
  onEvict(key: K, value: E): void;
}
