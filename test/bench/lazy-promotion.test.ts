import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LazyPromotionTinyLfu } from '../../bench/hit-ratio/lazy-promotion.js';

/** Replays keys the way the hit-ratio bench does (get, then set on a miss); returns the hits. */
function replay(store: LazyPromotionTinyLfu<number, number>, keys: readonly number[]): number {
  let hits = 0;
  for (const k of keys) {
    if (store.get(k) === undefined) store.set(k, k);
    else hits++;
  }
  return hits;
}

describe('W-TinyLFU with lazy promotion (issue 18 design alternative)', () => {
  it('never holds more than max entries, and every held key answers its own value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 60 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 2000 }),
        (max, keys) => {
          const store = new LazyPromotionTinyLfu<number, number>(max);
          for (const k of keys) {
            const v = store.get(k);
            if (v === undefined) store.set(k, k);
            else expect(v).toBe(k);
            expect(store.size).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });

  it('a scan of one-time keys does not flush a hot set (TinyLFU admission)', () => {
    const store = new LazyPromotionTinyLfu<number, number>(100);
    // 90 hot keys: more than protected holds (79), so probation keeps some and admission must guard them.
    const hot = Array.from({ length: 90 }, (_, i) => i);
    for (let round = 0; round < 20; round++) replay(store, hot);
    // Eight times the capacity: shorter than the sketch's aging period (10 x max requests).
    replay(
      store,
      Array.from({ length: 800 }, (_, i) => 1000 + i),
    );
    expect(replay(store, hot)).toBeGreaterThanOrEqual(88);
  });

  it('a key hit while in probation is promoted when it reaches the old end, not evicted', () => {
    // max 100: window 1, main 99 (protected at most 79). Fill main, hit one probation entry once, then
    // push new keys through: the hit entry survives the sweep that evicts its unreferenced neighbours.
    const store = new LazyPromotionTinyLfu<number, number>(100);
    const first = Array.from({ length: 100 }, (_, i) => i);
    replay(store, first);
    // Every key has been seen once; key 5 is hit once more (a reference, no move).
    expect(store.get(5)).toBe(5);
    // Newcomers seen twice, so that they beat the unreferenced victims' frequency of 1.
    for (let i = 0; i < 60; i++) {
      store.get(1000 + i);
      store.set(1000 + i, i);
      store.get(2000 + i);
      store.get(1000 + i);
    }
    expect(store.get(5)).toBe(5);
  });

  it('refuses a bad max', () => {
    expect(() => new LazyPromotionTinyLfu(1)).toThrow(RangeError);
    expect(() => new LazyPromotionTinyLfu(2.5)).toThrow(/max must be an integer/);
  });
});
