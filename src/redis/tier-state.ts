import { describe } from '../duration.js';
import { checkKeys } from '../options.js';
import type { Serializer } from '../serializer.js';
import { NodeBreaker } from './breaker.js';
import {
  checkClient,
  checkCount,
  checkPrefix,
  checkSerializer,
  checkTimerMs,
  checkTombstoneMs,
} from './checks.js';
import { isCluster, nodeOptions, type RedisClient } from './cluster.js';
import { LarderRedisError } from './errors.js';
import { hungError, Link, toRedisError } from './link.js';
import { getScript, sha1 } from './scripts.js';
import { KeyLayout } from './slots.js';
import type { RedisTierOptions } from './tier.js';

const TIER_OPTIONS = ['prefix', 'serializer', 'timeout', 'tombstoneTtl', 'maxPending', 'closeClient'];

/**
 * What the Redis tier's modules share: the client and its link (and, on a cluster, a breaker per master), the
 * key layout with each slot group's keys and read script, the checked options, the counters, the Redis clock
 * offset, and the accounting of failed calls. `RedisTierImpl` (tier.ts) is the facade in front of the reads
 * (tier-read.ts), the writes (tier-write.ts), the invalidation scripts (invalidation.ts), the replay of failed
 * writes (replay.ts), the writes waiting for the first connection (first-connect.ts) and the foreign-key
 * reports (foreign-keys.ts).
 *
 * @internal
 */
export class TierState {
  readonly client: RedisClient;
  readonly link: Link;
  readonly prefix: string;
  /** Slot groups: one (the prefix) on a standalone Redis, 48 on a cluster. */
  readonly layout: KeyLayout;
  /** Per group: the clear-times hash, the latest-invalidation key and its copy, the read script and its SHA1. */
  readonly clearsOf: string[];
  readonly invOf: string[];
  readonly copyOf: string[];
  readonly scriptOf: string[];
  readonly shaOf: string[];
  /** Cluster only: a circuit breaker per master (the link's own breaker serves a standalone Redis). */
  readonly nodes: NodeBreaker | undefined;
  readonly serializer: Serializer;
  readonly tombstonePx: number;
  readonly maxPending: number;
  readonly closeClient: boolean;
  /** Milliseconds added to local times to get Redis times (see {@link TierState.measureClock}). */
  offset = 0;
  /**
   * Whether a TIME reply has given {@link TierState.offset}. Until then no write goes out (its times would be on
   * this instance's clock, which may be skewed): writes wait for it (first-connect.ts), and so does the replay.
   */
  clockKnown = false;
  /** Runs once, when the first TIME reply gives the offset (the facade replays, then sends the held writes). */
  onClockKnown: () => void = noop;
  /** TIME requests in flight. */
  #measuring = 0;
  closed = false;
  readonly counts = {
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

  /**
   * Checks the client and the options (a TypeError or RangeError naming the option).
   *
   * @param onRefresh - on a cluster, runs when a hung master's slots answer again (the replay hook)
   */
  constructor(client: RedisClient, options: RedisTierOptions, onRefresh: () => void) {
    this.client = checkClient(client, 'redisTier');
    if (nodeOptions(client).keyPrefix || (client.options as { keyPrefix?: string }).keyPrefix) {
      throw new TypeError(
        "redisTier: the client has ioredis's keyPrefix option, which the tier's scripts cannot see; use the tier's prefix option instead",
      );
    }
    checkKeys(options, TIER_OPTIONS, 'redisTier: options');
    this.prefix = checkPrefix(options.prefix, 'redisTier: prefix');
    const cluster = isCluster(client);
    if (cluster && /\{[^}]*\}/.test(this.prefix)) {
      throw new TypeError(
        `redisTier: prefix must not contain a hash tag ({...}) on a Redis Cluster (the tier spreads its keys over the slots itself); got ${JSON.stringify(this.prefix)}`,
      );
    }
    this.layout = new KeyLayout(this.prefix, cluster);
    const groups = this.layout.groups;
    this.clearsOf = groups.map((g) => `${g}c`);
    this.invOf = groups.map((g) => `${g}i`);
    this.copyOf = groups.map((g) => `${g}j`);
    this.scriptOf = groups.map((g) => getScript(g));
    this.shaOf = this.scriptOf.map(sha1);
    this.serializer = checkSerializer(options.serializer, 'redisTier: serializer');
    this.link = new Link(client, checkTimerMs(options.timeout ?? 250, 'redisTier: timeout'));
    this.nodes = cluster
      ? new NodeBreaker(
          client,
          this.layout.slots,
          (g) => this.link.run((c) => c.exists(this.invOf[g] as string)),
          this.link.timeout,
          onRefresh,
        )
      : undefined;
    this.tombstonePx = checkTombstoneMs(options.tombstoneTtl ?? '1m', 'redisTier: tombstoneTtl');
    this.maxPending = checkCount(options.maxPending, 'redisTier: maxPending', 10_000);
    if (options.closeClient !== undefined && typeof options.closeClient !== 'boolean') {
      throw new TypeError(`redisTier: closeClient must be a boolean; got ${describe(options.closeClient)}`);
    }
    this.closeClient = options.closeClient === true;
  }

  /** Counts a failed call and rethrows it as a `LarderRedisError` (a timeout trips the link, not on a cluster). */
  readonly failed = (error: unknown): never => {
    const e = toRedisError(error);
    this.counts.errors++;
    if (e.code === 'timeout') {
      this.counts.timeouts++;
      if (this.nodes === undefined) this.link.trip();
    }
    throw e;
  };

  /** A failed call to slot group `g`: on a cluster, a timeout trips that group's master only. */
  failedAt(error: unknown, g: number): never {
    if (this.nodes !== undefined && toRedisError(error).code === 'timeout') this.nodes.trip(g);
    return this.failed(error);
  }

  /** Refuses a call at once: the master of its slot group is known to be hung. */
  refuse(): Promise<never> {
    this.counts.errors++;
    return Promise.reject(hungError());
  }

  /**
   * Estimates how far the Redis clock is from ours with TIME, so that times written by instances with
   * skewed clocks still compare correctly. Differences within the round trip are treated as none.
   */
  measureClock(): void {
    const sent = Date.now();
    this.#measuring++;
    this.link
      .run((c) => c.time())
      .then(
        (reply) => {
          this.#measuring--;
          const received = Date.now();
          const [seconds, micros] = reply as [string | number, string | number];
          const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
          const offset = Math.round(redisNow - (sent + received) / 2);
          if (!Number.isFinite(offset)) return;
          this.offset = Math.abs(offset) <= (received - sent) / 2 + 1 ? 0 : offset;
          if (this.clockKnown) return;
          this.clockKnown = true;
          if (!this.closed) this.onClockKnown();
        },
        () => {
          this.#measuring--;
        },
      );
  }

  /**
   * Measures the clock when it is not known yet, no measurement is under way and the client can send one (a
   * write or the replay is waiting for it; a failed or unanswered TIME is retried this way).
   */
  ensureClock(): void {
    if (!this.clockKnown && this.#measuring === 0 && !this.closed && this.link.ready) this.measureClock();
  }

  /**
   * A local time (ms) on the Redis clock, with the offset known now. Until the first measurement that is the
   * local time itself: only the replay keeps such times, and converts them then (see `Replay.shift`).
   */
  redisTime(local: number): number {
    return Math.round(local + this.offset);
  }
}

/** Does nothing (a rejection handler for calls whose failure is handled elsewhere). @internal */
export function noop(): void {}

/** The error of any call after `close()`. @internal */
export function closedError(): LarderRedisError {
  return new LarderRedisError('closed', 'the Redis tier is closed');
}
