import { LruStore } from './lru-store.js';
import type { Store, StoreOptions } from './store.js';
import { TinyLfuStore } from './tinylfu-store.js';

/**
 * Eviction policy names: `'lru'` (least recently used, on `lru-cache`) or `'tinylfu'` (W-TinyLFU:
 * a frequency sketch decides which new entries may displace old ones; see `docs/policy.md`).
 */
export type StorePolicy = 'lru' | 'tinylfu';

/**
 * Creates the store for an eviction policy.
 *
 * @param policy - `'lru'` or `'tinylfu'`
 * @param options - bounds and the eviction listener
 * @returns the store
 * @throws TypeError when `policy` is not one of the names above
 * @internal
 */
export function createStore<K, E>(policy: StorePolicy, options: StoreOptions<K, E>): Store<K, E> {
  switch (policy) {
    case 'lru':
      return new LruStore<K & {}, E & {}>(options as StoreOptions<K & {}, E & {}>) as unknown as Store<K, E>;
    case 'tinylfu':
      return new TinyLfuStore<K, E>(options);
    default:
      throw new TypeError(`policy must be 'lru' or 'tinylfu'; got ${describePolicy(policy)}`);
  }
}

function describePolicy(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
