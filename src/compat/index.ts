/**
 * `larder/compat`: a drop-in for the hand-written singleton cache many Node.js apps start with:
 * `get(type, args)` / `set(type, args, value, expirySeconds)` / `evict(type, args)`, all async.
 * Swap the import and the app gets a bounded cache that stores falsy values correctly, shared through Redis
 * when `REDIS_URL` is set (as the hand-written version was).
 *
 * @packageDocumentation
 */
export {
  CompatCache,
  type CompatCacheOptions,
  type CompatRedisOptions,
  DEFAULT_COMPAT_MAX,
} from './compat-cache.js';
