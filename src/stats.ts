/** Counters since the cache was created (`stats()`), shared by a cache and its namespaces. */
export interface CacheStats {
  /** Reads answered from memory without waiting for a load (fresh, or stale under stale-while-revalidate). */
  hits: number;
  /** Reads that found no usable value in memory. */
  misses: number;
  /** Loads started (loader calls, foreground and background, and reads of the second tier). */
  loads: number;
  /** Loads that failed (threw, rejected or timed out). */
  loadErrors: number;
  /** Entries removed by the policy to stay within bounds. */
  evictions: number;
  /** Entries dropped at the end of their lifetime. */
  expirations: number;
  /** Live entries now. */
  size: number;
  /** `hits / (hits + misses)`, or 0 before any read. */
  hitRate: number;
  /** Calls answered with a stale value: stale-while-revalidate, stale-if-error and soft timeouts. */
  staleHits: number;
  /** Background reloads started by stale-while-revalidate. */
  refreshes: number;
  /** Loads that exceeded `timeout`. */
  timeouts: number;
  /** Values found in the second tier on a memory miss (0 without a tier). */
  tierHits: number;
  /** Failed calls to the second tier (0 without a tier). */
  tierErrors: number;
  /** Invalidation messages received from other instances over the bus (0 without a bus). */
  busMessages: number;
  /** Failures reported by the bus (0 without a bus). */
  busErrors: number;
}

/** The mutable counters behind {@link CacheStats}. @internal */
export class Counters {
  hits = 0;
  misses = 0;
  loads = 0;
  loadErrors = 0;
  evictions = 0;
  expirations = 0;
  staleHits = 0;
  refreshes = 0;
  timeouts = 0;
  tierHits = 0;
  tierErrors = 0;
  busMessages = 0;
  busErrors = 0;
  /** Hits served stale under stale-while-revalidate (part of `hits` and `staleHits`; for larder/otel). */
  swrHits = 0;
  /** Tier reads that found nothing usable (for larder/otel). */
  tierMisses = 0;

  /**
   * @param size - live entries now
   * @param plainHits - hits the cache counted on its fast path, outside these counters
   */
  snapshot(size: number, plainHits = 0): CacheStats {
    const hits = this.hits + plainHits;
    const reads = hits + this.misses;
    return {
      hits,
      misses: this.misses,
      loads: this.loads,
      loadErrors: this.loadErrors,
      evictions: this.evictions,
      expirations: this.expirations,
      size,
      hitRate: reads === 0 ? 0 : hits / reads,
      staleHits: this.staleHits,
      refreshes: this.refreshes,
      timeouts: this.timeouts,
      tierHits: this.tierHits,
      tierErrors: this.tierErrors,
      busMessages: this.busMessages,
      busErrors: this.busErrors,
    };
  }
}
