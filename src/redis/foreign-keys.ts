import { LarderRedisError } from './errors.js';
import type { TierState } from './tier-state.js';

/** How many reported foreign keys the tier remembers (beyond that it forgets them and may report them again). */
const MAX_FOREIGN = 10_000;

/**
 * Reports the keys under the tier's prefix that hold another Redis type (a hash, list... of another app),
 * which the scripts leave alone: each key once, as a `foreign` error.
 *
 * @internal
 */
export class ForeignKeys {
  readonly #s: TierState;
  /** Foreign keys already reported; see {@link MAX_FOREIGN}. */
  readonly #foreign = new Set<string>();

  constructor(s: TierState) {
    this.#s = s;
  }

  /**
   * Reports keys a script left alone because they hold another Redis type: each once (a `foreign` error,
   * which the cache emits as an `error` event), never as a failure to replay.
   */
  readonly report = (keys: readonly string[]): void => {
    if (keys.length === 0) return;
    const fresh: string[] = [];
    for (const key of keys) {
      if (this.#foreign.has(key)) continue;
      if (this.#foreign.size >= MAX_FOREIGN) this.#foreign.clear();
      this.#foreign.add(key);
      fresh.push(key);
    }
    if (fresh.length === 0) return;
    const counts = this.#s.counts;
    counts.foreignKeys += fresh.length;
    counts.errors++;
    const one = fresh.length === 1;
    const shown = fresh.slice(0, 5).map((k) => JSON.stringify(k));
    throw new LarderRedisError(
      'foreign',
      `larder/redis: ${one ? 'a key' : `${fresh.length} keys`} under the prefix ${JSON.stringify(this.#s.prefix)} ${one ? 'holds' : 'hold'} another Redis type (another app's data?) and ${one ? 'was' : 'were'} left alone: ${shown.join(', ')}${fresh.length > 5 ? ', ...' : ''}. Give this cache a prefix of its own.`,
    );
  };
}

/** The key names a script returned (the keys it skipped as foreign); none for any other reply. @internal */
export function keysOf(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.filter((k): k is string => typeof k === 'string') : [];
}
