/**
 * An entry as it travels to and from a second tier (such as Redis).
 *
 * Every time is an absolute epoch time in milliseconds (`Date.now()` scale); `Infinity` means never.
 */
export interface TierRecord<V = unknown> {
  /** The cached value (never `undefined`). */
  value: V;
  /** The value is fresh until this time. */
  expires: number;
  /** Stale-while-revalidate: after `expires`, the value may be served stale (with a refresh) until this time. */
  staleUntil: number;
  /** Stale-if-error: after `expires`, the value may stand in for a failed load until this time. */
  errorUntil: number;
  /** Tags the entry carries. */
  tags: readonly string[];
  /**
   * When the value was read from its source (for a load, when the load started; for `set`, when it
   * was called). A tier uses it to refuse writing an older value over a newer one, and to treat an
   * entry as invalid when one of its tags was invalidated after this time.
   */
  createdAt: number;
}

/**
 * A second tier behind the in-memory cache: shared between instances, slower than memory, and
 * allowed to fail. The cache calls it on a memory miss before it calls the loader, and writes to it
 * after a load or a `set`. Every method may reject; the cache counts the failure, emits `error`, and
 * carries on as if the tier had missed (reads) or had not been there (writes).
 *
 * Every call must settle (resolve or reject) within a bounded time: the bus message of a `set`, `delete` or tag
 * invalidation is published once the tier's call has settled, so that another instance re-reading the key finds
 * the new value (a `clear`'s goes out at once and again then), and `Cache.close` waits for those messages, up to
 * 5 s.
 *
 * `larder/redis` provides one: `redisTier(client)`.
 */
export interface CacheTier {
  /**
   * Throws a `TypeError` when the tier cannot store `value` (e.g. its serializer cannot round-trip it). `set`
   * calls it before changing anything, so an unstorable value fails the call instead of only the tier write.
   */
  check?(value: unknown): void;
  /** Reads a record; `undefined` when absent, expired past every window, or invalidated by a tag. */
  get(key: string): Promise<TierRecord | undefined>;
  /**
   * Optional: reads several records in one round trip, answering them in the order of `keys` (`undefined`
   * for each key `get` would answer `undefined` for). Batch loads (`getOrSetMany`, `wrapMany`,
   * `batchLoader`) use it; without it they call `get` once per key, all at once.
   */
  getMany?(keys: readonly string[]): Promise<(TierRecord | undefined)[]>;
  /** Writes a record unless the tier holds one with a later `createdAt` (or a later deletion/invalidation). */
  set(key: string, record: TierRecord): Promise<void>;
  /** Deletes keys, and records the deletion so that a load which started before it cannot write back. */
  delete(keys: readonly string[]): Promise<void>;
  /** Invalidates every entry carrying any of the tags, as of `at` (epoch ms). */
  invalidateTags(tags: readonly string[], at: number): Promise<void>;
  /** Removes every entry whose key starts with `prefix` (`''` for all of this cache's entries). */
  clear(prefix: string): Promise<void>;
  /** Releases what the tier opened itself (never a client the application passed in). */
  close(): Promise<void>;
  /**
   * Optional, for a tier that remembers the writes it could not apply and applies them later (as `redisTier`
   * does once Redis is back). The cache calls it once, from its constructor; the tier then calls `replayed`
   * after each such late write, with the invalidation it amounts to (`delete` for failed sets and deletions,
   * `tags`, `clear`). Until then the tier served the older values, so any instance may have read one back into
   * memory after the write's bus message went out: the cache drops the matching memory entries and in-flight
   * loads, and publishes the message on its bus again.
   */
  onReplay?(replayed: (message: BusMessage) => void): void;
}

/** A message on the invalidation bus. Keys are full cache keys (namespace prefixes included). */
export type BusMessage = BusDelete | BusTags | BusClear;

/** Drop these keys (sent for `delete` and `set`). */
export interface BusDelete {
  /** The message kind. */
  readonly type: 'delete';
  /** Full cache keys. */
  readonly keys: readonly string[];
}

/** Drop every entry carrying any of these tags (sent for `invalidateTag(s)`), or make them stale (`expireTag(s)`). */
export interface BusTags {
  /** The message kind. */
  readonly type: 'tags';
  /** The tags. */
  readonly tags: readonly string[];
  /** `true` for `expireTag(s)`: make the entries stale (served within their stale-while-revalidate window) instead. */
  readonly expire?: boolean;
}

/** Drop every entry whose key starts with `prefix` (sent for `clear`; `''` for the whole cache). */
export interface BusClear {
  /** The message kind. */
  readonly type: 'clear';
  /** A namespace prefix, or `''`. */
  readonly prefix: string;
}

/** What a bus delivers to the cache it is attached to. */
export interface BusHandlers {
  /** A message from another instance (the bus drops the instance's own messages). */
  message(message: BusMessage): void;
  /**
   * The bus (re)subscribed: messages may have been lost while it was away, and entries loaded during the
   * outage may be stale too, so the cache drops every memory entry and in-flight load. `since` is when the
   * subscription was re-established (epoch ms): nothing written before it can be proven current.
   */
  resync(since: number): void;
  /** A failure worth reporting (the bus keeps trying by itself). */
  error(error: unknown): void;
}

/**
 * An invalidation bus between instances. `larder/redis` provides one over Redis pub/sub: `redisBus(client)`.
 */
export interface CacheBus {
  /** Attaches the cache; called once by the cache's constructor. */
  start(handlers: BusHandlers): void;
  /** Sends a message to every other instance. Never throws and never rejects: failures go to `handlers.error`. */
  publish(message: BusMessage): void;
  /** Releases the connections and timers the bus opened itself. */
  close(): Promise<void>;
}
