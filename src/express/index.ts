/**
 * `larder/express`: response caching middleware for Express (and any Connect-style server).
 *
 * @packageDocumentation
 */
export { cacheResponses } from './cache-responses.js';
export { defaultKey } from './request-key.js';
export { type ResponseSerializer, responseSerializer } from './response-serializer.js';
export type {
  CacheableRequest,
  CachedResponse,
  CacheMiddleware,
  CacheResponsesOptions,
  ResponseCache,
  ResponseLoaderContext,
  ResponseStoreOptions,
} from './types.js';
