import type { Counters } from './stats.js';
import type { CacheBus, CacheTier } from './tier.js';

/**
 * Runs one loader run inside what the wrapper sets up (larder/otel: an active span) and returns its result.
 * `run` calls the loader; the wrapper must call it exactly once and pass its result or error through.
 *
 * @internal
 */
export type LoadWrapper = (
  key: unknown,
  refresh: boolean,
  signal: AbortSignal,
  run: () => unknown,
) => Promise<unknown>;

/** The state a cache shares with its namespaces, as integrations see it. @internal */
export interface SharedInternals {
  readonly counters: Counters;
  readonly tier: CacheTier | undefined;
  readonly bus: CacheBus | undefined;
  /** Wrappers around every loader run, innermost first; replaced (never mutated) on change. */
  loadWrappers: readonly LoadWrapper[];
}

/** What larder's own integrations may see of a cache. @internal */
export interface CacheInternals {
  readonly shared: SharedInternals;
  /** The view's namespace prefix (`'users:'`), or `undefined` for the root cache. */
  readonly prefix: string | undefined;
}

const registry = new WeakMap<object, CacheInternals>();

/** Called by the `Cache` constructor. @internal */
export function registerCache(cache: object, shared: SharedInternals, prefix: string | undefined): void {
  registry.set(cache, { shared, prefix });
}

/** The internals of a larder cache, or `undefined` when `value` is not one. @internal */
export function internalsOf(value: unknown): CacheInternals | undefined {
  return typeof value === 'object' && value !== null ? registry.get(value) : undefined;
}

/** Runs `run` through every wrapper (the first wraps the loader directly). @internal */
export function runWrapped(
  wrappers: readonly LoadWrapper[],
  key: unknown,
  refresh: boolean,
  signal: AbortSignal,
  run: () => unknown,
): Promise<unknown> {
  let call = run;
  for (const wrap of wrappers) {
    const inner = call;
    call = () => wrap(key, refresh, signal, inner);
  }
  return Promise.resolve(call());
}
