import { Entry } from './entry.js';
import type { CacheState } from './state.js';
import type { BusMessage, BusTags, CacheTier, TierRecord } from './tier.js';

/**
 * Keeps a cache coherent with the other instances: writes through to the tier, reads from it on a miss,
 * publishes invalidations on the bus and applies the ones other instances publish. Local memory is changed
 * by the caller (or, for bus messages, here) through {@link CacheState}; every tier failure is counted and
 * emitted, never thrown.
 *
 * @internal
 */
export class Coherence<V> {
  /** Bus messages waiting for their tier call to settle, and who waits for them to be sent (`drain`). */
  #waiting = 0;
  #drained: (() => void) | undefined;

  constructor(readonly s: CacheState<V>) {}

  /** Attaches the bus and the tier's replay listener (once, from the root cache's constructor). */
  start(): void {
    const s = this.s;
    // A write the tier applies late (after an outage): drop what may have been read back meanwhile, here and
    // on the other instances.
    s.tier?.onReplay?.((message) => {
      this.#apply(message);
      s.bus?.publish(message);
    });
    s.bus?.start({
      message: (message) => this.#onBusMessage(message),
      resync: () => {
        s.counters.busMessages++;
        s.dropLocal(undefined, 'remote');
      },
      error: (error) => {
        s.counters.busErrors++;
        s.emitError(undefined, error, 'bus');
      },
    });
  }

  /**
   * Writes an entry through to the tier (fire-and-forget; failures are counted and reported). Returns the write,
   * settled either way, for {@link deleted} to publish after it.
   */
  tierSet(k: string, entry: Entry<V> | undefined): Promise<unknown> | undefined {
    const tier = this.s.tier as CacheTier;
    if (entry === undefined) return undefined;
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
    return this.tierCall(k, pending);
  }

  /** Counts and reports a failed tier call; returns a promise that settles (never rejects) when the call does. */
  tierCall(k: unknown, pending: Promise<unknown>): Promise<unknown> {
    return pending.then(undefined, (error: unknown) => {
      this.s.counters.tierErrors++;
      this.s.emitError(k, error, 'tier');
    });
  }

  /** Reads one key from the tier; a failure counts, is reported and reads as a miss. */
  async tierGet(k: string): Promise<TierRecord | undefined> {
    try {
      const record = await (this.s.tier as CacheTier).get(k);
      if (record === undefined) this.s.counters.tierMisses++;
      return record;
    } catch (error) {
      this.s.counters.tierErrors++;
      this.s.emitError(k, error, 'tier');
      return undefined;
    }
  }

  /**
   * Reads several keys from the tier in one round trip when it has `getMany` (else one `get` per key, all at
   * once). A failure counts, is reported and reads as misses.
   */
  async tierGetMany(keys: readonly string[]): Promise<(TierRecord | undefined)[]> {
    const tier = this.s.tier as CacheTier;
    if (tier.getMany === undefined) return Promise.all(keys.map((k) => this.tierGet(k)));
    try {
      const records = await tier.getMany(keys);
      if (!Array.isArray(records) || records.length !== keys.length) {
        throw new TypeError(`tier.getMany must answer an array of ${keys.length} records`);
      }
      for (const record of records) if (record === undefined) this.s.counters.tierMisses++;
      return records;
    } catch (error) {
      this.s.counters.tierErrors++;
      this.s.emitError(undefined, error, 'tier');
      return keys.map(() => undefined);
    }
  }

  /**
   * After a local `set`/`delete` of `k`: tell the tier (deletes only; a set's write is `written`) and the other
   * instances. The bus message goes out once the tier's write has settled: another instance that drops its copy
   * re-reads the tier, and must find the new value there (on a Redis Cluster the message and the write travel to
   * different masters, so sending both at once does not order them). A write that fails is published at once
   * when it fails, and again when the tier replays it (see `CacheTier.onReplay`).
   */
  deleted(k: unknown, tier: boolean, written?: Promise<unknown>): void {
    const s = this.s;
    if (typeof k !== 'string') return;
    const pending = tier && s.tier !== undefined ? this.tierCall(k, s.tier.delete([k])) : written;
    if (s.bus !== undefined) this.#publishAfter(pending, { type: 'delete', keys: [k] });
  }

  /**
   * After a local `clear` under `prefix` (`''` for all). Published twice: at once, since the tier's clear (a SCAN of
   * every master after it records the clear's time) can take long on a large keyspace; and again once the tier's
   * clear has settled, to drop whatever another instance read back from the tier before the clear's time was
   * there (see {@link deleted}).
   */
  cleared(prefix: string): void {
    const s = this.s;
    const pending = s.tier !== undefined ? this.tierCall(undefined, s.tier.clear(prefix)) : undefined;
    if (s.bus === undefined) return;
    s.bus.publish({ type: 'clear', prefix });
    if (pending !== undefined) this.#publishAfter(pending, { type: 'clear', prefix });
  }

  /** After a local tag invalidation: published once the tier has the tags' times (as for {@link deleted}). */
  tagsInvalidated(tags: readonly string[]): void {
    if (tags.length > 0) this.#tagsChanged({ type: 'tags', tags });
  }

  /**
   * After a local tag expiry. The tier has no notion of a stale-but-servable entry: it invalidates the tags (so a
   * refresh reads through to the loader); other instances expire their memory copies, once the tier has the times.
   */
  tagsExpired(tags: readonly string[]): void {
    if (tags.length > 0) this.#tagsChanged({ type: 'tags', tags, expire: true });
  }

  /** Invalidates the message's tags in the tier, then publishes the message. */
  #tagsChanged(message: BusTags): void {
    const s = this.s;
    const pending =
      s.tier !== undefined
        ? this.tierCall(undefined, s.tier.invalidateTags(message.tags, Date.now()))
        : undefined;
    if (s.bus !== undefined) this.#publishAfter(pending, message);
  }

  /** Publishes `message` now, or once `pending` (a tier call, which never rejects here) has settled. */
  #publishAfter(pending: Promise<unknown> | undefined, message: BusMessage): void {
    const bus = this.s.bus as NonNullable<CacheState<V>['bus']>;
    if (pending === undefined) {
      bus.publish(message);
      return;
    }
    this.#waiting++;
    pending.then(() => {
      bus.publish(message);
      if (--this.#waiting === 0) this.#drained?.();
    });
  }

  /**
   * Resolves once every bus message waiting for its tier call has been sent, or after `bound` ms (a tier call
   * settles within the tier's own timeout; the bound only keeps `close` from hanging on a tier that breaks that).
   */
  drain(bound: number): Promise<void> {
    if (this.#waiting === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, bound);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#drained = done; // `close` drains once
    });
  }

  #onBusMessage(message: BusMessage): void {
    this.s.counters.busMessages++;
    this.#apply(message);
  }

  /** Drops the memory entries and in-flight loads an invalidation covers (reason `remote`). */
  #apply(message: BusMessage): void {
    const s = this.s;
    switch (message.type) {
      case 'delete':
        for (const k of message.keys) {
          s.loads.invalidate(k);
          const e = s.store.peek(k);
          if (e !== undefined) s.remove(k, e, 'remote');
        }
        return;
      case 'tags':
        if (message.expire === true) s.expireTags(message.tags, 'remote');
        else s.dropTags(message.tags, 'remote');
        return;
      case 'clear':
        s.dropLocal(message.prefix === '' ? undefined : message.prefix, 'remote');
        return;
    }
  }
}

/** The memory entry for a tier record. @internal */
export function entryOf(record: TierRecord, key: string): Entry<unknown> {
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
