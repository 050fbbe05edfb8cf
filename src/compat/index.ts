/**
 * `larder/compat`: a drop-in for the hand-written singleton cache many Node.js apps start with:
 * `get(type, args)` / `set(type, args, value, expirySeconds)` / `evict(type, args)`, all async.
 * Swap the import and the app gets a bounded cache that stores falsy values correctly.
 *
 * @packageDocumentation
 */
import { Cache } from '../cache.js';
import { encodeArgs } from '../key.js';
import type { CacheOptions } from '../options.js';
import type { CacheStats } from '../stats.js';

/** Options of {@link CompatCache}: any {@link CacheOptions}; `max` defaults to 10,000 entries. */
export type CompatCacheOptions = Partial<CacheOptions<string, unknown>>;

/** The default bound of a {@link CompatCache}. */
export const DEFAULT_COMPAT_MAX = 10_000;

/**
 * The hand-written cache's interface on top of {@link Cache}. Keys are `type` plus a stable encoding of
 * `args` (object key order does not matter). Misses resolve to `null`, as the hand-written version did;
 * a stored `0`, `''`, `false` is returned as itself, and `null` is stored like any value.
 *
 * @example
 * ```ts
 * import { CompatCache } from 'larder/compat';
 * export const cache = new CompatCache();           // bounded: 10,000 entries by default
 * await cache.set('course', { id: 42 }, course, 60); // 60 seconds
 * const hit = await cache.get('course', { id: 42 }); // course, or null on a miss
 * await cache.evict('course', { id: 42 });
 * ```
 */
export class CompatCache {
  /** The larder cache underneath, for everything the old interface lacked (`getOrSet`, `wrap`, tags, stats). */
  readonly cache: Cache<string, unknown>;

  /** @param options - cache options; `max` defaults to {@link DEFAULT_COMPAT_MAX} */
  constructor(options: CompatCacheOptions = {}) {
    const bounded = options.max === undefined && options.maxSize === undefined;
    this.cache = new Cache<string, unknown>(bounded ? { ...options, max: DEFAULT_COMPAT_MAX } : options);
  }

  /** The cached value for `type` and `args`, or `null` when there is none. */
  async get(type: string, args?: unknown): Promise<unknown> {
    const value = this.cache.get(compatKey(type, args));
    return value === undefined ? null : value;
  }

  /**
   * Stores `value` for `type` and `args`, for `expirySeconds` seconds (no expiry when omitted, unless the
   * cache has a default `ttl`).
   *
   * @throws TypeError (as a rejection) when `value` is `undefined` or `expirySeconds` is not a positive number
   */
  async set(type: string, args: unknown, value: unknown, expirySeconds?: number): Promise<void> {
    if (expirySeconds !== undefined && (typeof expirySeconds !== 'number' || !(expirySeconds > 0))) {
      throw new TypeError(`expirySeconds must be a positive number of seconds; got ${String(expirySeconds)}`);
    }
    const options = expirySeconds === undefined ? undefined : { ttl: expirySeconds * 1000 };
    this.cache.set(compatKey(type, args), value, options);
  }

  /** Removes the value for `type` and `args`. */
  async evict(type: string, args?: unknown): Promise<void> {
    this.cache.delete(compatKey(type, args));
  }

  /** The underlying cache's counters. */
  stats(): CacheStats {
    return this.cache.stats();
  }
}

function compatKey(type: string, args: unknown): string {
  if (typeof type !== 'string' || type === '') throw new TypeError('type must be a non-empty string');
  return `${type}:${encodeArgs([args])}`;
}
