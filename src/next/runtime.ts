import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { Cache } from '../cache.js';
import { type Duration, describe, toMs } from '../duration.js';
import type { BusSnapshot } from '../otel/source.js';
import { type RedisBus, redisBus } from '../redis/bus.js';
import { openCluster } from '../redis/cluster.js';
import { restoreStringPrototype } from '../redis/fast-strings.js';
import { withTimeout } from '../redis/link.js';
import { type RedisTier, redisTier } from '../redis/tier.js';
import { singleton } from '../singleton.js';
import type { BusMessage, TierRecord } from '../tier.js';
import {
  decodeValue,
  type Encoding,
  encodeValue,
  isStored,
  type NextCompression,
  type NextValueCodec,
  resolveEncoding,
  TEXT,
} from './compression.js';
import { nextTagsManifest } from './next-manifest.js';
import { ownBytes } from './own-bytes.js';
import { HandlerCounters, type NextCacheStats, snapshotOf, statsOf } from './stats.js';
import { TagTable } from './tags.js';

/** Options shared by {@link createIncrementalCacheHandler} and {@link createUseCacheHandler}. */
export interface NextCacheHandlerOptions {
  /**
   * `redis://` / `rediss://` URL of the Redis the instances share. Default: `process.env.REDIS_URL`. Empty or
   * absent: a memory-only handler (one instance, like Next.js's built-in one, but bounded and tag-aware).
   */
  redisUrl?: string | undefined;
  /** Prefix of every Redis key and of the bus channel (default `'larder:next:'`). */
  prefix?: string;
  /**
   * The build or deployment id that keys are scoped by, so two deployments sharing a Redis never serve each
   * other's entries. Default: `NEXT_DEPLOYMENT_ID`, else the `BUILD_ID` file of the build being served.
   */
  buildId?: string;
  /** Next.js's `distDir`, where `BUILD_ID` is read from when Next.js does not say (default `'.next'`). */
  distDir?: string;
  /** Bytes of entries kept in this process's memory, in front of Redis (default 64 MiB; 0: none). */
  maxMemory?: number;
  /** The longest any call waits for Redis (default `'250ms'`). When Redis is down, calls fail at once. */
  timeout?: Duration;
  /**
   * The longest an entry lives (default `'7d'`): entries without an `expire` (ISR pages with
   * `revalidate: false`, fetches) are dropped after this. Tag records live this long after their last
   * use too, which bounds the tag table.
   */
  maxTtl?: Duration;
  /** Whether `next build` connects to Redis (default `false`: builds use memory only and need no Redis). */
  redisDuringBuild?: boolean;
  /** Extra ioredis options (e.g. `tls`, `username`); the fail-fast settings win. */
  client?: RedisOptions;
  /**
   * Connect to a Redis Cluster (default `false`): `redisUrl` is then one node's URL or several separated by
   * commas, entries spread over the masters, and the tag table lives in one slot (`<prefix>{tags}:`).
   */
  cluster?: boolean;
  /**
   * Called with failures (Redis down, timeouts, values that cannot be stored). Default: a `console.warn`
   * at most every 30 seconds. The handlers never throw these to Next.js.
   */
  onError?: (error: unknown, operation: string) => void;
  /**
   * Compression of the values stored in Redis larger than `compressThreshold` (default `'gzip'`; `false`:
   * none). Memory keeps entries decoded (what is fastest to serve). Every instance reads entries written with
   * any setting, so a fleet can change it in a rolling deploy.
   */
  compress?: NextCompression;
  /** Values whose JSON is shorter than this many bytes are stored uncompressed (default 1024). */
  compressThreshold?: number;
  /**
   * Full control of the bytes stored in Redis (encryption, another compression): see {@link NextValueCodec}.
   * With a codec, values not encoded by it (another `name`, or none) are refused.
   */
  codec?: NextValueCodec;
}

/** What both handlers store: the entry's time, its tags and its size in bytes. @internal */
interface StoredBase {
  /** `lastModified` (incremental) or `timestamp` (`'use cache'`), epoch ms. */
  t: number;
  /** The entry's own tags. */
  g: string[];
  /** Approximate size in bytes, for the memory bound. */
  s: number;
}

/** An incremental-cache entry. @internal */
export interface StoredIncremental extends StoredBase {
  k: 'i';
  /** The value Next.js passed to `set` (streams replaced by their bytes). */
  v: unknown;
  /** `ctx.cacheControl` of `set`. */
  cc?: unknown;
  /** 1 when `v` held streams (then each read gets new ones). */
  st?: 1;
}

/** A `'use cache'` entry. @internal */
export interface StoredUseCache extends StoredBase {
  k: 'u';
  b: Uint8Array;
  stale: number;
  expire: number;
  revalidate: number;
}

/** A stored entry. @internal */
export type Stored = StoredIncremental | StoredUseCache;

interface Resolved {
  redisUrl: string;
  prefix: string;
  buildId: string | undefined;
  distDir: string;
  maxMemory: number;
  timeout: number;
  maxTtl: number;
  redisDuringBuild: boolean;
  client: RedisOptions | undefined;
  cluster: boolean;
  onError: ((error: unknown, operation: string) => void) | undefined;
  encoding: Encoding;
}

const KNOWN = [
  'redisUrl',
  'prefix',
  'buildId',
  'distDir',
  'maxMemory',
  'timeout',
  'maxTtl',
  'redisDuringBuild',
  'client',
  'cluster',
  'onError',
  'compress',
  'compressThreshold',
  'codec',
];

/** Validates the options. @internal */
export function resolveOptions(options: unknown, name: string): Resolved {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${name}: options must be an object; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key))
      throw new TypeError(`${name}: unknown option ${key} (known: ${KNOWN.join(', ')})`);
  }
  const o = options as NextCacheHandlerOptions;
  const str = (value: unknown, option: string, allowEmpty: boolean): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || (!allowEmpty && value === '')) {
      throw new TypeError(
        `${name}: ${option} must be a${allowEmpty ? '' : ' non-empty'} string; got ${describe(value)}`,
      );
    }
    return value;
  };
  const redisUrl = str(o.redisUrl, 'redisUrl', true) ?? process.env.REDIS_URL ?? '';
  const maxMemory = o.maxMemory ?? 64 * 1024 * 1024;
  if (typeof maxMemory !== 'number' || !Number.isInteger(maxMemory) || maxMemory < 0) {
    throw new RangeError(
      `${name}: maxMemory must be an integer number of bytes >= 0; got ${describe(maxMemory)}`,
    );
  }
  if (o.redisDuringBuild !== undefined && typeof o.redisDuringBuild !== 'boolean') {
    throw new TypeError(`${name}: redisDuringBuild must be a boolean; got ${describe(o.redisDuringBuild)}`);
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw new TypeError(`${name}: onError must be a function; got ${describe(o.onError)}`);
  }
  if (o.client !== undefined && (typeof o.client !== 'object' || o.client === null)) {
    throw new TypeError(`${name}: client must be an object of ioredis options; got ${describe(o.client)}`);
  }
  if (o.cluster !== undefined && typeof o.cluster !== 'boolean') {
    throw new TypeError(`${name}: cluster must be a boolean; got ${describe(o.cluster)}`);
  }
  return {
    redisUrl: redisUrl.trim(),
    prefix: str(o.prefix, 'prefix', false) ?? 'larder:next:',
    buildId: str(o.buildId, 'buildId', false),
    distDir: str(o.distDir, 'distDir', false) ?? '.next',
    maxMemory,
    timeout: toMs(o.timeout ?? 250, `${name}: timeout`),
    maxTtl: toMs(o.maxTtl ?? '7d', `${name}: maxTtl`),
    redisDuringBuild: o.redisDuringBuild ?? false,
    client: o.client,
    cluster: o.cluster ?? false,
    onError: o.onError,
    encoding: resolveEncoding(o.compress, o.compressThreshold, o.codec, name),
  };
}

let currentScope = '';

/** The scope handlers created now belong to. @internal */
export function scope(): string {
  return currentScope;
}

/**
 * Runs `fn` with handlers created inside it getting their own runtime (memory, connections, tag table), as
 * if they ran in another process. For tests that simulate several instances in one process. @internal
 */
export function withScope<T>(name: string, fn: () => T): T {
  const previous = currentScope;
  currentScope = name;
  try {
    return fn();
  } finally {
    currentScope = previous;
  }
}

/** Whether this process is `next build`. */
export function isBuildPhase(): boolean {
  return process.env.NEXT_PHASE === 'phase-production-build';
}

// As soon as ioredis is loaded (above), before Next.js optimizes its request path (redisTier and redisBus
// do it again for the client they are given).
restoreStringPrototype();

/** Exponential reconnect backoff from 50 ms, capped at 1 s. */
function backoff(times: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 10), 1000);
}

/**
 * Bytes an entry of the memory tier costs beyond its value (`s`): the stored record, its `cacheControl`, the
 * cache's `Entry`, the key and the store's bookkeeping (about 400 measured with bench/next/soak.ts).
 */
const ENTRY_OVERHEAD = 384;
/** Bytes of one tag string and its slot in the entry's tag list, beyond its characters. */
const TAG_OVERHEAD = 40;

/** The memory tier's size of an entry: its value, its tags and its fixed overhead. */
function footprint(stored: Stored): number {
  let size = Math.max(1, stored.s) + ENTRY_OVERHEAD;
  for (const tag of stored.g) size += tag.length + TAG_OVERHEAD;
  return size;
}

/** How far back a resync after an outage re-reads the tag table, beyond the outage (clock skew, slow writes). */
const RESYNC_MARGIN = 5 * 60_000;

/**
 * Everything the handlers share in one process: the memory tier, the Redis connection, tier and bus, the tag
 * table, and the outage state. Next.js constructs the incremental handler per request; this lives once per
 * process (and per Redis URL and prefix).
 *
 * @internal
 */
export class Runtime {
  readonly memory: Cache<string, Stored> | undefined;
  readonly tags: TagTable;
  readonly client: Redis | undefined;
  readonly tier: RedisTier | undefined;
  readonly bus: RedisBus | undefined;
  /** Whether the tag table is in step with Redis (tier reads are only trusted then). */
  synced: boolean;
  /** Entries created before this time are not served (0: trust all). Set while the bus may have missed messages. */
  distrustBefore: number;
  /** Bumped on every invalidation of memory, so a tier read that raced one does not store an old value. */
  #epoch = 0;
  #buildId: string | undefined;
  #serverDistDir: string | undefined;
  #startup: Promise<void> | undefined;
  #startupDone: (() => void) | undefined;
  #syncing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #reads = new Map<string, Promise<Stored | undefined>>();
  #lastWarn = 0;
  #closed = false;
  /** Counters of each handler kind (`stats()`, larder/otel). */
  readonly counters = { i: new HandlerCounters(), u: new HandlerCounters() };

  constructor(readonly options: Resolved) {
    const remote = options.redisUrl !== '' && (options.redisDuringBuild || !isBuildPhase());
    this.memory =
      options.maxMemory > 0
        ? new Cache<string, Stored>({ maxSize: options.maxMemory, sizeOf: footprint })
        : undefined;
    this.memory?.on('evict', ({ key }) => {
      const kind = kindOf(key, this.buildId());
      if (kind !== undefined) this.counters[kind].evictions++;
    });
    this.#buildId = options.buildId;
    const manifest = nextTagsManifest();
    // Tag records outlive every entry created before them (entries live at most maxTtl), plus a margin.
    const tagTtl = options.maxTtl + Math.min(3_600_000, options.maxTtl);
    if (!remote) {
      this.tags = new TagTable(options.prefix, undefined, tagTtl, manifest, (e, op) => this.report(e, op));
      this.synced = true;
      this.distrustBefore = 0;
      return;
    }
    this.synced = false;
    this.distrustBefore = Date.now();
    const timeout = options.timeout;
    const client: Redis = options.cluster
      ? // A Cluster has the same command methods; tier and bus take it as it is.
        (openCluster(options.redisUrl, 'larder/next: redisUrl', {
          timeout,
          reconnectDelay: 1000,
          client: options.client,
          connectionName: options.client?.connectionName ?? 'larder-next',
        }) as unknown as Redis)
      : new Redis(options.redisUrl, {
          connectTimeout: Math.max(1000, timeout * 4),
          retryStrategy: backoff,
          ...options.client,
          lazyConnect: false,
          // No commandTimeout: the bus's subscriber inherits these options, and a SUBSCRIBE timed out under load
          // is not retried. Every command of the handlers is bounded by `run` (and the tier's own timer) instead.
          commandTimeout: undefined,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
          connectionName: options.client?.connectionName ?? 'larder-next',
        });
    client.on('error', (error: unknown) => {
      this.#endStartup();
      this.report(error, 'redis');
    });
    client.on('close', () => {
      this.#endStartup();
      this.#outage();
    });
    client.on('ready', () => this.#trySync());
    this.client = client;
    // Values reach the tier already encoded (encodeValue runs off the event loop's hot path, in zlib's pool).
    this.tier = redisTier(client, { prefix: options.prefix, serializer: TEXT, timeout });
    const bus = redisBus(client, { prefix: options.prefix, timeout, reconnectDelay: 1000 });
    this.bus = bus;
    this.tags = new TagTable(
      // On a cluster, the tag table's hash and sorted set (updated together by one script) share a slot.
      options.cluster ? `${options.prefix}{tags}:` : options.prefix,
      {
        run: (send) => this.run(send),
        ready: () => client.status === 'ready',
        publish: async (tags) => {
          bus.publish({ type: 'tags', tags });
          // PUBLISH went out on this connection; once PING answers, Redis has delivered it.
          await this.#barrier();
        },
      },
      tagTtl,
      manifest,
      (e, op) => this.report(e, op),
    );
    bus.start({
      message: (message) => this.#onMessage(message),
      resync: () => {
        this.#outage();
        this.#trySync();
      },
      error: (error) => {
        this.report(error, 'bus');
        if (!bus.stats().subscribed) this.#outage();
      },
    });
    this.#startup = new Promise<void>((resolve) => {
      this.#startupDone = resolve;
    });
    // The first reads wait for the tag table (once per process; cut short when Redis refuses the connection).
    const startupTimer = setTimeout(() => this.#endStartup(), Math.max(5000, timeout * 20));
    startupTimer.unref?.();
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref?.();
  }

  /** Returns the runtime for these options, creating it once per process (and scope, see {@link withScope}). */
  static for(options: Resolved, scope: string): Runtime {
    const remote = options.redisDuringBuild || !isBuildPhase();
    const name = `larder/next:${scope}|${options.redisUrl}|${options.prefix}|${remote}|${options.cluster}`;
    return singleton(name, () => new Runtime(options));
  }

  /** Remembers where Next.js serves the build from (for `BUILD_ID`). */
  noteDistDir(serverDistDir: unknown): void {
    if (this.#serverDistDir === undefined && typeof serverDistDir === 'string')
      this.#serverDistDir = serverDistDir;
  }

  /** The build id keys are scoped by. */
  buildId(): string {
    if (this.#buildId !== undefined) return this.#buildId;
    const env = process.env.NEXT_DEPLOYMENT_ID;
    if (env !== undefined && env !== '') {
      this.#buildId = env;
      return env;
    }
    const file =
      this.#serverDistDir !== undefined
        ? join(this.#serverDistDir, '..', 'BUILD_ID')
        : join(process.cwd(), this.options.distDir, 'BUILD_ID');
    try {
      const id = readFileSync(file, 'utf8').trim();
      // During `next build`, BUILD_ID may still be the previous build's: read it again next time.
      if (id !== '' && !isBuildPhase()) this.#buildId = id;
      if (id !== '') return id;
    } catch {
      // no build yet
    }
    return 'no-build-id';
  }

  /** The full key of an entry. */
  key(kind: 'i' | 'u', key: string): string {
    return `${this.buildId()}:${kind}:${key}`;
  }

  /** Waits (once, at startup, bounded) until the tag table is loaded. */
  ready(): Promise<void> | undefined {
    if (this.synced || this.#startup === undefined) return undefined;
    return this.#startup;
  }

  /** Whether an entry created at `time` may be served. */
  trusted(time: number): boolean {
    return time >= this.distrustBefore;
  }

  /**
   * Reads an entry: memory, then (when the tag table is in step) Redis, one read per key at a time. Redis reads
   * are counted in `counters` (the handler's).
   */
  read(k: string, counters?: HandlerCounters): Promise<Stored | undefined> | Stored | undefined {
    const hit = this.memory?.get(k);
    if (hit !== undefined) return hit;
    const tier = this.tier;
    if (tier === undefined || !this.synced) return undefined;
    const running = this.#reads.get(k);
    if (running !== undefined) return running;
    const epoch = this.#epoch;
    const read = counted(tier.get(k), counters).then(
      async (record) => {
        if (record === undefined) return undefined;
        let decoded: Stored;
        try {
          decoded = (await decodeValue(record.value, this.options.encoding)) as Stored;
        } catch (error) {
          this.report(error, 'get');
          return undefined;
        }
        if (!isStored(decoded)) return undefined;
        // Decoded buffers under 4 KiB are views into Node's shared pool: keep copies that own their bytes.
        const stored = ownBytes(decoded);
        const ttl = record.expires - Date.now();
        if (ttl <= 0) return undefined;
        if (this.memory !== undefined && this.#epoch === epoch && this.synced) {
          try {
            this.memory.set(k, stored, { ttl });
          } catch {
            // larger than the memory bound: serve it from Redis only
          }
        }
        return stored;
      },
      (error: unknown) => {
        this.report(error, 'get');
        return undefined;
      },
    );
    const done = read.finally(() => {
      if (this.#reads.get(k) === done) this.#reads.delete(k);
    });
    this.#reads.set(k, done);
    return done;
  }

  /**
   * Writes an entry to memory and Redis (bounded by the timeout), then tells the other instances to drop their
   * copy. Never rejects.
   */
  async write(k: string, stored: Stored, ttl: number, counters?: HandlerCounters): Promise<void> {
    if (counters !== undefined) counters.sets++;
    this.#epoch++;
    const memory = this.memory;
    if (memory !== undefined) {
      try {
        // Next.js's buffers are often views into a shared pool or a larger buffer: keep bytes of our own.
        memory.set(k, ownBytes(stored), { ttl });
      } catch {
        memory.delete(k);
      }
    }
    const tier = this.tier;
    if (tier === undefined) return;
    let text: string;
    try {
      text = await encodeValue(stored, this.options.encoding);
    } catch (error) {
      // Not storable: make sure Redis does not go on serving the previous value.
      this.report(error, 'set');
      await tier.delete([k]).catch(() => {});
      this.bus?.publish({ type: 'delete', keys: [k] });
      return;
    }
    const now = Date.now();
    const record: TierRecord = {
      value: text,
      expires: now + ttl,
      staleUntil: now + ttl,
      errorUntil: now + ttl,
      tags: [],
      createdAt: now,
    };
    try {
      await tier.set(k, record);
    } catch (error) {
      if (counters !== undefined) counters.redisErrors++;
      this.report(error, 'set');
    }
    this.bus?.publish({ type: 'delete', keys: [k] });
    await this.#barrier();
  }

  /** Drops a memory copy found out of date, so the next read looks in Redis (another instance may have a newer one). */
  drop(k: string): boolean {
    const memory = this.memory;
    if (memory === undefined || !memory.has(k)) return false;
    this.#epoch++;
    memory.delete(k);
    return this.tier !== undefined && this.synced;
  }

  /** Resolves once Redis has processed every command sent so far on the connection (bounded by the timeout). */
  async #barrier(): Promise<void> {
    try {
      await this.run((c) => c.ping());
    } catch {
      // the write path already reported the outage
    }
  }

  /** Sends a command: fails at once when not connected, and after `timeout` ms without an answer. */
  run<T>(send: (client: Redis) => Promise<T>): Promise<T> {
    const client = this.client;
    if (client === undefined || client.status !== 'ready') {
      return Promise.reject(new Error(`Redis is not connected (${client?.status ?? 'no client'})`));
    }
    const timeout = this.options.timeout;
    let pending: Promise<T>;
    try {
      pending = send(client);
    } catch (error) {
      return Promise.reject(error);
    }
    return withTimeout(pending, timeout, () => new Error(`Redis did not answer within ${timeout} ms`));
  }

  /** Called once per request by `'use cache'` handlers: retries a sync when the table is behind. */
  refresh(): void {
    if (!this.synced) this.#trySync();
  }

  /** Reports a failure to `onError`, or warns (at most every 30 s). */
  report(error: unknown, operation: string): void {
    if (this.options.onError !== undefined) {
      try {
        this.options.onError(error, operation);
      } catch {
        // a failing listener must not break the cache
      }
      return;
    }
    const now = Date.now();
    if (now - this.#lastWarn < 30_000) return;
    this.#lastWarn = now;
    const message = error instanceof Error ? error.message : String(error);
    console.warn(
      `[larder/next] ${operation}: ${message} (serving without the shared cache until Redis is back)`,
    );
  }

  /** The `stats()` of a handler kind. */
  stats(kind: 'i' | 'u'): NextCacheStats {
    let entries = 0;
    const memory = this.memory;
    if (memory !== undefined) {
      const build = this.buildId();
      for (const key of memory.keys()) if (kindOf(key, build) === kind) entries++;
    }
    return statsOf(this.counters[kind], entries);
  }

  /** What a handler kind reports to larder/otel: its stats, and the bus the two kinds share. */
  snapshot(kind: 'i' | 'u'): ReturnType<typeof snapshotOf> {
    let bus: BusSnapshot | undefined;
    if (this.bus !== undefined) {
      const b = this.bus.stats();
      bus = { sent: b.sent, received: b.received, connected: b.subscribed };
    }
    return snapshotOf(this.stats(kind), this.tier !== undefined, bus);
  }

  /** Closes the connections (tests; Next.js never closes a cache handler). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#endStartup();
    await Promise.all([this.bus?.close(), this.tier?.close()]);
    this.client?.disconnect();
    await this.memory?.close();
  }

  // ---------------------------------------------------------------- internals

  #endStartup(): void {
    const done = this.#startupDone;
    this.#startupDone = undefined;
    this.#startup = undefined;
    done?.();
  }

  /** Something may have been missed: stop trusting Redis and older memory entries until the next sync. */
  #outage(): void {
    if (this.#closed || !this.synced) return;
    this.synced = false;
    this.distrustBefore = Date.now();
  }

  #tick(): void {
    if (this.#closed) return;
    const bus = this.bus;
    const client = this.client;
    if (bus === undefined || client === undefined) return;
    const up = client.status === 'ready' && bus.stats().subscribed;
    if (!up) this.#outage();
    else if (!this.synced) this.#trySync();
  }

  #trySync(): void {
    if (this.#closed || this.#syncing !== undefined) return;
    const client = this.client;
    const bus = this.bus;
    if (client === undefined || bus === undefined) return;
    if (client.status !== 'ready' || !bus.stats().subscribed) return;
    const since = this.distrustBefore;
    this.#syncing = (async () => {
      // Memory entries may have missed invalidations: drop them, and any tier read in flight.
      this.#epoch++;
      this.memory?.clear();
      await this.tags.sync(since, RESYNC_MARGIN);
      if (client.status !== 'ready' || !bus.stats().subscribed)
        throw new Error('Redis went away during resync');
      this.synced = true;
      this.distrustBefore = 0;
      this.#endStartup();
    })()
      .catch((error: unknown) => this.report(error, 'resync'))
      .finally(() => {
        this.#syncing = undefined;
      });
  }

  #onMessage(message: BusMessage): void {
    switch (message.type) {
      case 'delete':
        this.#epoch++;
        for (const k of message.keys) this.memory?.delete(k);
        return;
      case 'tags':
        void this.tags.refresh(message.tags);
        return;
      case 'clear':
        this.#epoch++;
        this.memory?.clear();
        return;
    }
  }
}

/** The handler kind of a full key (`<buildId>:<kind>:<key>`) of build `build`. */
function kindOf(key: string, build: string): 'i' | 'u' | undefined {
  if (key.length <= build.length + 2 || !key.startsWith(build) || key[build.length] !== ':') return undefined;
  const kind = key[build.length + 1];
  return (kind === 'i' || kind === 'u') && key[build.length + 2] === ':' ? kind : undefined;
}

/** Counts a Redis read in a handler's counters (hit, miss or error) and passes it through. */
function counted<T>(
  read: Promise<T | undefined>,
  counters: HandlerCounters | undefined,
): Promise<T | undefined> {
  if (counters === undefined) return read;
  return read.then(
    (record) => {
      if (record === undefined) counters.redisMisses++;
      else counters.redisHits++;
      return record;
    },
    (error: unknown) => {
      counters.redisErrors++;
      throw error;
    },
  );
}

/** Closes and forgets every runtime of this process (tests). @internal */
export async function closeRuntimes(): Promise<void> {
  const registry = (globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>)[
    Symbol.for('larder.singletons')
  ];
  if (registry === undefined) return;
  const closing: Promise<void>[] = [];
  for (const [name, value] of [...registry]) {
    if (name.startsWith('larder/next:') && value instanceof Runtime) {
      registry.delete(name);
      closing.push(value.close());
    }
  }
  await Promise.all(closing);
}
