import type { TierRecord } from '../tier.js';
import { encodeRecord, serializeValue } from './envelope.js';
import type { FirstConnect } from './first-connect.js';
import type { ForeignKeys } from './foreign-keys.js';
import type { Invalidation } from './invalidation.js';
import { tagSuffix, valueSuffix } from './keys.js';
import type { Replay } from './replay.js';
import { SET } from './scripts.js';
import { closedError, noop, type TierState } from './tier-state.js';

/** No value checked (a value of its own, since any value can be checked). */
const NOTHING = Symbol('nothing');

const NO_TAGS: readonly string[] = [];

/**
 * The longest expiry the tier gives Redis, in ms (2^53 − 1, about 285,000 years, as for `tombstoneTtl`). A longer
 * lifetime, which the core accepts for `ttl` (any finite number of ms, e.g. `1e300`, or `Number.MAX_VALUE`
 * seconds in `CompatCache.set`), is written without expiry, as `Infinity` is: Redis's scripting would pass a larger
 * `PX` on as `1e+17`, which `SET` refuses, and the value would never reach the other instances.
 */
const MAX_PX = Number.MAX_SAFE_INTEGER;

/**
 * The write path of the Redis tier: `check` serializes a value once for the `set` that follows it in the same
 * tick; `set` writes an entry with the conditional write script (refused when Redis holds a newer value or a
 * later invalidation), writes a tombstone instead when the entry is already past its windows or cannot be
 * stored, and remembers a failed write for replay as a deletion.
 *
 * @internal
 */
export class TierWrites {
  readonly #s: TierState;
  readonly #inv: Invalidation;
  readonly #replay: Replay;
  readonly #first: FirstConnect;
  readonly #foreign: ForeignKeys;
  /** The value `check` serialized last and its text, for the `set` that follows it in the same tick. */
  #checkedValue: unknown = NOTHING;
  #checkedText = '';
  readonly #forgetChecked = (): void => {
    this.#checkedValue = NOTHING;
    this.#checkedText = '';
  };

  constructor(s: TierState, inv: Invalidation, replay: Replay, first: FirstConnect, foreign: ForeignKeys) {
    this.#s = s;
    this.#inv = inv;
    this.#replay = replay;
    this.#first = first;
    this.#foreign = foreign;
  }

  check(value: unknown): void {
    const text = serializeValue(value, this.#s.serializer);
    if (this.#checkedValue === NOTHING) queueMicrotask(this.#forgetChecked);
    this.#checkedValue = value;
    this.#checkedText = text;
  }

  set(key: string, record: TierRecord): Promise<void> {
    const s = this.#s;
    if (s.closed) return Promise.reject(closedError());
    const g = s.layout.groupOf(key);
    const group = s.layout.groups[g] as string;
    const rkey = group + valueSuffix(key);
    const deadline = Math.max(record.expires, record.staleUntil, record.errorUntil);
    let px = deadline === Number.POSITIVE_INFINITY ? 0 : Math.ceil(deadline - Date.now());
    // Nothing to store (already past its windows): still make sure Redis does not keep an older value.
    if (px <= 0 && deadline !== Number.POSITIVE_INFINITY) return this.#tombstone(rkey, record.createdAt);
    // Longer than Redis takes (a `ttl` of 1e300 ms): stored without expiry, see MAX_PX.
    if (px > MAX_PX) px = 0;
    const tags = record.tags.length === 0 ? NO_TAGS : record.tags.map(tagSuffix);
    // Cache.set has just called check() with this value: use its text instead of serializing again.
    const checked = this.#checkedValue === record.value ? this.#checkedText : undefined;
    this.#forgetChecked();
    let payload: string;
    try {
      payload = checked ?? serializeValue(record.value, s.serializer);
    } catch (error) {
      // Not storable: refuse loudly, and make sure Redis does not go on serving the previous value.
      s.counts.errors++;
      this.#tombstone(rkey, record.createdAt).catch(noop);
      return Promise.reject(error);
    }
    if (s.nodes?.hung(g)) {
      this.#replay.rememberKey(rkey, s.redisTime(record.createdAt));
      return s.refuse();
    }
    const keys = [rkey, s.clearsOf[g] as string, s.invOf[g] as string, s.copyOf[g] as string];
    for (const t of tags) keys.push(group + t);
    return this.#first
      .after(() => {
        // The times on the Redis clock, with the offset known as the write goes out (never before the first
        // measurement: first-connect.ts).
        const offset = s.offset;
        const created = Math.round(record.createdAt + offset);
        const text = encodeRecord(record, created, tags, payload, offset);
        return s.link.run((c) => c.eval(SET, keys.length, ...keys, text, px, created, group));
      })
      .then(
        (stored) => {
          if (stored === 1) s.counts.writes++;
          else s.counts.refused++;
          // Another app's hash, list... at one of the keys: nothing was written, and retrying cannot help.
          if (Array.isArray(stored)) this.#foreign.report(stored);
        },
        (error: unknown) => {
          // The value may or may not be in Redis, and what was there may be older: replay as a deletion.
          this.#replay.rememberKey(rkey, s.redisTime(record.createdAt));
          return s.failedAt(error, g);
        },
      );
  }

  /**
   * Deletes one entry as of `local` (this instance's clock; converted when sent), remembering it for replay if
   * that fails. Like every write, it waits for the first clock measurement.
   */
  #tombstone(rkey: string, local: number): Promise<void> {
    const s = this.#s;
    return this.#first
      .after(() => this.#inv.deleteAt([rkey], [s.redisTime(local)]))
      .then(noop, (error: unknown) => {
        this.#replay.rememberKey(rkey, s.redisTime(local));
        return s.failed(error);
      });
  }
}
