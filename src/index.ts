/**
 * larder: a typed, bounded in-memory cache for Node.js servers that wraps database calls.
 *
 * @packageDocumentation
 */
export { Cache, type Loader, type LoaderContext, type Wrapped } from './cache.js';
export type { Duration } from './duration.js';
export { TimeoutError } from './errors.js';
export type { CacheEventName, CacheEvents, CacheListener, DeleteReason } from './events.js';
export { encodeArgs } from './key.js';
export type { CacheOptions, LoadOptions, Policy, SetOptions } from './options.js';
export { singleton } from './singleton.js';
export type { CacheStats } from './stats.js';
export type { BusHandlers, BusMessage, CacheBus, CacheTier, TierRecord } from './tier.js';
