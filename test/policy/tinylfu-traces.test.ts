import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replayLarder } from '../../bench/hit-ratio/index.js';
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
});
