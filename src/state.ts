import type { Batches } from './batch.js';
import { describe } from './duration.js';
import { Entry, isEntry } from './entry.js';
import { type DeleteReason, Emitter } from './events.js';
import { ExpiryQueue } from './expiry-queue.js';
import type { LoadWrapper } from './internals.js';
import type { Loads } from './loads.js';
import type { Policy, Resolved } from './options.js';
import { DEFAULT_POLICY } from './policy/default-policy.js';
import type { Store } from './policy/store.js';
import { Counters } from './stats.js';
import type { CacheBus, CacheTier } from './tier.js';

/** What a hit check answers for a key with no usable value. @internal */
export const MISS: unique symbol = Symbol('miss');
/** What a hit check answers when the caller must serve `staleEntry`'s value and start a refresh. @internal */
export const STALE: unique symbol = Symbol('stale');

/** Where a stored value came from (the `set` event's `source`). @internal */
export type WriteSource = 'set' | 'load' | 'tier';

/** What an `error` event reports as the failed operation. @internal */
export type ErrorOperation = 'load' | 'refresh' | 'store' | 'tier' | 'bus' | 'listener';

/**
 * The state a cache shares with its namespaces, and the storage operations on it: entries and their
 * freshness times, the tag index, the expiry queue, events. Loads (`loads`) and the tier/bus
 * (`Coherence`) work through it; `Cache` is the facade in front of all three.
 *
 * @internal
 */
export class CacheState<V> {
  store!: Store<unknown, unknown>;
  policy: Policy = DEFAULT_POLICY;
  readonly counters = new Counters();
  readonly emitter = new Emitter();
  readonly slots = this.emitter.slots;
  readonly tagIndex = new Map<string, Set<unknown>>();
  /** Entries with a finite deadline, earliest first. */
  readonly expiry = new ExpiryQueue();
  /** The loading machinery (set right after construction). */
  loads!: Loads<V>;
  /** Batch loads on top of it (set right after construction). */
  batches!: Batches<V>;
  /** Whether entries without metadata may be stored as bare values (not with a tier or bus: they need `createdAt`). */
  raw = true;
  /**
   * Whether any `Entry` has been stored since creation (or the last full `clear`). While it is false, every
   * stored value is bare, and a hit returns it without touching the value's memory (a random read of a large
   * cache would otherwise pay a second cache miss just to learn the value is not an `Entry`).
   */
  mixed = false;
  /**
   * Whether any `Entry` has ever been stored (never reset, unlike `mixed`). While it is false no `Entry` can be
   * among the evicted, so an eviction need not read the evicted value to tell.
   */
  entriesStored = false;
  closed = false;
  /** Re-derives the root cache's fast-path flag; call after `mixed` or the `hit` listeners change. */
  syncPlain: () => void = () => {};
  /** Hits the root cache counted on its fast path (added to `counters.hits` by `stats()`). */
  plainHits: () => number = () => 0;
  /** Wrappers around every loader run (larder/otel's `traceLoads`); empty by default. */
  loadWrappers: readonly LoadWrapper[] = [];
  /** Hand-over from `judge` to the caller that serves it (set and cleared synchronously). */
  staleEntry: Entry<V> | undefined = undefined;
  constructor(
    readonly defaults: Resolved,
    readonly sizeOf: ((value: V, key: never) => number) | undefined,
    readonly maxSize: number | undefined,
    readonly tier: CacheTier | undefined,
    readonly bus: CacheBus | undefined,
  ) {}

  /**
   * Judges a stored value found by a hit check (which recorded the access): the usable value (counting a hit),
   * MISS, or STALE (the entry is in `staleEntry`: a stale-while-revalidate hit, or a fresh hit past
   * `refreshAhead`; the caller serves its value and starts a refresh).
   */
  judge(k: unknown, e: unknown, opts: Resolved): unknown {
    const counters = this.counters;
    if (!this.mixed || !isEntry(e)) {
      counters.hits++;
      if (this.slots.hit !== undefined) this.emitter.emit('hit', { key: k, stale: false });
      return e;
    }
    const now = Date.now();
    if (now < e.expires) {
      counters.hits++;
      if (this.slots.hit !== undefined) this.emitter.emit('hit', { key: k, stale: false });
      const ahead = opts.refreshAhead;
      if (ahead > 0 && now >= e.createdAt + ahead * (e.expires - e.createdAt)) {
        this.staleEntry = e as Entry<V>;
        return STALE;
      }
      return e.value;
    }
    if (now < e.staleUntil) {
      counters.hits++;
      counters.staleHits++;
      counters.swrHits++;
      if (this.slots.hit !== undefined) this.emitter.emit('hit', { key: k, stale: true });
      this.staleEntry = e as Entry<V>;
      return STALE;
    }
    return MISS;
  }

  /** Validates and returns the entry's weight for `maxSize` (0 when unweighted). */
  weigh(value: V, key: unknown): number {
    if (this.sizeOf === undefined) return 0;
    const size = this.sizeOf(value, key as never);
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) {
      throw new RangeError(
        `sizeOf must return a positive integer; got ${describe(size)} for key ${String(key)}`,
      );
    }
    if (size > (this.maxSize as number)) {
      throw new RangeError(
        `entry size ${size} for key ${String(key)} is larger than maxSize ${this.maxSize}`,
      );
    }
    return size;
  }

  /**
   * Builds the stored form of a value and stores it. Returns the entry (for the tier). `createdAt` is when
   * the value was produced (a load's start), or undefined for now: the clock is read only if an entry is built.
   * `tags` overrides `opts.tags` (a batch's per-key tags).
   */
  write(
    k: unknown,
    value: V,
    ttl: number,
    opts: Resolved,
    createdAt: number | undefined,
    weight: number,
    source: 'set' | 'load',
    tags: readonly string[] | undefined = opts.tags,
  ): Entry<V> | undefined {
    const own = tags !== undefined && tags.length > 0 ? tags : undefined;
    if (this.raw && ttl === Number.POSITIVE_INFINITY && own === undefined) {
      this.put(k, value, weight, source, value, ttl);
      return undefined;
    }
    const now = Date.now();
    const expires = now + ttl;
    const staleUntil = expires + opts.swr;
    const errorUntil = expires + opts.sie;
    const deadline = Math.max(staleUntil, errorUntil);
    const entry = new Entry<V>(value, expires, staleUntil, errorUntil, deadline, own, createdAt ?? now, k);
    this.put(k, entry, weight, source, value, ttl);
    return entry;
  }

  /** Stores a value or an entry under `k`, keeping the tag index and expiry queue current. */
  put(k: unknown, stored: unknown, weight: number, source: WriteSource, value: unknown, ttl: number): void {
    if (this.tagIndex.size > 0 || this.expiry.length > 0) {
      const old = this.store.peek(k);
      if (isEntry(old)) {
        if (old.tags !== undefined) this.unlink(k, old.tags);
        // The replaced entry leaves the expiry queue now, so the queue never keeps its value reachable.
        this.expiry.remove(old);
      }
    }
    // Expired entries go before the policy evicts a live one to make room.
    if (this.expiry.length > 0) this.purge();
    if (isEntry(stored)) {
      if (!this.mixed) {
        this.mixed = true;
        this.entriesStored = true;
        this.syncPlain();
      }
      if (stored.tags !== undefined) {
        for (const tag of stored.tags) {
          let keys = this.tagIndex.get(tag);
          if (keys === undefined) {
            keys = new Set();
            this.tagIndex.set(tag, keys);
          }
          keys.add(k);
        }
      }
      if (stored.deadline !== Number.POSITIVE_INFINITY) this.expiry.push(stored);
    }
    // A loader's or the tier's value answers a request the store counted when it missed (or hit a stale entry).
    this.store.set(k, stored, weight, source !== 'set');
    if (this.slots.set !== undefined) this.emitter.emit('set', { key: k, value, ttl, source });
  }

  unlink(k: unknown, tags: readonly string[]): void {
    const index = this.tagIndex;
    for (const tag of tags) {
      const keys = index.get(tag);
      if (keys?.delete(k) && keys.size === 0) index.delete(tag);
    }
  }

  /** Removes a held entry on request and reports it. */
  remove(k: unknown, e: unknown, reason: DeleteReason): void {
    if (isEntry(e)) {
      if (e.tags !== undefined) this.unlink(k, e.tags);
      this.expiry.remove(e);
    }
    this.store.delete(k);
    if (this.slots.delete !== undefined) this.emitter.emit('delete', { key: k, reason });
  }

  expire(k: unknown, e: Entry<unknown>): void {
    if (e.tags !== undefined) this.unlink(k, e.tags);
    this.expiry.remove(e);
    this.store.delete(k);
    this.counters.expirations++;
    if (this.slots.expire !== undefined) this.emitter.emit('expire', { key: k });
  }

  onEvict(k: unknown, e: unknown): void {
    // A cache that never stored an entry object evicts none: its eviction does not read the evicted value (a cold
    // cache line). Not `mixed`, which `clear` resets while the store may still have evictions to report.
    if (this.entriesStored && isEntry(e)) {
      if (e.tags !== undefined) this.unlink(k, e.tags);
      // An evicted entry leaves the expiry queue at once: queued, it kept its value (and its memory) alive.
      this.expiry.remove(e);
    }
    this.counters.evictions++;
    if (this.slots.evict !== undefined) {
      this.emitter.emit('evict', { key: k, value: this.entriesStored && isEntry(e) ? e.value : e });
    }
  }

  /**
   * Drops entries past their deadline: O(log n) each, nothing to do when none has expired. The queue holds
   * only stored entries (each leaves it when it leaves the store).
   */
  purge(): void {
    const queue = this.expiry;
    if (queue.length === 0) return;
    const now = Date.now();
    while (queue.peekDeadline() <= now) {
      const e = queue.pop() as Entry<unknown>;
      if (this.store.peek(e.key) === e) this.expire(e.key, e);
    }
  }

  /** Removes local entries and loads under `prefix` (all when undefined), without telling the tier or bus. */
  dropLocal(prefix: string | undefined, reason: DeleteReason): void {
    this.loads.invalidateWhere(
      (k) => prefix === undefined || (typeof k === 'string' && k.startsWith(prefix)),
    );
    if (prefix === undefined) {
      const keys = this.slots.delete !== undefined ? [...this.store.keys()] : undefined;
      this.store.clear();
      this.tagIndex.clear();
      this.expiry.clear();
      this.mixed = false;
      this.syncPlain();
      if (keys !== undefined) for (const k of keys) this.emitter.emit('delete', { key: k, reason });
      return;
    }
    for (const [k, e] of [...this.store.entries()]) {
      if (typeof k === 'string' && k.startsWith(prefix)) this.remove(k, e, reason);
    }
  }

  /**
   * Removes local entries carrying any of `tags`, and invalidates the loads of their keys (given the tags or not)
   * and every load whose entry will carry one. Returns how many live entries were removed. Local and remote (bus,
   * tier replay) tag invalidations both come here.
   */
  dropTags(tags: readonly string[], reason: DeleteReason = 'tag'): number {
    const loads = this.loads;
    // Noted first: `invalidateWhere` takes the loads it stops out of the in-flight table.
    loads.noteTags(tags);
    loads.invalidateWhere((_k, flight) => flight.carriesAny(tags));
    let removed = 0;
    const now = Date.now();
    for (const tag of tags) {
      const keys = this.tagIndex.get(tag);
      if (keys === undefined) continue;
      for (const k of [...keys]) {
        // A load of a tagged entry's key, read through without repeating its tags, must not store it again.
        loads.invalidate(k);
        const e = this.store.peek(k);
        if (e === undefined) continue;
        if (!isEntry(e) || now < e.deadline) removed++;
        this.remove(k, e, reason);
      }
    }
    return removed;
  }

  /**
   * Makes local entries carrying any of `tags` stale now instead of removing them: an entry with a
   * stale-while-revalidate window keeps that window (from now), so it is served once while one refresh runs; one
   * without is removed, as by `dropTags`. Loads are invalidated as by `dropTags`. Returns how many live entries
   * were expired or removed, each once (an entry carrying several of the tags too); an entry stale already is left
   * as it is and not counted.
   */
  expireTags(tags: readonly string[], reason: DeleteReason = 'tag'): number {
    const loads = this.loads;
    // Noted first: `invalidateWhere` takes the loads it stops out of the in-flight table.
    loads.noteTags(tags);
    loads.invalidateWhere((_k, flight) => flight.carriesAny(tags));
    let changed = 0;
    const now = Date.now();
    for (const tag of tags) {
      const keys = this.tagIndex.get(tag);
      if (keys === undefined) continue;
      for (const k of [...keys]) {
        // A refresh started before the expiry read the source before the change: it must not store (dropTags).
        loads.invalidate(k);
        const e = this.store.peek(k);
        if (!isEntry(e) || now >= e.deadline) continue;
        // An entry without a TTL has no stale window to start (Infinity - Infinity would be NaN): it goes.
        const swr = e.expires === Number.POSITIVE_INFINITY ? 0 : e.staleUntil - e.expires;
        if (swr <= 0) {
          this.remove(k, e, reason);
          changed++;
          continue;
        }
        // Stale already, or expired by an earlier tag of this call: nothing to do, nothing to count.
        if (now >= e.expires) continue;
        changed++;
        // Made stale in place: key, value, tags and weight stay, so the tag index and the store are left as they
        // are (no re-weighing, no access recorded); only its place in the expiry queue moves.
        this.expiry.remove(e);
        const errorUntil = now + (e.errorUntil - e.expires);
        e.staleUntil = now + swr;
        e.errorUntil = errorUntil;
        e.expires = now;
        e.deadline = Math.max(e.staleUntil, errorUntil);
        if (e.deadline !== Number.POSITIVE_INFINITY) this.expiry.push(e);
      }
    }
    return changed;
  }

  emitLoad(
    k: unknown,
    started: number,
    refresh: boolean,
    ok: boolean,
    source: 'loader' | 'tier',
    timedOut: boolean,
    aborted = false,
  ): void {
    if (this.slots.load !== undefined) {
      this.emitter.emit('load', {
        key: k,
        duration: Date.now() - started,
        refresh,
        ok,
        source,
        timedOut,
        aborted,
      });
    }
  }

  emitError(k: unknown, error: unknown, operation: ErrorOperation): void {
    if (this.slots.error !== undefined) this.emitter.emit('error', { key: k, error, operation });
  }
}

/**
 * The TTL of a value about to be stored: the override (a loader's `setTtl`, or the `ttl` given to that `set` call),
 * else `nullTtl` for `null`, else `ttl`; with jitter. @internal
 */
export function ttlOf(value: unknown, opts: Resolved, override: number | undefined): number {
  let ttl = override ?? (value === null && opts.nullTtl !== undefined ? opts.nullTtl : opts.ttl);
  if (opts.jitter > 0 && ttl !== Number.POSITIVE_INFINITY) ttl = ttl * (1 - opts.jitter * Math.random());
  return ttl;
}
