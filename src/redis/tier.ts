import type { Redis } from 'ioredis';
import { type Duration, describe, toMs } from '../duration.js';
import { checkKeys } from '../options.js';
import { defaultSerializer, type Serializer } from '../serializer.js';
import type { CacheTier, TierRecord } from '../tier.js';
import { NodeBreaker } from './breaker.js';
import { isCluster, masters, nodeOptions, type RedisClient } from './cluster.js';
import { decodeRecord, encodeRecord, serializeValue } from './envelope.js';
import { LarderRedisError } from './errors.js';
import { restoreStringPrototype } from './fast-strings.js';
import { escapeGlob, isWellFormed, tagSuffix, valuePrefixes, valueSuffix } from './keys.js';
import { hungError, Link, release, toRedisError, withTimeout } from './link.js';
import { CLEAR, DELETE, getScript, PURGE, SET, sha1, TAGS } from './scripts.js';
import { KeyLayout } from './slots.js';

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
   * The longest any call waits for Redis (default `'250ms'`). When Redis is not connected, calls fail at
   * once; the cache then carries on as if the tier had missed.
   */
  timeout?: Duration;
  /**
   * How long a deletion, tag invalidation or clear keeps refusing the write-back of a load that started
   * before it (default `'1m'`). Loads that take longer than this (see the cache's `timeout`) could write
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
  /** Counters since creation. */
  stats(): RedisTierStats;
}

const DEFAULT_PREFIX = 'larder:';
const REPLAY_DELAY = 1000;
const SCAN_COUNT = 500;
const BATCH = 100;

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

const TIER_OPTIONS = ['prefix', 'serializer', 'timeout', 'tombstoneTtl', 'maxPending', 'closeClient'];

/** Checks a serializer option. @internal */
export function checkSerializer(serializer: unknown, name: string): Serializer {
  if (serializer === undefined) return defaultSerializer;
  const s = serializer as Partial<Serializer> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.serialize !== 'function' ||
    typeof s.deserialize !== 'function'
  ) {
    throw new TypeError(
      `${name} must have serialize(value) and deserialize(text) methods; got ${describe(serializer)}`,
    );
  }
  return serializer as Serializer;
}

/** Checks the options shared by tier and bus. @internal */
export function checkPrefix(prefix: unknown, name: string): string {
  if (prefix === undefined) return DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || prefix === '' || !isWellFormed(prefix)) {
    throw new TypeError(
      `${name} must be a non-empty, well-formed string; got ${JSON.stringify(prefix) ?? String(prefix)}`,
    );
  }
  return prefix;
}

/** Checks a Redis client argument. @internal */
export function checkClient(client: unknown, name: string): RedisClient {
  const c = client as Partial<Redis> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.evalsha !== 'function' ||
    typeof c.duplicate !== 'function'
  ) {
    throw new TypeError(
      `${name}: client must be an ioredis Redis or Cluster client (new Redis(url)); got ${typeof client}`,
    );
  }
  return client as RedisClient;
}

/** Checks a positive integer option. @internal */
export function checkCount(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer; got ${String(value)}`);
  }
  return value;
}

class RedisTierImpl implements RedisTier {
  readonly #client: RedisClient;
  readonly #link: Link;
  readonly #prefix: string;
  /** Slot groups: one (the prefix) on a standalone Redis, 48 on a cluster. */
  readonly #layout: KeyLayout;
  /** Per group: the clear-times hash, the latest-invalidation key, the read script and its SHA1. */
  readonly #clearsOf: string[];
  readonly #invOf: string[];
  readonly #scriptOf: string[];
  readonly #shaOf: string[];
  /** Cluster only: a circuit breaker per master (the link's own breaker serves a standalone Redis). */
  readonly #nodes: NodeBreaker | undefined;
  readonly #serializer: Serializer;
  readonly #tombstonePx: number;
  readonly #maxPending: number;
  readonly #closeClient: boolean;
  /** Reads left to send to the script directly (after many optimistic reads needed it anyway). */
  #scriptMode = 0;
  /** Optimistic reads and how many of them needed the script, in the current window. */
  #window = 0;
  #windowSlow = 0;
  #offset = 0;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Failed writes to replay, by Redis key (entries and tags) or key prefix (clears), with their times. */
  readonly #dirtyKeys = new Map<string, number>();
  readonly #dirtyTags = new Map<string, number>();
  readonly #dirtyClears = new Map<string, number>();
  /** Time of a pending "clear everything" (replaces the maps when they overflow), 0 = none. */
  #dirtyAll = 0;
  readonly #counts = {
    hits: 0,
    misses: 0,
    writes: 0,
    refused: 0,
    errors: 0,
    timeouts: 0,
    decodeErrors: 0,
    foreignKeys: 0,
    fastReads: 0,
    scriptReads: 0,
    replays: 0,
  };
  readonly #onReady = (): void => this.#connected();
  /** Whether the client has been ready since the tier was made: until then, writes wait for it. */
  #everReady: boolean;
  /** Foreign keys (another Redis type under the prefix) already reported; see {@link MAX_FOREIGN}. */
  readonly #foreign = new Set<string>();
  /** Writes issued before the first connection, waiting for it (each gives up after `timeout`). */
  readonly #waiting = new Set<Waiter>();
  /** The value `check` serialized last and its text, for the `set` that follows it in the same tick. */
  #checkedValue: unknown = NOTHING;
  #checkedText = '';
  readonly #forgetChecked = (): void => {
    this.#checkedValue = NOTHING;
    this.#checkedText = '';
  };
  readonly #onRefresh = (): void => {
    if (!this.#closed && this.#link.ready && this.#pendingCount() > 0) this.#replay();
  };

  constructor(client: RedisClient, options: RedisTierOptions) {
    this.#client = checkClient(client, 'redisTier');
    if (nodeOptions(client).keyPrefix || (client.options as { keyPrefix?: string }).keyPrefix) {
      throw new TypeError(
        "redisTier: the client has ioredis's keyPrefix option, which the tier's scripts cannot see; use the tier's prefix option instead",
      );
    }
    checkKeys(options, TIER_OPTIONS, 'redisTier: options');
    this.#prefix = checkPrefix(options.prefix, 'redisTier: prefix');
    const cluster = isCluster(client);
    if (cluster && /\{[^}]*\}/.test(this.#prefix)) {
      throw new TypeError(
        `redisTier: prefix must not contain a hash tag ({...}) on a Redis Cluster (the tier spreads its keys over the slots itself); got ${JSON.stringify(this.#prefix)}`,
      );
    }
    this.#layout = new KeyLayout(this.#prefix, cluster);
    const groups = this.#layout.groups;
    this.#clearsOf = groups.map((g) => `${g}c`);
    this.#invOf = groups.map((g) => `${g}i`);
    this.#scriptOf = groups.map((g) => getScript(g));
    this.#shaOf = this.#scriptOf.map(sha1);
    this.#serializer = checkSerializer(options.serializer, 'redisTier: serializer');
    this.#link = new Link(client, toMs(options.timeout ?? 250, 'redisTier: timeout'));
    this.#nodes = cluster
      ? new NodeBreaker(
          client,
          this.#layout.slots,
          (g) => this.#link.run((c) => c.exists(this.#invOf[g] as string)),
          this.#link.timeout,
          () => this.#onRefresh(),
        )
      : undefined;
    this.#tombstonePx = Math.ceil(toMs(options.tombstoneTtl ?? '1m', 'redisTier: tombstoneTtl'));
    this.#maxPending = checkCount(options.maxPending, 'redisTier: maxPending', 10_000);
    if (options.closeClient !== undefined && typeof options.closeClient !== 'boolean') {
      throw new TypeError(`redisTier: closeClient must be a boolean; got ${describe(options.closeClient)}`);
    }
    this.#closeClient = options.closeClient === true;
    this.#everReady = client.status === 'ready';
    // A command that times out while the connection looks open (a frozen Redis, a half-open connection)
    // trips the link: calls fail at once until a PING is answered (then replay, as on a reconnect) or, for a
    // client the tier owns, the client reconnects.
    // (Not a cluster: its node connections reconnect by themselves, and a PING goes to any one node.)
    this.#link.watch(this.#onReady, this.#closeClient && !cluster);
    client.on('ready', this.#onReady);
    // On a cluster, a failover ends with a slot refresh that finds the new master: replay at once then.
    if (cluster) client.on('refresh', this.#onRefresh);
    if (this.#everReady) this.#measureClock();
  }

  check(value: unknown): void {
    const text = serializeValue(value, this.#serializer);
    if (this.#checkedValue === NOTHING) queueMicrotask(this.#forgetChecked);
    this.#checkedValue = value;
    this.#checkedText = text;
  }

  get(key: string): Promise<TierRecord | undefined> {
    if (this.#closed) return Promise.reject(closedError());
    const g = this.#layout.groupOf(key);
    const rkey = (this.#layout.groups[g] as string) + valueSuffix(key);
    if (this.#nodes?.hung(g)) return this.#refuse();
    if (this.#scriptMode > 0) {
      this.#scriptMode--;
      return this.#scriptRead(rkey, g);
    }
    // The hot path: the entry and the latest-invalidation time in one MGET (no Lua), straight on the client
    // when the client's own commandTimeout bounds it.
    const client = this.#client;
    const inv = this.#invOf[g] as string;
    const sent = this.#link.direct
      ? this.#link.ready
        ? client.mget(rkey, inv)
        : this.#link.run(noCommand)
      : this.#link.run((c) => c.mget(rkey, inv));
    return sent.then(
      (reply) => this.#optimistic(rkey, g, reply),
      this.#nodes === undefined ? this.#failed : (error: unknown) => this.#failedAt(error, g),
    );
  }

  /**
   * Reads many entries with one MGET per slot group (one in all on a standalone Redis: the entries and the
   * latest-invalidation time); only entries older than that invalidation take a script read each, as in `get`.
   * An undecodable entry rejects the whole read.
   */
  getMany(keys: readonly string[]): Promise<(TierRecord | undefined)[]> {
    if (this.#closed) return Promise.reject(closedError());
    if (keys.length === 0) return Promise.resolve([]);
    const layout = this.#layout;
    const rkeys = keys.map((k) => (layout.groups[layout.groupOf(k)] as string) + valueSuffix(k));
    const out: (TierRecord | undefined)[] = new Array(keys.length);
    const parts = layout.split(
      rkeys,
      rkeys.map((_, i) => i),
    );
    return Promise.all(
      parts.map(([g, group, at]) => {
        if (this.#nodes?.hung(g)) return this.#refuse();
        const inv = this.#invOf[g] as string;
        return this.#link
          .run((c) => c.mget(...group, inv))
          .then(
            async (reply) => {
              const latest = reply[group.length] ?? null;
              const records = await Promise.all(
                group.map((rkey, j) => this.#optimistic(rkey, g, [reply[j] ?? null, latest])),
              );
              records.forEach((record, j) => {
                out[at[j] as number] = record;
              });
            },
            (error: unknown) => this.#failedAt(error, g),
          );
      }),
    ).then(() => out);
  }

  /** Handles an MGET reply: decides from the entry's header whether it needs the full check of the script. */
  #optimistic(
    rkey: string,
    g: number,
    reply: (string | null)[],
  ): Promise<TierRecord | undefined> | TierRecord | undefined {
    const raw = reply[0];
    this.#counts.fastReads++;
    if (raw === null || raw === undefined) return this.#decode(null);
    const created = createdOf(raw);
    if (created === TOMBSTONE) return this.#decode(null);
    const inv = reply[1];
    if (inv === null || inv === undefined || created > Number(inv)) {
      this.#adapt(false);
      return this.#decode(raw);
    }
    // A tag invalidation or a clear happened after this entry was written (or the header is not one this
    // fast check reads): let the script check it.
    this.#counts.fastReads--;
    this.#adapt(true);
    return this.#scriptRead(rkey, g);
  }

  /**
   * Counts optimistic reads that needed the script. When most do (invalidations are frequent compared with
   * writes), reads go straight to the script (one round trip instead of two) for a while.
   */
  #adapt(slow: boolean): void {
    this.#window++;
    if (slow) this.#windowSlow++;
    if (this.#window < 256) return;
    if (this.#windowSlow > 64) this.#scriptMode = 4096;
    this.#window = 0;
    this.#windowSlow = 0;
  }

  /** Reads through the script, which checks the entry's tags and the clears. */
  #scriptRead(rkey: string, g: number): Promise<TierRecord | undefined> {
    this.#counts.scriptReads++;
    return this.#link
      .run((c) => c.evalsha(this.#shaOf[g] as string, '1', rkey))
      .then(this.#decode, (error: unknown) => {
        // Redis restarted and lost its script cache: send the script itself (it is cached again).
        if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
          return this.#link
            .run((c) => c.eval(this.#scriptOf[g] as string, '1', rkey))
            .then(this.#decode, (e: unknown) => this.#failedAt(e, g));
        }
        return this.#failedAt(error, g);
      });
  }

  readonly #decode = (raw: unknown): TierRecord | undefined => {
    if (raw === null || raw === undefined) {
      this.#counts.misses++;
      return undefined;
    }
    let record: TierRecord;
    try {
      record = decodeRecord(raw as string, this.#serializer, this.#offset);
    } catch (error) {
      this.#counts.misses++;
      this.#counts.decodeErrors++;
      this.#counts.errors++;
      throw error;
    }
    if (Date.now() >= Math.max(record.expires, record.staleUntil, record.errorUntil)) {
      this.#counts.misses++;
      return undefined;
    }
    this.#counts.hits++;
    return record;
  };

  set(key: string, record: TierRecord): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const offset = this.#offset;
    const created = Math.round(record.createdAt + offset);
    const g = this.#layout.groupOf(key);
    const group = this.#layout.groups[g] as string;
    const rkey = group + valueSuffix(key);
    const deadline = Math.max(record.expires, record.staleUntil, record.errorUntil);
    const px = deadline === Number.POSITIVE_INFINITY ? 0 : Math.ceil(deadline - Date.now());
    // Nothing to store (already past its windows): still make sure Redis does not keep an older value.
    if (px <= 0 && deadline !== Number.POSITIVE_INFINITY) return this.#tombstone(rkey, created);
    const tags = record.tags.length === 0 ? NO_TAGS : record.tags.map(tagSuffix);
    // Cache.set has just called check() with this value: use its text instead of serializing again.
    const checked = this.#checkedValue === record.value ? this.#checkedText : undefined;
    this.#forgetChecked();
    let text: string;
    try {
      text = encodeRecord(
        record,
        created,
        tags,
        checked ?? serializeValue(record.value, this.#serializer),
        offset,
      );
    } catch (error) {
      // Not storable: refuse loudly, and make sure Redis does not go on serving the previous value.
      this.#counts.errors++;
      this.#tombstone(rkey, created).catch(noop);
      return Promise.reject(error);
    }
    if (this.#nodes?.hung(g)) {
      this.#remember(this.#dirtyKeys, rkey, created);
      return this.#refuse();
    }
    const keys = [rkey, this.#clearsOf[g] as string];
    for (const t of tags) keys.push(group + t);
    return this.#afterConnect(() =>
      this.#link.run((c) => c.eval(SET, keys.length, ...keys, text, px, created, group)),
    ).then(
      (stored) => {
        if (stored === 1) this.#counts.writes++;
        else this.#counts.refused++;
        // Another app's hash, list... at one of the keys: nothing was written, and retrying cannot help.
        if (Array.isArray(stored)) this.#reportForeign(stored);
      },
      (error: unknown) => {
        // The value may or may not be in Redis, and what was there may be older: replay as a deletion.
        this.#remember(this.#dirtyKeys, rkey, created);
        return this.#failedAt(error, g);
      },
    );
  }

  delete(keys: readonly string[]): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (keys.length === 0) return Promise.resolve();
    const now = Math.round(Date.now() + this.#offset);
    const layout = this.#layout;
    const rkeys = keys.map((k) => (layout.groups[layout.groupOf(k)] as string) + valueSuffix(k));
    return this.#afterConnect(() =>
      this.#deleteAt(
        rkeys,
        rkeys.map(() => now),
      ),
    ).then(this.#reportForeign, (error: unknown) => {
      for (const k of rkeys) this.#remember(this.#dirtyKeys, k, now);
      return this.#failed(error);
    });
  }

  invalidateTags(tags: readonly string[], at: number): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (tags.length === 0) return Promise.resolve();
    const time = Math.round(at + this.#offset);
    const tkeys = tags.map(tagSuffix);
    return this.#afterConnect(() =>
      this.#tagsAt(
        tkeys,
        tkeys.map(() => time),
      ),
    ).then(this.#reportForeign, (error: unknown) => {
      for (const k of tkeys) this.#remember(this.#dirtyTags, k, time);
      return this.#failed(error);
    });
  }

  clear(prefix: string): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const at = Math.round(Date.now() + this.#offset);
    return this.#afterConnect(() => this.#clearAt(prefix, at)).then(this.#reportForeign, (error: unknown) => {
      if (prefix === '') this.#rememberAll(at);
      else this.#remember(this.#dirtyClears, prefix, at);
      return this.#failed(error);
    });
  }

  stats(): RedisTierStats {
    const pending =
      this.#dirtyAll > 0 ? 1 : this.#dirtyKeys.size + this.#dirtyTags.size + this.#dirtyClears.size;
    return { ...this.#counts, pending, connected: this.#link.ready, clockOffset: this.#offset };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.off('ready', this.#onReady);
    for (const waiter of this.#waiting) waiter.give(closedError());
    this.#client.off('refresh', this.#onRefresh);
    this.#link.dispose();
    this.#nodes?.dispose();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closeClient) await release(this.#client, this.#link.timeout);
  }

  // ------------------------------------------------------------------ internals

  readonly #failed = (error: unknown): never => {
    const e = toRedisError(error);
    this.#counts.errors++;
    if (e.code === 'timeout') {
      this.#counts.timeouts++;
      if (this.#nodes === undefined) this.#link.trip();
    }
    throw e;
  };

  /**
   * Reports keys a script left alone because they hold another Redis type: each once (a `foreign` error,
   * which the cache emits as an `error` event), never as a failure to replay.
   */
  readonly #reportForeign = (keys: readonly string[]): void => {
    if (keys.length === 0) return;
    const fresh: string[] = [];
    for (const key of keys) {
      if (this.#foreign.has(key)) continue;
      if (this.#foreign.size >= MAX_FOREIGN) this.#foreign.clear();
      this.#foreign.add(key);
      fresh.push(key);
    }
    if (fresh.length === 0) return;
    this.#counts.foreignKeys += fresh.length;
    this.#counts.errors++;
    const one = fresh.length === 1;
    const shown = fresh.slice(0, 5).map((k) => JSON.stringify(k));
    throw new LarderRedisError(
      'foreign',
      `larder/redis: ${one ? 'a key' : `${fresh.length} keys`} under the prefix ${JSON.stringify(this.#prefix)} ${one ? 'holds' : 'hold'} another Redis type (another app's data?) and ${one ? 'was' : 'were'} left alone: ${shown.join(', ')}${fresh.length > 5 ? ', ...' : ''}. Give this cache a prefix of its own.`,
    );
  };

  /** A failed call to slot group `g`: on a cluster, a timeout trips that group's master only. */
  #failedAt(error: unknown, g: number): never {
    if (this.#nodes !== undefined && toRedisError(error).code === 'timeout') this.#nodes.trip(g);
    return this.#failed(error);
  }

  /** Refuses a call at once: the master of its slot group is known to be hung. */
  #refuse(): Promise<never> {
    this.#counts.errors++;
    return Promise.reject(hungError());
  }

  /** Deletes one entry as of `time` (Redis clock), remembering it for replay if that fails. */
  #tombstone(rkey: string, time: number): Promise<void> {
    return this.#deleteAt([rkey], [time]).then(noop, (error: unknown) => {
      this.#remember(this.#dirtyKeys, rkey, time);
      return this.#failed(error);
    });
  }

  /** Deletes entries as of `times` (one script per slot group); resolves with the keys skipped as foreign. */
  #deleteAt(rkeys: readonly string[], times: readonly number[]): Promise<string[]> {
    const px = this.#tombstonePx;
    const parts = this.#layout.split(rkeys, times);
    return allKeys(
      parts.map(([, keys, ts]) => this.#link.run((c) => c.eval(DELETE, keys.length, ...keys, px, ...ts))),
    );
  }

  /**
   * Raises tag times (tag key suffixes), in every slot group: one script per group, sent at once. Resolves with
   * the keys skipped as foreign.
   */
  #tagsAt(tsuffixes: readonly string[], times: readonly number[]): Promise<string[]> {
    const px = this.#tombstonePx;
    return allKeys(
      this.#layout.groups.map((group, g) => {
        const keys = [this.#invOf[g] as string];
        for (const t of tsuffixes) keys.push(group + t);
        return this.#link.run((c) => c.eval(TAGS, keys.length, ...keys, px, ...times));
      }),
    );
  }

  /**
   * Records a clear of `prefix` as of `at` (Redis clock), then removes the entries under it with SCAN.
   * Resolves with the keys left alone as foreign.
   */
  async #clearAt(prefix: string, at: number): Promise<string[]> {
    const fields = valuePrefixes(prefix);
    const px = this.#tombstonePx;
    // The clear's time first (in every slot group): from then on, reads and writes honour it.
    const foreign = await allKeys(
      this.#layout.groups.map((_, g) =>
        this.#link.run((c) =>
          c.eval(CLEAR, 2, this.#clearsOf[g] as string, this.#invOf[g] as string, px, at, ...fields),
        ),
      ),
    );
    // Then remove the entries: SCAN every master (on a cluster, `{*}` matches any group's hash tag; a key
    // matched by mistake is only removed from the cache, never wrongly kept).
    const head = this.#layout.sharded ? `${escapeGlob(this.#prefix)}{*}` : escapeGlob(this.#prefix);
    const nodes = this.#link.ready ? masters(this.#client) : [];
    await all(
      nodes.map(async (node) => {
        for (const field of fields) {
          const match = `${head}${escapeGlob(field)}*`;
          let cursor = '0';
          do {
            const [next, keys] = await this.#onNode(node, (n) =>
              n.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT),
            );
            cursor = next;
            for (let i = 0; i < keys.length; i += BATCH) {
              const batch = keys.slice(i, i + BATCH);
              const skipped = await allKeys(
                this.#layout
                  .split(batch, batch)
                  .map(([, ks]) => this.#link.run((c) => c.eval(PURGE, ks.length, ...ks, at))),
              );
              foreign.push(...skipped);
            }
          } while (cursor !== '0' && !this.#closed);
        }
      }),
    );
    return foreign;
  }

  /** Sends a command to one node (a master of a cluster, or the client itself), bounded by the timeout. */
  #onNode<T>(node: Redis, send: (n: Redis) => Promise<T>): Promise<T> {
    if (node === this.#client) return this.#link.run(send);
    if (node.status !== 'ready') {
      return Promise.reject(
        new LarderRedisError('unavailable', `Redis node is not connected (${node.status})`),
      );
    }
    const timeout = this.#link.timeout;
    return withTimeout(
      send(node),
      timeout,
      () => new LarderRedisError('timeout', `Redis did not answer within ${timeout} ms`),
    );
  }

  #remember(map: Map<string, number>, key: string, time: number): void {
    if (this.#closed) return;
    if (this.#dirtyAll > 0) {
      this.#dirtyAll = Math.max(this.#dirtyAll, time);
    } else {
      map.set(key, Math.max(map.get(key) ?? 0, time));
      if (this.#dirtyKeys.size + this.#dirtyTags.size + this.#dirtyClears.size > this.#maxPending) {
        let latest = time;
        for (const m of [this.#dirtyKeys, this.#dirtyTags, this.#dirtyClears]) {
          for (const t of m.values()) latest = Math.max(latest, t);
        }
        this.#rememberAll(latest);
      }
    }
    this.#schedule();
  }

  #rememberAll(time: number): void {
    if (this.#closed) return;
    this.#dirtyAll = Math.max(this.#dirtyAll, time);
    this.#dirtyKeys.clear();
    this.#dirtyTags.clear();
    this.#dirtyClears.clear();
    this.#schedule();
  }

  /** Retries soon if the client stays connected (a timeout); a reconnect replays at once anyway. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#link.ready) this.#replay();
      else if (this.#pendingCount() > 0) this.#schedule();
    }, REPLAY_DELAY);
    this.#timer.unref?.();
  }

  #pendingCount(): number {
    return this.#dirtyAll > 0 ? 1 : this.#dirtyKeys.size + this.#dirtyTags.size + this.#dirtyClears.size;
  }

  #connected(): void {
    if (this.#closed) return;
    this.#everReady = true;
    this.#link.reset();
    // Replay first: its commands go out before anything else sent on this connection (such as a bus
    // message telling other instances to re-read the keys).
    this.#replay();
    this.#measureClock();
    // Then the writes issued while the first connection was being made, in the order they were issued.
    for (const waiter of this.#waiting) waiter.go();
  }

  /**
   * Sends a write now, or, while the client is still making its first connection (a new instance's first
   * moments), once it is ready: such writes would otherwise fail and leave the next instance to load the
   * value again. The wait is bounded by `timeout`; after it the write fails as "unavailable" (and is
   * remembered for replay like any failed write).
   */
  #afterConnect<T>(send: () => Promise<T>): Promise<T> {
    const client = this.#client;
    const status = client.status;
    if (this.#everReady || !FIRST_CONNECT.has(status) || this.#waiting.size >= this.#maxPending)
      return send();
    if (status === 'wait') client.connect().catch(noop);
    return new Promise<T>((resolve, reject) => {
      const timeout = this.#link.timeout;
      const waiter: Waiter = {
        go: () => {
          this.#waiting.delete(waiter);
          clearTimeout(timer);
          send().then(resolve, reject);
        },
        give: (error) => {
          this.#waiting.delete(waiter);
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.give(
            new LarderRedisError(
              'unavailable',
              `Redis did not connect within ${timeout} ms (client status: ${client.status})`,
            ),
          ),
        timeout,
      );
      this.#waiting.add(waiter);
    });
  }

  /** Sends the remembered failed writes again (synchronously, in order), keeping the ones that fail again. */
  #replay(): void {
    if (this.#pendingCount() === 0 || this.#closed) return;
    this.#counts.replays++;
    const all = this.#dirtyAll;
    const keys = [...this.#dirtyKeys];
    const tags = [...this.#dirtyTags];
    const clears = [...this.#dirtyClears];
    this.#dirtyAll = 0;
    this.#dirtyKeys.clear();
    this.#dirtyTags.clear();
    this.#dirtyClears.clear();
    if (all > 0) {
      this.#clearAt('', all).catch(() => this.#rememberAll(all));
      return;
    }
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH);
      this.#deleteAt(
        batch.map(([k]) => k),
        batch.map(([, t]) => t),
      ).catch(() => {
        for (const [k, t] of batch) this.#remember(this.#dirtyKeys, k, t);
      });
    }
    for (let i = 0; i < tags.length; i += BATCH) {
      const batch = tags.slice(i, i + BATCH);
      this.#tagsAt(
        batch.map(([k]) => k),
        batch.map(([, t]) => t),
      ).catch(() => {
        for (const [k, t] of batch) this.#remember(this.#dirtyTags, k, t);
      });
    }
    for (const [prefix, at] of clears) {
      this.#clearAt(prefix, at).catch(() => this.#remember(this.#dirtyClears, prefix, at));
    }
  }

  /**
   * Estimates how far the Redis clock is from ours with TIME, so that times written by instances with
   * skewed clocks still compare correctly. Differences within the round trip are treated as none.
   */
  #measureClock(): void {
    const sent = Date.now();
    this.#link
      .run((c) => c.time())
      .then((reply) => {
        const received = Date.now();
        const [seconds, micros] = reply as [string | number, string | number];
        const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        const offset = Math.round(redisNow - (sent + received) / 2);
        if (Number.isFinite(offset))
          this.#offset = Math.abs(offset) <= (received - sent) / 2 + 1 ? 0 : offset;
      }, noop);
  }
}

function noop(): void {}

/** The key names a script returned (the keys it skipped as foreign); none for any other reply. */
function keysOf(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.filter((k): k is string => typeof k === 'string') : [];
}

/** How many reported foreign keys the tier remembers (beyond that it forgets them and may report them again). */
const MAX_FOREIGN = 10_000;

/** A write waiting for the first connection. */
interface Waiter {
  /** Sends it (the client is ready). */
  go(): void;
  /** Fails it. */
  give(error: unknown): void;
}

/** ioredis client statuses on the way to a first connection. */
const FIRST_CONNECT = new Set(['wait', 'connecting', 'connect', 'reconnecting']);

/** No value checked (a value of its own, since any value can be checked). */
const NOTHING = Symbol('nothing');

/** Resolves when every promise has resolved, rejects with the first rejection (after all settled). */
async function all(pending: readonly Promise<unknown>[]): Promise<void> {
  if (pending.length === 1) {
    await pending[0];
    return;
  }
  const results = await Promise.allSettled(pending);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Like {@link all}, and resolves with the foreign keys the scripts reported (see {@link keysOf}). */
async function allKeys(pending: readonly Promise<unknown>[]): Promise<string[]> {
  const results = await Promise.allSettled(pending);
  const keys: string[] = [];
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    keys.push(...keysOf(r.value));
  }
  return keys;
}

/** {@link createdOf} of a tombstone. */
const TOMBSTONE = -1;

/**
 * The createdAt (Redis clock) in an entry's header, {@link TOMBSTONE} for a tombstone, or NaN when the
 * header does not start with an integer time (the read script then checks it, and decode reports it if it
 * is not an entry at all).
 */
function createdOf(raw: string): number {
  if (
    raw.charCodeAt(0) !== 76 /* L */ ||
    raw.charCodeAt(1) !== 49 /* 1 */ ||
    raw.charCodeAt(2) !== 91 /* [ */
  ) {
    return Number.NaN;
  }
  let end = 3;
  for (let c = raw.charCodeAt(end); c >= 48 && c <= 57; c = raw.charCodeAt(++end));
  if (end === 3) return Number.NaN;
  const created = Number(raw.slice(3, end));
  const next = raw.charCodeAt(end);
  if (next === 93 /* ] */) return TOMBSTONE;
  return next === 44 /* , */ ? created : Number.NaN;
}

/** For Link.run when the client is not connected: never called (run fails first). */
function noCommand(): Promise<never> {
  return Promise.reject(new LarderRedisError('unavailable', 'Redis is not connected'));
}

const NO_TAGS: readonly string[] = [];

function closedError(): LarderRedisError {
  return new LarderRedisError('closed', 'the Redis tier is closed');
}
