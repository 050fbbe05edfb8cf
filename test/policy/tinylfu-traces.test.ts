import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replayLarder, replayTinyLfu } from '../../bench/hit-ratio/index.js';
import { REFERENCE } from '../../bench/hit-ratio/reference.js';
import { defaultTracesDir, loadTrace, traceSpec } from '../../bench/hit-ratio/traces.js';

const dir = defaultTracesDir();
const present = existsSync(dir);
if (!present) console.warn(`tinylfu trace bars skipped: no traces folder at ${dir} (set LARDER_TRACES)`);

function hitRatio(trace: string, size: number): number {
  const keys = loadTrace(traceSpec(trace), dir);
  return (replayLarder('tinylfu', keys, size) / keys.length) * 100;
}

describe.skipIf(!present)('W-TinyLFU on real traces (issue 7 bars)', () => {
  it('gli at 1000 entries reaches the published W-TinyLFU figure minus 0.5', () => {
    const wtinylfu = REFERENCE.gli!.wtinylfu![REFERENCE.gli!.sizes.indexOf(1000)]!;
    expect(hitRatio('gli', 1000)).toBeGreaterThanOrEqual(wtinylfu - 0.5);
  });

  it('loop at 500 entries reaches 40% (LRU: 0%)', () => {
    expect(hitRatio('loop', 500)).toBeGreaterThanOrEqual(40);
  });

  it('backf at 500 entries (LRU is optimal there): the LRU guard brings the store within 3.5 points of LRU', () => {
    // The guard jumps the window to its maximum; with a jump of 25% of the capacity the store stayed 7.13
    // points below LRU (53.98% against 61.11%, 2026-12-04); full hit-ratio run of 2026-12-05: 58.09%.
    const keys = loadTrace(traceSpec('backf'), dir);
    const lru = (replayLarder('lru', keys, 500) / keys.length) * 100;
    expect(hitRatio('backf', 500)).toBeGreaterThan(lru - 3.5);
  });
});

describe.skipIf(!present || !existsSync(`${dir}/P12.lis.gz`))(
  'W-TinyLFU small-window guard (issue 18)',
  () => {
    it('P12 at 50,000 entries: the gradient climber walks to a large window; the small-window guard pulls it back', () => {
      const keys = loadTrace(traceSpec('P12'), dir);
      const withGuard = (replayLarder('tinylfu', keys, 50_000) / keys.length) * 100;
      const without = (replayTinyLfu(keys, 50_000, { smallWindowGuard: false }) / keys.length) * 100;
      // Full hit-ratio run of 2026-12-05: 22.64% with the guard, 15.20% without (libCacheSim's fixed 1% window: 24.93%).
      expect(withGuard).toBeGreaterThan(without + 4);
      expect(withGuard).toBeGreaterThan(20);
    }, 120_000);
  },
);
