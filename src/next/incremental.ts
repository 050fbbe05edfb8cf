import { METRICS_SOURCE, type MetricsSource } from '../otel/source.js';
import { freeze, thaw } from './codec.js';
import { type NextCacheHandlerOptions, resolveOptions } from './options.js';
import { failureReporter } from './report.js';
import { claimRuntime, Runtime, scope } from './runtime.js';
import { sizeOf } from './size.js';
import { countRead, debugRevalidation, expireNote, type NextCacheStats } from './stats.js';
import type { StoredIncremental } from './stored.js';
import { EXPIRED, FRESH, PENDING, STALE, type Verdict } from './tags.js';

/** What Next.js passes to the constructor of a `cacheHandler` class (the fields larder reads). */
export interface IncrementalCacheHandlerContext {
  /** `.next/server` of the build being served (its parent holds `BUILD_ID`). */
  serverDistDir?: string;
  /** Whether this is `next dev`. */
  dev?: boolean;
  /** Other fields Next.js passes (`fs`, `maxMemoryCacheSize`, `revalidatedTags`, …), unused. */
  [field: string]: unknown;
}

/** The second argument of `get`: the entry kind and, for fetches, their tags. */
export interface IncrementalCacheGetContext {
  /** `'APP_PAGE'`, `'APP_ROUTE'`, `'PAGES'`, `'FETCH'` or `'IMAGE'`. */
  kind: string;
  /** Tags of a `fetch` / `unstable_cache` entry. */
  tags?: string[];
  /** Implicit tags (`_N_T_<path>`) of the page doing a `fetch`. */
  softTags?: string[];
  /** Other fields (`revalidate`, `fetchUrl`, `isFallback`, …), unused. */
  [field: string]: unknown;
}

/** The lifetime Next.js gives a page or route entry (`ctx.cacheControl` of `set`). */
export interface IncrementalCacheControl {
  /** Seconds until the entry should be regenerated, or `false` for never. */
  revalidate: number | false;
  /** Seconds the entry may be served at all. */
  expire: number | undefined;
}

/** The third argument of `set`. */
export interface IncrementalCacheSetContext {
  /** `true` for `fetch` / `unstable_cache` entries. */
  fetchCache?: boolean;
  /** Tags of a `fetch` / `unstable_cache` entry. */
  tags?: string[];
  /** The entry's lifetime (pages and routes). */
  cacheControl?: IncrementalCacheControl;
  /** Other fields, unused. */
  [field: string]: unknown;
}

/** What `get` returns: the stored value with its time and lifetime. */
export interface IncrementalCacheHandlerValue {
  /** When the entry was stored (epoch ms). */
  lastModified: number;
  /** The value Next.js stored (`Buffer`, `Map` and streams restored), or `null`. */
  value: unknown;
  /** The lifetime stored with it, so any instance serves the entry with its lifetime. */
  cacheControl?: IncrementalCacheControl;
}

/** An instance of the class {@link createIncrementalCacheHandler} returns. */
export interface IncrementalCacheHandler {
  /** Returns the entry, or `null` when absent, expired by a tag, or Redis is unreachable. Never throws. */
  get(cacheKey: string, ctx?: IncrementalCacheGetContext): Promise<IncrementalCacheHandlerValue | null>;
  /** Stores an entry in memory and Redis. Never throws. */
  set(cacheKey: string, data: unknown, ctx?: IncrementalCacheSetContext): Promise<void>;
  /** Invalidates tags on every instance (`revalidateTag`, `revalidatePath` as `_N_T_<path>`). Never throws. */
  revalidateTag(tags: string | string[], durations?: { expire?: number }): Promise<void>;
  /** Nothing is kept per request. */
  resetRequestCache(): void;
  /** This process's counters of the incremental handler (shared by every instance Next.js constructs). */
  stats(): NextCacheStats;
}

/**
 * The class {@link createIncrementalCacheHandler} returns (Next.js constructs it per request). It is also a
 * metrics source for `larder/otel`: `instrument(Handler, { name: 'next-incremental' })`.
 */
export type IncrementalCacheHandlerClass = (new (
  ctx?: IncrementalCacheHandlerContext,
) => IncrementalCacheHandler) &
  MetricsSource & {
    /** This process's counters of the incremental handler (see {@link NextCacheStats}). */
    stats(): NextCacheStats;
  };

const TAGS_HEADER = 'x-next-cache-tags';

/** The tags an entry carries: `ctx.tags`, the value's own tags, and the `x-next-cache-tags` header. @internal */
export function tagsOf(data: unknown, ctx: IncrementalCacheSetContext | undefined): string[] {
  const tags = new Set<string>();
  if (ctx !== undefined && Array.isArray(ctx.tags))
    for (const t of ctx.tags) if (typeof t === 'string') tags.add(t);
  if (typeof data === 'object' && data !== null) {
    const own = (data as { tags?: unknown }).tags;
    if (Array.isArray(own)) for (const t of own) if (typeof t === 'string') tags.add(t);
    const headers = (data as { headers?: unknown }).headers;
    if (typeof headers === 'object' && headers !== null) {
      const header = (headers as Record<string, unknown>)[TAGS_HEADER];
      const list = typeof header === 'string' ? header.split(',') : Array.isArray(header) ? header : [];
      for (const t of list) if (typeof t === 'string' && t !== '') tags.add(t);
    }
  }
  return [...tags];
}

/**
 * Creates the class to use as Next.js's `cacheHandler` (ISR pages, route handlers, the fetch cache,
 * `unstable_cache`), shared by every instance through Redis:
 *
 * ```js
 * // cache-handler.mjs, next to next.config.mjs
 * import { createIncrementalCacheHandler } from 'larder/next';
 * export default createIncrementalCacheHandler({ redisUrl: process.env.REDIS_URL });
 * ```
 *
 * Next.js constructs the class per request; the memory tier, the Redis connections and the tag table live
 * once per process. Entries keep `lastModified`, their tags and `ctx.cacheControl`, so any instance serves
 * them with their lifetime. Tags are checked lazily: `revalidateTag` writes one record per tag (in Redis,
 * in each instance's memory, and over the bus), never a scan of the entries. When Redis is down, reads
 * are misses and writes stay local; nothing throws or hangs, and the handler recovers by itself.
 *
 * @param options - see {@link NextCacheHandlerOptions}
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export function createIncrementalCacheHandler(
  options?: NextCacheHandlerOptions,
): IncrementalCacheHandlerClass {
  const resolved = resolveOptions(options, 'createIncrementalCacheHandler');
  const inScope = scope();
  claimRuntime(resolved, inScope, 'createIncrementalCacheHandler');
  /** This handler's reporter: its own `onError`, else the runtime's warning. */
  let report: (error: unknown, operation: string) => void = failureReporter(resolved.onError);
  let runtime: Runtime | undefined;
  const rtOf = (): Runtime => {
    if (runtime === undefined) {
      runtime = Runtime.for(resolved, inScope);
      report = runtime.reporterFor(resolved.onError);
    }
    return runtime;
  };
  return class LarderIncrementalCacheHandler implements IncrementalCacheHandler {
    /** The shared runtime (`undefined` only if it could not be created: every call is then a miss). */
    readonly #rt: Runtime | undefined;

    static stats(): NextCacheStats {
      return rtOf().stats('i', resolved);
    }

    static [METRICS_SOURCE]() {
      return rtOf().snapshot('i', resolved);
    }

    constructor(ctx?: IncrementalCacheHandlerContext) {
      // Next.js constructs the class per request: never throw here.
      try {
        this.#rt = rtOf();
        if (ctx !== undefined && ctx !== null) this.#rt.noteDistDir(ctx.serverDistDir);
      } catch (error) {
        report(error, 'constructor');
      }
    }

    /** The runtime, or a throw caught (and reported) by the calling method. */
    #runtime(): Runtime {
      return this.#rt ?? rtOf();
    }

    async get(
      cacheKey: string,
      ctx?: IncrementalCacheGetContext,
    ): Promise<IncrementalCacheHandlerValue | null> {
      let rt: Runtime | undefined;
      let served: 'hit' | 'stale' | 'miss' = 'miss';
      let memory = false;
      try {
        rt = this.#runtime();
        const waiting = rt.ready();
        if (waiting !== undefined) await waiting;
        const k = rt.key('i', cacheKey, resolved);
        let stored: StoredIncremental | undefined;
        let verdict: Verdict = EXPIRED;
        // Twice at most: a memory copy older than a tag's expiry may have a newer version in Redis.
        for (let attempt = 0; attempt < 2; attempt++) {
          const found = rt.read(k, rt.counters.i, resolved.encoding, report);
          memory = !(found instanceof Promise);
          stored = (found instanceof Promise ? await found : found) as StoredIncremental | undefined;
          if (stored === undefined || stored.k !== 'i' || !rt.trusted(stored.t)) return null;
          verdict = check(rt, stored, ctx);
          if (verdict === PENDING) {
            await rt.tags.settled();
            verdict = check(rt, stored, ctx);
          }
          if (verdict !== EXPIRED || !rt.drop(k)) break;
        }
        if (stored === undefined || verdict === EXPIRED || verdict === PENDING) return null;
        // A stale tag: Next.js serves the entry and regenerates it in the background when it sees the tag in
        // its own tags manifest (kept in step by the tag table); without that manifest, regenerate now.
        if (verdict === STALE && rt.tags.nextManifest === undefined) return null;
        const value = stored.st === 1 ? thaw(stored.v) : stored.v;
        const result: IncrementalCacheHandlerValue = { lastModified: stored.t, value };
        if (stored.cc !== undefined) result.cacheControl = stored.cc as IncrementalCacheControl;
        if (memory) served = verdict === STALE ? 'stale' : 'hit';
        if (verdict === STALE) debugRevalidation('i', `serving ${cacheKey} stale; Next.js regenerates it`);
        return result;
      } catch (error) {
        report(error, 'get');
        return null;
      } finally {
        if (rt !== undefined) countRead(rt.counters.i, served);
      }
    }

    async set(cacheKey: string, data: unknown, ctx?: IncrementalCacheSetContext): Promise<void> {
      try {
        const rt = this.#runtime();
        const { value, streams } = await freeze(data);
        const cc = ctx?.fetchCache === true ? undefined : ctx?.cacheControl;
        let ttl = resolved.maxTtl;
        const expire = cc?.expire;
        if (typeof expire === 'number' && expire > 0 && Number.isFinite(expire)) {
          ttl = Math.min(ttl, expire * 1000);
        }
        const stored: StoredIncremental = {
          k: 'i',
          t: Date.now(),
          v: value,
          g: tagsOf(data, ctx),
          s: sizeOf(value) + 64,
        };
        if (cc !== undefined) stored.cc = { revalidate: cc.revalidate, expire: cc.expire };
        if (streams) stored.st = 1;
        await rt.write(
          rt.key('i', cacheKey, resolved),
          stored,
          ttl,
          rt.counters.i,
          resolved.encoding,
          report,
        );
      } catch (error) {
        report(error, 'set');
      }
    }

    async revalidateTag(tags: string | string[], durations?: { expire?: number }): Promise<void> {
      try {
        const rt = this.#runtime();
        rt.counters.i.revalidations++;
        const list = typeof tags === 'string' ? [tags] : Array.isArray(tags) ? tags : [];
        debugRevalidation('i', `revalidateTag ${list.join(', ')}${expireNote(durations)}`);
        await rt.tags.update(
          list.filter((t) => typeof t === 'string'),
          durations,
        );
      } catch (error) {
        report(error, 'revalidateTag');
      }
    }

    resetRequestCache(): void {}

    stats(): NextCacheStats {
      return this.#runtime().stats('i', resolved);
    }
  };
}

/** The verdict on an incremental entry: its tags and `ctx.tags`, then the page's soft tags. */
function check(rt: Runtime, stored: StoredIncremental, ctx: IncrementalCacheGetContext | undefined): Verdict {
  const tags = rt.tags;
  if (ctx === undefined || ctx === null) return tags.check(stored.g, undefined, stored.t);
  const a = tags.check(stored.g, ctx.tags, stored.t);
  if (a === EXPIRED || a === PENDING || ctx.softTags === undefined) return a;
  const b = tags.check(undefined, ctx.softTags, stored.t);
  return b === FRESH ? a : b;
}
