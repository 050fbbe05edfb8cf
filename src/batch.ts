import type { Coherence } from './coherence.js';
import { describe } from './duration.js';
import type { Entry } from './entry.js';
import { TimeoutError } from './errors.js';
import type { Flight } from './flight.js';
import { runWrapped } from './internals.js';
import { closedError, type Loads } from './loads.js';
import { checkTags, type ManyOptions, type Resolved, resolve } from './options.js';
import { type CacheState, MISS, STALE } from './state.js';

/** What a batch loader receives besides the keys. */
export interface BatchContext {
  /** Aborted when the `loadMany` call times out (`timeout`) or the cache is closed. */
  readonly signal: AbortSignal;
}

/** What a batch loader answers: a `Map` from key to value, or an iterable of `[key, value]` pairs. */
export type BatchResult<K, V> = ReadonlyMap<K, V | undefined> | Iterable<readonly [K, V | undefined]>;

/**
 * Loads many keys at once from the source of truth (one `WHERE id IN (...)`). Keys it leaves out (or answers
 * with `undefined`) resolve to `undefined` and are not stored.
 */
export type LoadMany<K, V> = (
  keys: K[],
  context: BatchContext,
) => BatchResult<K, V> | PromiseLike<BatchResult<K, V>>;

/**
 * The function `wrapMany` returns: a batch of ids read through the cache, plus helpers for their keys. It throws a
 * TypeError at once, reading nothing, when `ids` is not an array, has a hole, or holds an id `wrap` refuses.
 */
export type WrappedMany<I, R> = ((ids: readonly I[]) => Promise<(R | undefined)[]>) & {
  /** Removes the cached value of `id` (and stops an in-flight load of it from storing). */
  invalidate(id: I): boolean;
  /** The cache key of `id`: the key `wrap(name, fn)(id)` uses too. */
  key(id: I): string;
};

/** What `batchLoader` returns: DataLoader-style coalescing of single loads into batches, on top of the cache. */
export interface BatchLoader<I, R> {
  /**
   * The value of `id`; calls made together (same tick, or within `delay`) are loaded with one `loadMany`. The key of
   * `id` is taken now: an object changed afterwards still loads under it (the loader is given the object).
   *
   * @throws TypeError (synchronously) for an id `wrap` refuses (a function, a symbol, ...).
   */
  load(id: I): Promise<R | undefined>;
  /**
   * The values of `ids`, in order, coalesced with any other `load` calls made together.
   *
   * @throws TypeError (synchronously), queuing none of the ids, when `ids` is not an array, has a hole, or holds an
   * id `wrap` refuses.
   */
  loadMany(ids: readonly I[]): Promise<(R | undefined)[]>;
}

/** Batch options after validation. @internal */
export interface ResolvedMany {
  readonly opts: Resolved;
  /** Per-key tags, when `tags` is a function. */
  readonly tagsOf: ((key: never, value: never) => readonly string[]) | undefined;
  readonly maxBatch: number;
}

/** Validates the options of `getOrSetMany`/`wrapMany`/`batchLoader` (`extra`: further allowed keys). @internal */
export function resolveMany(
  base: Resolved,
  options: ManyOptions<unknown, unknown> | undefined,
  what: string,
  extra: readonly string[] = [],
): ResolvedMany {
  if (options === undefined) return { opts: base, tagsOf: undefined, maxBatch: Number.POSITIVE_INFINITY };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object; got ${describe(options)}`);
  }
  const { tags, maxBatch, ...rest } = options as ManyOptions<unknown, unknown> & Record<string, unknown>;
  for (const key of extra) delete rest[key];
  let tagsOf: ResolvedMany['tagsOf'];
  const load: Record<string, unknown> = rest;
  if (typeof tags === 'function') tagsOf = tags as ResolvedMany['tagsOf'];
  else if (tags !== undefined) load.tags = tags;
  if (maxBatch !== undefined) {
    if (typeof maxBatch !== 'number') {
      throw new TypeError(`${what}: maxBatch must be a positive integer; got ${describe(maxBatch)}`);
    }
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`${what}: maxBatch must be a positive integer; got ${maxBatch}`);
    }
  }
  return { opts: resolve(base, load, 'load'), tagsOf, maxBatch: maxBatch ?? Number.POSITIVE_INFINITY };
}

/** One key of a batch: its full key, what the loader sees, and (for misses) its flight. */
interface Item<V> {
  /** Full cache key (namespace prefix included). */
  readonly k: unknown;
  /** What `loadMany` is given and answers by (the key, or the id for `wrapMany`). */
  readonly id: unknown;
  flight: Flight<V>;
}

/**
 * Batch loads: many keys through memory, then one tier round trip for the keys still missing, then one
 * `loadMany` call (per `maxBatch` keys) for the rest. Every key gets its own flight in the shared in-flight
 * table, so single and batch loads join each other both ways and every per-key rule of `Loads` holds: no
 * stale write-back, stale-if-error, soft and hard timeouts, TTL/jitter/`nullTtl`, tags.
 *
 * @internal
 */
export class Batches<V> {
  /** The abort controllers of running `loadMany` calls (aborted by `close`). */
  readonly #running = new Map<AbortController, string>();

  constructor(
    readonly s: CacheState<V>,
    readonly loads: Loads<V>,
    readonly coherence: Coherence<V>,
  ) {}

  /**
   * Answers `keys` (full keys; `ids[i]` is what the loader knows `keys[i]` by) in order: a value, or the promise
   * of a load (joined or started). Duplicates share one answer.
   */
  many(
    keys: readonly unknown[],
    ids: readonly unknown[],
    loadMany: LoadMany<unknown, V>,
    plan: ResolvedMany,
    name: string,
  ): (V | undefined | Promise<V | undefined>)[] {
    const s = this.s;
    const { opts } = plan;
    const out: (V | undefined | Promise<V | undefined>)[] = new Array(keys.length);
    const first = new Map<unknown, number>();
    const missing: Item<V>[] = [];
    const refresh: Item<V>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const seen = first.get(k);
      if (seen !== undefined) {
        out[i] = out[seen];
        continue;
      }
      first.set(k, i);
      const e = s.store.get(k);
      const hit = e === undefined ? MISS : s.judge(k, e, opts);
      if (hit === STALE) {
        const entry = s.staleEntry as Entry<V>;
        s.staleEntry = undefined;
        out[i] = entry.value;
        if (!this.loads.inflight.has(k)) {
          refresh.push({ k, id: ids[i], flight: this.#register(k, plan, entry, true) });
        }
        continue;
      }
      if (hit !== MISS) {
        out[i] = hit as V;
        continue;
      }
      s.counters.misses++;
      if (s.slots.miss !== undefined) s.emitter.emit('miss', { key: k });
      const running = this.loads.inflight.get(k);
      if (running !== undefined) {
        running.waiters++;
        out[i] = running.promise;
        continue;
      }
      const flight = this.#register(k, plan, this.loads.staleOf(k), false);
      missing.push({ k, id: ids[i], flight });
      out[i] = flight.promise;
    }
    if (missing.length > 0) this.#load(missing, loadMany, plan, name, false);
    if (refresh.length > 0) this.#load(refresh, loadMany, plan, name, true);
    return out;
  }

  /**
   * On `close`: aborts every running `loadMany` call's signal with a {@link closedError}. Their timeouts keep
   * running, so that callers of a `loadMany` that ignores its signal are still answered.
   */
  close(): void {
    for (const [controller, name] of this.#running) controller.abort(closedError(name));
    this.#running.clear();
  }

  #register(k: unknown, plan: ResolvedMany, stale: Entry<V> | undefined, background: boolean): Flight<V> {
    const flight = this.loads.register(k, plan.opts, stale, background);
    // Tags computed from the loaded value are unknown until then: any tag invalidation stops the write.
    if (plan.tagsOf !== undefined) flight.anyTag = true;
    return flight;
  }

  #load(
    items: Item<V>[],
    loadMany: LoadMany<unknown, V>,
    plan: ResolvedMany,
    name: string,
    background: boolean,
  ): void {
    // The loader's answer is looked up in a Map, where -0 and 0 are one key; their cache keys differ (`wrap` keys -0
    // apart from 0), so ids 0 and -0 are never sent in one call: -0 gets a call of its own.
    const minusZero = takeMinusZero(items);
    const size = plan.maxBatch;
    for (let i = 0; i < items.length; i += size) {
      void this.#chunk(items.slice(i, i + size), loadMany, plan, name, background);
    }
    if (minusZero !== undefined) void this.#chunk([minusZero], loadMany, plan, name, background);
  }

  async #chunk(
    items: Item<V>[],
    loadMany: LoadMany<unknown, V>,
    plan: ResolvedMany,
    name: string,
    background: boolean,
  ): Promise<void> {
    const s = this.s;
    const loads = this.loads;
    const { opts } = plan;
    const controller = new AbortController();
    this.#running.set(controller, name);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (opts.timeout > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        controller.abort(new TimeoutError(opts.timeout, name));
        for (const item of items) loads.timedOut(item.k, item.flight, opts.timeout);
      }, opts.timeout);
    }
    const stop = () => {
      this.#running.delete(controller);
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
    };
    let started = Date.now();
    let rest = items;
    if (s.tier !== undefined) {
      const fromTier = items.filter((item) => typeof item.k === 'string');
      if (fromTier.length > 0) {
        for (const item of fromTier) item.flight.readingTier = true;
        const records = await this.coherence.tierGetMany(fromTier.map((item) => item.k as string));
        for (const item of fromTier) item.flight.readingTier = false;
        const answered = new Set<Item<V>>();
        for (const [i, item] of fromTier.entries()) {
          if (loads.fromTier(item.k as string, item.id, item.flight, records[i], background, started))
            answered.add(item);
        }
        rest = items.filter((item) => !answered.has(item));
        if (rest.length === 0) {
          stop();
          return;
        }
        // Closed during the tier read: `loadMany` is not called with an aborted signal.
        if (controller.signal.aborted && s.closed) {
          stop();
          for (const item of rest) loads.gaveUp(item.k, item.flight, controller.signal.reason);
          return;
        }
      }
    }
    started = Date.now();
    let map: ReadonlyMap<unknown, V | undefined>;
    try {
      const ids = rest.map((item) => item.id);
      const run = () => loadMany(ids, { signal: controller.signal });
      const wrappers = s.loadWrappers;
      // larder/otel's traceLoads: one span per loadMany run, named after its first key.
      map = toMap(
        await (wrappers.length === 0
          ? run()
          : runWrapped(wrappers, (rest[0] as (typeof rest)[number]).k, background, controller.signal, run)),
        name,
      );
    } catch (error) {
      stop();
      for (const item of rest) loads.failed(item.k, item.flight, error, background, started);
      return;
    }
    stop();
    for (const item of rest) {
      const { k, id, flight } = item;
      s.emitLoad(k, started, background, true, 'loader', flight.timedOut);
      const value = map.get(id);
      let tags = opts.tags;
      let storable = true;
      if (plan.tagsOf !== undefined && value !== undefined) {
        try {
          tags = checkTags(plan.tagsOf(id as never, value as never), `${name}: tags(key, value)`);
        } catch (error) {
          storable = false;
          s.emitError(k, error, 'store');
        }
      }
      if (storable) loads.keep(k, id, value, opts, flight, undefined, tags);
      loads.release(k, flight);
      flight.settle(true, value);
    }
  }
}

/**
 * Removes and returns the item of id -0 when `items` also holds id 0 (else leaves `items` as it is): a Map (what a
 * `loadMany` answer is read as) holds one value for both, so one call cannot answer them apart.
 */
function takeMinusZero<V>(items: Item<V>[]): Item<V> | undefined {
  let zero = false;
  let minus = -1;
  for (let i = 0; i < items.length; i++) {
    const id = (items[i] as Item<V>).id;
    if (id === 0) {
      if (Object.is(id, -0)) minus = i;
      else zero = true;
    }
  }
  return zero && minus >= 0 ? items.splice(minus, 1)[0] : undefined;
}

/** A `loadMany` answer as a Map, or a TypeError naming the loader. */
function toMap<V>(result: unknown, name: string): ReadonlyMap<unknown, V | undefined> {
  if (result instanceof Map) return result;
  const bad = () =>
    new TypeError(
      `${name}: loadMany must answer a Map or an iterable of [key, value] pairs; got ${describe(result)}`,
    );
  if (
    result === null ||
    typeof result !== 'object' ||
    typeof (result as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function'
  ) {
    throw bad();
  }
  const map = new Map<unknown, V | undefined>();
  for (const pair of result as Iterable<unknown>) {
    if (!Array.isArray(pair) || pair.length !== 2) throw bad();
    map.set(pair[0], pair[1] as V | undefined);
  }
  return map;
}

/** How errors name a batch loader: the call, and the function's own name when it has one. @internal */
export function loaderName(call: string, loadMany: (...args: never[]) => unknown): string {
  return typeof loadMany.name === 'string' && loadMany.name !== ''
    ? `${call} loader ${loadMany.name}`
    : `${call} loader`;
}

/**
 * Runs `fn` after `delay` ms, or (no delay) once the current tick's work is done: `setImmediate` where the runtime
 * has it (after every promise callback of this tick, like DataLoader), else a zero timer.
 */
function schedule(fn: () => void, delay: number | undefined): void {
  if (delay !== undefined && delay > 0) {
    setTimeout(fn, delay);
    return;
  }
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') immediate(fn);
  else setTimeout(fn, 0);
}

/** Validates `batchLoader`'s `delay` (ms). @internal */
export function checkDelay(delay: unknown): number | undefined {
  if (delay === undefined) return undefined;
  if (typeof delay !== 'number') {
    throw new TypeError(`batchLoader: delay must be a number of milliseconds; got ${describe(delay)}`);
  }
  if (!(delay >= 0 && delay <= 2_147_483_647)) {
    throw new RangeError(`batchLoader: delay must be between 0 and 2147483647 ms; got ${delay}`);
  }
  return delay;
}

/** One batch read of ids, and the key of an id (what `wrapMany` and `batchLoader` share). @internal */
export interface IdBatch<I, V> {
  /** The key of `id` (the one `wrap(name, fn)(id)` uses, without a namespace prefix); throws for an id without one. */
  keyOf(id: I): string;
  /** Answers `ids` in order, given their keys (`keys[i]` is `keyOf(ids[i])`, computed once, when the id was taken). */
  answer(keys: readonly string[], ids: readonly I[]): (V | undefined | Promise<V | undefined>)[];
}

/**
 * The keys of `ids`, in order, after checking that `ids` is an array without holes: a hole would have no key
 * (`Array.prototype.map` skips it, leaving `undefined`), as `wrap` refuses an array with holes. Computes every key
 * before anything is read or queued, so a bad id refuses the whole call. @internal
 *
 * @throws TypeError naming `ids` (`what`: the call) when it is not an array or has a hole; the TypeError of
 * `keyOf` for an id without a key.
 */
export function keysOf<I>(
  batch: Pick<IdBatch<I, unknown>, 'keyOf'>,
  ids: readonly I[],
  what: string,
): string[] {
  if (!Array.isArray(ids)) throw new TypeError(`${what}: ids must be an array; got ${describe(ids)}`);
  const n = ids.length;
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    if (!(i in ids)) {
      throw new TypeError(`${what}: ids is an array with a hole at index ${i}, which has no key`);
    }
    keys[i] = batch.keyOf(ids[i] as I);
  }
  return keys;
}

/** A `load` waiting for its batch: the id as given, its key computed when it was taken, and its promise's settlers. */
interface Queued<I, V> {
  readonly id: I;
  readonly key: string;
  readonly resolve: (value: V | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * DataLoader-style coalescing: `load` calls are queued and answered by one batch read once the tick's work is
 * done (or after `delay` ms). An id's key is computed once, by the call that takes it: an id is refused there, and
 * an id object changed after that still loads under the key it was taken with. @internal
 */
export function coalesce<I, V>(
  name: string,
  batch: IdBatch<I, V>,
  delay: number | undefined,
): BatchLoader<I, V> {
  let queue: Queued<I, V>[] = [];
  const flush = () => {
    const taken = queue;
    queue = [];
    const n = taken.length;
    const keys = new Array<string>(n);
    const ids = new Array<I>(n);
    for (let i = 0; i < n; i++) {
      const q = taken[i] as Queued<I, V>;
      keys[i] = q.key;
      ids[i] = q.id;
    }
    let answers: (V | undefined | Promise<V | undefined>)[];
    try {
      answers = batch.answer(keys, ids);
    } catch (error) {
      for (const q of taken) q.reject(error);
      return;
    }
    for (const [i, q] of taken.entries()) Promise.resolve(answers[i]).then(q.resolve, q.reject);
  };
  const enqueue = (id: I, key: string): Promise<V | undefined> =>
    new Promise<V | undefined>((resolve, reject) => {
      if (queue.length === 0) schedule(flush, delay);
      queue.push({ id, key, resolve, reject });
    });
  return {
    // keyOf refuses an id that cannot be a key, at once.
    load: (id: I) => enqueue(id, batch.keyOf(id)),
    loadMany: (ids: readonly I[]) => {
      // Every key first: a bad id (or a hole) refuses the call before any id is queued.
      const keys = keysOf(batch, ids, `batchLoader('${name}').loadMany`);
      const promises = new Array<Promise<V | undefined>>(keys.length);
      for (let i = 0; i < keys.length; i++) promises[i] = enqueue(ids[i] as I, keys[i] as string);
      return Promise.all(promises);
    },
  };
}
