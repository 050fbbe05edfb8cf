import { describe, expect, it } from 'vitest';
import { WindowGuards } from '../../src/policy/window-guards.js';

/**
 * The LRU guard's jump and its undo, on made-up samples (hashes are the sample: `sample` does not filter).
 * For 256 entries the guard samples 1 key in 2, its shadow LRU keeps 128 and a period is 512 requests.
 */
describe('WindowGuards LRU guard', () => {
  /** Replays one period of 512 requests over 100 keys; returns the last verdict. */
  function period(guards: WindowGuards, hit: (i: number) => boolean, fraction: number): number {
    let verdict = -1;
    for (let i = 0; i < 512; i++) verdict = guards.sample(i % 100, hit(i), fraction, true);
    return verdict;
  }

  it.each([0, 1])(
    'judges a jump on the period after the %i settling period(s), and undoes one that hurt',
    (settle) => {
      const guards = new WindowGuards(256, undefined, settle);
      // LRU hits nearly everything, the store a fifth: jump to the maximum.
      expect(period(guards, (i) => i % 5 === 0, 0.01)).toBe(0.95);
      expect(guards.floor).toBe(0.95);
      // After the jump the store hits nothing: worse than before, so the jump is undone (back to 0.01), once
      // the settling periods have passed without a verdict.
      for (let p = 0; p < settle; p++) expect(period(guards, () => false, 0.95)).toBe(-1);
      expect(period(guards, () => false, 0.95)).toBe(0.01);
      expect(guards.floor).toBe(0);
    },
  );
});
