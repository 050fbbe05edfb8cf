import { Redis, type RedisOptions } from 'ioredis';
import { Cache } from '../cache.js';
import { type Duration, describe } from '../duration.js';
import type { CacheOptions } from '../options.js';
import type { Serializer } from '../serializer.js';
import { redisBus } from './bus.js';
import { checkPrefix, checkSerializer, checkTimerMs, checkTombstoneMs, MAX_TIMER_MS } from './checks.js';
import { openCluster, type RedisClient } from './cluster.js';
import { restoreStringPrototype } from './fast-strings.js';
import { backoff } from './link.js';
import { redisTier } from './tier.js';
import { parseRedisUrl, type RedisUrl } from './url.js';

// ioredis is loaded by now (imported above): undo what its `class VerbatimString extends String` did to
// String.prototype as early as possible, before the application's hot code is optimized (see fast-strings.ts).
restoreStringPrototype();

/** Options of {@link createCache}: the cache's own, plus where Redis is and how to use it. */
export interface CreateCacheOptions<K, V> extends Omit<CacheOptions<K, V>, 'tier' | 'bus'> {
  /**
   * `redis://` / `rediss://` URL of the Redis shared by the instances (typically `process.env.REDIS_URL`).
   * Empty or absent: a memory-only cache. Any other scheme is refused (a TypeError); `rediss://`, in any
   * case, always connects with TLS.
   */
  redisUrl?: string | undefined;
  /** How the cache uses Redis: used only with `redisUrl`, but checked without it too (a typo fails at once). */
  redis?: CreateCacheRedisOptions;
}

/** Redis options of {@link createCache}. */
export interface CreateCacheRedisOptions {
  /** Prefix of the Redis keys and channel (default `'larder:'`). */
  prefix?: string;
  /** Serializer of the values stored in Redis (default: `defaultSerializer`). */
  serializer?: Serializer;
  /** The longest any cache call waits for Redis (default `'250ms'`; at most 2^31 − 1 ms, the longest timer delay). */
  timeout?: Duration;
  /** How long deletions keep refusing write-backs of older loads (default `'1m'`; at most 2^53 − 1 ms). */
  tombstoneTtl?: Duration;
  /** The longest wait between reconnection attempts (default `'1s'`; at most 2^31 − 1 ms). */
  reconnectDelay?: Duration;
  /** Extra ioredis options for the connection (e.g. `tls`, `username`); the fail-fast settings win. */
  client?: RedisOptions;
  /**
   * Connect to a Redis Cluster (default `false`): `redisUrl` is then one node's URL, or several separated by
   * commas, and the cache opens an ioredis `Cluster` from them, with the fail-fast settings on every node
   * connection (`client` options go to every node). Managed services in cluster mode (ElastiCache Serverless,
   * MemoryDB) need it.
   */
  cluster?: boolean;
}

const REDIS_KEYS = ['prefix', 'serializer', 'timeout', 'tombstoneTtl', 'reconnectDelay', 'client', 'cluster'];

/** Validates the `redis` block of {@link createCache} (with or without a URL). */
function checkRedisOptions(redis: CreateCacheRedisOptions): { timeout: number; reconnectDelay: number } {
  for (const key of Object.keys(redis)) {
    if (!REDIS_KEYS.includes(key)) {
      throw new TypeError(`createCache: unknown option redis.${key} (known: ${REDIS_KEYS.join(', ')})`);
    }
  }
  if (redis.cluster !== undefined && typeof redis.cluster !== 'boolean') {
    throw new TypeError(`createCache: redis.cluster must be a boolean; got ${describe(redis.cluster)}`);
  }
  checkPrefix(redis.prefix, 'createCache: redis.prefix');
  checkSerializer(redis.serializer, 'createCache: redis.serializer');
  if (redis.tombstoneTtl !== undefined)
    checkTombstoneMs(redis.tombstoneTtl, 'createCache: redis.tombstoneTtl');
  const client = redis.client as unknown;
  if (client !== undefined) {
    if (typeof client !== 'object' || client === null || Array.isArray(client)) {
      throw new TypeError(
        `createCache: redis.client must be an object of ioredis options; got ${describe(client)}`,
      );
    }
    if ((client as RedisOptions).keyPrefix) {
      throw new TypeError(
        "createCache: redis.client.keyPrefix is not supported (the tier's scripts cannot see it); use redis.prefix",
      );
    }
  }
  return {
    timeout: checkTimerMs(redis.timeout ?? 250, 'createCache: redis.timeout'),
    reconnectDelay: checkTimerMs(redis.reconnectDelay ?? '1s', 'createCache: redis.reconnectDelay'),
  };
}

/**
 * Creates a `Cache` that uses Redis when `redisUrl` is set: memory first, then the Redis tier, then the
 * loader, with invalidations over the Redis bus. With an empty `redisUrl` it returns a memory-only cache, so
 * one environment variable switches an app between one instance and many:
 *
 * ```ts
 * const cache = createCache<string, User>({ redisUrl: process.env.REDIS_URL, max: 10_000, ttl: '5m' });
 * ```
 *
 * The connection it opens fails fast (no offline queue, `timeout` per command) and reconnects by itself;
 * `cache.close()` closes it.
 *
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export function createCache<K extends {} = string, V = unknown>(
  options: CreateCacheOptions<K, V>,
): Cache<K, V> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createCache: options must be an object; got ${describe(options)}`);
  }
  const { redisUrl, redis = {}, ...cacheOptions } = options;
  if (redisUrl !== undefined && typeof redisUrl !== 'string') {
    throw new TypeError(`createCache: redisUrl must be a string; got ${describe(redisUrl)}`);
  }
  if (typeof redis !== 'object' || redis === null) {
    throw new TypeError(`createCache: redis must be an object; got ${describe(redis)}`);
  }
  // The redis block is checked even without a URL, so that a bad option fails where it is written (on a
  // laptop without Redis) rather than first in production.
  const { timeout, reconnectDelay } = checkRedisOptions(redis);
  if (redisUrl === undefined || redisUrl.trim() === '') return new Cache<K, V>(cacheOptions);

  // Validate everything before opening a connection.
  new Cache<K, V>(cacheOptions);
  const client: RedisClient = redis.cluster
    ? openCluster(redisUrl, 'createCache: redisUrl', {
        timeout,
        reconnectDelay,
        client: redis.client,
        connectionName: redis.client?.connectionName ?? 'larder',
      })
    : openRedis(parseRedisUrl(redisUrl, 'createCache: redisUrl'), redis.client, timeout, reconnectDelay);
  // Connection errors are counted by the tier and reported by the bus; without a listener ioredis would log them.
  client.on('error', () => {});
  const tier = redisTier(client, {
    prefix: redis.prefix,
    serializer: redis.serializer,
    timeout,
    tombstoneTtl: redis.tombstoneTtl,
    closeClient: true,
  });
  const bus = redisBus(client, { prefix: redis.prefix, timeout, reconnectDelay });
  try {
    return new Cache<K, V>({ ...cacheOptions, tier, bus });
  } catch (error) {
    void tier.close();
    void bus.close();
    throw error;
  }
}

/**
 * Opens a standalone (or Sentinel) connection with the fail-fast settings. A `rediss://` URL (in any case) always
 * means TLS: ioredis itself switches TLS on only for a lower-case `rediss://`.
 */
function openRedis(
  redisUrl: RedisUrl,
  extra: RedisOptions | undefined,
  timeout: number,
  reconnectDelay: number,
): Redis {
  return new Redis(redisUrl.text, {
    connectTimeout: Math.min(MAX_TIMER_MS, Math.max(1000, timeout * 4)),
    retryStrategy: backoff(reconnectDelay),
    ...extra,
    ...(redisUrl.tls ? { tls: extra?.tls ?? {} } : {}),
    lazyConnect: false,
    commandTimeout: timeout,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectionName: extra?.connectionName ?? 'larder',
  });
}
