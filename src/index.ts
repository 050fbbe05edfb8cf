/**
 * larder: a typed, bounded in-memory cache for Node.js servers that wraps database calls.
 *
 * @packageDocumentation
 */
export {
  type BatchContext,
  type BatchLoader,
  type BatchResult,
  Cache,
  type Loader,
  type LoaderContext,
  type LoadMany,
  type Wrapped,
  type WrappedMany,
} from './cache.js';
export type { Duration } from './duration.js';
export { TimeoutError } from './errors.js';
export type {
  CacheEventName,
  CacheEvents,
  CacheListener,
  DeleteEvent,
  DeleteReason,
  ErrorEvent,
  EvictEvent,
  HitEvent,
  KeyEvent,
  LoadEvent,
  SetEvent,
} from './events.js';
export { encodeArgs } from './key.js';
export type {
  BatchLoaderOptions,
  CacheOptions,
  LoadOptions,
  ManyOptions,
  Policy,
  SetOptions,
  WriteOptions,
} from './options.js';
export { defaultSerializer, type Serializer } from './serializer.js';
export { singleton } from './singleton.js';
export type { CacheStats } from './stats.js';
export type {
  BusClear,
  BusDelete,
  BusHandlers,
  BusMessage,
  BusTags,
  CacheBus,
  CacheTier,
  TierRecord,
} from './tier.js';
