import { describe, expect, it } from 'vitest';
import { frontierSummary } from '../../bench/hit-ratio/frontier.js';
import { parsePoliciesMd, referencePolicyNames } from '../../bench/hit-ratio/policies-md.js';

const MD = `# Reference hit ratios

## Summary
| policy | mean |
|---|---:|
| S3-FIFO | 13.1% |

### tiny (6,015 requests, 2,529 keys)
| size | LRU | S3-FIFO | ARC | larder 'tinylfu' | OPT |
|---:|---:|---:|---:|---:|---:|
| 250 | 10.00 | 20.00 | 12.00 | 15.00 | 30.00 |
| 1,000 | 40.00 | 41.00 | 46.00 | 39.00 | 50.00 |

### flat (10 requests, 5 keys)
| size | LRU | S3-FIFO | ARC | larder 'tinylfu' | OPT |
|---:|---:|---:|---:|---:|---:|
| 100 | 24.00 | 3.00 | 23.00 | 21.00 | 24.00 |
`;

describe('POLICIES.md parser', () => {
  it('reads each trace table by its heading, with thousands separators, and skips other tables', () => {
    const t = parsePoliciesMd(MD);
    expect(Object.keys(t)).toEqual(['tiny', 'flat']);
    expect(t.tiny!.sizes).toEqual([250, 1000]);
    expect(t.tiny!.columns['S3-FIFO']).toEqual([20, 41]);
    expect(t.flat!.columns.OPT).toEqual([24]);
    expect(referencePolicyNames(t.tiny!)).toEqual(['S3-FIFO', 'ARC']);
  });

  it('refuses a row that does not fit its header, naming the trace', () => {
    expect(() => parsePoliciesMd('### bad\n| size | LRU |\n|---|---|\n| 1 | 2 | 3 |\n')).toThrow(/bad/);
    expect(() => parsePoliciesMd('### bad\n| size | LRU |\n|---|---|\n| 1 | x |\n')).toThrow(/bad/);
  });
});

describe('frontier summary', () => {
  const tables = parsePoliciesMd(MD);
  const traces = {
    tiny: { sizes: [250, 500, 1000], hitRatio: { mine: [25, 0, 40] }, libcachesim: tables.tiny! },
    flat: { sizes: [100], hitRatio: { mine: [23] }, libcachesim: tables.flat! },
  };

  it("averages the share of the LRU-to-OPT gap closed over rows with a gap, at POLICIES.md's sizes", () => {
    const s = frontierSummary(traces, ['mine'])!;
    expect(s.rows).toBe(3);
    expect(s.gapRows).toBe(2);
    const mine = s.policies.find((p) => p.name === 'mine')!;
    // tiny@250: (25-10)/(30-10) = 75%; tiny@1000: (40-40)/10 = 0%; flat has no gap.
    expect(mine.meanGapClosed).toBe(37.5);
    const s3 = s.policies.find((p) => p.name === 'S3-FIFO')!;
    expect(s3.meanGapClosed).toBe(30); // (50% + 10%) / 2
  });

  it('finds the worst row against LRU among all rows, gap or not', () => {
    const mine = frontierSummary(traces, ['mine'])!.policies.find((p) => p.name === 'mine')!;
    expect(mine.worstVsLru).toEqual({ trace: 'flat', size: 100, delta: -1, against: 'LRU' });
  });

  it("lists the rows more than 3 points behind the row's best libCacheSim policy", () => {
    const s = frontierSummary(traces, ['mine'])!;
    const mine = s.policies.find((p) => p.name === 'mine')!;
    // tiny@1000: ARC 46 is best; mine 40 is 6 behind. tiny@250: best S3-FIFO 20, mine 25. flat: best ARC 23.
    expect(mine.behindBest).toEqual([{ trace: 'tiny', size: 1000, delta: -6, against: 'ARC' }]);
    // larder's figure of one day in POLICIES.md is not a reference policy.
    expect(s.policies.map((p) => p.name).sort()).toEqual(['ARC', 'S3-FIFO', 'mine']);
  });

  it('is undefined when no POLICIES.md row was replayed', () => {
    expect(frontierSummary({ x: { sizes: [1], hitRatio: { mine: [1] } } }, ['mine'])).toBeUndefined();
  });
});
