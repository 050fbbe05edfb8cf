import type { LRUCache } from 'lru-cache';
import { type Duration, describe, toMs } from './duration.js';
import { Entry, isEntry } from './entry.js';
import { TimeoutError } from './errors.js';
import { type CacheEventName, type CacheListener, type DeleteReason, Emitter } from './events.js';
import { ExpiryQueue } from './expiry-queue.js';
import { Flight } from './flight.js';
import { type LoadWrapper, registerCache, runWrapped } from './internals.js';
import { encodeArgs } from './key.js';
import {
  type CacheOptions,
  checkCacheOptions,
  checkTag,
  checkTags,
  type LoadOptions,
  NO_OPTIONS,
  type Policy,
  type Resolved,
  resolve,
  type SetOptions,
} from './options.js';
import { createStore } from './policy/create-store.js';
import { DEFAULT_POLICY } from './policy/default-policy.js';
import { LruStore } from './policy/lru-store.js';
import type { Store } from './policy/store.js';
import { type CacheStats, Counters } from './stats.js';
import type { BusMessage, CacheBus, CacheTier, TierRecord } from './tier.js';

/** What a loader receives. */
export interface LoaderContext<K, V> {
  /** The key being loaded (without namespace prefixes). */
  readonly key: K;
  /** Aborted when the load times out or is invalidated (`delete`, `set`, `clear`, tags) while it runs. */
  readonly signal: AbortSignal;
  /** The expired value this load replaces, if one is still held (for conditional requests, diffs, fallbacks). */
  readonly stale: V | undefined;
  /** Sets this entry's TTL from what was loaded (e.g. an upstream `max-age`). */
  setTtl(ttl: Duration): void;
}

/** A function that loads the value of a key from the source of truth. `undefined` means "nothing to cache". */
export type Loader<K, V, T extends V | undefined = V> = (context: LoaderContext<K, V>) => T | PromiseLike<T>;

/** The function `wrap` returns: `fn` read through the cache, plus helpers for its keys. */
export type Wrapped<A extends unknown[], R> = ((...args: A) => Promise<R>) & {
  /** Removes the cached result for these arguments (and stops an in-flight load from storing). */
  invalidate(...args: A): boolean;
  /** The cache key for these arguments. */
  key(...args: A): string;
};

/** State shared by a cache and its namespaces. @internal */
class Shared<V> {
  store!: Store<unknown, unknown>;
  policy: Policy = DEFAULT_POLICY;
  readonly counters = new Counters();
  readonly emitter = new Emitter();
  readonly tagIndex = new Map<string, Set<unknown>>();
  readonly inflight = new Map<unknown, Flight<V>>();
  /** Loads that soft-timed-out: callers have their answer, but the result may still be stored. */
  readonly lingering = new Map<unknown, Flight<V>>();
  /** Entries with a finite deadline, earliest first. */
  readonly expiry = new ExpiryQueue();
  /** Whether entries without metadata may be stored as bare values (not with a tier or bus: they need `createdAt`). */
  raw = true;
  /**
   * Whether any `Entry` has been stored since creation (or the last full `clear`). While it is false, every
   * stored value is bare, and a hit returns it without touching the value's memory (a random read of a large
   * cache would otherwise pay a second cache miss just to learn the value is not an `Entry`).
   */
  mixed = false;
  closed = false;
  /** Re-derives the root cache's fast-path flag; call after `mixed` or the `hit` listeners change. */
  syncPlain: () => void = () => {};
  /** Hits the root cache counted on its fast path (added to `counters.hits` by `stats()`). */
  plainHits: () => number = () => 0;
  /** Wrappers around every loader run (larder/otel's `traceLoads`); empty by default. */
  loadWrappers: readonly LoadWrapper[] = [];
  constructor(
    readonly defaults: Resolved,
    readonly sizeOf: ((value: V, key: never) => number) | undefined,
    readonly maxSize: number | undefined,
    readonly tier: CacheTier | undefined,
    readonly bus: CacheBus | undefined,
  ) {}
}

const MISS: unique symbol = Symbol('miss');
const STALE: unique symbol = Symbol('stale');

/**
 * A typed, bounded in-memory cache with TTL, single-flight cache-aside loading, stale-while-revalidate,
 * stale-if-error, timeouts, tags, namespaces, events and stats.
 *
 * Storage and eviction are done by larder's W-TinyLFU (`policy: 'tinylfu'`, the default: higher hit ratios, see
 * docs/policy.md) or by `lru-cache` (`policy: 'lru'`). A cache is bounded by entry count (`max`), by total
 * size (`maxSize` + `sizeOf`), or both; an unbounded cache is refused.
 *
 * @typeParam K - key type (namespaces use string keys)
 * @typeParam V - value type; `undefined` is not a value, `null`, `0`, `''`, `false` and `NaN` are
 *
 * @example
 * ```ts
 * const cache = new Cache<string, User | null>({ max: 10_000, ttl: '5m', staleWhileRevalidate: '1m' });
 * const user = await cache.getOrSet(`user:${id}`, () => db.users.find(id));
 * ```
 */
export class Cache<K extends {} = string, V = unknown> {
  readonly #s: Shared<V>;
  readonly #prefix: string | undefined;
  // The hot path's state, held directly (not through #s) so that a hit costs no extra property loads.
  readonly #store: Store<unknown, unknown>;
  /**
   * With policy 'lru', the store's `LRUCache`, else undefined. Reads call it from a call site of their own,
   * so that each policy's `get` is called monomorphically (and inlined) even when caches of both policies
   * live in one process: through the shared `Store` call site, such a process ran 'lru' hits at half speed.
   */
  readonly #lru: LRUCache<{}, {}> | undefined;
  readonly #counters: Counters;
  readonly #slots: Emitter['slots'];
  /**
   * Whether a read may take the fast path: the root cache (no prefix), only bare values stored (`!mixed`) and
   * no `hit` listener. Kept current by `Shared.syncPlain`; always false in a namespace.
   */
  #plain = false;
  // The next two fields and `getOther` are TypeScript-private rather than `#`-private on purpose: reading a
  // named property takes fewer bytes of bytecode than a `#` field, and a `#` method call also checks the
  // brand. `get` must stay at 45 bytes (see there).
  /** `#lru` while `#plain`, else undefined: one test decides `get`'s fast path with policy 'lru'. */
  private plainLru: LRUCache<{}, {}> | undefined = undefined;
  /** Hits counted on the fast path, on this object itself so that a hit writes no other object. */
  private fastHits = 0;
  /** Hand-over from `#hit` to `#serveStale` (set and cleared synchronously). */
  #staleEntry: Entry<V> | undefined = undefined;

  /**
   * @param options - bounds (`max` and/or `maxSize` with `sizeOf`), default entry options (`ttl`,
   * `staleWhileRevalidate`, `staleIfError`, `timeout`, `jitter`, `nullTtl`), `policy`, `tier` and `bus`.
   * @throws TypeError or RangeError naming the option when an option is invalid.
   */
  constructor(options: CacheOptions<K, V>);
  /** @internal */
  constructor(options: CacheOptions<K, V>, shared: Shared<V>, prefix: string);
  constructor(options: CacheOptions<K, V>, shared?: Shared<V>, prefix?: string) {
    if (shared !== undefined) {
      this.#s = shared;
      this.#prefix = prefix;
      this.#store = shared.store;
      this.#lru = lruOf(shared.store);
      this.#counters = shared.counters;
      this.#slots = shared.emitter.slots;
      registerCache(this, shared, prefix);
      return;
    }
    checkCacheOptions(options);
    const defaults = resolve(
      NO_OPTIONS,
      { ...options, max: undefined, maxSize: undefined } as LoadOptions,
      'cache',
    );
    const { tier, bus } = options;
    if (tier !== undefined && (typeof tier !== 'object' || typeof tier.get !== 'function')) {
      throw new TypeError(`tier must be a CacheTier such as redisTier(client); got ${describe(tier)}`);
    }
    if (bus !== undefined && (typeof bus !== 'object' || typeof bus.publish !== 'function')) {
      throw new TypeError(`bus must be a CacheBus such as redisBus(client); got ${describe(bus)}`);
    }
    const s = new Shared<V>(
      defaults,
      options.sizeOf as ((value: V, key: never) => number) | undefined,
      options.maxSize,
      tier,
      bus,
    );
    s.raw = tier === undefined && bus === undefined;
    s.policy = options.policy ?? DEFAULT_POLICY;
    s.store = createStore<unknown, unknown>(s.policy, {
      max: options.max,
      maxSize: options.maxSize,
      onEvict: (key, value) => this.#onEvict(key, value),
    });
    this.#s = s;
    this.#prefix = undefined;
    this.#store = s.store;
    this.#lru = lruOf(s.store);
    this.#counters = s.counters;
    this.#slots = s.emitter.slots;
    s.syncPlain = () => {
      this.#plain = !s.mixed && this.#slots.hit === undefined;
      this.plainLru = this.#plain ? this.#lru : undefined;
    };
    s.plainHits = () => this.fastHits;
    s.syncPlain();
    registerCache(this, s, undefined);
    if (bus !== undefined) {
      bus.start({
        message: (message) => this.#onBusMessage(message),
        resync: () => {
          this.#counters.busMessages++;
          this.#dropLocal(undefined, 'remote');
        },
        error: (error) => {
          this.#counters.busErrors++;
          this.#emitError(undefined, error, 'bus');
        },
      });
    }
  }

  // ---------------------------------------------------------------- reads

  /**
   * Returns the fresh value of `key`, or `undefined`. Counts a hit or a miss and marks the entry used.
   * A stale value (past its TTL) is never returned here; `getOrSet` may serve one.
   */
  get(key: K): V | undefined {
    // The common case first: policy 'lru', the root cache, bare values, nobody listening. Keep this method
    // at 45 bytes of bytecode or less (`node --print-bytecode --print-bytecode-filter=get`): once it has
    // optimized code of its own, V8 (Node 20) inlines it into a caller's loop only if 1.2 x (its bytecode
    // + the 721 bytes of lru-cache 11's `get` it inlines) fits a budget of 920. Inlined, a loop of hits
    // runs at about 0.94x a bare lru-cache `get`; called, at 0.81-0.92x (docs/architecture.md).
    const lru = this.plainLru;
    if (lru !== undefined) {
      const e = lru.get(key);
      if (e !== undefined) {
        this.fastHits++;
        return e as V;
      }
    }
    return this.getOther(key, lru);
  }

  /**
   * `get` off the 'lru' fast hit: a miss there (`plainLru` given), the same fast path for other stores, then
   * the general one.
   */
  private getOther(key: K, plainLru: LRUCache<{}, {}> | undefined): V | undefined {
    if (plainLru !== undefined) return this.#getSlow(key, undefined);
    if (this.#plain) {
      const e = this.#store.get(key);
      if (e !== undefined) {
        this.fastHits++;
        return e as V;
      }
      return this.#getSlow(key, undefined);
    }
    const k = this.#prefix === undefined ? key : this.#prefix + String(key);
    const lru = this.#lru;
    const e = lru !== undefined ? lru.get(k as {}) : this.#store.get(k);
    return this.#getSlow(k, e);
  }

  #getSlow(k: unknown, e: unknown): V | undefined {
    if (e !== undefined) {
      if (!isEntry(e)) {
        this.#counters.hits++;
        if (this.#slots.hit !== undefined) this.#s.emitter.emit('hit', { key: k, stale: false });
        return e as V;
      }
      const now = Date.now();
      if (now < e.expires) {
        this.#counters.hits++;
        if (this.#slots.hit !== undefined) this.#s.emitter.emit('hit', { key: k, stale: false });
        return e.value as V;
      }
      if (now >= e.deadline) this.#expire(k, e);
    }
    this.#counters.misses++;
    if (this.#slots.miss !== undefined) this.#s.emitter.emit('miss', { key: k });
    return undefined;
  }

  /** Returns the fresh value of `key` without counting stats or changing its recency. */
  peek(key: K): V | undefined {
    const e = this.#store.peek(this.#key(key));
    if (e === undefined) return undefined;
    if (!this.#s.mixed || !isEntry(e)) return e as V;
    return Date.now() < e.expires ? (e.value as V) : undefined;
  }

  /** Whether `key` has a fresh value. Counts no stats and changes no recency. */
  has(key: K): boolean {
    const e = this.#store.peek(this.#key(key));
    return e !== undefined && (!this.#s.mixed || !isEntry(e) || Date.now() < e.expires);
  }

  /** The eviction policy this cache uses (`options.policy`, or the default `'tinylfu'`); shared by its namespaces. */
  get policy(): Policy {
    return this.#s.policy;
  }

  /** The number of live entries (fresh, or stale but still within a stale window). In a namespace: its own. */
  get size(): number {
    this.#purge();
    if (this.#prefix === undefined) return this.#store.size;
    let n = 0;
    for (const k of this.#store.keys()) if (typeof k === 'string' && k.startsWith(this.#prefix)) n++;
    return n;
  }

  /** Live keys, most recently used first (for `tinylfu`, an unspecified order). In a namespace: its own, unprefixed. */
  *keys(): IterableIterator<K> {
    this.#purge();
    const prefix = this.#prefix;
    for (const k of [...this.#store.keys()]) {
      if (prefix === undefined) yield k as K;
      else if (typeof k === 'string' && k.startsWith(prefix)) yield k.slice(prefix.length) as unknown as K;
    }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores `value` under `key`. Aborts an in-flight load of `key` so its result is not stored, writes
   * through to the tier, and tells other instances over the bus to drop their copy.
   *
   * @throws TypeError when `value` is `undefined` or an option is invalid; RangeError when `sizeOf` gives an
   * invalid size or the entry is larger than `maxSize`. The cache is unchanged when it throws.
   */
  set(key: K, value: V, options?: SetOptions): this {
    if (value === undefined) {
      throw new TypeError(
        'set: value must not be undefined (undefined means "no value"; use delete to remove a key)',
      );
    }
    checkKey(key);
    const s = this.#s;
    const opts = resolve(s.defaults, options, 'set');
    const k = this.#key(key);
    const weight = this.#weigh(value, key);
    if (s.tier?.check !== undefined) s.tier.check(value);
    this.#invalidateFlight(k);
    const entry = this.#write(k, value, ttlOf(value, opts, undefined), opts, undefined, weight, 'set');
    if (s.tier !== undefined && typeof k === 'string') this.#tierSet(k, entry);
    if (s.bus !== undefined && typeof k === 'string') s.bus.publish({ type: 'delete', keys: [k] });
    return this;
  }

  /** Removes `key`, aborting an in-flight load of it so its result is not stored. Returns whether a live entry was removed. */
  delete(key: K): boolean {
    const s = this.#s;
    const k = this.#key(key);
    this.#invalidateFlight(k);
    const e = this.#store.peek(k);
    let removed = false;
    if (e !== undefined) {
      removed = !isEntry(e) || Date.now() < e.deadline;
      this.#remove(k, e, 'delete');
    }
    if (typeof k === 'string') {
      if (s.tier !== undefined) this.#tierCall(k, s.tier.delete([k]));
      if (s.bus !== undefined) s.bus.publish({ type: 'delete', keys: [k] });
    }
    return removed;
  }

  /**
   * Removes every entry (in a namespace: its own), aborting in-flight loads so their results are not stored.
   * With a tier and bus, clears the tier too and tells other instances to do the same.
   */
  clear(): void {
    const s = this.#s;
    this.#dropLocal(this.#prefix, 'clear');
    const prefix = this.#prefix ?? '';
    if (s.tier !== undefined) this.#tierCall(undefined, s.tier.clear(prefix));
    if (s.bus !== undefined) s.bus.publish({ type: 'clear', prefix });
  }

  /** Removes every entry carrying `tag` (cache-wide, even through a namespace). Returns how many were removed. */
  invalidateTag(tag: string): number {
    checkTag(tag);
    return this.invalidateTags([tag]);
  }

  /** Removes every entry carrying any of `tags` (cache-wide). Returns how many were removed. */
  invalidateTags(tags: readonly string[]): number {
    const list = checkTags(tags);
    const s = this.#s;
    const removed = this.#dropTags(list);
    if (list.length > 0) {
      if (s.tier !== undefined) this.#tierCall(undefined, s.tier.invalidateTags(list, Date.now()));
      if (s.bus !== undefined) s.bus.publish({ type: 'tags', tags: list });
    }
    return removed;
  }

  // ---------------------------------------------------------------- cache-aside

  /**
   * Returns the cached value of `key`, or loads it with `loader` and stores it. However many callers ask for
   * a key at once, the loader runs once (single-flight) and all of them get its result, or its error (nothing
   * is stored then, and the next call tries again). A result of `undefined` is returned but not stored.
   *
   * With `staleWhileRevalidate`, an expired value within the window is returned at once while one background
   * load refreshes it. With `staleIfError`, a recently expired value stands in for a failed load. With
   * `timeout`, a slow loader is aborted and callers get the stale value if one is at hand, else a
   * {@link TimeoutError}. Coalesced callers share the first caller's load and its options.
   *
   * @throws TypeError (synchronously) when `loader` is not a function or an option is invalid.
   */
  getOrSet<T extends V>(key: K, loader: Loader<K, V, T>, options?: LoadOptions): Promise<T>;
  getOrSet<T extends V>(
    key: K,
    loader: Loader<K, V, T | undefined>,
    options?: LoadOptions,
  ): Promise<T | undefined>;
  getOrSet<T extends V>(
    key: K,
    loader: Loader<K, V, T | undefined>,
    options?: LoadOptions,
  ): Promise<T | undefined> {
    if (typeof loader !== 'function') {
      throw new TypeError(`getOrSet: loader must be a function; got ${describe(loader)}`);
    }
    // The common hit first, as in `get` (with options, they are validated before anything is read).
    if (this.#plain && options === undefined) {
      const lru = this.#lru;
      const e = lru !== undefined ? lru.get(key) : this.#store.get(key);
      if (e !== undefined) {
        this.fastHits++;
        return Promise.resolve(e as T);
      }
      // A miss: no prefix, no entry to serve stale; read the store only once (a second read would also
      // count the miss twice in the W-TinyLFU sketch).
      checkKey(key);
      return this.#miss(key, key, loader as Loader<K, V, V | undefined>, this.#s.defaults) as Promise<
        T | undefined
      >;
    }
    const opts = options === undefined ? this.#s.defaults : resolve(this.#s.defaults, options, 'load');
    const k = this.#prefix === undefined ? key : this.#prefix + String(key);
    const hit = this.#hit(k);
    if (hit === STALE)
      return this.#serveStale(k, key, loader as Loader<K, V, V | undefined>, opts) as Promise<T>;
    if (hit !== MISS) return Promise.resolve(hit as T);
    checkKey(key);
    return this.#miss(k, key, loader as Loader<K, V, V | undefined>, opts) as Promise<T | undefined>;
  }

  /**
   * Returns a function with `fn`'s parameters that reads through the cache. Its key is `name` plus a stable
   * encoding of the arguments (plain objects in any key order give one key; `'1'` and `1` never collide); a
   * function, symbol or class instance other than `Date` among the arguments is refused with a `TypeError`.
   *
   * @param name - a name unique to `fn` in this cache, e.g. `'course'`
   * @param fn - the function to cache; called with the arguments on a miss
   * @param options - load options for every call (validated once, here)
   */
  wrap<A extends unknown[], R extends V>(
    name: string,
    fn: (...args: A) => R | PromiseLike<R>,
    options?: LoadOptions,
  ): Wrapped<A, R> {
    if (typeof name !== 'string' || name === '')
      throw new TypeError(`wrap: name must be a non-empty string; got ${describe(name)}`);
    if (typeof fn !== 'function') throw new TypeError(`wrap: fn must be a function; got ${describe(fn)}`);
    const opts = resolve(this.#s.defaults, options, 'load');
    const keyOf = (args: A): string => `${name}(${encodeArgs(args)})`;
    const wrapped = ((...args: A): Promise<R> => {
      const userKey = keyOf(args) as unknown as K;
      const k = this.#prefix === undefined ? userKey : this.#prefix + String(userKey);
      const hit = this.#hit(k);
      if (hit !== MISS && hit !== STALE) return Promise.resolve(hit as R);
      const loader: Loader<K, V, V | undefined> = () => fn(...args);
      if (hit === STALE) return this.#serveStale(k, userKey, loader, opts) as Promise<R>;
      return this.#miss(k, userKey, loader, opts) as Promise<R>;
    }) as Wrapped<A, R>;
    wrapped.invalidate = (...args: A): boolean => this.delete(keyOf(args) as unknown as K);
    wrapped.key = (...args: A): string => keyOf(args);
    return wrapped;
  }

  // ---------------------------------------------------------------- views, events, stats, lifecycle

  /**
   * A view whose keys are prefixed with `prefix + ':'`. It shares this cache's storage, bounds, stats,
   * events, tier and bus; its `clear()` removes its own entries only. Namespaces nest.
   */
  namespace(prefix: string): Cache<string, V> {
    if (typeof prefix !== 'string' || prefix === '') {
      throw new TypeError(`namespace: prefix must be a non-empty string; got ${describe(prefix)}`);
    }
    return new Cache<string, V>({}, this.#s, `${this.#prefix ?? ''}${prefix}:`);
  }

  /** Adds a listener. Events: `hit`, `miss`, `set`, `delete`, `evict`, `expire`, `load`, `error`. */
  on<E extends CacheEventName>(event: E, listener: CacheListener<K, V, E>): this {
    this.#s.emitter.on(event, listener);
    this.#s.syncPlain();
    return this;
  }

  /** Removes a listener added with {@link Cache.on}. */
  off<E extends CacheEventName>(event: E, listener: CacheListener<K, V, E>): this {
    this.#s.emitter.off(event, listener);
    this.#s.syncPlain();
    return this;
  }

  /** Counters since creation, shared with namespaces. */
  stats(): CacheStats {
    this.#purge();
    return this.#counters.snapshot(this.#store.size, this.#s.plainHits());
  }

  /**
   * Stops timers, aborts in-flight loads (their callers still get their results) and closes the tier and bus,
   * which release the connections they opened themselves (never a client the application passed in).
   */
  async close(): Promise<void> {
    const s = this.#s;
    if (s.closed) return;
    s.closed = true;
    for (const flight of s.inflight.values()) flight.stopTimer();
    for (const flight of s.lingering.values()) flight.stopTimer();
    await Promise.all([s.tier?.close(), s.bus?.close()]);
  }

  // ---------------------------------------------------------------- internals: reads and loads

  #key(key: K): unknown {
    return this.#prefix === undefined ? key : this.#prefix + String(key);
  }

  /**
   * The cache-aside hit path: the usable value, MISS, or STALE (a stale-while-revalidate hit: the entry is in
   * `staleEntry` and the caller returns its value after starting a refresh). Takes no loader, so a hit
   * allocates nothing.
   */
  #hit(k: unknown): unknown {
    const s = this.#s;
    const lru = this.#lru;
    const e = lru !== undefined ? lru.get(k as {}) : this.#store.get(k);
    if (e === undefined) return MISS;
    if (this.#plain) {
      this.fastHits++;
      return e;
    }
    if (!this.#s.mixed || !isEntry(e)) {
      this.#counters.hits++;
      if (this.#slots.hit !== undefined) s.emitter.emit('hit', { key: k, stale: false });
      return e;
    }
    const now = Date.now();
    if (now < e.expires) {
      this.#counters.hits++;
      if (this.#slots.hit !== undefined) s.emitter.emit('hit', { key: k, stale: false });
      return e.value;
    }
    if (now < e.staleUntil) {
      this.#counters.hits++;
      this.#counters.staleHits++;
      this.#counters.swrHits++;
      if (this.#slots.hit !== undefined) s.emitter.emit('hit', { key: k, stale: true });
      this.#staleEntry = e as Entry<V>;
      return STALE;
    }
    return MISS;
  }

  /** Serves a stale-while-revalidate hit found by `#hit`: starts the refresh unless one runs, returns the stale value. */
  #serveStale(k: unknown, userKey: K, loader: Loader<K, V, V | undefined>, opts: Resolved): Promise<V> {
    const e = this.#staleEntry as Entry<V>;
    this.#staleEntry = undefined;
    if (!this.#s.inflight.has(k)) this.#startLoad(k, userKey, loader, opts, e, true);
    return Promise.resolve(e.value);
  }

  /** The cache-aside miss path: join the key's load, or start one. */
  #miss(k: unknown, userKey: K, loader: Loader<K, V, V | undefined>, opts: Resolved): Promise<V | undefined> {
    const s = this.#s;
    this.#counters.misses++;
    if (this.#slots.miss !== undefined) s.emitter.emit('miss', { key: k });
    const running = s.inflight.get(k);
    if (running !== undefined) return running.promise;
    let stale: Entry<V> | undefined;
    const e = this.#store.peek(k);
    if (isEntry(e)) {
      if (Date.now() < e.deadline) stale = e as Entry<V>;
      else this.#expire(k, e);
    }
    return this.#startLoad(k, userKey, loader, opts, stale, false).promise;
  }

  #startLoad(
    k: unknown,
    userKey: K,
    loader: Loader<K, V, V | undefined>,
    opts: Resolved,
    stale: Entry<V> | undefined,
    background: boolean,
  ): Flight<V> {
    const s = this.#s;
    const flight = new Flight<V>(opts.tags, Date.now(), stale);
    if (s.lingering.size > 0) {
      const older = s.lingering.get(k);
      if (older !== undefined) {
        // A newer load supersedes a lingering one: the older read must never overwrite the newer.
        older.detached = true;
        s.lingering.delete(k);
      }
    }
    s.inflight.set(k, flight);
    this.#counters.loads++;
    if (background) this.#counters.refreshes++;
    if (opts.timeout > 0)
      flight.timer = setTimeout(() => this.#onTimeout(k, flight, opts.timeout), opts.timeout);
    void this.#run(k, userKey, loader, opts, flight, background);
    return flight;
  }

  async #run(
    k: unknown,
    userKey: K,
    loader: Loader<K, V, V | undefined>,
    opts: Resolved,
    flight: Flight<V>,
    background: boolean,
  ): Promise<void> {
    const s = this.#s;
    if (s.tier !== undefined && typeof k === 'string') {
      const found = await this.#fromTier(k, flight, background);
      if (found) return;
    }
    let ttlOverride: number | undefined;
    const context: LoaderContext<K, V> = {
      key: userKey,
      signal: flight.controller.signal,
      stale: flight.stale?.value,
      setTtl: (ttl: Duration) => {
        ttlOverride = toMs(ttl, 'setTtl', false, true);
      },
    };
    const started = Date.now();
    let value: V | undefined;
    try {
      const wrappers = s.loadWrappers;
      value =
        wrappers.length === 0
          ? await loader(context)
          : ((await runWrapped(wrappers, k, background, context.signal, () => loader(context))) as
              | V
              | undefined);
    } catch (error) {
      this.#loadFailed(k, flight, error, background, started);
      return;
    }
    flight.stopTimer();
    this.#emitLoad(k, started, background, true, 'loader', flight.timedOut);
    if (value !== undefined && !flight.invalidated && !flight.detached && !s.closed) {
      try {
        const weight = this.#weigh(value, userKey);
        const entry = this.#write(
          k,
          value,
          ttlOf(value, opts, ttlOverride),
          opts,
          flight.startedAt,
          weight,
          'load',
        );
        if (s.tier !== undefined && typeof k === 'string') this.#tierSet(k, entry);
      } catch (error) {
        this.#emitError(k, error, 'store');
      }
    }
    this.#release(k, flight);
    flight.settle(true, value);
  }

  /** Looks the key up in the tier. Returns true when the flight was answered from there. */
  async #fromTier(k: string, flight: Flight<V>, background: boolean): Promise<boolean> {
    const s = this.#s;
    const tier = s.tier as CacheTier;
    const started = Date.now();
    let record: TierRecord | undefined;
    try {
      record = await tier.get(k);
    } catch (error) {
      this.#counters.tierErrors++;
      this.#emitError(k, error, 'tier');
      return false;
    }
    if (record === undefined) {
      this.#counters.tierMisses++;
      return false;
    }
    const now = Date.now();
    if (now >= record.expires) {
      this.#counters.tierMisses++;
      // Not fresh, but still useful as the stale value for fallbacks when memory has none.
      if (flight.stale === undefined && now < Math.max(record.staleUntil, record.errorUntil)) {
        flight.stale = entryOf(record, k) as Entry<V>;
      }
      return false;
    }
    this.#counters.tierHits++;
    flight.stopTimer();
    if (!flight.invalidated && !flight.detached && !s.closed) {
      try {
        const weight = this.#weigh(record.value as V, k as unknown as K);
        this.#put(k, entryOf(record, k), weight, 'tier', record.value, record.expires - now);
      } catch (error) {
        this.#emitError(k, error, 'store');
      }
    }
    this.#emitLoad(k, started, background, true, 'tier', flight.timedOut);
    this.#release(k, flight);
    flight.settle(true, record.value);
    return true;
  }

  #loadFailed(k: unknown, flight: Flight<V>, error: unknown, background: boolean, started: number): void {
    flight.stopTimer();
    if (!flight.timedOut) this.#counters.loadErrors++;
    this.#emitLoad(k, started, background, false, 'loader', flight.timedOut);
    this.#release(k, flight);
    if (flight.settled) {
      // Callers were answered by a timeout already; report the late failure.
      this.#emitError(k, error, background ? 'refresh' : 'load');
      return;
    }
    const stale = flight.stale;
    if (!flight.invalidated && stale !== undefined && Date.now() < stale.errorUntil) {
      this.#counters.staleHits++;
      this.#emitError(k, error, background ? 'refresh' : 'load');
      flight.settle(true, stale.value);
      return;
    }
    if (background) this.#emitError(k, error, 'refresh');
    flight.settle(false, error);
  }

  #onTimeout(k: unknown, flight: Flight<V>, timeout: number): void {
    const s = this.#s;
    flight.timer = undefined;
    if (flight.settled) return;
    flight.timedOut = true;
    this.#counters.timeouts++;
    this.#counters.loadErrors++;
    const error = new TimeoutError(timeout, k);
    flight.controller.abort(error);
    const stale = flight.stale;
    if (!flight.invalidated && stale !== undefined && Date.now() < stale.deadline) {
      // Soft timeout: answer with the stale value. The load leaves the in-flight table (the next call starts a
      // new one) but may still finish and store its result, unless an invalidation or a newer load comes first.
      this.#release(k, flight);
      s.lingering.set(k, flight);
      this.#counters.staleHits++;
      this.#emitError(k, error, 'load');
      flight.settle(true, stale.value);
      return;
    }
    // Hard timeout: the next call starts a new load, and this one's late result is not stored.
    flight.detached = true;
    this.#release(k, flight);
    flight.settle(false, error);
  }

  // ---------------------------------------------------------------- internals: storage

  /** Validates and returns the entry's weight for `maxSize` (0 when unweighted). */
  #weigh(value: V, key: K): number {
    const s = this.#s;
    if (s.sizeOf === undefined) return 0;
    const size = s.sizeOf(value, key as never);
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) {
      throw new RangeError(
        `sizeOf must return a positive integer; got ${describe(size)} for key ${String(key)}`,
      );
    }
    if (size > (s.maxSize as number)) {
      throw new RangeError(`entry size ${size} for key ${String(key)} is larger than maxSize ${s.maxSize}`);
    }
    return size;
  }

  /**
   * Builds the stored form of a value and stores it. Returns the entry (for the tier). `createdAt` is when
   * the value was produced (a load's start), or undefined for now: the clock is read only if an entry is built.
   */
  #write(
    k: unknown,
    value: V,
    ttl: number,
    opts: Resolved,
    createdAt: number | undefined,
    weight: number,
    source: 'set' | 'load',
  ): Entry<V> | undefined {
    const s = this.#s;
    const tags = opts.tags !== undefined && opts.tags.length > 0 ? opts.tags : undefined;
    if (s.raw && ttl === Number.POSITIVE_INFINITY && tags === undefined) {
      this.#put(k, value, weight, source, value, ttl);
      return undefined;
    }
    const now = Date.now();
    const expires = now + ttl;
    const staleUntil = expires + opts.swr;
    const errorUntil = expires + opts.sie;
    const deadline = Math.max(staleUntil, errorUntil);
    const entry = new Entry<V>(value, expires, staleUntil, errorUntil, deadline, tags, createdAt ?? now, k);
    this.#put(k, entry, weight, source, value, ttl);
    return entry;
  }

  #put(
    k: unknown,
    stored: unknown,
    weight: number,
    source: 'set' | 'load' | 'tier',
    value: unknown,
    ttl: number,
  ): void {
    const s = this.#s;
    if (s.tagIndex.size > 0 || s.expiry.length > 0) {
      const old = this.#store.peek(k);
      if (isEntry(old)) {
        if (old.tags !== undefined) this.#unlink(k, old.tags);
        // The replaced entry leaves the expiry queue now, so the queue never keeps its value reachable.
        s.expiry.remove(old);
      }
    }
    if (isEntry(stored)) {
      if (!s.mixed) {
        s.mixed = true;
        s.syncPlain();
      }
      if (stored.tags !== undefined) {
        for (const tag of stored.tags) {
          let keys = s.tagIndex.get(tag);
          if (keys === undefined) {
            keys = new Set();
            s.tagIndex.set(tag, keys);
          }
          keys.add(k);
        }
      }
    }
    // Expired entries go before the policy evicts a live one to make room.
    if (s.expiry.length > 0) this.#purge();
    // Queued after the purge, which only expires entries it finds stored.
    if (isEntry(stored) && stored.deadline !== Number.POSITIVE_INFINITY) s.expiry.push(stored);
    this.#store.set(k, stored, weight);
    if (this.#slots.set !== undefined) s.emitter.emit('set', { key: k, value, ttl, source });
  }

  #unlink(k: unknown, tags: readonly string[]): void {
    const index = this.#s.tagIndex;
    for (const tag of tags) {
      const keys = index.get(tag);
      if (keys?.delete(k) && keys.size === 0) index.delete(tag);
    }
  }

  /** Removes a held entry on request and reports it. */
  #remove(k: unknown, e: unknown, reason: DeleteReason): void {
    const s = this.#s;
    if (isEntry(e)) {
      if (e.tags !== undefined) this.#unlink(k, e.tags);
      s.expiry.remove(e);
    }
    this.#store.delete(k);
    if (this.#slots.delete !== undefined) s.emitter.emit('delete', { key: k, reason });
  }

  #expire(k: unknown, e: Entry<unknown>): void {
    const s = this.#s;
    if (e.tags !== undefined) this.#unlink(k, e.tags);
    s.expiry.remove(e);
    this.#store.delete(k);
    this.#counters.expirations++;
    if (this.#slots.expire !== undefined) s.emitter.emit('expire', { key: k });
  }

  #onEvict(k: unknown, e: unknown): void {
    const s = this.#s;
    if (isEntry(e)) {
      if (e.tags !== undefined) this.#unlink(k, e.tags);
      // An evicted entry leaves the expiry queue at once: queued, it kept its value (and its memory) alive.
      s.expiry.remove(e);
    }
    this.#counters.evictions++;
    if (this.#slots.evict !== undefined) {
      s.emitter.emit('evict', { key: k, value: isEntry(e) ? e.value : e });
    }
  }

  /**
   * Drops entries past their deadline: O(log n) each, nothing to do when none has expired. The queue holds
   * only stored entries (each leaves it when it leaves the store).
   */
  #purge(): void {
    const s = this.#s;
    const queue = s.expiry;
    if (queue.length === 0) return;
    const now = Date.now();
    while (queue.peekDeadline() <= now) {
      const e = queue.pop() as Entry<unknown>;
      if (this.#store.peek(e.key) === e) this.#expire(e.key, e);
    }
  }

  /** Takes a settled or finished flight out of the tables, if it is still the one registered for `k`. */
  #release(k: unknown, flight: Flight<V>): void {
    const s = this.#s;
    if (s.inflight.get(k) === flight) s.inflight.delete(k);
    else if (s.lingering.get(k) === flight) s.lingering.delete(k);
  }

  /** Stops loads of `k` (running or lingering) from storing their results and aborts their signals. */
  #invalidateFlight(k: unknown): void {
    const s = this.#s;
    if (s.inflight.size > 0) {
      const flight = s.inflight.get(k);
      if (flight !== undefined) {
        s.inflight.delete(k);
        invalidate(flight);
      }
    }
    if (s.lingering.size > 0) {
      const flight = s.lingering.get(k);
      if (flight !== undefined) {
        s.lingering.delete(k);
        invalidate(flight);
      }
    }
  }

  /** Invalidates every load (running or lingering) whose key and flight match. */
  #invalidateFlights(match: (k: unknown, flight: Flight<V>) => boolean): void {
    const s = this.#s;
    for (const table of [s.inflight, s.lingering]) {
      if (table.size === 0) continue;
      for (const [k, flight] of [...table]) {
        if (match(k, flight)) {
          table.delete(k);
          invalidate(flight);
        }
      }
    }
  }

  /** Removes local entries and loads under `prefix` (all when undefined), without telling the tier or bus. */
  #dropLocal(prefix: string | undefined, reason: DeleteReason): void {
    const s = this.#s;
    this.#invalidateFlights((k) => prefix === undefined || (typeof k === 'string' && k.startsWith(prefix)));
    if (prefix === undefined) {
      const keys = this.#slots.delete !== undefined ? [...this.#store.keys()] : undefined;
      this.#store.clear();
      s.tagIndex.clear();
      s.expiry.clear();
      s.mixed = false;
      s.syncPlain();
      if (keys !== undefined) for (const k of keys) s.emitter.emit('delete', { key: k, reason });
      return;
    }
    for (const [k, e] of [...this.#store.entries()]) {
      if (typeof k === 'string' && k.startsWith(prefix)) this.#remove(k, e, reason);
    }
  }

  /** Removes local entries and loads carrying any of `tags`. Returns how many live entries were removed. */
  #dropTags(tags: readonly string[], reason: DeleteReason = 'tag'): number {
    const s = this.#s;
    this.#invalidateFlights((_k, flight) => flight.tags?.some((t) => tags.includes(t)) === true);
    let removed = 0;
    const now = Date.now();
    for (const tag of tags) {
      const keys = s.tagIndex.get(tag);
      if (keys === undefined) continue;
      for (const k of [...keys]) {
        const e = this.#store.peek(k);
        if (e === undefined) continue;
        if (!isEntry(e) || now < e.deadline) removed++;
        this.#remove(k, e, reason);
      }
    }
    return removed;
  }

  // ---------------------------------------------------------------- internals: tier, bus, errors

  #tierSet(k: string, entry: Entry<V> | undefined): void {
    const tier = this.#s.tier as CacheTier;
    if (entry === undefined) return;
    const record: TierRecord = {
      value: entry.value,
      expires: entry.expires,
      staleUntil: entry.staleUntil,
      errorUntil: entry.errorUntil,
      tags: entry.tags ?? [],
      createdAt: entry.createdAt,
    };
    let pending: Promise<void>;
    try {
      pending = tier.set(k, record);
    } catch (error) {
      pending = Promise.reject(error);
    }
    this.#tierCall(k, pending);
  }

  #tierCall(k: unknown, pending: Promise<unknown>): void {
    pending.then(undefined, (error: unknown) => {
      this.#counters.tierErrors++;
      this.#emitError(k, error, 'tier');
    });
  }

  #onBusMessage(message: BusMessage): void {
    this.#counters.busMessages++;
    switch (message.type) {
      case 'delete':
        for (const k of message.keys) {
          this.#invalidateFlight(k);
          const e = this.#store.peek(k);
          if (e !== undefined) this.#remove(k, e, 'remote');
        }
        return;
      case 'tags':
        this.#dropTags(message.tags, 'remote');
        return;
      case 'clear':
        this.#dropLocal(message.prefix === '' ? undefined : message.prefix, 'remote');
        return;
    }
  }

  #emitLoad(
    k: unknown,
    started: number,
    refresh: boolean,
    ok: boolean,
    source: 'loader' | 'tier',
    timedOut: boolean,
  ): void {
    if (this.#slots.load !== undefined) {
      this.#s.emitter.emit('load', { key: k, duration: Date.now() - started, refresh, ok, source, timedOut });
    }
  }

  #emitError(
    k: unknown,
    error: unknown,
    operation: 'load' | 'refresh' | 'store' | 'tier' | 'bus' | 'listener',
  ): void {
    const s = this.#s;
    if (this.#slots.error !== undefined) s.emitter.emit('error', { key: k, error, operation });
  }
}

/** The TTL of a value about to be stored: the loader's override, `nullTtl` for `null`, else `ttl`, with jitter. */
function ttlOf(value: unknown, opts: Resolved, override: number | undefined): number {
  let ttl = override ?? (value === null && opts.nullTtl !== undefined ? opts.nullTtl : opts.ttl);
  if (opts.jitter > 0 && ttl !== Number.POSITIVE_INFINITY) ttl = ttl * (1 - opts.jitter * Math.random());
  return ttl;
}

function entryOf(record: TierRecord, key: string): Entry<unknown> {
  return new Entry(
    record.value,
    record.expires,
    Math.max(record.staleUntil, record.expires),
    Math.max(record.errorUntil, record.expires),
    Math.max(record.expires, record.staleUntil, record.errorUntil),
    record.tags.length > 0 ? record.tags : undefined,
    record.createdAt,
    key,
  );
}

/** Marks a load so its result is not stored, and aborts its signal. */
function invalidate<V>(flight: Flight<V>): void {
  flight.invalidated = true;
  flight.controller.abort();
}

function checkKey(key: unknown): void {
  if (key === undefined || key === null) throw new TypeError(`key must not be ${key}`);
}

/** The `LRUCache` of an `LruStore` (see `Cache.#lru`). */
function lruOf(store: Store<unknown, unknown>): LRUCache<{}, {}> | undefined {
  return store instanceof LruStore ? (store.lru as LRUCache<{}, {}>) : undefined;
}
