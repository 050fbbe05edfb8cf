/**
 * `larder/next`: Next.js cache handlers shared by every instance through Redis, with lazy tag invalidation.
 *
 * ```js
 * // next.config.mjs
 * export default {
 *   cacheHandler: fileURLToPath(new URL('./cache-handler.mjs', import.meta.url)),
 *   cacheHandlers: { default: fileURLToPath(new URL('./use-cache-handler.mjs', import.meta.url)) },
 *   cacheMaxMemorySize: 0,
 * };
 * ```
 *
 * Node.js only. Needs the `ioredis` package for Redis (an optional peer dependency of larder) and Next.js 16 (the
 * incremental handler works on Next.js 15 too). `warmFromBuild` (and the `larder-next warm` command) seeds Redis
 * from the `next build` output.
 *
 * @packageDocumentation
 */

export type { NextCompression, NextValueCodec } from './compression.js';
export {
  createIncrementalCacheHandler,
  type IncrementalCacheControl,
  type IncrementalCacheGetContext,
  type IncrementalCacheHandler,
  type IncrementalCacheHandlerClass,
  type IncrementalCacheHandlerContext,
  type IncrementalCacheHandlerValue,
  type IncrementalCacheSetContext,
} from './incremental.js';
export type { NextCacheHandlerOptions } from './options.js';
export type { NextCacheStats } from './stats.js';
export { createUseCacheHandler, type UseCacheEntry, type UseCacheHandler } from './use-cache.js';
export { type WarmFromBuildOptions, type WarmResult, warmFromBuild } from './warm.js';
