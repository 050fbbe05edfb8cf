/**
 * `larder/redis`: a Redis second tier and a Redis pub/sub invalidation bus for larder caches, so that many
 * instances of an app share loaded values and never serve what another instance invalidated.
 *
 * ```ts
 * import { createCache } from 'larder/redis';
 * const cache = createCache({ redisUrl: process.env.REDIS_URL, max: 10_000, ttl: '5m' });
 * ```
 *
 * Needs the `ioredis` package (an optional peer dependency of larder).
 *
 * @packageDocumentation
 */
export { defaultSerializer, type Serializer } from '../serializer.js';
export { type RedisBus, type RedisBusOptions, type RedisBusStats, redisBus } from './bus.js';
export type { RedisClient } from './cluster.js';
export { type CreateCacheOptions, type CreateCacheRedisOptions, createCache } from './create-cache.js';
export { LarderRedisError, type LarderRedisErrorCode } from './errors.js';
export { type RedisTier, type RedisTierOptions, type RedisTierStats, redisTier } from './tier.js';
