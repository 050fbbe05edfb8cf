/**
 * Where stored responses are found and put: the cache, read through its second tier when it has one, with the
 * variants of a response that varies on request headers under keys of their own. A variant is found through
 * the entry under its base key, and only if it is not older than that entry: deleting (or replacing) the base
 * entry retires every variant stored before.
 *
 * @module
 */

import { LOOKUP } from '../loads.js';
import type { MiddlewareConfig } from './options.js';
import { type RequestKeys, variantKey, varyMatches } from './request-key.js';
import type {
  CacheableRequest,
  CachedResponse,
  ResponseCache,
  ResponseLoaderContext,
  ResponseStoreOptions,
} from './types.js';

/** What a lookup found for a request. */
export interface Lookup {
  /** A fresh stored answer that fits the request (its `Vary` values match), or `undefined`. */
  readonly entry: CachedResponse | undefined;
  /** The key this request's answer is stored under: its own key, or a variant of it. */
  readonly slot: string;
  /** An expired answer that fits the request and may still stand in for a failure (`staleIfError`). */
  readonly stale: CachedResponse | undefined;
}

interface Read {
  readonly value: CachedResponse | undefined;
  readonly stale: CachedResponse | undefined;
}

const NOTHING: Read = { value: undefined, stale: undefined };

/** What `read` holds of entries stored at `since` or later (epoch ms). */
function current(read: Read, since: number): Read {
  const { value, stale } = read;
  return {
    value: value !== undefined && value.storedAt >= since ? value : undefined,
    stale: stale !== undefined && stale.storedAt >= since ? stale : undefined,
  };
}

/** Reads and writes stored responses for one middleware. */
export class ResponseStore {
  readonly #cache: ResponseCache;
  readonly #config: MiddlewareConfig;
  readonly #options: ResponseStoreOptions;

  constructor(cache: ResponseCache, config: MiddlewareConfig) {
    this.#cache = cache;
    this.#config = config;
    // Freshness is the cache's own: the entry expires after `ttl` (then it is kept `staleIfError` longer for
    // `context.stale`), and is never served stale while revalidating.
    this.#options =
      config.ttl === undefined
        ? { staleWhileRevalidate: 0, staleIfError: 0 }
        : { ttl: config.ttl, staleWhileRevalidate: 0, staleIfError: config.staleIfError };
  }

  /** Finds the answer to `req`: under its GET key, then (HEAD) under its own. */
  async find(keys: RequestKeys, req: CacheableRequest): Promise<Lookup> {
    const first = await this.#findAt(keys.getKey, req);
    if (first.entry !== undefined || keys.key === keys.getKey) return first;
    const own = await this.#findAt(keys.key, req);
    return own.entry !== undefined || own.stale !== undefined ? own : { ...own, stale: first.stale };
  }

  /** Stores `entry` under `slot` (errors go to `onError`). */
  store(
    slot: string,
    entry: CachedResponse,
    tags: readonly string[] | undefined,
    req: CacheableRequest,
  ): void {
    const cache = this.#cache;
    try {
      if (cache.getOrSet === undefined) {
        const { ttl, staleIfError } = this.#config;
        cache.set(slot, entry, { ttl: ttl === undefined ? undefined : ttl + staleIfError, tags });
        return;
      }
      // A larder cache: written through to the tier, and not broadcast as an invalidation (`broadcast: false`;
      // a broadcast would tell every other instance to drop the copy it holds of this very response).
      cache.set(slot, entry, { ...this.#options, tags, broadcast: false });
    } catch (error) {
      this.#config.onError(error, req);
    }
  }

  /** The entry's `freshUntil` if it is stored now. */
  freshUntil(now: number): number {
    const { ttl } = this.#config;
    return ttl === undefined ? Number.POSITIVE_INFINITY : now + ttl;
  }

  async #findAt(key: string, req: CacheableRequest): Promise<Lookup> {
    const stored = await this.#read(key);
    const now = Date.now();
    // The entry under `key`, fresh or expired (kept as the staleIfError candidate): whether it varies on request
    // headers does not change when it expires, and a fresher variant of it may still be stored.
    const base = stored.value ?? stored.stale;
    if (base === undefined || varyMatches(base, req)) return this.#lookup(key, stored, req, now);
    // A response that varies on request headers, stored for other values of them: this request's variant.
    const variant = variantKey(key, base, req);
    const read = await this.#read(variant);
    // A variant belongs to the entry under `key` it was reached through: one stored before that entry is a
    // leftover of a response since deleted or replaced (`cache.delete(key)` removes only `key`), never served.
    return this.#lookup(variant, current(read, base.storedAt), req, now);
  }

  #lookup(slot: string, stored: Read, req: CacheableRequest, now: number): Lookup {
    const { value } = stored;
    if (value !== undefined && varyMatches(value, req) && value.freshUntil > now) {
      return { entry: value, slot, stale: undefined };
    }
    const stale = stored.stale ?? value;
    const { staleIfError } = this.#config;
    const usable =
      stale !== undefined &&
      staleIfError > 0 &&
      varyMatches(stale, req) &&
      stale.freshUntil + staleIfError > now;
    return { entry: undefined, slot, stale: usable ? stale : undefined };
  }

  #read(key: string): Promise<Read> {
    const cache = this.#cache;
    const getOrSet = cache.getOrSet;
    if (getOrSet === undefined) return Promise.resolve({ value: cache.get(key), stale: undefined });
    let stale: CachedResponse | undefined;
    // A loader that stores nothing: memory, then the tier; an expired entry still within its staleIfError
    // window comes as `context.stale`. Marked as a lookup: a larder cache counts no load for it (no `load` event, no
    // `traceLoads` span), since answers are stored with `set`; only an answer read from the tier counts as a load.
    const readOnly = Object.assign(
      (context: ResponseLoaderContext): undefined => {
        stale = context.stale;
        return undefined;
      },
      { [LOOKUP]: true },
    );
    try {
      return getOrSet.call(cache, key, readOnly).then(
        (value) => ({ value, stale }),
        () => NOTHING, // the tier timed out (a cache-wide `timeout`): a miss
      );
    } catch {
      return Promise.resolve(NOTHING);
    }
  }
}
