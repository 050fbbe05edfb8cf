import { Cache } from '../cache.js';
import { type Duration, describe } from '../duration.js';
import { internalsOf } from '../internals.js';
import type { CacheOptions, LoadOptions } from '../options.js';
// Neither module loads ioredis at run time (checks.ts imports only its types): the checks createCache makes.
import { checkPrefix, checkSerializer, checkTimerMs, checkTombstoneMs } from '../redis/checks.js';
import { parseRedisUrl, redactUrl } from '../redis/url.js';
import type { Serializer } from '../serializer.js';
import { type CacheStats, Counters } from '../stats.js';
import { compatKey } from './compat-key.js';
import { envRedisUrl, loadRedisModule } from './redis-mode.js';

/**
 * Redis options of {@link CompatCache}, passed to `createCache` from `larder/redis` as its `redis` block (same
 * names, same defaults, same rules: checked by the constructor, with or without a Redis URL).
 */
export interface CompatRedisOptions {
  /** Prefix of the Redis keys and channel (default `'larder:'`). Instances that share values need the same one. */
  prefix?: string;
  /** Serializer of the values stored in Redis (default: `defaultSerializer`). */
  serializer?: Serializer;
  /** The longest any cache call waits for Redis (default `'250ms'`). */
  timeout?: Duration;
  /** How long deletions keep refusing write-backs of older loads (default `'1m'`). */
  tombstoneTtl?: Duration;
  /** The longest wait between reconnection attempts (default `'1s'`). */
  reconnectDelay?: Duration;
  /** Extra ioredis options for the connection (e.g. `tls`, `username`); the fail-fast settings win. */
  client?: object;
  /** `true`: the URL (or a comma-separated list of URLs) names nodes of a Redis Cluster, as in `createCache`. */
  cluster?: boolean;
}

/** Options of {@link CompatCache}: any {@link CacheOptions} (`max` defaults to 10,000 entries), plus Redis. */
export interface CompatCacheOptions extends Partial<CacheOptions<string, unknown>> {
  /**
   * `redis://` / `rediss://` URL of a Redis shared by the instances. Default: `process.env.REDIS_URL`. An empty
   * string forces a memory-only cache whatever the environment says.
   */
  redisUrl?: string;
  /** How the cache uses Redis, as in `createCache` (ignored without a Redis URL). */
  redis?: CompatRedisOptions;
}

/** The default bound of a {@link CompatCache}. */
export const DEFAULT_COMPAT_MAX = 10_000;

const NOTHING = (): undefined => undefined;

/**
 * Per-call options of the `getOrSet` behind a Redis-mode `get`: no cache-wide `timeout` (its loader answers at once;
 * the Redis read has its own `redis.timeout`, after which the read counts as a miss), so a slow Redis makes `get`
 * resolve `null`, never reject with a TimeoutError.
 */
const GET_OPTIONS: LoadOptions = { timeout: 0 };

// The same names as createCache's redis block (src/redis/create-cache.ts).
const REDIS_KEYS = ['prefix', 'serializer', 'timeout', 'tombstoneTtl', 'reconnectDelay', 'client', 'cluster'];

/**
 * Checks the `redis` block at once, with or without a Redis URL, so that a typo fails on a laptop rather than in
 * production, where `REDIS_URL` is set. The same rules as `createCache`'s check of its `redis` block
 * (src/redis/create-cache.ts, which checks it again when it runs), with the same helpers, naming
 * `new CompatCache(options): redis.<option>`.
 */
function checkRedisOptions(redis: unknown): void {
  const name = 'new CompatCache(options): redis';
  if (typeof redis !== 'object' || redis === null || Array.isArray(redis)) {
    throw new TypeError(`${name} must be an object; got ${describe(redis)}`);
  }
  const o = redis as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!REDIS_KEYS.includes(key)) {
      throw new TypeError(`${name}: unknown option redis.${key} (known: ${REDIS_KEYS.join(', ')})`);
    }
  }
  if (o.cluster !== undefined && typeof o.cluster !== 'boolean') {
    throw new TypeError(`${name}.cluster must be a boolean; got ${describe(o.cluster)}`);
  }
  checkPrefix(o.prefix, `${name}.prefix`);
  checkSerializer(o.serializer, `${name}.serializer`);
  if (o.tombstoneTtl !== undefined) checkTombstoneMs(o.tombstoneTtl, `${name}.tombstoneTtl`);
  const client = o.client;
  if (client !== undefined) {
    if (typeof client !== 'object' || client === null || Array.isArray(client)) {
      throw new TypeError(`${name}.client must be an object of ioredis options; got ${describe(client)}`);
    }
    if ((client as { keyPrefix?: unknown }).keyPrefix) {
      throw new TypeError(
        `${name}.client.keyPrefix is not supported (the tier's scripts cannot see it); use redis.prefix`,
      );
    }
  }
  if (o.timeout !== undefined) checkTimerMs(o.timeout, `${name}.timeout`);
  if (o.reconnectDelay !== undefined) checkTimerMs(o.reconnectDelay, `${name}.reconnectDelay`);
}

/**
 * Checks the Redis URL as `createCache` parses it when it opens the connection (`parseRedisUrl`; with `cluster`, one
 * or more URLs separated by commas, as its cluster parse takes them), so that a URL it would refuse fails in the
 * constructor, as documented, rather than in every call. Credentials are masked in the message.
 *
 * @param name - what to name: `new CompatCache(options): redisUrl`, or the `REDIS_URL` environment variable
 */
function checkRedisUrl(text: string, cluster: boolean, name: string): void {
  const form = cluster
    ? 'redis:// or rediss:// URLs separated by commas (redis.cluster is true)'
    : 'a redis:// or rediss:// URL';
  const urls = cluster ? text.split(',').filter((url) => url.trim() !== '') : [text];
  // A cluster list is masked as one: a password may hold a comma, which splits it between two pieces.
  const shown = redactUrl(text.trim());
  if (urls.length === 0) throw new TypeError(`${name} must be ${form}; got ${shown}`);
  for (const url of urls) {
    try {
      // Refuses what ioredis cannot open, a stray `%` in the credentials included.
      parseRedisUrl(url, name);
    } catch (error) {
      // Its TypeError names `name` and masks the credentials; a cluster list is named as a list.
      if (error instanceof TypeError && !cluster) throw error;
      throw new TypeError(`${name} must be ${form}; got ${shown}`);
    }
  }
}

/**
 * The hand-written cache's interface on top of {@link Cache}. Keys are `type` plus a stable encoding of
 * `args` (object key order does not matter). Misses resolve to `null`, as the hand-written version did;
 * a stored `0`, `''`, `false` is returned as itself, and `null` is stored like any value.
 *
 * **Redis.** When `REDIS_URL` (or `options.redisUrl`) is set, the cache is made by `createCache` from
 * `larder/redis`: memory in front, the Redis tier behind and the invalidation bus, so values and evictions are
 * shared by every instance, exactly as with `createCache`. `larder/redis` and the optional peer `ioredis` are
 * then loaded with a dynamic import; without a Redis URL neither is loaded, and `ioredis` need not be installed.
 * The constructor stays synchronous: {@link CompatCache.ready} settles once the Redis-backed cache exists, and
 * every method waits for it. The connection opens in the background and fails fast like `createCache`'s: until
 * it is up, and whenever Redis is down, reads fall back to memory (a miss resolves to `null`). `set` and `evict`
 * resolve once this instance's memory is updated; the Redis write and the bus message are sent at once, and other
 * instances drop their memory copy when the message arrives. {@link CompatCache.close} releases the connections.
 *
 * @example
 * ```ts
 * import { CompatCache } from 'larder/compat';
 * export const cache = new CompatCache();           // bounded: 10,000 entries; Redis when REDIS_URL is set
 * await cache.set('course', { id: 42 }, course, 60); // 60 seconds
 * const hit = await cache.get('course', { id: 42 }); // course, or null on a miss
 * await cache.evict('course', { id: 42 });
 * ```
 */
export class CompatCache {
  /** Whether this instance uses Redis (a Redis URL was set). */
  readonly usesRedis: boolean;
  /**
   * Settles when the cache is usable: at once without Redis; with Redis, once `larder/redis` is loaded and the
   * cache made (not when the connection is up). Rejects when `ioredis` cannot be loaded or a Redis option is
   * invalid; every method then rejects with the same error.
   */
  readonly ready: Promise<void>;
  #cache: Cache<string, unknown> | undefined;
  #closed = false;

  /**
   * @param options - cache options (`max` defaults to {@link DEFAULT_COMPAT_MAX}), `redisUrl` and `redis`
   * @throws TypeError or RangeError naming the option when an option is invalid, the `redis` block included (the
   * rules of `createCache`, checked with or without a Redis URL); TypeError naming `redisUrl` or `REDIS_URL` when the
   * Redis URL in use is not one `createCache` can open (credentials masked in the message)
   */
  constructor(options: CompatCacheOptions = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new TypeError(`new CompatCache(options): options must be an object; got ${describe(options)}`);
    }
    const { redisUrl: urlOption, redis, ...rest } = options;
    if (urlOption !== undefined && typeof urlOption !== 'string') {
      throw new TypeError(`new CompatCache(options): redisUrl must be a string; got ${describe(urlOption)}`);
    }
    if (redis !== undefined) checkRedisOptions(redis);
    const ownTier = rest.tier !== undefined || rest.bus !== undefined;
    if (ownTier && urlOption !== undefined && urlOption.trim() !== '') {
      throw new TypeError(
        'new CompatCache(options): redisUrl cannot be combined with tier or bus (redisUrl makes its own)',
      );
    }
    const bounded = rest.max === undefined && rest.maxSize === undefined;
    const cacheOptions = bounded ? { ...rest, max: DEFAULT_COMPAT_MAX } : rest;
    // A cache that brings its own tier or bus has wired Redis itself: REDIS_URL is not read then.
    const redisUrl = urlOption ?? (ownTier ? undefined : envRedisUrl());
    const usesRedis = redisUrl !== undefined && redisUrl.trim() !== '';
    if (usesRedis) {
      const name = `new CompatCache(options): ${urlOption === undefined ? 'process.env.REDIS_URL' : 'redisUrl'}`;
      checkRedisUrl(redisUrl, redis?.cluster === true, name);
    }
    // Validates the cache options synchronously (throws here, not on the first call); memory-only, it is the cache.
    const memory = new Cache<string, unknown>(cacheOptions);
    this.usesRedis = usesRedis;
    if (!usesRedis) {
      this.#cache = memory;
      this.ready = Promise.resolve();
      return;
    }
    void memory.close();
    this.ready = loadRedisModule().then((mod) => {
      const cache = mod.createCache({ ...cacheOptions, redisUrl, redis });
      this.#cache = cache;
      if (this.#closed) void cache.close();
    });
    // Unobserved, a failure surfaces through the calls; never as an unhandled rejection.
    this.ready.catch(() => {});
  }

  /**
   * The larder cache underneath, for everything the old interface lacked (`getOrSet`, `wrap`, tags, stats).
   *
   * @throws Error with a Redis URL, before {@link CompatCache.ready} has settled (`await compat.ready` first)
   */
  get cache(): Cache<string, unknown> {
    const cache = this.#cache;
    if (cache === undefined) {
      throw new Error('CompatCache: the Redis-backed cache is not ready yet; await compat.ready first');
    }
    return cache;
  }

  /**
   * The cached value for `type` and `args`, or `null` when there is none. Never a value past its `expirySeconds`,
   * whatever the cache's stale windows (`staleWhileRevalidate` and `staleIfError` serve `getOrSet` and `wrap` of
   * {@link CompatCache.cache}, which have a loader). With Redis: a fresh value in memory, else Redis's, read once
   * however many callers ask at once; a Redis that is down or slow counts as a miss (`null`, after at most
   * `redis.timeout`), whatever the cache's `timeout`.
   */
  async get(type: string, args?: unknown): Promise<unknown> {
    const key = compatKey('CompatCache.get', type, args);
    const cache = this.#cache ?? (await this.#whenReady());
    if (!this.usesRedis || cache.has(key)) {
      const value = cache.get(key);
      return value === undefined ? null : value;
    }
    // Not fresh in memory: Redis, through getOrSet (single-flight). An expired entry still within its
    // staleWhileRevalidate window is served by getOrSet from memory (counted as an swrHit there and then, and
    // refreshed from Redis in the background): past its expiry, it is a miss here.
    const counters = internalsOf(cache)?.shared.counters;
    const swrHits = counters?.swrHits;
    const pending = cache.getOrSet(key, NOTHING, GET_OPTIONS);
    const stale = counters !== undefined && counters.swrHits !== swrHits;
    const value = await pending;
    return value === undefined || stale ? null : value;
  }

  /**
   * Stores `value` for `type` and `args`, for `expirySeconds` seconds (no expiry when omitted, unless the
   * cache has a default `ttl`). `Infinity`, or a number too large for Redis to expire (`1e300`,
   * `Number.MAX_VALUE`), means no expiry, in Redis too.
   *
   * @throws TypeError (as a rejection) when `value` is `undefined` or `expirySeconds` is not a positive number
   */
  async set(type: string, args: unknown, value: unknown, expirySeconds?: number): Promise<void> {
    if (expirySeconds !== undefined && (typeof expirySeconds !== 'number' || !(expirySeconds > 0))) {
      throw new TypeError(
        `CompatCache.set: expirySeconds must be a positive number of seconds; got ${describe(expirySeconds)}`,
      );
    }
    const key = compatKey('CompatCache.set', type, args);
    const options = expirySeconds === undefined ? undefined : { ttl: expirySeconds * 1000 };
    const cache = this.#cache ?? (await this.#whenReady());
    cache.set(key, value, options);
  }

  /** Removes the value for `type` and `args` (with Redis: on every instance). */
  async evict(type: string, args?: unknown): Promise<void> {
    const key = compatKey('CompatCache.evict', type, args);
    const cache = this.#cache ?? (await this.#whenReady());
    cache.delete(key);
  }

  /** The underlying cache's counters (all zero while the Redis-backed cache is not ready). */
  stats(): CacheStats {
    return this.#cache?.stats() ?? new Counters().snapshot(0, 0);
  }

  /** Stops the cache's timers and releases the Redis connections it opened (if any). */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      await this.ready;
    } catch {
      return; // nothing was opened
    }
    await this.#cache?.close();
  }

  async #whenReady(): Promise<Cache<string, unknown>> {
    await this.ready;
    return this.#cache as Cache<string, unknown>;
  }
}
