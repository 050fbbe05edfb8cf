import { type Duration, describe, toMs } from './duration.js';
import type { CacheBus, CacheTier } from './tier.js';

/** The eviction policy: `'lru'` (least recently used) or `'tinylfu'` (W-TinyLFU admission, higher hit ratios). */
export type Policy = 'lru' | 'tinylfu';

/** Options for one entry, accepted by `set` and, with more, by `getOrSet` and `wrap`. */
export interface SetOptions {
  /** How long the value is fresh. Overrides the cache's `ttl`; `Infinity` means no expiry. */
  ttl?: Duration;
  /** Tags for `invalidateTag`/`invalidateTags`. An entry stored again takes its new tags only. */
  tags?: readonly string[];
  /** After the TTL, how long `getOrSet`/`wrap` may serve the stale value while one background load refreshes it. */
  staleWhileRevalidate?: Duration;
  /** After the TTL, how long the stale value may stand in for a failed or timed-out load. */
  staleIfError?: Duration;
  /** Spread of TTLs in [0, 1]: each TTL is drawn from `[ttl × (1 − jitter), ttl]`. */
  jitter?: number;
}

/** Options of `set`: the entry options plus how the write reaches other instances. */
export interface WriteOptions extends SetOptions {
  /**
   * With a bus, a `set` tells every other instance to drop its copy of the key (the default, `true`). `false`
   * stores the value (and writes it through to the tier) without telling them: for values any instance would
   * produce identically, such as a response cache storing what it just rendered, where a broadcast would only
   * evict the copies the others already hold.
   */
  broadcast?: boolean;
}

/** Options of `getOrSet` and `wrap`: the entry options plus the load's. Coalesced callers share the first caller's. */
export interface LoadOptions extends SetOptions {
  /**
   * The loader's time limit. On timeout its signal is aborted; callers get a stale value if one is at hand, else a
   * `TimeoutError`. `0` or `Infinity`: none (per call, this switches off the cache's `timeout`). Without any
   * timeout, a loader that never settles blocks every later caller of its key, who join its load.
   */
  timeout?: Duration;
  /** TTL for a `null` result (a "not found" answer), separate from `ttl`. */
  nullTtl?: Duration;
  /**
   * A fraction of the TTL in (0, 1): a hit on an entry older than this fraction of its TTL answers at once and
   * starts one background refresh (single-flight; a failure is counted and emitted, never thrown at the caller),
   * so that hot keys do not expire under traffic. Off by default.
   */
  refreshAhead?: number;
}

/**
 * Options of `getOrSetMany`, `wrapMany` and `batchLoader`: the load options, with per-key `tags` (a list, or a
 * function of each key and its loaded value), plus `maxBatch`.
 */
export interface ManyOptions<K, V> extends Omit<LoadOptions, 'tags'> {
  /** Tags of every entry, or a function giving each entry's tags from its key (the id, for `wrapMany`) and value. */
  tags?: readonly string[] | ((key: K, value: V) => readonly string[]);
  /** The most keys one `loadMany` call is given (a positive integer); larger batches are split. Default: no limit. */
  maxBatch?: number;
}

/** Options of `batchLoader`: those of `wrapMany`, plus how long `load` calls are collected. */
export interface BatchLoaderOptions<I, V> extends ManyOptions<I, V> {
  /**
   * How long (ms) `load` calls are collected into one batch. Default: those of the same tick (until the event loop
   * moves on), like DataLoader.
   */
  delay?: number;
}

/** Options of `new Cache()`. At least one of `max` and `maxSize` is required. */
export interface CacheOptions<K, V> extends LoadOptions {
  /**
   * Maximum number of entries: a positive integer up to 2^24 (16,777,216, the most entries a JavaScript `Map`
   * holds; both policies keep their keys in one). The capacity is allocated up front: with policy `'lru'`
   * always (about 28 bytes per slot), with the default `'tinylfu'` up to 2^20 entries (about 36 bytes per slot
   * with its frequency sketch; an empty `max: 1_000_000` cache holds about 38 MB), above that as entries
   * arrive. Larger values are a `RangeError`.
   */
  max?: number;
  /** Maximum total size of the entries, as measured by `sizeOf` (a positive integer). Needs `sizeOf`. */
  maxSize?: number;
  /** The size of one entry for `maxSize`: a positive integer (bytes, or any unit you choose). */
  sizeOf?: (value: V, key: K) => number;
  /**
   * The eviction policy. Default `'tinylfu'` (W-TinyLFU: a frequency sketch keeps scans and one-time keys from
   * flushing the hot set; when the cache is full a new key may be refused admission). `'lru'` is plain
   * least-recently-used on `lru-cache`. See docs/policy.md.
   */
  policy?: Policy;
  /** A second tier shared by instances, such as `redisTier(client)` from `larder/redis`. Leave it out for none (`null` is refused). */
  tier?: CacheTier;
  /** An invalidation bus between instances, such as `redisBus(client)` from `larder/redis`. Leave it out for none (`null` is refused). */
  bus?: CacheBus;
}

/**
 * The largest `max` a cache accepts: 2^24 (16,777,216) entries, the most a JavaScript `Map` can hold (V8 throws
 * "Map maximum size exceeded" past it), and both policies keep their keys in one. lru-cache also allocates its
 * whole capacity up front: at 2^24 slots that is about 470 MB, and at 2^27 its allocation aborts the process
 * with a fatal out-of-memory error, which is what `max: 1e9` did before it was refused.
 *
 * @internal
 */
export const MAX_ENTRIES = 16_777_216;

/** Per-call options after validation, in milliseconds. `timeout` 0 = none. @internal */
export interface Resolved {
  readonly ttl: number;
  readonly swr: number;
  readonly sie: number;
  readonly jitter: number;
  readonly nullTtl: number | undefined;
  readonly timeout: number;
  readonly tags: readonly string[] | undefined;
  /** Fraction of the TTL after which a hit starts a background refresh; 0 = off. */
  readonly refreshAhead: number;
}

const SET_KEYS = ['ttl', 'tags', 'staleWhileRevalidate', 'staleIfError', 'jitter'];
const LOAD_KEYS = [...SET_KEYS, 'timeout', 'nullTtl', 'refreshAhead'];
const WRITE_KEYS = [...SET_KEYS, 'broadcast'];
const CACHE_KEYS = [...LOAD_KEYS, 'max', 'maxSize', 'sizeOf', 'policy', 'tier', 'bus'];

/** Checks an options argument is an object with known keys. @internal */
export function checkKeys(options: object, allowed: readonly string[], what: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${what} must be an object; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(key)} (known: ${allowed.join(', ')})`);
    }
  }
}

/** Validates the bounds and storage options of `new Cache()`. @internal */
export function checkCacheOptions(options: unknown): void {
  if (options === undefined) {
    throw new TypeError(
      'new Cache(options): options are required, with max and/or maxSize (an unbounded cache is refused)',
    );
  }
  checkKeys(options as object, CACHE_KEYS, 'new Cache(options)');
  const { max, maxSize, sizeOf, policy } = options as CacheOptions<unknown, unknown>;
  if (max === undefined && maxSize === undefined) {
    throw new TypeError('new Cache(options): max or maxSize is required (an unbounded cache is refused)');
  }
  if (max !== undefined) {
    checkPositiveInteger(max, 'max');
    if ((max as number) > MAX_ENTRIES) {
      throw new RangeError(
        `max must be at most ${MAX_ENTRIES} (2^24, the most entries a JavaScript Map holds); got ${max}. For a larger cache bound it by maxSize`,
      );
    }
  }
  if (maxSize !== undefined) {
    checkPositiveInteger(maxSize, 'maxSize');
    if (sizeOf === undefined)
      throw new TypeError('maxSize needs sizeOf, a function that returns the size of an entry');
  }
  if (sizeOf !== undefined && typeof sizeOf !== 'function') {
    throw new TypeError(`sizeOf must be a function; got ${describe(sizeOf)}`);
  }
  if (sizeOf !== undefined && maxSize === undefined) {
    throw new TypeError('sizeOf needs maxSize, the bound the sizes count against');
  }
  if (policy !== undefined && policy !== 'lru' && policy !== 'tinylfu') {
    throw new TypeError(`policy must be 'lru' or 'tinylfu'; got ${describe(policy)}`);
  }
  const { tier, bus } = options as CacheOptions<unknown, unknown>;
  // `null` is not "none": leave the option out (a null here used to crash on `null.get`).
  if (tier !== undefined && (typeof tier !== 'object' || tier === null || typeof tier.get !== 'function')) {
    throw new TypeError(
      `tier must be a CacheTier such as redisTier(client), or left out for none; got ${describe(tier)}`,
    );
  }
  if (bus !== undefined && (typeof bus !== 'object' || bus === null || typeof bus.publish !== 'function')) {
    throw new TypeError(
      `bus must be a CacheBus such as redisBus(client), or left out for none; got ${describe(bus)}`,
    );
  }
}

function checkPositiveInteger(value: unknown, name: string): void {
  if (typeof value !== 'number')
    throw new TypeError(`${name} must be a positive integer; got ${describe(value)}`);
  if (!Number.isInteger(value) || value <= 0 || !Number.isSafeInteger(value)) {
    throw new RangeError(`${name} must be a positive integer; got ${value}`);
  }
}

/** The defaults a cache applies when a call sets nothing. @internal */
export const NO_OPTIONS: Resolved = {
  ttl: Number.POSITIVE_INFINITY,
  swr: 0,
  sie: 0,
  jitter: 0,
  nullTtl: undefined,
  timeout: 0,
  tags: undefined,
  refreshAhead: 0,
};

/**
 * Validates `options` and merges them over `base`. Returns `base` itself when there is nothing to merge, so
 * calls without options allocate nothing.
 *
 * @internal
 */
export function resolve(
  base: Resolved,
  options: LoadOptions | undefined,
  kind: 'set' | 'load' | 'cache',
): Resolved {
  if (options === undefined) return base;
  checkKeys(
    options,
    kind === 'set' ? WRITE_KEYS : kind === 'load' ? LOAD_KEYS : CACHE_KEYS,
    `${kind} options`,
  );
  const { ttl, staleWhileRevalidate, staleIfError, jitter, nullTtl, timeout, tags, refreshAhead } = options;
  if (
    ttl === undefined &&
    staleWhileRevalidate === undefined &&
    staleIfError === undefined &&
    jitter === undefined &&
    nullTtl === undefined &&
    timeout === undefined &&
    tags === undefined &&
    refreshAhead === undefined
  ) {
    return base;
  }
  return {
    ttl: ttl === undefined ? base.ttl : toMs(ttl, 'ttl', false, true),
    swr:
      staleWhileRevalidate === undefined
        ? base.swr
        : toMs(staleWhileRevalidate, 'staleWhileRevalidate', true),
    sie: staleIfError === undefined ? base.sie : toMs(staleIfError, 'staleIfError', true),
    jitter: jitter === undefined ? base.jitter : checkJitter(jitter),
    nullTtl: nullTtl === undefined ? base.nullTtl : toMs(nullTtl, 'nullTtl', false, true),
    timeout: timeout === undefined ? base.timeout : checkTimeout(toMs(timeout, 'timeout', true, true)),
    tags: tags === undefined ? base.tags : checkTags(tags),
    refreshAhead:
      refreshAhead === undefined ? base.refreshAhead : checkFraction(refreshAhead, 'refreshAhead'),
  };
}

/** The longest delay JavaScript timers honour (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** A timeout in ms; `0` and `Infinity` both mean none (so a call can switch off the cache's `timeout`). */
function checkTimeout(ms: number): number {
  if (ms === Number.POSITIVE_INFINITY) return 0;
  if (ms > MAX_TIMER_MS) {
    throw new RangeError(
      `timeout must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer delay; got ${ms}`,
    );
  }
  return ms;
}

/** Validates a fraction in (0, 1) (both ends excluded). @internal */
export function checkFraction(value: unknown, name: string): number {
  if (typeof value !== 'number')
    throw new TypeError(`${name} must be a number between 0 and 1 (both excluded); got ${describe(value)}`);
  if (!(value > 0 && value < 1)) {
    throw new RangeError(`${name} must be a number between 0 and 1 (both excluded); got ${value}`);
  }
  return value;
}

function checkJitter(jitter: unknown): number {
  if (typeof jitter !== 'number')
    throw new TypeError(`jitter must be a number in [0, 1]; got ${describe(jitter)}`);
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be a number in [0, 1]; got ${jitter}`);
  return jitter;
}

/** Validates a tag list and returns a private copy. @internal */
export function checkTags(tags: unknown, name = 'tags'): readonly string[] {
  if (!Array.isArray(tags))
    throw new TypeError(`${name} must be an array of non-empty strings; got ${describe(tags)}`);
  for (const tag of tags) checkTag(tag, name);
  return tags.length === 0 ? EMPTY : Object.freeze([...new Set(tags as string[])]);
}

/** Validates one tag. @internal */
export function checkTag(tag: unknown, name = 'tag'): string {
  if (typeof tag !== 'string' || tag === '') {
    throw new TypeError(`${name} must be non-empty strings; got ${describe(tag)}`);
  }
  return tag;
}

const EMPTY: readonly string[] = Object.freeze([]);
