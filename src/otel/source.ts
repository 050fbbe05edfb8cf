/**
 * What `instrument` reads: a larder `Cache`, or anything else that reports through the same instruments (the
 * `larder/next` handlers) by implementing {@link MetricsSource}.
 */
import type { LoadEvent } from '../events.js';
import { internalsOf, type LoadWrapper, type SharedInternals } from '../internals.js';
import type { CacheStats } from '../stats.js';

/**
 * The key under which a non-`Cache` object offers its metrics to `instrument` (a registered symbol, so
 * separately bundled copies of larder agree on it).
 */
export const METRICS_SOURCE: unique symbol = Symbol.for('larder.metricsSource');

/** Counters read at each collection: every count is cumulative since the source was created. */
export interface MetricsSnapshot {
  /** Reads answered fresh from memory. */
  hits: number;
  /** Reads answered from memory with a stale value (stale-while-revalidate, or a stale Next.js tag). */
  stale: number;
  /** Reads that memory could not answer. */
  misses: number;
  /** Entries removed by the memory bound. */
  evictions: number;
  /** Live entries in memory now. */
  entries: number;
  /** The second tier's reads, when there is one. */
  tier?: TierSnapshot;
  /** The bus, when there is one. */
  bus?: BusSnapshot;
}

/** The second tier's counters in a {@link MetricsSnapshot}. */
export interface TierSnapshot {
  /** Reads that found a usable entry. */
  hits: number;
  /** Reads that found none. */
  misses: number;
  /** Failed calls (reads and writes). */
  errors: number;
}

/** The bus's counters in a {@link MetricsSnapshot}. */
export interface BusSnapshot {
  /** Messages received from other instances. */
  received: number;
  /** Messages published (when the bus counts them). */
  sent?: number;
  /** Whether the bus is subscribed (when the bus says). */
  connected?: boolean;
}

/** An object `instrument` accepts besides a `Cache`: the `larder/next` handlers implement it. */
export interface MetricsSource {
  /** Returns the current counters; called once per collection, never on a request path. */
  [METRICS_SOURCE](): MetricsSnapshot;
}

/** The shape of a larder `Cache` as `instrument` types it (it checks at run time that it is one). */
export interface StatsSource {
  /** The cache's counters. */
  stats(): CacheStats;
}

/** What `instrument` accepts: a larder `Cache`, or a {@link MetricsSource}. */
export type Instrumentable = StatsSource | MetricsSource;

/**
 * A cache or source as `instrument` uses it. It holds its target weakly: a cache dropped without stopping its
 * instrumentation can still be garbage-collected. @internal
 */
export interface Source {
  /**
   * The counters now, or `undefined` once the target is gone for good: a cache that was closed (or
   * garbage-collected), which is then no longer reported.
   */
  snapshot(): MetricsSnapshot | undefined;
  /** Subscribes to settled loads (caches only); returns the unsubscribe function. */
  onLoad?(listener: (event: LoadEvent<unknown>) => void): () => void;
  /** Wraps every loader run (caches only); returns the function that removes the wrapper. */
  wrapLoads?(wrapper: LoadWrapper): () => void;
}

interface BusStats {
  sent?: unknown;
  subscribed?: unknown;
}

interface LoadEmitter {
  on(event: 'load', listener: (event: LoadEvent<unknown>) => void): unknown;
  off(event: 'load', listener: (event: LoadEvent<unknown>) => void): unknown;
  stats(): CacheStats;
}

/**
 * The shared state of a cache as `sourceOf` reads it. `closed` is not part of `SharedInternals`: `Cache` offers no
 * public way to tell that it was closed, so it is read from the state behind the internals (`CacheState.closed`,
 * set by `close()`); a state without it reads as open.
 */
type Shared = SharedInternals & { readonly closed?: unknown };

/** The root cache's shared state, unless the cache is gone (collected) or closed. */
function openShared(cache: object | undefined): Shared | undefined {
  const shared = internalsOf(cache)?.shared as Shared | undefined;
  return shared === undefined || shared.closed === true ? undefined : shared;
}

/**
 * The source behind `target`, or a string saying why `target` cannot be instrumented.
 *
 * @internal
 */
export function sourceOf(target: unknown): Source | string {
  const internals = internalsOf(target);
  if (internals !== undefined) {
    if (internals.prefix !== undefined) {
      return `a namespace view ('${internals.prefix.slice(0, -1)}') shares its root cache's counters; instrument the root cache`;
    }
    // Held weakly (as is everything reached from it here): the meter keeps the collection callback for as long as
    // it lives, and must not keep a cache the application dropped.
    const ref = new WeakRef(target as LoadEmitter);
    return {
      snapshot(): MetricsSnapshot | undefined {
        const cache = ref.deref();
        const shared = openShared(cache);
        if (cache === undefined || shared === undefined) return undefined;
        const s = cache.stats();
        const counters = shared.counters;
        const snapshot: MetricsSnapshot = {
          hits: s.hits - counters.swrHits,
          stale: counters.swrHits,
          misses: s.misses,
          evictions: s.evictions,
          entries: s.size,
        };
        if (shared.tier !== undefined) {
          snapshot.tier = { hits: s.tierHits, misses: counters.tierMisses, errors: s.tierErrors };
        }
        const bus = shared.bus;
        if (bus !== undefined) {
          const own = (bus as { stats?: () => BusStats }).stats;
          const b = typeof own === 'function' ? own.call(bus) : undefined;
          snapshot.bus = { received: s.busMessages };
          if (typeof b?.sent === 'number') snapshot.bus.sent = b.sent;
          if (typeof b?.subscribed === 'boolean') snapshot.bus.connected = b.subscribed;
        }
        return snapshot;
      },
      onLoad(listener) {
        ref.deref()?.on('load', listener);
        return () => ref.deref()?.off('load', listener);
      },
      wrapLoads(wrapper) {
        const shared = internalsOf(ref.deref())?.shared;
        if (shared !== undefined) shared.loadWrappers = [...shared.loadWrappers, wrapper];
        return () => {
          const now = internalsOf(ref.deref())?.shared;
          if (now !== undefined) now.loadWrappers = now.loadWrappers.filter((w) => w !== wrapper);
        };
      },
    };
  }
  if ((typeof target === 'object' && target !== null) || typeof target === 'function') {
    const read = (target as Partial<MetricsSource>)[METRICS_SOURCE];
    if (typeof read === 'function') {
      const ref = new WeakRef(target);
      return {
        snapshot(): MetricsSnapshot | undefined {
          const source = ref.deref() as Partial<MetricsSource> | undefined;
          const current = source?.[METRICS_SOURCE];
          return typeof current === 'function' ? current.call(source) : undefined;
        },
      };
    }
  }
  return 'it must be a larder Cache (or a larder/next handler)';
}
