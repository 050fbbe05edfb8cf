import type { Duration } from '../duration.js';
import type { Serializer } from '../serializer.js';
import type { BusMessage, CacheTier, TierRecord } from '../tier.js';
import type { RedisClient } from './cluster.js';
import { restoreStringPrototype } from './fast-strings.js';
import { FirstConnect } from './first-connect.js';
import { ForeignKeys } from './foreign-keys.js';
import { Invalidation } from './invalidation.js';
import { tagSuffix, valueSuffix } from './keys.js';
import { release } from './link.js';
import { Replay } from './replay.js';
import { TierReads } from './tier-read.js';
import { closedError, TierState } from './tier-state.js';
import { TierWrites } from './tier-write.js';

/** Options of {@link redisTier}. */
export interface RedisTierOptions {
  /**
   * Prefix of every Redis key the tier uses (default `'larder:'`). Caches that must not see each other's
   * entries need different prefixes; caches that share entries need the same one (and the same serializer).
   */
  prefix?: string;
  /** Turns values into text and back. Default: {@link defaultSerializer}. */
  serializer?: Serializer;
  /**
   * The longest any call waits for Redis (default `'250ms'`; at most 2^31 − 1 ms, the longest timer delay).
   * When Redis is not connected, calls fail at once; the cache then carries on as if the tier had missed.
   * Writes made before the first connection and the first measurement of the Redis clock wait for them, at most
   * this long each.
   */
  timeout?: Duration;
  /**
   * How long a deletion, tag invalidation or clear keeps refusing the write-back of a load that started
   * before it (default `'1m'`; at most 2^53 − 1 ms, `Number.MAX_SAFE_INTEGER`, the longest expiry Redis and the
   * tier's scripts carry exactly). Loads that take longer than this (see the cache's `timeout`) could write
   * an older value back.
   */
  tombstoneTtl?: Duration;
  /**
   * How many failed writes (deletes, sets, tag invalidations, clears) the tier remembers to replay when
   * Redis is back (default 10 000). Beyond that it remembers one "clear everything" instead.
   */
  maxPending?: number;
  /** Whether `close()` also closes `client` (default `false`; `createCache` sets it for the client it opens). */
  closeClient?: boolean;
}

/** Counters of a {@link RedisTier}. */
export interface RedisTierStats {
  /** Reads that found a usable entry. */
  hits: number;
  /** Reads that found none. */
  misses: number;
  /** Writes that stored an entry. */
  writes: number;
  /** Writes refused because Redis held something newer (a newer value, deletion, tag invalidation or clear). */
  refused: number;
  /** Failed calls of any kind (including `timeouts`, `decodeErrors` and `foreignKeys`). */
  errors: number;
  /** Calls that got no answer within `timeout`. */
  timeouts: number;
  /** Entries that could not be read (counted as misses too). */
  decodeErrors: number;
  /**
   * Keys under the prefix found holding another Redis type (a hash, list... of another app), which the tier
   * leaves alone; each is reported once as a `foreign` error.
   */
  foreignKeys: number;
  /** Reads answered by one MGET of the entry and the latest-invalidation time (no script). */
  fastReads: number;
  /** Reads that ran the read script (the entry was older than the latest tag invalidation or clear). */
  scriptReads: number;
  /** Failed writes waiting to be replayed (a pending "clear everything" counts as 1). */
  pending: number;
  /** Replays of failed writes sent after Redis came back. */
  replays: number;
  /** Whether the client is connected. */
  connected: boolean;
  /** Milliseconds added to local times to get Redis times (0 unless the clocks differ measurably). */
  clockOffset: number;
}

/** A {@link CacheTier} on Redis, made by {@link redisTier}. */
export interface RedisTier extends CacheTier {
  /**
   * Throws the serializer's `TypeError` if `value` cannot be stored (e.g. it holds a function). The text it
   * makes is kept until the end of the current tick and used by a `set` of the same value in that tick (the
   * cache calls `check`, then `set`), so each value is serialized once.
   */
  check(value: unknown): void;
  /** Reads many entries in one round trip (one MGET; see {@link CacheTier.getMany}). */
  getMany(keys: readonly string[]): Promise<(TierRecord | undefined)[]>;
  /**
   * Tells `replayed` of every batch of failed writes replayed once Redis is back, as the invalidation it amounts
   * to (see {@link CacheTier.onReplay}; the cache this tier serves calls it).
   */
  onReplay(replayed: (message: BusMessage) => void): void;
  /** Counters since creation. */
  stats(): RedisTierStats;
}

/**
 * Creates the Redis second tier for a `Cache` (`new Cache({ max, tier: redisTier(client) })`).
 *
 * Each entry is one Redis string (a small header with its times and tags, then the serialized value) that
 * Redis expires at the end of its last stale window. Reads and writes are single Lua scripts: a read
 * checks the entry's tags and clears; a write is refused when Redis holds a newer value or a later
 * deletion, so two instances racing a write and a load never leave the older value behind.
 *
 * Every call fails at once when the client is not connected and waits at most `timeout`. Writes that fail
 * are remembered and replayed when the client reconnects, so an outage leaves no stale entry in Redis.
 * Works with standalone Redis, Sentinel and Redis Cluster: on a `Cluster` the keys are spread over 48 slot
 * groups, each holding its own copy of the tag and clear times, so that no command touches two slots (see
 * docs/scaling.md, "Redis Cluster"); `prefix` must then not contain a hash tag (`{...}`).
 *
 * @param client - an ioredis `Redis` or `Cluster`; the tier never closes it unless `closeClient` is set. For
 * calls to fail fast, give it `enableOfflineQueue: false` (the tier also checks the connection itself).
 * @param options - see {@link RedisTierOptions}
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export function redisTier(client: RedisClient, options: RedisTierOptions = {}): RedisTier {
  // The application's ioredis is loaded by now (it made `client`), whichever copy it is.
  restoreStringPrototype();
  return new RedisTierImpl(client, options);
}

/**
 * The Redis tier: a facade over the shared state (tier-state.ts), the reads (tier-read.ts), the writes
 * (tier-write.ts), the invalidation scripts (invalidation.ts), the replay of failed writes (replay.ts), the
 * writes waiting for the first connection (first-connect.ts) and the foreign-key reports (foreign-keys.ts).
 */
class RedisTierImpl implements RedisTier {
  readonly #s: TierState;
  readonly #reads: TierReads;
  readonly #writes: TierWrites;
  readonly #inv: Invalidation;
  readonly #replay: Replay;
  readonly #first: FirstConnect;
  readonly #foreign: ForeignKeys;
  readonly #onReady = (): void => this.#connected();

  constructor(client: RedisClient, options: RedisTierOptions) {
    const s = new TierState(client, options, () => this.#replay.onRefresh());
    this.#s = s;
    this.#inv = new Invalidation(s);
    this.#replay = new Replay(s, this.#inv);
    this.#first = new FirstConnect(s);
    this.#foreign = new ForeignKeys(s);
    this.#reads = new TierReads(s);
    this.#writes = new TierWrites(s, this.#inv, this.#replay, this.#first, this.#foreign);
    const cluster = s.nodes !== undefined;
    // A command that times out while the connection looks open (a frozen Redis, a half-open connection)
    // trips the link: calls fail at once until a PING is answered (then replay, as on a reconnect) or, for a
    // client the tier owns, the client reconnects.
    // (Not a cluster: its node connections reconnect by themselves, and a PING goes to any one node.)
    s.link.watch(this.#onReady, s.closeClient && !cluster);
    client.on('ready', this.#onReady);
    // On a cluster, a failover ends with a slot refresh that finds the new master: replay at once then.
    if (cluster) client.on('refresh', this.#replay.onRefresh);
    s.onClockKnown = () => this.#clockKnown();
    if (this.#first.everReady) s.measureClock();
  }

  check(value: unknown): void {
    this.#writes.check(value);
  }

  get(key: string): Promise<TierRecord | undefined> {
    return this.#reads.get(key);
  }

  getMany(keys: readonly string[]): Promise<(TierRecord | undefined)[]> {
    return this.#reads.getMany(keys);
  }

  set(key: string, record: TierRecord): Promise<void> {
    return this.#writes.set(key, record);
  }

  delete(keys: readonly string[]): Promise<void> {
    const s = this.#s;
    if (s.closed) return Promise.reject(closedError());
    if (keys.length === 0) return Promise.resolve();
    // Local now; on the Redis clock when sent (or remembered), with the offset known then (first-connect.ts).
    const local = Date.now();
    const layout = s.layout;
    const rkeys = keys.map((k) => (layout.groups[layout.groupOf(k)] as string) + valueSuffix(k));
    return this.#first
      .after(() => {
        const now = s.redisTime(local);
        return this.#inv.deleteAt(
          rkeys,
          rkeys.map(() => now),
        );
      })
      .then(this.#foreign.report, (error: unknown) => {
        const now = s.redisTime(local);
        for (const k of rkeys) this.#replay.rememberKey(k, now);
        return s.failed(error);
      });
  }

  invalidateTags(tags: readonly string[], at: number): Promise<void> {
    const s = this.#s;
    if (s.closed) return Promise.reject(closedError());
    if (tags.length === 0) return Promise.resolve();
    const tkeys = tags.map(tagSuffix);
    return this.#first
      .after(() => {
        const time = s.redisTime(at);
        return this.#inv.tagsAt(
          tkeys,
          tkeys.map(() => time),
        );
      })
      .then(this.#foreign.report, (error: unknown) => {
        const time = s.redisTime(at);
        for (const k of tkeys) this.#replay.rememberTag(k, time);
        return s.failed(error);
      });
  }

  clear(prefix: string): Promise<void> {
    const s = this.#s;
    if (s.closed) return Promise.reject(closedError());
    const local = Date.now();
    return this.#first
      .after(() => this.#inv.clearAt(prefix, s.redisTime(local)))
      .then(this.#foreign.report, (error: unknown) => {
        const at = s.redisTime(local);
        if (prefix === '') this.#replay.rememberAll(at);
        else this.#replay.rememberClear(prefix, at);
        return s.failed(error);
      });
  }

  onReplay(replayed: (message: BusMessage) => void): void {
    this.#replay.onReplay(replayed);
  }

  stats(): RedisTierStats {
    const s = this.#s;
    return { ...s.counts, pending: this.#replay.pending(), connected: s.link.ready, clockOffset: s.offset };
  }

  async close(): Promise<void> {
    const s = this.#s;
    if (s.closed) return;
    s.closed = true;
    s.client.off('ready', this.#onReady);
    this.#first.close();
    s.client.off('refresh', this.#replay.onRefresh);
    s.link.dispose();
    s.nodes?.dispose();
    this.#replay.dispose();
    if (s.closeClient) await release(s.client, s.link.timeout);
  }

  /** The client is ready (connected, or reconnected): replay, then send the writes waiting for it. */
  #connected(): void {
    const s = this.#s;
    if (s.closed) return;
    this.#first.connected();
    s.link.reset();
    // Replay first: its commands go out before anything else sent on this connection (such as a bus
    // message telling other instances to re-read the keys). Not before the clock was measured once: until
    // then, the first TIME reply replays (#clockKnown).
    if (s.clockKnown) this.#replay.run();
    s.measureClock();
    // Then the writes issued before the first connection and clock measurement, in the order they were issued
    // (until the clock is known, #clockKnown sends them).
    this.#first.release();
  }

  /**
   * The first TIME reply: the times remembered for replay until now are put on the Redis clock and replayed,
   * then the writes held until now are sent (each computes its Redis times as it goes out).
   */
  #clockKnown(): void {
    const s = this.#s;
    if (s.closed) return;
    this.#replay.shift(s.offset);
    if (s.link.ready) this.#replay.run();
    this.#first.release();
  }
}
