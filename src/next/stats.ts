import type { BusSnapshot, MetricsSnapshot } from '../otel/source.js';

/** Counters of one handler kind (`stats()` of a handler), cumulative since the process started. */
export interface NextCacheStats {
  /** Reads answered fresh from this process's memory. */
  hits: number;
  /** Reads answered from memory with a stale tag (Next.js serves them and regenerates the entry). */
  staleHits: number;
  /** Reads that memory could not answer (then Redis was asked, if there is one). */
  misses: number;
  /** Redis reads that found the entry. */
  redisHits: number;
  /** Redis reads that found nothing. */
  redisMisses: number;
  /** Failed Redis reads and writes (down, timed out, unreadable). */
  redisErrors: number;
  /** Entries stored (`set`). */
  sets: number;
  /** `revalidateTag` / `updateTags` calls. */
  revalidations: number;
  /** Entries evicted from memory by `maxMemory`. */
  evictions: number;
  /** Entries of this kind in memory now. */
  entries: number;
}

/** The mutable counters of one handler kind. @internal */
export class HandlerCounters {
  hits = 0;
  staleHits = 0;
  misses = 0;
  redisHits = 0;
  redisMisses = 0;
  redisErrors = 0;
  sets = 0;
  revalidations = 0;
  evictions = 0;
}

/**
 * Counts one handler `get` in `counters`: memory answered it (fresh or with a stale tag), or it did not (a miss;
 * the Redis read, if any, is counted by the runtime).
 *
 * @internal
 */
export function countRead(counters: HandlerCounters, served: 'hit' | 'stale' | 'miss'): void {
  if (served === 'hit') counters.hits++;
  else if (served === 'stale') counters.staleHits++;
  else counters.misses++;
}

/** How a Redis read ended, for a handler's counters. @internal */
export type RedisReadOutcome = 'hit' | 'miss' | 'error';

/** Counts a Redis read once its outcome is known (an unreadable value is an error, not a hit). @internal */
export function countRedisRead(counters: HandlerCounters | undefined, outcome: RedisReadOutcome): void {
  if (counters === undefined) return;
  if (outcome === 'hit') counters.redisHits++;
  else if (outcome === 'miss') counters.redisMisses++;
  else counters.redisErrors++;
}

/** `cache.name` of each handler kind, for `instrument` and the debug log. @internal */
export const HANDLER_NAMES = { i: 'next-incremental', u: 'next-use-cache' } as const;

/** What a handler's `stats()` returns. @internal */
export function statsOf(counters: HandlerCounters, entries: number): NextCacheStats {
  const { hits, staleHits, misses, redisHits, redisMisses, redisErrors, sets, revalidations, evictions } =
    counters;
  return {
    hits,
    staleHits,
    misses,
    redisHits,
    redisMisses,
    redisErrors,
    sets,
    revalidations,
    evictions,
    entries,
  };
}

/** What a handler reports to `larder/otel`'s `instrument`. @internal */
export function snapshotOf(
  stats: NextCacheStats,
  redis: boolean,
  bus: BusSnapshot | undefined,
): MetricsSnapshot {
  const snapshot: MetricsSnapshot = {
    hits: stats.hits,
    stale: stats.staleHits,
    misses: stats.misses,
    evictions: stats.evictions,
    entries: stats.entries,
  };
  if (redis) snapshot.tier = { hits: stats.redisHits, misses: stats.redisMisses, errors: stats.redisErrors };
  if (bus !== undefined) snapshot.bus = bus;
  return snapshot;
}

/** Whether `LARDER_DEBUG` asks for debug lines (set, and neither empty, `0` nor `false`). */
export function debugEnabled(): boolean {
  const value = process.env.LARDER_DEBUG;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** One debug line per revalidation, when `LARDER_DEBUG` is set. @internal */
export function debugRevalidation(kind: 'i' | 'u', what: string): void {
  if (debugEnabled()) console.debug(`[larder/next] ${HANDLER_NAMES[kind]}: ${what}`);
}

/** ` (expire 300 s)` for a revalidation with an expire profile, else `''` (debug lines). @internal */
export function expireNote(durations: { expire?: number } | undefined): string {
  return typeof durations?.expire === 'number' ? ` (expire ${durations.expire} s)` : '';
}
