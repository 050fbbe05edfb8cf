import type { Redis } from 'ioredis';
import { masters } from './cluster.js';
import { LarderRedisError } from './errors.js';
import { keysOf } from './foreign-keys.js';
import { escapeGlob, valuePrefixes } from './keys.js';
import { withTimeout } from './link.js';
import { CLEAR, DELETE, PURGE, TAGS } from './scripts.js';
import type { TierState } from './tier-state.js';

const SCAN_COUNT = 500;
/** Keys per PURGE script during a clear's SCAN (and per replayed deletion or tag batch, see replay.ts). @internal */
export const BATCH = 100;

/**
 * The invalidation scripts of the Redis tier, as of a given time (Redis clock): deleting entries (one script
 * per slot group), raising tag times (in every slot group) and clearing a key prefix (its time in every slot
 * group, then a SCAN of every master to remove the entries). Each resolves with the keys it left alone as
 * foreign; the callers report them, and remember failed calls for replay.
 *
 * @internal
 */
export class Invalidation {
  readonly #s: TierState;

  constructor(s: TierState) {
    this.#s = s;
  }

  /** Deletes entries as of `times` (one script per slot group); resolves with the keys skipped as foreign. */
  deleteAt(rkeys: readonly string[], times: readonly number[]): Promise<string[]> {
    const s = this.#s;
    const px = s.tombstonePx;
    const parts = s.layout.split(rkeys, times);
    return allKeys(
      parts.map(([, keys, ts]) => s.link.run((c) => c.eval(DELETE, keys.length, ...keys, px, ...ts))),
    );
  }

  /**
   * Raises tag times (tag key suffixes), in every slot group: one script per group, sent at once. Resolves with
   * the keys skipped as foreign.
   */
  tagsAt(tsuffixes: readonly string[], times: readonly number[]): Promise<string[]> {
    const s = this.#s;
    const px = s.tombstonePx;
    return allKeys(
      s.layout.groups.map((group, g) => {
        const keys = [s.invOf[g] as string, s.copyOf[g] as string];
        for (const t of tsuffixes) keys.push(group + t);
        return s.link.run((c) => c.eval(TAGS, keys.length, ...keys, px, ...times));
      }),
    );
  }

  /**
   * Records a clear of `prefix` as of `at` (Redis clock), then removes the entries under it with SCAN.
   * Resolves with the keys left alone as foreign.
   */
  async clearAt(prefix: string, at: number): Promise<string[]> {
    const s = this.#s;
    const fields = valuePrefixes(prefix);
    const px = s.tombstonePx;
    // The clear's time first (in every slot group): from then on, reads and writes honour it.
    const foreign = await allKeys(
      s.layout.groups.map((_, g) =>
        s.link.run((c) =>
          c.eval(
            CLEAR,
            3,
            s.clearsOf[g] as string,
            s.invOf[g] as string,
            s.copyOf[g] as string,
            px,
            at,
            ...fields,
          ),
        ),
      ),
    );
    // Then remove the entries: SCAN every master (on a cluster, `{*}` matches any group's hash tag; a key
    // matched by mistake is only removed from the cache, never wrongly kept).
    const head = s.layout.sharded ? `${escapeGlob(s.prefix)}{*}` : escapeGlob(s.prefix);
    const nodes = s.link.ready ? masters(s.client) : [];
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
                s.layout
                  .split(batch, batch)
                  .map(([, ks]) => s.link.run((c) => c.eval(PURGE, ks.length, ...ks, at))),
              );
              foreign.push(...skipped);
            }
          } while (cursor !== '0' && !s.closed);
        }
      }),
    );
    return foreign;
  }

  /** Sends a command to one node (a master of a cluster, or the client itself), bounded by the timeout. */
  #onNode<T>(node: Redis, send: (n: Redis) => Promise<T>): Promise<T> {
    const link = this.#s.link;
    if (node === this.#s.client) return link.run(send);
    if (node.status !== 'ready') {
      return Promise.reject(
        new LarderRedisError('unavailable', `Redis node is not connected (${node.status})`),
      );
    }
    const timeout = link.timeout;
    return withTimeout(
      send(node),
      timeout,
      () => new LarderRedisError('timeout', `Redis did not answer within ${timeout} ms`),
    );
  }
}

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
