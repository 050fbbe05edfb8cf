/**
 * The instrument and attribute names of `larder/otel`. They are a contract: dashboards and alerts are built
 * on them, so they change only with a major version.
 */

/** Reads answered from memory, by `result`: `hit` (fresh), `stale` (stale-while-revalidate) or `miss`. */
export const REQUESTS = 'larder.cache.requests';
/**
 * Settled loads (loader or second tier), by `outcome`: `success`, `error`, `timeout`, or `aborted` (the loader gave
 * up because an invalidation or `close` aborted its signal: no failure).
 */
export const LOADS = 'larder.cache.loads';
/** How long each load took, in seconds (one point per load, with its `outcome`). */
export const LOAD_DURATION = 'larder.cache.load.duration';
/** Entries the policy removed to stay within `max` / `maxSize`. */
export const EVICTIONS = 'larder.cache.evictions';
/** Live entries now. */
export const ENTRIES = 'larder.cache.entries';
/** Reads of the second tier (Redis), by `result`: `hit`, `miss` or `error`. */
export const TIER_REQUESTS = 'larder.cache.tier.requests';
/** Invalidation messages on the bus, by `direction`: `sent` or `received`. */
export const BUS_MESSAGES = 'larder.cache.bus.messages';
/** 1 while the bus is subscribed, else 0. */
export const BUS_CONNECTED = 'larder.cache.bus.connected';

/** Attribute on every point: the `name` given to `instrument`. */
export const ATTR_CACHE_NAME = 'cache.name';
/** Attribute of {@link REQUESTS} and {@link TIER_REQUESTS}. */
export const ATTR_RESULT = 'result';
/** Attribute of {@link LOADS} and {@link LOAD_DURATION}. */
export const ATTR_OUTCOME = 'outcome';
/** Attribute of {@link BUS_MESSAGES}. */
export const ATTR_DIRECTION = 'direction';

/** Name of the span `traceLoads` opens around each loader run. */
export const LOAD_SPAN = 'larder.cache.load';
/** Span attribute: the key's name part (see `InstrumentOptions.keyName`). */
export const ATTR_KEY_NAME = 'larder.key.name';
/** Span attribute: `success`, `error`, `timeout` or `aborted` (given up on an invalidation: not an error). */
export const ATTR_LOAD_OUTCOME = 'larder.load.outcome';
/** Span attribute: whether the load was a stale-while-revalidate refresh. */
export const ATTR_LOAD_REFRESH = 'larder.load.refresh';

/**
 * Bucket boundaries (seconds) advised for {@link LOAD_DURATION}: 1 ms to 10 s. The SDK's default boundaries
 * are meant for milliseconds and would put nearly every load in the first bucket.
 */
export const LOAD_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
