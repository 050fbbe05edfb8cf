/**
 * The public types of `larder/express` (re-exported by index.ts).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duration } from '../duration.js';

/** A response as `cacheResponses` stores it. */
export interface CachedResponse {
  /** The HTTP status (2xx, never 206). */
  readonly status: number;
  /**
   * The response headers as the route produced them, lower-case names, without `X-Cache`, `Age`, `Date`,
   * `Set-Cookie` and hop-by-hop headers, and without headers added by middleware in front of `cacheResponses`
   * when the head went out (`compression`'s `Content-Encoding`, a session's cookie): a hit is sent through that
   * middleware again.
   */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The body as the route wrote it (empty for a stored `HEAD` or `204` response); it owns its memory. */
  readonly body: Uint8Array;
  /** When it was stored (epoch ms); `Age` is counted from here. */
  readonly storedAt: number;
  /** Fresh until this time (epoch ms; `Infinity` when the cache's own TTL decides). */
  readonly freshUntil: number;
  /** The request header values the response varies on (from its `Vary` header), lower-case names. */
  readonly vary: Readonly<Record<string, string>> | undefined;
}

/** What {@link ResponseCache.getOrSet}'s loader receives (a subset of larder's `LoaderContext`). */
export interface ResponseLoaderContext {
  /** The expired entry of the key, while it is within its `staleIfError` window. */
  readonly stale: CachedResponse | undefined;
}

/** The entry options `cacheResponses` passes when it stores (a subset of larder's `LoadOptions`). */
export interface ResponseStoreOptions {
  /** How long the entry is fresh. */
  ttl?: Duration;
  /** After `ttl`, how long the expired entry is kept for `staleIfError`. */
  staleIfError?: Duration;
  /** Always 0: a stored response is never served stale while revalidating. */
  staleWhileRevalidate?: Duration;
  /** Tags for `invalidateTag`. */
  tags?: readonly string[] | undefined;
  /** `false`: stored without telling other instances to drop their copy (larder's `set` option). */
  broadcast?: boolean;
}

/**
 * What `cacheResponses` needs from a cache: a larder `Cache<string, CachedResponse>`, or a namespace of one
 * (`cache.namespace('http')`), fits.
 */
export interface ResponseCache {
  /** Returns a fresh entry or `undefined`. */
  get(key: string): CachedResponse | undefined;
  /**
   * Stores an entry. A larder cache (one with `getOrSet`) gets {@link ResponseStoreOptions} with
   * `broadcast: false`; any other cache only `ttl` and `tags`.
   */
  set(key: string, value: CachedResponse, options?: ResponseStoreOptions): unknown;
  /** Removes an entry. */
  delete(key: string): boolean;
  /**
   * larder's cache-aside read. When the cache has it (every larder `Cache` does), `cacheResponses` reads through
   * it, so a second tier (`larder/redis`) answers what another instance stored; a response it produced is
   * stored with `set(…, { broadcast: false })`: written through to the tier, never broadcast on the bus.
   */
  getOrSet?(
    key: string,
    loader: (context: ResponseLoaderContext) => CachedResponse | undefined,
    options?: ResponseStoreOptions,
  ): Promise<CachedResponse | undefined>;
}

/** The request as the middleware sees it: Node's, with Express's `originalUrl` when there is one. */
export interface CacheableRequest extends IncomingMessage {
  /** The URL as received, before Express routers stripped their mount paths (Express sets it). */
  originalUrl?: string;
}

/** Options of `cacheResponses`. */
export interface CacheResponsesOptions {
  // The callbacks are declared as methods so that functions written for Express's `Request` (which extends
  // `IncomingMessage`) are accepted as they are.
  /**
   * Names the resource of a request; the method is prefixed to it (`GET <key>`, `HEAD <key>`). Return
   * `undefined` to leave the request uncached. Default: the origin and the URL as received,
   * `<protocol>://<host><req.originalUrl>` (see `defaultKey`), or `undefined` (not cached) when the `Host` (or a
   * trusted `X-Forwarded-Host`) is not a valid host[:port]. A response may depend only on what the key holds and
   * on the request headers its `Vary` names.
   *
   * The key returned here is used as it is: the default key's check of `Host` does not apply to it, so a key
   * that ignores the host (`req.path`) caches every request whatever its `Host`. A key that reads `Host` or
   * another header must keep two resources from ever sharing a key: `req.hostname + req.path` lets
   * `Host: shop.example/admin` on `GET /x` write the entry of `/admin/x`. Build on `defaultKey(req)` (and
   * return `undefined` when it does) rather than on the raw header.
   */
  key?(req: CacheableRequest): string | undefined;
  /**
   * Identifies the user a request is made for, so responses can be stored per user. Without it, a request
   * carrying `Authorization` or `Cookie` is never served from nor stored into the cache (`X-Cache: BYPASS`).
   * With it, such a request is cached under its own key when the function returns a string; when it returns
   * `undefined` the request bypasses the cache. Responses marked `Cache-Control: private` or `Vary: Cookie` are
   * stored only under a user's key.
   */
  varyByUser?(req: CacheableRequest): string | undefined;
  /** How long a stored response is fresh. Default: the cache's `ttl`. */
  ttl?: Duration;
  /**
   * After `ttl`, how long a stored response may stand in for a 5xx answer or an error of the handler
   * (`X-Cache: STALE`). Needs `ttl`. Default 0 (never).
   */
  staleIfError?: Duration;
  /**
   * Tags of the stored entries, for `cache.invalidateTag`: a list of non-empty strings, or a function of the
   * request and response.
   */
  tags?: readonly string[] | ((req: CacheableRequest, res: ServerResponse) => readonly string[]);
  /**
   * Bodies larger than this many bytes are sent but not stored (requests waiting for the same key are let go as
   * soon as the body grows past it). A `HEAD` answer stores no body. Default 1 MiB.
   */
  maxBodySize?: number;
  /**
   * Called when an answer that was sent could not be stored (the `tags` function threw, the cache refused
   * the entry). The response is not affected. Default: ignore.
   */
  onError?(error: unknown, req: CacheableRequest): void;
}

/** A Connect/Express middleware. */
export type CacheMiddleware = (
  req: CacheableRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;
