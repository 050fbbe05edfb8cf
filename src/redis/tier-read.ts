import type { TierRecord } from '../tier.js';
import type { NodeBreaker } from './breaker.js';
import type { RedisClient } from './cluster.js';
import { decodeRecord } from './envelope.js';
import { LarderRedisError } from './errors.js';
import { valueSuffix } from './keys.js';
import type { Link } from './link.js';
import { MAX_AHEAD_MS } from './scripts.js';
import type { KeyLayout } from './slots.js';
import { closedError, type TierState } from './tier-state.js';

/**
 * The read path of the Redis tier: `get` reads the entry and its slot group's latest-invalidation time with one
 * MGET (no Lua), and only an entry older than that invalidation takes the read script, which checks its tags and
 * the clears; when most reads need the script, reads go straight to it for a while. `getMany` does the same with
 * one MGET per slot group. Then decoding, and the hit / miss counters.
 *
 * @internal
 */
export class TierReads {
  readonly #s: TierState;
  // The state's fixed parts, held here for the hot path.
  readonly #client: RedisClient;
  readonly #link: Link;
  readonly #layout: KeyLayout;
  readonly #nodes: NodeBreaker | undefined;
  readonly #invOf: readonly string[];
  readonly #counts: TierState['counts'];
  readonly #failed: (error: unknown) => never;
  /** Reads left to send to the script directly (after many optimistic reads needed it anyway). */
  #scriptMode = 0;
  /** Optimistic reads and how many of them needed the script, in the current window. */
  #window = 0;
  #windowSlow = 0;

  constructor(s: TierState) {
    this.#s = s;
    this.#client = s.client;
    this.#link = s.link;
    this.#layout = s.layout;
    this.#nodes = s.nodes;
    this.#invOf = s.invOf;
    this.#counts = s.counts;
    this.#failed = s.failed;
  }

  get(key: string): Promise<TierRecord | undefined> {
    const s = this.#s;
    if (s.closed) return Promise.reject(closedError());
    const g = this.#layout.groupOf(key);
    const rkey = (this.#layout.groups[g] as string) + valueSuffix(key);
    const nodes = this.#nodes;
    if (nodes?.hung(g)) return s.refuse();
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
      nodes === undefined ? this.#failed : (error: unknown) => s.failedAt(error, g),
    );
  }

  /**
   * Reads many entries with one MGET per slot group (one in all on a standalone Redis: the entries and the
   * latest-invalidation time); only entries older than that invalidation take a script read each, as in `get`.
   * A slot group whose read fails (its master hung or down, an undecodable entry) reads as misses while the other
   * groups answer, as single `get`s of their keys would; only when every group fails does the read reject (on a
   * standalone Redis there is one group, so any failure rejects it).
   */
  getMany(keys: readonly string[]): Promise<(TierRecord | undefined)[]> {
    const s = this.#s;
    if (s.closed) return Promise.reject(closedError());
    if (keys.length === 0) return Promise.resolve([]);
    const layout = this.#layout;
    const rkeys = keys.map((k) => (layout.groups[layout.groupOf(k)] as string) + valueSuffix(k));
    const out: (TierRecord | undefined)[] = new Array(keys.length);
    const parts = layout.split(
      rkeys,
      rkeys.map((_, i) => i),
    );
    return Promise.allSettled(
      parts.map(([g, group, at]) => {
        if (s.nodes?.hung(g)) return s.refuse();
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
            (error: unknown) => s.failedAt(error, g),
          );
      }),
    ).then((settled) => {
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed !== undefined && settled.every((r) => r.status === 'rejected')) throw failed.reason;
      return out;
    });
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
    if (created > latestOf(reply[1])) {
      this.#adapt(false);
      return this.#decode(raw);
    }
    // A tag invalidation or a clear happened after this entry was written, or the latest-invalidation time
    // cannot be read (missing, of another type: MGET says nil for both, or not an integer), or the header is
    // not one this fast check reads: let the script check it.
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
    const s = this.#s;
    this.#counts.scriptReads++;
    return this.#link
      .run((c) => c.evalsha(s.shaOf[g] as string, '1', rkey))
      .then(this.#decode, (error: unknown) => {
        // Redis restarted and lost its script cache: send the script itself (it is cached again).
        if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
          return this.#link
            .run((c) => c.eval(s.scriptOf[g] as string, '1', rkey))
            .then(this.#decode, (e: unknown) => s.failedAt(e, g));
        }
        return s.failedAt(error, g);
      });
  }

  readonly #decode = (raw: unknown): TierRecord | undefined => {
    const counts = this.#counts;
    if (raw === null || raw === undefined) {
      counts.misses++;
      return undefined;
    }
    let record: TierRecord;
    try {
      // Once the Redis clock is known, an entry dated further ahead than larder's own times can be is foreign.
      const s = this.#s;
      const latest = s.clockKnown ? Date.now() + MAX_AHEAD_MS : Number.POSITIVE_INFINITY;
      record = decodeRecord(raw as string, s.serializer, s.offset, latest);
    } catch (error) {
      counts.misses++;
      counts.decodeErrors++;
      counts.errors++;
      throw error;
    }
    if (Date.now() >= Math.max(record.expires, record.staleUntil, record.errorUntil)) {
      counts.misses++;
      return undefined;
    }
    counts.hits++;
    return record;
  };
}

/** {@link createdOf} of a tombstone. @internal */
export const TOMBSTONE = -1;

/**
 * The createdAt (Redis clock) in an entry's header, {@link TOMBSTONE} for a tombstone, or NaN when the
 * header does not start with an integer time (the read script then checks it, and decode reports it if it
 * is not an entry at all). @internal
 */
export function createdOf(raw: string): number {
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

/**
 * The latest-invalidation time (`<prefix>i`) an MGET returned, or NaN (so that no entry counts as newer) unless
 * it is a plain integer of at most 15 digits, as the scripts write it: a missing key, a key of another type (both
 * nil), an empty string or any other text send the read to the script. 15 digits stay below 2^53, so the number
 * is exact. @internal
 */
export function latestOf(inv: string | null | undefined): number {
  if (typeof inv !== 'string') return Number.NaN;
  const n = inv.length;
  if (n === 0 || n > 15) return Number.NaN;
  for (let i = 0; i < n; i++) {
    const c = inv.charCodeAt(i);
    if (c < 48 || c > 57) return Number.NaN;
  }
  return Number(inv);
}

/** For Link.run when the client is not connected: never called (run fails first). */
function noCommand(): Promise<never> {
  return Promise.reject(new LarderRedisError('unavailable', 'Redis is not connected'));
}
