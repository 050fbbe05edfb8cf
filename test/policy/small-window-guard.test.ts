import { describe, expect, it } from 'vitest';
import { TinyLfuStore } from '../../src/policy/tinylfu-store.js';

/**
 * The small-window guard on a synthetic workload (the trace test on P12 needs ../shared/traces): a
 * shifting working set makes the LRU guard jump the window to its maximum, then a loop over 1.4x the
 * capacity, which LRU (a 95% window) misses entirely and a 1% window mostly hits. The guard judges on
 * a hash sample of the keys, so the loop is tried at several key offsets (each run is deterministic).
 */
function windowAfter(
  loopBase: number,
  smallWindowGuard: boolean,
  promotion: 'lazy' | 'eager',
  loops: number,
): number {
  const max = 1000;
  let x = 11;
  const random = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const store = new TinyLfuStore<number, true>(
    { max, maxSize: undefined, onEvict: () => {} },
    { smallWindowGuard, promotion },
  );
  const access = (k: number): void => {
    if (store.get(k) === undefined) store.set(k, true, 1);
  };
  for (let phase = 0; phase < 10; phase++) {
    for (let i = 0; i < 4 * max; i++) access(phase * 600 + Math.floor(random() * 900));
  }
  for (let i = 0; i < loops * 4 * max; i++) access(loopBase + (i % (1.4 * max)));
  return store.windowFraction;
}

describe('TinyLfuStore small-window guard', () => {
  // Lazy promotion (the default) settles the guards' verdicts one period later (`LAZY_GUARD_SETTLE`): on
  // two of these offsets its window is down after six laps of the loop instead of three.
  for (const [promotion, loops] of [
    ['lazy', 6],
    ['eager', 3],
  ] as const) {
    for (const base of [77_777, 10_000_000, 20_000_000, 30_000_000]) {
      it(`drops a window the LRU guard raised when a 1% window is clearly ahead (${promotion}, loop keys from ${base})`, () => {
        expect(windowAfter(base, false, promotion, loops)).toBeGreaterThan(0.2);
        expect(windowAfter(base, true, promotion, loops)).toBeLessThanOrEqual(0.01);
      });
    }
  }
});
