import type { Coherence } from './coherence.js';
import { entryOf } from './coherence.js';
import { type Duration, toMs } from './duration.js';
import { type Entry, isEntry } from './entry.js';
import { TimeoutError } from './errors.js';
import { Flight } from './flight.js';
import { runWrapped } from './internals.js';
import type { Resolved } from './options.js';
import { type CacheState, ttlOf } from './state.js';

/** What a loader receives. */
export interface LoaderContext<K, V> {
  /** The key being loaded (without namespace prefixes). */
  readonly key: K;
  /**
   * Aborted when the load times out, is invalidated (`delete`, `set`, `clear`, tags) while it runs, or the cache is
   * closed. Giving up on an invalidation's abort (rejecting with `signal.reason`, or an error named `AbortError`) is
   * no failure: the callers that were waiting are answered afresh (see docs/cache-aside.md, "No stale write-back");
   * after `close`, they get that error.
   */
  readonly signal: AbortSignal;
  /** The expired value this load replaces, if one is still held (for conditional requests, diffs, fallbacks). */
  readonly stale: V | undefined;
  /** Sets this entry's TTL from what was loaded (e.g. an upstream `max-age`). */
  setTtl(ttl: Duration): void;
}

/** A function that loads the value of a key from the source of truth. `undefined` means "nothing to cache". */
export type Loader<K, V, T extends V | undefined = V> = (context: LoaderContext<K, V>) => T | PromiseLike<T>;

/**
 * Marks a loader as a lookup (`loader[LOOKUP] = true`): a read of memory, then of the second tier, that loads
 * nothing itself. `larder/express` looks stored responses up so (`getOrSet` with a loader that returns `undefined`,
 * for the tier and `context.stale`), and stores answers with `set`. A lookup is single-flight like any read, and
 * counts its `miss`; but its loader's run is no load: it is not counted in `stats().loads`, emits no `load`
 * event, and runs outside the load wrappers (no `traceLoads` span). A lookup the tier answers is a load from the
 * tier, as for any read (so is one whose tier read exceeded `timeout`); a lookup whose loader throws is a failed
 * load. A registered symbol, so that separately bundled copies of larder agree on it.
 *
 * @internal
 */
export const LOOKUP: unique symbol = Symbol.for('larder.lookup');

/** Whether `loader` is marked as a lookup ({@link LOOKUP}). */
function isLookup(loader: unknown): boolean {
  return (loader as { [LOOKUP]?: unknown })[LOOKUP] === true;
}

/**
 * The loading machinery of a cache (shared with its namespaces): the in-flight table (single-flight), loads
 * from the tier then the loader, timeouts, stale fallbacks (stale-while-revalidate refreshes, stale-if-error,
 * soft timeouts) and the "no stale write-back" rule: an invalidation marks the key's flight, aborts its
 * signal and takes it out of the tables, and a marked flight stores nothing. When the loader gives up because
 * of that abort, its waiting callers are answered as a call made then would be (`#again`).
 *
 * Keys here are full keys (namespace prefixes included); `userKey` is what the loader sees.
 *
 * @internal
 */
export class Loads<V> {
  /** Running loads by key: a caller of a key in here joins its load. */
  readonly inflight = new Map<unknown, Flight<V>>();
  /** Loads that soft-timed-out: callers have their answer, but the result may still be stored. */
  readonly lingering = new Map<unknown, Flight<V>>();

  constructor(
    readonly s: CacheState<V>,
    readonly coherence: Coherence<V>,
  ) {}

  /** The cache-aside miss path: count the miss, join the key's load, or start one. */
  miss(
    k: unknown,
    userKey: unknown,
    loader: Loader<unknown, V, V | undefined>,
    opts: Resolved,
  ): Promise<V | undefined> {
    const s = this.s;
    s.counters.misses++;
    if (s.slots.miss !== undefined) s.emitter.emit('miss', { key: k });
    const running = this.inflight.get(k);
    if (running !== undefined) {
      running.waiters++;
      return running.promise;
    }
    return this.start(k, userKey, loader, opts, this.staleOf(k), false).promise;
  }

  /** The entry of `k` still within a stale window (for fallbacks), expiring it when it is past them. */
  staleOf(k: unknown): Entry<V> | undefined {
    const e = this.s.store.peek(k);
    if (!isEntry(e)) return undefined;
    if (Date.now() < e.deadline) return e as Entry<V>;
    this.s.expire(k, e);
    return undefined;
  }

  /** Starts a background refresh of `k` (stale-while-revalidate) unless a load of it runs. */
  refresh(
    k: unknown,
    userKey: unknown,
    loader: Loader<unknown, V, V | undefined>,
    opts: Resolved,
    e: Entry<V>,
  ): void {
    if (!this.inflight.has(k)) this.start(k, userKey, loader, opts, e, true);
  }

  /**
   * Registers a new flight for `k` (superseding a lingering one) and counts the load (unless `counted` is false: a
   * lookup, see {@link LOOKUP}).
   */
  register(
    k: unknown,
    opts: Resolved,
    stale: Entry<V> | undefined,
    background: boolean,
    counted = true,
  ): Flight<V> {
    const flight = new Flight<V>(opts.tags, Date.now(), stale, background);
    if (this.lingering.size > 0) {
      const older = this.lingering.get(k);
      if (older !== undefined) {
        // A newer load supersedes a lingering one: the older read must never overwrite the newer.
        older.detached = true;
        this.lingering.delete(k);
      }
    }
    this.inflight.set(k, flight);
    if (counted) {
      this.s.counters.loads++;
      if (background) this.s.counters.refreshes++;
    }
    return flight;
  }

  /** Starts a load of `k`; `after`: the invalidated load whose waiting callers this one answers. */
  start(
    k: unknown,
    userKey: unknown,
    loader: Loader<unknown, V, V | undefined>,
    opts: Resolved,
    stale: Entry<V> | undefined,
    background: boolean,
    after?: Flight<V>,
  ): Flight<V> {
    const flight = this.register(k, opts, stale, background, !isLookup(loader));
    flight.loader = loader;
    flight.userKey = userKey;
    flight.opts = opts;
    if (after !== undefined) {
      flight.waiters = after.waiters;
      flight.rounds = after.rounds + 1;
    }
    if (opts.timeout > 0)
      flight.timer = setTimeout(() => this.timedOut(k, flight, opts.timeout), opts.timeout);
    void this.#run(k, userKey, loader, opts, flight, background);
    return flight;
  }

  async #run(
    k: unknown,
    userKey: unknown,
    loader: Loader<unknown, V, V | undefined>,
    opts: Resolved,
    flight: Flight<V>,
    background: boolean,
  ): Promise<void> {
    const s = this.s;
    const lookup = isLookup(loader);
    if (s.tier !== undefined && typeof k === 'string') {
      const started = Date.now();
      flight.readingTier = true;
      const record = await this.coherence.tierGet(k);
      flight.readingTier = false;
      if (this.fromTier(k, userKey, flight, record, background, started)) {
        // A lookup answered by the tier: a load from the tier (its `load` event is out), counted now.
        if (lookup) s.counters.loads++;
        return;
      }
      // Invalidated (or the cache closed) during the tier read: its loader would start with an aborted signal.
      if (flight.invalidated) {
        this.gaveUp(k, flight, flight.controller.signal.reason);
        return;
      }
      if (lookup && flight.timedOut) {
        // A lookup whose tier read exceeded `timeout` (counted in `stats().timeouts`): reported as a timed-out load.
        s.counters.loads++;
        s.emitLoad(k, started, background, true, 'tier', true);
      }
    }
    let ttlOverride: number | undefined;
    const context: LoaderContext<unknown, V> = {
      key: userKey,
      signal: flight.controller.signal,
      // Read through the flight, which lets go of it once a soft timeout has answered the callers.
      get stale() {
        return flight.stale?.value;
      },
      setTtl: (ttl: Duration) => {
        ttlOverride = toMs(ttl, 'setTtl', false, true);
      },
    };
    const started = Date.now();
    let value: V | undefined;
    try {
      const wrappers = s.loadWrappers;
      value =
        wrappers.length === 0 || lookup
          ? await loader(context)
          : ((await runWrapped(wrappers, k, background, context.signal, () => loader(context))) as
              | V
              | undefined);
    } catch (error) {
      if (lookup) s.counters.loads++; // a lookup that failed is a failed load
      this.failed(k, flight, error, background, started);
      return;
    }
    flight.stopTimer();
    // A lookup's loader loads nothing: no load to report.
    if (!lookup) s.emitLoad(k, started, background, true, 'loader', flight.timedOut);
    this.keep(k, userKey, value, opts, flight, ttlOverride, opts.tags);
    this.release(k, flight);
    flight.settle(true, value);
  }

  /** Stores a loaded value unless its flight was invalidated or detached (or the cache closed). */
  keep(
    k: unknown,
    userKey: unknown,
    value: V | undefined,
    opts: Resolved,
    flight: Flight<V>,
    ttlOverride: number | undefined,
    tags: readonly string[] | undefined,
  ): void {
    const s = this.s;
    if (value === undefined || flight.invalidated || flight.detached || s.closed) return;
    try {
      const weight = s.weigh(value, userKey);
      const entry = s.write(
        k,
        value,
        ttlOf(value, opts, ttlOverride),
        opts,
        flight.startedAt,
        weight,
        'load',
        tags,
      );
      if (s.tier !== undefined && typeof k === 'string') this.coherence.tierSet(k, entry);
    } catch (error) {
      s.emitError(k, error, 'store');
    }
  }

  /**
   * Answers a flight from a tier record when it is fresh (filling memory with its remaining TTL); keeps a
   * stale-but-usable record as the flight's fallback. Returns true when the flight was answered.
   */
  fromTier(
    k: string,
    userKey: unknown,
    flight: Flight<V>,
    record: unknown,
    background: boolean,
    started: number,
  ): boolean {
    const s = this.s;
    if (record === undefined) return false; // counted as a tier miss by Coherence (unless the read failed)
    const r = record as Parameters<typeof entryOf>[0];
    // Every way out below counts the read once, as a hit or a miss (hits, misses and errors add up to the reads).
    // Read before a tag it carries was invalidated (or expired) here: neither answered from nor kept as the stale
    // value (a miss); the loader reads the source after the change.
    const noted = flight.tagsWhileReading;
    if (noted !== undefined && r.tags.some((t) => noted.includes(t))) {
      s.counters.tierMisses++;
      return false;
    }
    // A refresh wants something newer than what it refreshes: the tier often holds that very entry (this
    // instance wrote it through), which would answer a refresh-ahead without ever asking the loader (a miss).
    if (flight.stale !== undefined && r.createdAt <= flight.stale.createdAt) {
      s.counters.tierMisses++;
      return false;
    }
    const now = Date.now();
    if (now >= r.expires) {
      s.counters.tierMisses++;
      // Not fresh, but still useful as the stale value for fallbacks when memory has none.
      if (flight.stale === undefined && now < Math.max(r.staleUntil, r.errorUntil)) {
        flight.stale = entryOf(r, k) as Entry<V>;
      }
      return false;
    }
    s.counters.tierHits++;
    flight.stopTimer();
    if (!flight.invalidated && !flight.detached && !s.closed) {
      try {
        const weight = s.weigh(r.value as V, userKey);
        s.put(k, entryOf(r, k), weight, 'tier', r.value, r.expires - now);
      } catch (error) {
        s.emitError(k, error, 'store');
      }
    }
    s.emitLoad(k, started, background, true, 'tier', flight.timedOut);
    this.release(k, flight);
    flight.settle(true, r.value);
    return true;
  }

  /**
   * A load failed. When it gave up because an invalidation (or `close`) aborted it, that is no load error: its
   * waiting callers are answered afresh (`gaveUp`). Otherwise its callers get the stale-if-error value if one is
   * at hand (and it was not invalidated), else the error.
   */
  failed(k: unknown, flight: Flight<V>, error: unknown, background: boolean, started: number): void {
    const s = this.s;
    flight.stopTimer();
    const aborted = flight.invalidated && isAbort(error, flight.controller.signal);
    if (!flight.timedOut && !aborted) s.counters.loadErrors++;
    s.emitLoad(k, started, background, false, 'loader', flight.timedOut, aborted);
    this.release(k, flight);
    if (flight.settled) {
      // Callers were answered by a timeout already; report the late failure.
      s.emitError(k, error, background ? 'refresh' : 'load');
      return;
    }
    if (aborted) {
      this.gaveUp(k, flight, error);
      return;
    }
    const stale = flight.stale;
    if (!flight.invalidated && stale !== undefined && Date.now() < stale.errorUntil) {
      s.counters.staleHits += flight.waiters;
      s.emitError(k, error, background ? 'refresh' : 'load');
      flight.settle(true, stale.value);
      return;
    }
    if (background) s.emitError(k, error, 'refresh');
    flight.settle(false, error);
  }

  /**
   * Answers the callers of an invalidated load that gave up (its loader honoured the abort, or never ran): as a
   * call made now would be answered (`#again`), unless nobody waits, the cache is closed, the flight is a batch's
   * key (its `loadMany` was not aborted by the key's invalidation), or they were moved on {@link MAX_AGAIN} times
   * already; then with `error`.
   */
  gaveUp(k: unknown, flight: Flight<V>, error: unknown): void {
    flight.stopTimer();
    // Answered already (a soft timeout gave its callers the stale value): nobody waits for another load.
    if (flight.settled) return;
    if (flight.waiters > 0 && flight.loader !== undefined && !this.s.closed && flight.rounds < MAX_AGAIN) {
      flight.settle(true, this.#again(k, flight));
      return;
    }
    flight.settle(false, error);
  }

  /**
   * What a call made now gets, for the callers of an invalidated load: the fresh value in memory (a `set`'s), else
   * the key's newer load, else a new load with the invalidated one's loader and options. Counts no hit or miss
   * (they were counted when the callers came).
   */
  #again(k: unknown, flight: Flight<V>): Promise<V | undefined> {
    const e = this.s.store.peek(k);
    if (e !== undefined) {
      if (!isEntry(e)) return Promise.resolve(e as V);
      if (Date.now() < e.expires) return Promise.resolve(e.value as V);
    }
    const running = this.inflight.get(k);
    if (running !== undefined) {
      running.waiters += flight.waiters;
      // The bound holds across loads joined this way too.
      if (running.rounds <= flight.rounds) running.rounds = flight.rounds + 1;
      return running.promise;
    }
    const loader = flight.loader as Loader<unknown, V, V | undefined>;
    const opts = flight.opts as Resolved;
    return this.start(k, flight.userKey, loader, opts, this.staleOf(k), false, flight).promise;
  }

  timedOut(k: unknown, flight: Flight<V>, timeout: number): void {
    const s = this.s;
    flight.timer = undefined;
    if (flight.settled) return;
    flight.timedOut = true;
    s.counters.timeouts++;
    s.counters.loadErrors++;
    const error = new TimeoutError(timeout, k);
    flight.controller.abort(error);
    const stale = flight.stale;
    if (!flight.invalidated && stale !== undefined && Date.now() < stale.deadline) {
      // Soft timeout: answer with the stale value. The load leaves the in-flight table (the next call starts a
      // new one) but may still finish and store its result, unless an invalidation or a newer load comes first.
      this.release(k, flight);
      this.#linger(k, flight);
      s.counters.staleHits += flight.waiters;
      s.emitError(k, error, flight.background ? 'refresh' : 'load');
      flight.settle(true, stale.value);
      // Answered: the flight no longer needs its fallback (a hung loader must not keep it alive).
      flight.stale = undefined;
      return;
    }
    // Hard timeout: the next call starts a new load, and this one's late result is not stored.
    flight.detached = true;
    this.release(k, flight);
    flight.settle(false, error);
  }

  /**
   * Keeps a soft-timed-out load whose result may still be stored, at most {@link MAX_LINGERING} of them: loaders
   * that ignore their signal would otherwise pile up without bound. Beyond that the oldest is detached (its late
   * result is not stored) and forgotten.
   */
  #linger(k: unknown, flight: Flight<V>): void {
    const lingering = this.lingering;
    lingering.set(k, flight);
    if (lingering.size <= MAX_LINGERING) return;
    for (const [oldest, older] of lingering) {
      older.detached = true;
      lingering.delete(oldest);
      return;
    }
  }

  /** Takes a settled or finished flight out of the tables, if it is still the one registered for `k`. */
  release(k: unknown, flight: Flight<V>): void {
    if (this.inflight.get(k) === flight) this.inflight.delete(k);
    else if (this.lingering.get(k) === flight) this.lingering.delete(k);
  }

  /** Stops loads of `k` (running or lingering) from storing their results and aborts their signals. */
  invalidate(k: unknown): void {
    if (this.inflight.size > 0) {
      const flight = this.inflight.get(k);
      if (flight !== undefined) {
        this.inflight.delete(k);
        invalidate(flight);
      }
    }
    if (this.lingering.size > 0) {
      const flight = this.lingering.get(k);
      if (flight !== undefined) {
        this.lingering.delete(k);
        invalidate(flight);
      }
    }
  }

  /**
   * Notes a tag invalidation (or expiry) in every load reading the tier now: the record it reads may carry one of
   * `tags` though nothing here knew the key's tags, and must then not be used (see {@link Loads.fromTier}).
   */
  noteTags(tags: readonly string[]): void {
    if (this.inflight.size === 0) return;
    for (const flight of this.inflight.values()) {
      if (flight.readingTier) flight.tagsWhileReading = (flight.tagsWhileReading ?? []).concat(tags);
    }
  }

  /** Invalidates every load (running or lingering) whose key and flight match. */
  invalidateWhere(match: (k: unknown, flight: Flight<V>) => boolean): void {
    for (const table of [this.inflight, this.lingering]) {
      if (table.size === 0) continue;
      for (const [k, flight] of [...table]) {
        if (match(k, flight)) {
          table.delete(k);
          invalidate(flight);
        }
      }
    }
  }

  /**
   * On `close`: aborts every load (running or lingering) with a {@link closedError} and forgets it; none stores its
   * result. Their timeouts keep running, so that callers of a loader that ignores its signal are still answered.
   */
  close(): void {
    for (const table of [this.inflight, this.lingering]) {
      for (const [k, flight] of table) {
        flight.invalidated = true;
        flight.controller.abort(closedError(k));
      }
      table.clear();
    }
  }
}

/**
 * How many times the callers of one wait are moved on to another load after the load they waited for was
 * invalidated and gave up (see `Loads.failed`); then they get its abort error. Keeps a key that is invalidated
 * again and again from making them wait for ever.
 */
export const MAX_AGAIN = 3;

/** The reason a load's signal is aborted with when the cache is closed (`what`: the key or batch loader). @internal */
export function closedError(what: unknown): Error {
  const error = new Error(`Load of ${String(what)} aborted: the cache was closed`);
  error.name = 'AbortError';
  return error;
}

/** Whether `error` is the loader giving up because `signal` was aborted: its reason, or an `AbortError`. */
function isAbort(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  if (error === signal.reason) return true;
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/**
 * The most soft-timed-out loads a cache keeps waiting for (their results may still be stored). Each is a query
 * still running at the source whose callers have been answered; beyond this many, the oldest is given up.
 */
export const MAX_LINGERING = 1000;

/** Marks a load so its result is not stored, and aborts its signal. */
function invalidate<V>(flight: Flight<V>): void {
  flight.invalidated = true;
  flight.controller.abort();
}
