import type { LRUCache } from 'lru-cache';
import {
  Batches,
  type BatchLoader,
  checkDelay,
  coalesce,
  type IdBatch,
  keysOf,
  type LoadMany,
  loaderName,
  resolveMany,
  type WrappedMany,
} from './batch.js';
import { Coherence } from './coherence.js';
import { describe } from './duration.js';
import { type Entry, isEntry } from './entry.js';
import type { CacheEventName, CacheListener } from './events.js';
import { registerCache } from './internals.js';
import { encodeArgs, escapeNamespace } from './key.js';
import { type Loader, Loads } from './loads.js';
import {
  type BatchLoaderOptions,
  type CacheOptions,
  checkCacheOptions,
  checkTag,
  checkTags,
  type LoadOptions,
  type ManyOptions,
  NO_OPTIONS,
  type Policy,
  type Resolved,
  resolve,
  type WriteOptions,
} from './options.js';
import { createStore } from './policy/create-store.js';
import { DEFAULT_POLICY } from './policy/default-policy.js';
import { LruStore } from './policy/lru-store.js';
import type { Store } from './policy/store.js';
import { CacheState, MISS, STALE, ttlOf } from './state.js';
import type { CacheStats, Counters } from './stats.js';

export type { BatchContext, BatchLoader, BatchResult, LoadMany, WrappedMany } from './batch.js';
export type { Loader, LoaderContext } from './loads.js';

/**
 * The longest `close` waits for invalidations still waiting on their tier writes before it closes the bus (a
 * Redis tier settles every call within its `timeout`, 250 ms by default).
 */
const CLOSE_DRAIN_MS = 5000;

/** The function `wrap` returns: `fn` read through the cache, plus helpers for its keys. */
export type Wrapped<A extends unknown[], R> = ((...args: A) => Promise<R>) & {
  /** Removes the cached result for these arguments (and stops an in-flight load from storing). */
  invalidate(...args: A): boolean;
  /** The cache key for these arguments. */
  key(...args: A): string;
};

/*
 * Why this file is over 600 lines: `Cache` is the facade, and its other jobs live in state.ts (storage), loads.ts
 * (loading), coherence.ts (tier and bus) and batch.ts (batches). What stays here is the public API (most of the
 * lines are its TSDoc) and the two hit paths, on purpose: `get` must stay at 45 bytes of bytecode so that V8
 * inlines it, with lru-cache's `get`, into callers' loops (docs/architecture.md has the numbers: 0.78-0.82x against
 * 0.91-0.97x of a bare lru-cache `get`), and a `getOrSet` hit must not pay a call into another object.
 */

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
  readonly #s: CacheState<V>;
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
  readonly #slots: CacheState<V>['slots'];
  readonly #loads: Loads<V>;
  readonly #coherence: Coherence<V>;
  readonly #batches: Batches<V>;
  /**
   * Whether a read may take the fast path: the root cache (no prefix), only bare values stored (`!mixed`) and
   * no `hit` listener. Kept current by `Shared.syncPlain`; always false in a namespace.
   */
  #plain = false;
  /**
   * Whether `set` without options may store the bare value straight into the store: `#plain`, and nothing a write
   * must do besides (no tier or bus, no `sizeOf`, no default `ttl`, `nullTtl` or `tags`, no `set` listener). Kept
   * current by `Shared.syncPlain` with `#plain`.
   */
  #plainSet = false;
  // The next two fields and `getOther` are TypeScript-private rather than `#`-private on purpose: reading a
  // named property takes fewer bytes of bytecode than a `#` field, and a `#` method call also checks the
  // brand. `get` must stay at 45 bytes (see there).
  /** `#lru` while `#plain`, else undefined: one test decides `get`'s fast path with policy 'lru'. */
  private plainLru: LRUCache<{}, {}> | undefined = undefined;
  /** Hits counted on the fast path, on this object itself so that a hit writes no other object. */
  private fastHits = 0;

  /**
   * @param options - bounds (`max` and/or `maxSize` with `sizeOf`), default entry options (`ttl`,
   * `staleWhileRevalidate`, `staleIfError`, `timeout`, `jitter`, `nullTtl`), `policy`, `tier` and `bus`.
   * @throws TypeError or RangeError naming the option when an option is invalid.
   */
  constructor(options: CacheOptions<K, V>);
  /** @internal */
  constructor(options: CacheOptions<K, V>, shared: CacheState<V>, prefix: string);
  constructor(options: CacheOptions<K, V>, shared?: CacheState<V>, prefix?: string) {
    if (shared !== undefined) {
      this.#s = shared;
      this.#prefix = prefix;
      this.#store = shared.store;
      this.#lru = lruOf(shared.store);
      this.#counters = shared.counters;
      this.#slots = shared.slots;
      this.#loads = shared.loads;
      this.#coherence = shared.loads.coherence;
      this.#batches = shared.batches;
      registerCache(this, shared, prefix);
      return;
    }
    checkCacheOptions(options);
    const defaults = resolve(
      NO_OPTIONS,
      { ...options, max: undefined, maxSize: undefined } as LoadOptions,
      'cache',
    );
    const { tier, bus } = options; // checked by checkCacheOptions
    const s = new CacheState<V>(
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
      onEvict: (key, value) => s.onEvict(key, value),
    });
    this.#coherence = new Coherence(s);
    this.#loads = new Loads(s, this.#coherence);
    s.loads = this.#loads;
    this.#batches = new Batches(s, this.#loads, this.#coherence);
    s.batches = this.#batches;
    this.#s = s;
    this.#prefix = undefined;
    this.#store = s.store;
    this.#lru = lruOf(s.store);
    this.#counters = s.counters;
    this.#slots = s.slots;
    s.syncPlain = () => {
      this.#plain = !s.mixed && this.#slots.hit === undefined;
      this.plainLru = this.#plain ? this.#lru : undefined;
      const d = s.defaults;
      this.#plainSet =
        this.#plain &&
        s.raw &&
        s.sizeOf === undefined &&
        d.ttl === Number.POSITIVE_INFINITY &&
        d.nullTtl === undefined &&
        d.tags === undefined &&
        this.#slots.set === undefined;
    };
    s.plainHits = () => this.fastHits;
    s.syncPlain();
    registerCache(this, s, undefined);
    this.#coherence.start();
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
    const k = this.#prefix === undefined ? key : this.#prefix + nsKey(key);
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
      if (now >= e.deadline) this.#s.expire(k, e);
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
    this.#s.purge();
    if (this.#prefix === undefined) return this.#store.size;
    let n = 0;
    for (const k of this.#store.keys()) if (typeof k === 'string' && k.startsWith(this.#prefix)) n++;
    return n;
  }

  /** Live keys, most recently used first (for `tinylfu`, an unspecified order). In a namespace: its own, unprefixed. */
  *keys(): IterableIterator<K> {
    this.#s.purge();
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
   * Its TTL is `options.ttl` whatever the value, `null` included (the caller gave both); without one, the cache's
   * `nullTtl` for a `null` value, else the cache's `ttl`.
   *
   * @throws TypeError when `value` is `undefined` or an option is invalid; RangeError when `sizeOf` gives an
   * invalid size or the entry is larger than `maxSize`. The cache is unchanged when it throws.
   */
  set(key: K, value: V, options?: WriteOptions): this {
    // A plain cache's write of a bare value (see `#plainSet`): what `#write` would do, without building its options.
    if (options === undefined && this.#plainSet && value !== undefined && key != null) {
      this.#loads.invalidate(key);
      this.#store.set(key, value, 0);
      return this;
    }
    return this.#write(key, value, options);
  }

  #write(key: K, value: V, options: WriteOptions | undefined): this {
    if (value === undefined) {
      throw new TypeError(
        'set: value must not be undefined (undefined means "no value"; use delete to remove a key)',
      );
    }
    checkKey(key);
    const s = this.#s;
    const opts = resolve(s.defaults, options, 'set');
    const broadcast = options?.broadcast;
    if (broadcast !== undefined && typeof broadcast !== 'boolean') {
      throw new TypeError(`set: options.broadcast must be a boolean; got ${describe(broadcast)}`);
    }
    const k = this.#key(key);
    const weight = s.weigh(value, key);
    if (s.tier?.check !== undefined) s.tier.check(value);
    this.#loads.invalidate(k);
    // A ttl given with this call applies whatever the value, null included: nullTtl is for loaded nulls (and a set
    // of null without a ttl of its own).
    const ttl = ttlOf(value, opts, options?.ttl === undefined ? undefined : opts.ttl);
    const entry = s.write(k, value, ttl, opts, undefined, weight, 'set');
    const written =
      s.tier !== undefined && typeof k === 'string' ? this.#coherence.tierSet(k, entry) : undefined;
    if (broadcast !== false) this.#coherence.deleted(k, false, written);
    return this;
  }

  /** Removes `key`, aborting an in-flight load of it so its result is not stored. Returns whether a live entry was removed. */
  delete(key: K): boolean {
    const k = this.#key(key);
    this.#loads.invalidate(k);
    const e = this.#store.peek(k);
    let removed = false;
    if (e !== undefined) {
      removed = !isEntry(e) || Date.now() < e.deadline;
      this.#s.remove(k, e, 'delete');
    }
    this.#coherence.deleted(k, true);
    return removed;
  }

  /**
   * Removes every entry (in a namespace: its own), aborting in-flight loads so their results are not stored.
   * With a tier and bus, clears the tier too and tells other instances to do the same.
   */
  clear(): void {
    this.#s.dropLocal(this.#prefix, 'clear');
    this.#coherence.cleared(this.#prefix ?? '');
  }

  /**
   * Removes every entry carrying `tag` (cache-wide, even through a namespace), and stops in-flight loads of their
   * keys (whether or not the load was given the tag) and loads that would store an entry carrying it: their results
   * are not stored. Returns how many were removed.
   */
  invalidateTag(tag: string): number {
    checkTag(tag);
    return this.invalidateTags([tag]);
  }

  /** Removes every entry carrying any of `tags` (cache-wide). Returns how many were removed. */
  invalidateTags(tags: readonly string[]): number {
    const list = checkTags(tags);
    const removed = this.#s.dropTags(list);
    this.#coherence.tagsInvalidated(list);
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
   * A `set`, `delete`, `clear` or tag invalidation of the key during the load aborts its signal and keeps its result
   * out of the cache. Waiting callers still get the result if the loader returns one; if it gives up on the abort,
   * they get what a call made then would (the value set, or a newer load's result), see docs/cache-aside.md.
   *
   * @throws TypeError (synchronously) when `loader` is not a function, an option is invalid, or `key` is `undefined`
   * or `null` (in a namespace, anything but a string).
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
      return this.#loads.miss(key, key, loader as AnyLoader<V>, this.#s.defaults) as Promise<T | undefined>;
    }
    const opts = options === undefined ? this.#s.defaults : resolve(this.#s.defaults, options, 'load');
    const k = this.#prefix === undefined ? key : this.#prefix + nsKey(key);
    const hit = this.#hit(k, opts);
    if (hit === STALE) return this.#serveStale(k, key, loader as AnyLoader<V>, opts) as Promise<T>;
    if (hit !== MISS) return Promise.resolve(hit as T);
    checkKey(key);
    return this.#loads.miss(k, key, loader as AnyLoader<V>, opts) as Promise<T | undefined>;
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
      const hit = this.#hit(k, opts);
      if (hit !== MISS && hit !== STALE) return Promise.resolve(hit as R);
      const loader: AnyLoader<V> = () => fn(...args);
      if (hit === STALE) return this.#serveStale(k, userKey, loader, opts) as Promise<R>;
      return this.#loads.miss(k, userKey, loader, opts) as Promise<R>;
    }) as Wrapped<A, R>;
    wrapped.invalidate = (...args: A): boolean => this.delete(keyOf(args) as unknown as K);
    wrapped.key = (...args: A): string => keyOf(args);
    return wrapped;
  }

  /**
   * Expires every entry carrying `tag` (cache-wide) without removing it: within its `staleWhileRevalidate` window
   * the stale value is served once while one refresh runs; an entry without a window is removed, as by
   * {@link Cache.invalidateTag}. Loads of those keys that are in flight are invalidated (not stored), as by
   * `invalidateTag`. Across instances like `invalidateTag`: the tier invalidates the tag, the bus tells other
   * instances to expire their copies. Returns how many entries were expired or removed, each entry once; an entry
   * stale already is left as it is and not counted.
   */
  expireTag(tag: string): number {
    checkTag(tag);
    return this.expireTags([tag]);
  }

  /** Expires every entry carrying any of `tags` (see {@link Cache.expireTag}). Returns how many, each entry once. */
  expireTags(tags: readonly string[]): number {
    const list = checkTags(tags);
    const changed = this.#s.expireTags(list);
    this.#coherence.tagsExpired(list);
    return changed;
  }

  // ---------------------------------------------------------------- batches

  /**
   * Returns the values of `keys` in order (duplicates answered in place), loading what is missing in one go:
   * memory first; then, with a tier, one round trip for the keys still missing; then one call
   * `loadMany(missing, { signal })` (per `maxBatch` keys) for the rest, answering a `Map` or `[key, value]` pairs. A
   * key the loader leaves out resolves to `undefined` and is not stored.
   *
   * Single-flight both ways: a key already loading (by `getOrSet`, `wrap` or another batch) is joined, and a
   * `getOrSet` of a key this batch loads joins it. Every per-key rule holds: an invalidation racing the batch keeps
   * that key's result out; TTL, jitter, `tags` (a list, or a function of key and value), `nullTtl`, stale windows
   * and `refreshAhead` apply per key; `timeout` applies to the `loadMany` call. A failed `loadMany` rejects (keys
   * with a stale-if-error value get it) and stores nothing.
   *
   * @throws TypeError or RangeError (synchronously) when `keys` is not an array, has a hole or holds `undefined` or
   * `null` (in a namespace, anything but a string), `loadMany` is not a function or an option is invalid. The promise
   * rejects with a TypeError naming the loader when it answers neither a Map nor pairs.
   */
  getOrSetMany<T extends V>(
    keys: readonly K[],
    loadMany: LoadMany<K, T>,
    options?: ManyOptions<K, T>,
  ): Promise<(T | undefined)[]> {
    if (!Array.isArray(keys))
      throw new TypeError(`getOrSetMany: keys must be an array; got ${describe(keys)}`);
    if (typeof loadMany !== 'function') {
      throw new TypeError(`getOrSetMany: loadMany must be a function; got ${describe(loadMany)}`);
    }
    const plan = resolveMany(this.#s.defaults, options as ManyOptions<unknown, unknown>, 'getOrSetMany');
    const prefix = this.#prefix;
    // A plain loop: `for...of` and `map` would not see a hole as one.
    const full: unknown[] = prefix === undefined ? (keys as unknown[]) : new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      if (!(i in keys)) {
        throw new TypeError(`getOrSetMany: keys is an array with a hole at index ${i}, which has no key`);
      }
      const key = keys[i];
      checkKey(key, 'getOrSetMany: keys');
      if (prefix !== undefined) {
        full[i] = prefix + nsKey(key, `getOrSetMany: keys[${i}]`);
      }
    }
    const answers = this.#batches.many(
      full,
      keys,
      loadMany as LoadMany<unknown, V>,
      plan,
      loaderName('getOrSetMany', loadMany),
    );
    return all(answers) as Promise<(T | undefined)[]>;
  }

  /**
   * Returns a function that reads a batch of ids through the cache with `loadMany` (see {@link Cache.getOrSetMany}).
   * Its entries are those of `wrap(name, fn)` with one argument: a value loaded by `wrapMany('user', ...)` is a hit
   * for `wrap('user', getUser)(id)` and the other way round.
   *
   * Ids 0 and -0 have keys of their own (as in `wrap`); a `Map` cannot tell them apart, so when a batch misses both,
   * -0 is loaded with a `loadMany` call of its own.
   *
   * @param name - the name `wrap` uses for the single-id function, e.g. `'user'`
   * @param loadMany - loads the missing ids: answers a `Map` from id to value, or `[id, value]` pairs
   * @param options - options for every call (validated once, here); `tags` may be a function of id and value
   * @throws TypeError or RangeError (synchronously) for a bad `name`, `loadMany` or option. The returned function
   * throws a TypeError at once, reading nothing, when `ids` is not an array, has a hole, or holds an id `wrap` refuses.
   */
  wrapMany<I, R extends V>(
    name: string,
    loadMany: LoadMany<I, R>,
    options?: ManyOptions<I, R>,
  ): WrappedMany<I, R> {
    const batch = this.#batchOf(name, loadMany, options, 'wrapMany');
    const wrapped = ((ids: readonly I[]) => {
      // Refuses a non-array, a hole or an id without a key before anything is read.
      const keys = keysOf(batch, ids, `wrapMany('${name}')`);
      return all(batch.answer(keys, ids)) as Promise<(R | undefined)[]>;
    }) as WrappedMany<I, R>;
    wrapped.invalidate = (id: I): boolean => this.delete(batch.keyOf(id) as unknown as K);
    wrapped.key = (id: I): string => batch.keyOf(id);
    return wrapped;
  }

  /**
   * DataLoader on top of the cache: `load(id)` calls made in the same tick (or within `options.delay` ms) are
   * coalesced into one `loadMany` of at most `options.maxBatch` ids, across requests, for the ids that memory and
   * the tier do not have. Same entries as `wrap`/`wrapMany` of that `name`.
   *
   * @throws TypeError or RangeError (synchronously) for a bad `name`, `loadMany` or option. `load` and `loadMany`
   * throw a TypeError at once for an id `wrap` refuses (and `loadMany` for `ids` with a hole), queuing nothing.
   */
  batchLoader<I, R extends V>(
    name: string,
    loadMany: LoadMany<I, R>,
    options?: BatchLoaderOptions<I, R>,
  ): BatchLoader<I, R> {
    const delay = checkDelay(options?.delay);
    const batch = this.#batchOf(name, loadMany, options, 'batchLoader', ['delay']);
    return coalesce(name, batch, delay) as BatchLoader<I, R>;
  }

  /** What `wrapMany` and `batchLoader` share: validation, the key of an id, and one batch read. */
  #batchOf<I, R extends V>(
    name: string,
    loadMany: LoadMany<I, R>,
    options: ManyOptions<I, R> | undefined,
    what: 'wrapMany' | 'batchLoader',
    extra: readonly string[] = [],
  ): IdBatch<I, V> {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`${what}: name must be a non-empty string; got ${describe(name)}`);
    }
    if (typeof loadMany !== 'function') {
      throw new TypeError(`${what}: loadMany must be a function; got ${describe(loadMany)}`);
    }
    const plan = resolveMany(this.#s.defaults, options as ManyOptions<unknown, unknown>, what, extra);
    const label = loaderName(`${what}('${name}')`, loadMany);
    // The key `wrap(name, fn)` gives a call with the one argument `id`.
    const keyOf = (id: I): string => `${name}(${encodeArgs([id])})`;
    const prefix = this.#prefix;
    return {
      keyOf,
      // `keys` come from keyOf (computed when the ids were taken), so every one is a string: no holes.
      answer: (keys, ids) => {
        let full = keys;
        if (prefix !== undefined) {
          const n = keys.length;
          const prefixed = new Array<string>(n);
          for (let i = 0; i < n; i++) prefixed[i] = prefix + (keys[i] as string);
          full = prefixed;
        }
        return this.#batches.many(full, ids, loadMany as LoadMany<unknown, V>, plan, label);
      },
    };
  }

  // ---------------------------------------------------------------- views, events, stats, lifecycle

  /**
   * A view whose keys are prefixed with `prefix + ':'` (`users` → `users:`; nested, `a` then `b` → `a:b:`). In the
   * name, `%` and `:` are escaped as `%25` and `%3A` (`namespace('tenant:42')` prefixes `tenant%3A42:`), so two
   * different names never share a key; within one namespace, its key `'b:1'` is the key `'1'` of its nested
   * namespace `'b'`. It shares this cache's storage, bounds, stats, events, tier and bus; its `clear()` removes its
   * own entries only. Namespaces nest. Its keys are strings: any other key is refused with a `TypeError`.
   *
   * @throws TypeError when `prefix` is not a non-empty string.
   */
  namespace(prefix: string): Cache<string, V> {
    if (typeof prefix !== 'string' || prefix === '') {
      throw new TypeError(`namespace: prefix must be a non-empty string; got ${describe(prefix)}`);
    }
    return new Cache<string, V>({}, this.#s, `${this.#prefix ?? ''}${escapeNamespace(prefix)}:`);
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
    this.#s.purge();
    return this.#counters.snapshot(this.#store.size, this.#s.plainHits());
  }

  /**
   * Aborts every in-flight load (`getOrSet`, `wrap` and batch loads, and soft-timed-out ones still running): the
   * loader's signal is aborted with an `Error` named `'AbortError'` whose message says the cache was closed, and
   * no result is stored from then on. Callers already waiting still settle: with the loader's value if it
   * returns one anyway, with its error if it fails (that abort error when it gives up on the signal; a load
   * closed during its tier read rejects with it without calling the loader), or, if it ignores the signal and
   * runs on, when its `timeout` ends (a `TimeoutError`; the timeouts of running loads are kept for that). Then
   * sends the invalidations still waiting for their tier writes and closes the tier and bus, which release the
   * connections they opened themselves (never a client the application passed in).
   */
  async close(): Promise<void> {
    const s = this.#s;
    if (s.closed) return;
    s.closed = true;
    this.#loads.close();
    this.#batches.close();
    // Invalidations wait for their tier writes before they are published (see Coherence.deleted): send them.
    await this.#coherence.drain(CLOSE_DRAIN_MS);
    await Promise.all([s.tier?.close(), s.bus?.close()]);
  }

  // ---------------------------------------------------------------- internals: reads and loads

  #key(key: K): unknown {
    return this.#prefix === undefined ? key : this.#prefix + nsKey(key);
  }

  /**
   * The cache-aside hit path: the usable value, MISS, or STALE (a stale-while-revalidate or refresh-ahead hit: the
   * entry is in `staleEntry` and the caller returns its value after starting a refresh). Takes no loader, so a hit
   * allocates nothing.
   */
  #hit(k: unknown, opts: Resolved): unknown {
    const lru = this.#lru;
    const e = lru !== undefined ? lru.get(k as {}) : this.#store.get(k);
    if (e === undefined) return MISS;
    if (this.#plain) {
      this.fastHits++;
      return e;
    }
    return this.#s.judge(k, e, opts);
  }

  /** Serves a stale-while-revalidate hit found by `#hit`: starts the refresh unless one runs, returns the stale value. */
  #serveStale(k: unknown, userKey: K, loader: AnyLoader<V>, opts: Resolved): Promise<V> {
    const s = this.#s;
    const e = s.staleEntry as Entry<V>;
    s.staleEntry = undefined;
    this.#loads.refresh(k, userKey, loader, opts, e);
    return Promise.resolve(e.value);
  }
}

/** `Promise.all`, without its per-element promise work when every answer is a value already (a warm page). */
function all<T>(answers: (T | Promise<T>)[]): Promise<T[]> {
  for (const answer of answers) if (answer instanceof Promise) return Promise.all(answers);
  return Promise.resolve(answers as T[]);
}

/** A loader as the loading machinery holds it (keys erased). */
type AnyLoader<V> = Loader<unknown, V, V | undefined>;

/**
 * A namespace's key, for its full key (`prefix + key`). Namespaces are `Cache<string, V>`: any other key is refused,
 * since its string form would collide (every object is `[object Object]`). Called only on the namespaced path.
 */
function nsKey(key: unknown, name = 'key'): string {
  if (typeof key === 'string') return key;
  throw new TypeError(`${name} must be a string in a namespace; got ${describe(key)}`);
}

function checkKey(key: unknown, name = 'key'): void {
  if (key === undefined || key === null) {
    throw new TypeError(name === 'key' ? `key must not be ${key}` : `${name} must not hold ${key}`);
  }
}

/** The `LRUCache` of an `LruStore` (see `Cache.#lru`). */
function lruOf(store: Store<unknown, unknown>): LRUCache<{}, {}> | undefined {
  return store instanceof LruStore ? (store.lru as LRUCache<{}, {}>) : undefined;
}
