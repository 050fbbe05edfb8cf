/**
 * An async second tier over a `Map` whose reads wait for `state.hold` while it is set, so that concurrent lookups
 * join one read; it counts reads, in all (`state.reads`) and by key (`reads`).
 *
 * @module
 */
import type { CacheTier, TierRecord } from '../../src/index.js';

/** A held tier and what it holds and counts. */
export function heldTier(): {
  tier: CacheTier;
  records: Map<string, TierRecord>;
  reads: Map<string, number>;
  state: { hold: Promise<void> | undefined; reads: number };
} {
  const records = new Map<string, TierRecord>();
  const reads = new Map<string, number>();
  const state = { hold: undefined as Promise<void> | undefined, reads: 0 };
  const tier: CacheTier = {
    async get(key) {
      state.reads++;
      reads.set(key, (reads.get(key) ?? 0) + 1);
      if (state.hold !== undefined) await state.hold;
      return records.get(key);
    },
    async set(key, record) {
      records.set(key, record);
    },
    async delete(keys) {
      for (const key of keys) records.delete(key);
    },
    async invalidateTags() {},
    async clear() {},
    async close() {},
  };
  return { tier, records, reads, state };
}
