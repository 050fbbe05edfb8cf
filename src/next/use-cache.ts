import { METRICS_SOURCE, type MetricsSource } from '../otel/source.js';
import { readAll, streamOf } from './codec.js';
import { type NextCacheHandlerOptions, resolveOptions } from './options.js';
import { failureReporter } from './report.js';
import { claimRuntime, Runtime, scope } from './runtime.js';
import { countRead, debugRevalidation, expireNote, type NextCacheStats } from './stats.js';
import type { StoredUseCache } from './stored.js';
import { EXPIRED, PENDING, STALE, type Verdict } from './tags.js';

/** A `'use cache'` entry, as Next.js's `CacheEntry` (`import type { CacheEntry } from 'next/cache'`). */
export interface UseCacheEntry {
  /** The serialized value: a new stream on every `get`. */
  value: ReadableStream<Uint8Array>;
  /** The entry's tags (without soft tags). */
  tags: string[];
  /** Seconds the client may use it. */
  stale: number;
  /** When it was created (epoch ms). */
  timestamp: number;
  /** Seconds it may be served at all. */
  expire: number;
  /** Seconds until it should be regenerated (`-1`: now, because a tag went stale). */
  revalidate: number;
}

/**
 * The object {@link createUseCacheHandler} returns, as Next.js's `CacheHandler` from `next/cache`. It is also a
 * metrics source for `larder/otel`: `instrument(handler, { name: 'next-use-cache' })`.
 */
export interface UseCacheHandler extends MetricsSource {
  /** The entry, or `undefined` when absent, expired by a tag or soft tag, or Redis is unreachable. Never throws. */
  get(cacheKey: string, softTags: string[]): Promise<UseCacheEntry | undefined>;
  /** Stores the entry once it is complete (reading its stream once). Never throws. */
  set(cacheKey: string, pendingEntry: Promise<UseCacheEntry>): Promise<void>;
  /** Once per request: retries syncing the tag table if an outage left it behind (it is pushed otherwise). */
  refreshTags(): Promise<void>;
  /** `Infinity`: soft tags are checked in `get`. */
  getExpiration(tags: string[]): Promise<number>;
  /** Invalidates tags on every instance (`updateTag`, `revalidateTag`). Never throws. */
  updateTags(tags: string[], durations?: { expire?: number }): Promise<void>;
  /** This process's counters of the `'use cache'` handler (see {@link NextCacheStats}). */
  stats(): NextCacheStats;
}

/**
 * Creates the object to use as a Next.js `cacheHandlers` entry (`default` for `'use cache'`, `remote` for
 * `'use cache: remote'`), shared by every instance through Redis:
 *
 * ```js
 * // use-cache-handler.mjs, next to next.config.mjs
 * import { createUseCacheHandler } from 'larder/next';
 * export default createUseCacheHandler({ redisUrl: process.env.REDIS_URL });
 * ```
 *
 * It shares its memory tier, Redis connections and tag table with {@link createIncrementalCacheHandler} in
 * the same process, so one `revalidateTag` is applied once for both. Every `get` returns a new stream; `set`
 * consumes the entry's stream once and keeps neither it nor the pending promise; a `get` during a pending
 * `set` of the same key waits for it; entries with `expire: 0` are not stored; an entry with a stale tag is
 * returned with `revalidate: -1`, one with an expired tag (or soft tag) not at all.
 *
 * @param options - see {@link NextCacheHandlerOptions}
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export function createUseCacheHandler(options?: NextCacheHandlerOptions): UseCacheHandler {
  const resolved = resolveOptions(options, 'createUseCacheHandler');
  const inScope = scope();
  claimRuntime(resolved, inScope, 'createUseCacheHandler');
  let runtime: Runtime | undefined;
  /** This handler's reporter: its own `onError`, else the runtime's warning. */
  let report: (error: unknown, operation: string) => void = failureReporter(resolved.onError);
  const rtOf = (): Runtime => {
    if (runtime === undefined) {
      runtime = Runtime.for(resolved, inScope);
      report = runtime.reporterFor(resolved.onError);
    }
    return runtime;
  };
  /** Sets in progress, by key: our own promises (never Next.js's pending entry). */
  const pendingSets = new Map<string, Promise<void>>();

  return {
    async get(cacheKey: string, softTags: string[]): Promise<UseCacheEntry | undefined> {
      let rt: Runtime | undefined;
      let served: 'hit' | 'stale' | 'miss' = 'miss';
      let memory = false;
      try {
        rt = rtOf();
        const pending = pendingSets.get(cacheKey);
        if (pending !== undefined) await pending;
        const waiting = rt.ready();
        if (waiting !== undefined) await waiting;
        const k = rt.key('u', cacheKey, resolved);
        const soft = Array.isArray(softTags) ? softTags : undefined;
        let stored: StoredUseCache | undefined;
        let verdict: Verdict = EXPIRED;
        // Twice at most: a memory copy older than a tag's expiry may have a newer version in Redis.
        for (let attempt = 0; attempt < 2; attempt++) {
          const found = rt.read(k, rt.counters.u, resolved.encoding, report);
          memory = !(found instanceof Promise);
          stored = (found instanceof Promise ? await found : found) as StoredUseCache | undefined;
          if (stored === undefined || stored.k !== 'u' || !rt.trusted(stored.t)) return undefined;
          verdict = rt.tags.check(stored.g, soft, stored.t);
          if (verdict === PENDING) {
            await rt.tags.settled();
            verdict = rt.tags.check(stored.g, soft, stored.t);
          }
          if (verdict !== EXPIRED || !rt.drop(k)) break;
        }
        if (stored === undefined || verdict === EXPIRED || verdict === PENDING) return undefined;
        if (memory) served = verdict === STALE ? 'stale' : 'hit';
        if (verdict === STALE) debugRevalidation('u', `serving ${cacheKey} stale; Next.js regenerates it`);
        return {
          value: streamOf(stored.b),
          tags: stored.g.slice(),
          stale: stored.stale,
          timestamp: stored.t,
          expire: stored.expire,
          revalidate: verdict === STALE ? -1 : stored.revalidate,
        };
      } catch (error) {
        report(error, 'get');
        return undefined;
      } finally {
        if (rt !== undefined) countRead(rt.counters.u, served);
      }
    },

    async set(cacheKey: string, pendingEntry: Promise<UseCacheEntry>): Promise<void> {
      let done!: () => void;
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      pendingSets.set(cacheKey, mine);
      try {
        const rt = rtOf();
        const entry = await pendingEntry;
        // `expire: 0` is dynamic: Next.js regenerates it on every read, so storing it is wasted work (the dev
        // server keeps it, like the built-in handler).
        if (entry.expire === 0 && !process.env.__NEXT_DEV_SERVER) return;
        const bytes = await readAll(entry.value);
        const tags = Array.isArray(entry.tags) ? entry.tags.filter((t) => typeof t === 'string') : [];
        const stored: StoredUseCache = {
          k: 'u',
          t: entry.timestamp,
          g: tags,
          s: bytes.byteLength + 64,
          b: bytes,
          stale: entry.stale,
          expire: entry.expire,
          revalidate: entry.revalidate,
        };
        let ttl = resolved.maxTtl;
        if (typeof entry.expire === 'number' && Number.isFinite(entry.expire) && entry.expire > 0) {
          ttl = Math.min(ttl, entry.timestamp + entry.expire * 1000 - Date.now());
        }
        if (ttl > 0)
          await rt.write(
            rt.key('u', cacheKey, resolved),
            stored,
            ttl,
            rt.counters.u,
            resolved.encoding,
            report,
          );
      } catch (error) {
        // A failed or interrupted render: store nothing (an incomplete value would serve an incomplete page).
        report(error, 'set');
      } finally {
        done();
        if (pendingSets.get(cacheKey) === mine) pendingSets.delete(cacheKey);
      }
    },

    async refreshTags(): Promise<void> {
      try {
        rtOf().refresh();
      } catch (error) {
        report(error, 'refreshTags');
      }
    },

    async getExpiration(_tags: string[]): Promise<number> {
      return Number.POSITIVE_INFINITY;
    },

    async updateTags(tags: string[], durations?: { expire?: number }): Promise<void> {
      try {
        const rt = rtOf();
        rt.counters.u.revalidations++;
        const list = Array.isArray(tags) ? tags.filter((t) => typeof t === 'string') : [];
        debugRevalidation('u', `updateTags ${list.join(', ')}${expireNote(durations)}`);
        await rt.tags.update(list, durations);
      } catch (error) {
        report(error, 'updateTags');
      }
    },

    stats(): NextCacheStats {
      return rtOf().stats('u', resolved);
    },

    [METRICS_SOURCE]() {
      return rtOf().snapshot('u', resolved);
    },
  };
}
