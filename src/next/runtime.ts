import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Cache } from '../cache.js';
import type { BusSnapshot } from '../otel/source.js';
import { type RedisBus, redisBus } from '../redis/bus.js';
import { type RedisTier, redisTier } from '../redis/tier.js';
import { singleton } from '../singleton.js';
import type { BusMessage } from '../tier.js';
import { decodeValue, type Encoding, encodeValue, TEXT } from './compression.js';
import { openClient, runCommand } from './connection.js';
import { entriesOf, memoryTier } from './memory.js';
import { nextTagsManifest } from './next-manifest.js';
import { isBuildPhase, type ResolvedOptions } from './options.js';
import { ownBytes } from './own-bytes.js';
import { entryOf, recordOf } from './records.js';
import { failureReporter } from './report.js';
import { countRedisRead, HandlerCounters, type NextCacheStats, snapshotOf, statsOf } from './stats.js';
import type { Stored } from './stored.js';
import { TagTable } from './tags.js';

/** How long the first requests wait for the tag table at startup: 5 s, or 20 x the handler's `timeout`. @internal */
export function startupWaitMs(timeout: number): number {
  return Math.max(5000, timeout * 20);
}

/** How often {@link Runtime.whenSynced} looks. */
const SYNC_POLL_MS = 50;

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

/**
 * What a handler keeps of its own while sharing a runtime: the build its keys are scoped by (`buildId`, else
 * `NEXT_DEPLOYMENT_ID`, else the `BUILD_ID` file). @internal
 */
export type BuildScope = Pick<ResolvedOptions, 'buildId' | 'distDir'>;

/** The options two handlers sharing a runtime must agree on (they configure what is shared). */
const SHARED = ['maxMemory', 'timeout', 'redisDuringBuild'] as const;

/**
 * Refuses, at creation, a handler whose shared-runtime settings (`maxMemory`, `timeout`, `redisDuringBuild`)
 * differ from those of another handler created for the same runtime (same scope, `redisUrl`, `prefix`,
 * `cluster`): they would be silently ignored. A handler created again by the same function (a module reloaded)
 * replaces its own settings. @internal
 *
 * @throws TypeError naming the option.
 */
export function claimRuntime(options: ResolvedOptions, scope: string, name: string): void {
  const settings = singleton('larder/next-settings', () => new Map<string, Map<string, ResolvedOptions>>());
  const key = runtimeName(options, scope);
  let byCreator = settings.get(key);
  if (byCreator === undefined) {
    byCreator = new Map();
    settings.set(key, byCreator);
  }
  for (const [other, theirs] of byCreator) {
    if (other === name) continue;
    for (const option of SHARED) {
      if (theirs[option] !== options[option]) {
        throw new TypeError(
          `${name}: ${option} (${options[option]}) differs from the ${option} (${theirs[option]}) of ${other} ` +
            'for the same redisUrl and prefix: the two handlers share one memory tier and connection, so give ' +
            'them the same value (e.g. one options object imported by both files)',
        );
      }
    }
  }
  byCreator.set(name, options);
}

/** The singleton name of the runtime of `options` in `scope`. */
function runtimeName(options: ResolvedOptions, scope: string): string {
  const remote = options.redisDuringBuild || !isBuildPhase();
  return `larder/next:${scope}|${options.redisUrl}|${options.prefix}|${remote}|${options.cluster}`;
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
  /** `BUILD_ID` files read (by path), once a build is served. */
  readonly #buildIds = new Map<string, string>();
  #serverDistDir: string | undefined;
  #startup: Promise<void> | undefined;
  #startupDone: (() => void) | undefined;
  #syncing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #reads = new Map<string, Promise<Stored | undefined>>();
  /** The default reporter (`console.warn`, throttled), for handlers without `onError`. */
  readonly warn: (error: unknown, operation: string) => void = failureReporter(undefined);
  /** The `onError` listeners of the handlers sharing this runtime. */
  readonly #listeners = new Set<(error: unknown, operation: string) => void>();
  #closed = false;
  /** Counters of each handler kind (`stats()`, larder/otel). */
  readonly counters = { i: new HandlerCounters(), u: new HandlerCounters() };

  constructor(readonly options: ResolvedOptions) {
    if (options.onError !== undefined) this.#listeners.add(options.onError);
    const remote = options.redisUrl !== '' && (options.redisDuringBuild || !isBuildPhase());
    this.memory = memoryTier(options.maxMemory, this.counters);
    const manifest = nextTagsManifest();
    // Tag records outlive every entry created before them (entries live at most maxTtl), plus a margin.
    const tagTtl = options.maxTtl + Math.min(3_600_000, options.maxTtl);
    let opened: Redis | undefined;
    if (remote) {
      try {
        opened = openClient(options);
      } catch (error) {
        // A connection that cannot even be opened (resolveOptions refuses the URLs known to fail): serve from
        // memory rather than fail every request.
        this.report(error, 'connect');
      }
    }
    if (opened === undefined) {
      this.tags = new TagTable(options.prefix, undefined, tagTtl, manifest, (e, op) => this.report(e, op));
      this.synced = true;
      this.distrustBefore = 0;
      return;
    }
    this.synced = false;
    this.distrustBefore = Date.now();
    const timeout = options.timeout;
    const client = opened;
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
    // closeClient: the tier owns the connection's health too, so a half-open connection (a command that times out
    // while the socket looks open) is replaced, as with createCache, instead of waiting for the kernel to drop it.
    this.tier = redisTier(client, { prefix: options.prefix, serializer: TEXT, timeout, closeClient: true });
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
    const startupTimer = setTimeout(() => this.#endStartup(), startupWaitMs(timeout));
    startupTimer.unref?.();
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref?.();
  }

  /** Returns the runtime for these options, creating it once per process (and scope, see {@link withScope}). */
  static for(options: ResolvedOptions, scope: string): Runtime {
    return singleton(runtimeName(options, scope), () => new Runtime(options));
  }

  /**
   * The reporter of a handler: its own `onError` (also told of the shared connection's failures), else the
   * runtime's `console.warn`.
   */
  reporterFor(
    onError: ((error: unknown, operation: string) => void) | undefined,
  ): (error: unknown, operation: string) => void {
    if (onError === undefined) return this.warn;
    this.#listeners.add(onError);
    return failureReporter(onError);
  }

  /** Remembers where Next.js serves the build from (for `BUILD_ID`). */
  noteDistDir(serverDistDir: unknown): void {
    if (this.#serverDistDir === undefined && typeof serverDistDir === 'string')
      this.#serverDistDir = serverDistDir;
  }

  /** The build id the keys of a handler (`own`: its `buildId` and `distDir`) are scoped by. */
  buildId(own: BuildScope = this.options): string {
    if (own.buildId !== undefined) return own.buildId;
    const env = process.env.NEXT_DEPLOYMENT_ID;
    if (env !== undefined && env !== '') return env;
    const file =
      this.#serverDistDir !== undefined
        ? join(this.#serverDistDir, '..', 'BUILD_ID')
        : join(process.cwd(), own.distDir, 'BUILD_ID');
    const known = this.#buildIds.get(file);
    if (known !== undefined) return known;
    try {
      const id = readFileSync(file, 'utf8').trim();
      // During `next build`, BUILD_ID may still be the previous build's: read it again next time.
      if (id !== '' && !isBuildPhase()) this.#buildIds.set(file, id);
      if (id !== '') return id;
    } catch {
      // no build yet
    }
    return 'no-build-id';
  }

  /** The full key of an entry of a handler (`own`: its build). */
  key(kind: 'i' | 'u', key: string, own: BuildScope = this.options): string {
    return `${this.buildId(own)}:${kind}:${key}`;
  }

  /** Waits (once, at startup, bounded) until the tag table is loaded. */
  ready(): Promise<void> | undefined {
    if (this.synced || this.#startup === undefined) return undefined;
    return this.#startup;
  }

  /**
   * Waits until the tag table is in step with Redis, at most `ms`; unlike {@link ready}, a connection error does not
   * end the wait (the client keeps reconnecting). For one-shot commands that need Redis (warming), not for requests.
   *
   * @returns whether it is in step
   */
  async whenSynced(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.synced && !this.#closed && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, SYNC_POLL_MS));
    }
    return this.synced;
  }

  /** Whether an entry created at `time` may be served. */
  trusted(time: number): boolean {
    return time >= this.distrustBefore;
  }

  /**
   * Reads an entry: memory, then (when the tag table is in step) Redis, one read per key at a time. Redis reads
   * are counted in `counters` (the handler's) and decoded with `encoding` (the handler's own: the two handlers
   * share this runtime but may be given different codecs).
   */
  read(
    k: string,
    counters?: HandlerCounters,
    encoding: Encoding = this.options.encoding,
    report: (error: unknown, operation: string) => void = this.report.bind(this),
  ): Promise<Stored | undefined> | Stored | undefined {
    const hit = this.memory?.get(k);
    if (hit !== undefined) return hit;
    const tier = this.tier;
    if (tier === undefined || !this.synced) return undefined;
    const running = this.#reads.get(k);
    if (running !== undefined) return running;
    const epoch = this.#epoch;
    const read = tier.get(k).then(
      async (record) => {
        if (record === undefined) {
          countRedisRead(counters, 'miss');
          return undefined;
        }
        let decoded: unknown;
        try {
          decoded = await decodeValue(record.value, encoding);
        } catch (error) {
          countRedisRead(counters, 'error');
          report(error, 'get');
          return undefined;
        }
        const entry = entryOf(decoded, record.expires);
        if (entry === undefined) {
          countRedisRead(counters, 'miss');
          return undefined;
        }
        countRedisRead(counters, 'hit');
        const { stored, ttl } = entry;
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
        countRedisRead(counters, 'error');
        report(error, 'get');
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
  async write(
    k: string,
    stored: Stored,
    ttl: number,
    counters?: HandlerCounters,
    encoding: Encoding = this.options.encoding,
    report: (error: unknown, operation: string) => void = this.report.bind(this),
  ): Promise<void> {
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
      text = await encodeValue(stored, encoding);
    } catch (error) {
      // Not storable: make sure Redis does not go on serving the previous value.
      report(error, 'set');
      await tier.delete([k]).catch(() => {});
      this.bus?.publish({ type: 'delete', keys: [k] });
      return;
    }
    try {
      await tier.set(k, recordOf(text, ttl));
    } catch (error) {
      if (counters !== undefined) counters.redisErrors++;
      report(error, 'set');
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
    // During a known outage (the tag table out of step), do not wait a timeout per call for an answer.
    if (!this.synced) return;
    try {
      await this.run((c) => c.ping());
    } catch {
      // the write path already reported the outage
    }
  }

  /** Sends a command: fails at once when not connected, and after `timeout` ms without an answer. */
  run<T>(send: (client: Redis) => Promise<T>): Promise<T> {
    return runCommand(this.client, this.options.timeout, send);
  }

  /** Called once per request by `'use cache'` handlers: retries a sync when the table is behind. */
  refresh(): void {
    if (!this.synced) this.#trySync();
  }

  /**
   * Reports a failure of what the handlers share (connection, bus, tag table) to every handler's `onError`, or
   * warns (at most every 30 s) when none has one.
   */
  report(error: unknown, operation: string): void {
    if (this.#listeners.size === 0) {
      this.warn(error, operation);
      return;
    }
    for (const listener of this.#listeners) {
      try {
        listener(error, operation);
      } catch {
        // a failing listener must not break the cache
      }
    }
  }

  /** The `stats()` of a handler kind (`own`: the handler's build, whose entries are counted). */
  stats(kind: 'i' | 'u', own: BuildScope = this.options): NextCacheStats {
    return statsOf(
      this.counters[kind],
      entriesOf(this.memory, () => this.buildId(own), kind),
    );
  }

  /** What a handler kind reports to larder/otel: its stats, and the bus the two kinds share. */
  snapshot(kind: 'i' | 'u', own: BuildScope = this.options): ReturnType<typeof snapshotOf> {
    let bus: BusSnapshot | undefined;
    if (this.bus !== undefined) {
      const b = this.bus.stats();
      bus = { sent: b.sent, received: b.received, connected: b.subscribed };
    }
    return snapshotOf(this.stats(kind, own), this.tier !== undefined, bus);
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

/** Closes and forgets every runtime of this process (tests). @internal */
export async function closeRuntimes(): Promise<void> {
  const registry = (globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>)[
    Symbol.for('larder.singletons')
  ];
  if (registry === undefined) return;
  registry.delete('larder/next-settings');
  const closing: Promise<void>[] = [];
  for (const [name, value] of [...registry]) {
    if (name.startsWith('larder/next:') && value instanceof Runtime) {
      registry.delete(name);
      closing.push(value.close());
    }
  }
  await Promise.all(closing);
}
