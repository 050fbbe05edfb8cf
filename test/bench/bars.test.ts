import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunMeta } from '../../bench/lib/env.js';
import { FIGURES, figureFor, missedGates } from '../../bench/lib/figures.js';
import { formatBarRatio, formatRate } from '../../bench/lib/format.js';
import type { BarResult, MemoryResult, StampedeResult } from '../../bench/lib/results.js';
import { memoryBar } from '../../bench/memory/index.js';
import { checkStampedeBar } from '../../bench/stampede/index.js';
import { LARDER_LRU, LARDER_TINYLFU } from '../../bench/throughput/adapters.js';
import { formatBar, poolProcesses, THROUGHPUT_BARS } from '../../bench/throughput/bars.js';
import type { MeasuredRatio } from '../../bench/throughput/bars-child.js';

const meta = { date: 'd' } as RunMeta;

describe('THROUGHPUT_BARS', () => {
  it('holds the bars of the core, policy and otel issues', () => {
    expect(THROUGHPUT_BARS.map((b) => [b.candidate, b.baseline, b.bar])).toEqual([
      ['larder.get', 'lru.get', 0.9],
      ['larder.getOrSet', 'await Promise.resolve(lru.get)', 0.8],
      ['larder.getOrSet', 'lru.fetch', 1],
      ['larder.getOrSet', 'cache-manager.wrap', 5],
      ['larder.getOrSet', 'bentocache.getOrSet', 10],
      ['larder-tinylfu.get', 'lru.get', 0.85],
      ['larder-tinylfu.setEvict', 'lru.setEvict', 0.6],
      ['larder.getOrSet+otel', 'larder.getOrSet', 0.67],
    ]);
  });
});

describe('poolProcesses', () => {
  const measured = (
    ratios: number[],
    candidate: number[],
    baseline: number[],
    extra = {},
  ): MeasuredRatio => ({
    candidate: 'larder.get',
    baseline: 'lru.get',
    ratio: ratios[0] as number,
    spread: [0, 0],
    candidateRate: candidate[0] as number,
    baselineRate: baseline[0] as number,
    rounds: { ratios, candidate, baseline },
    ...extra,
  });

  it('pools every process round: one slow process cannot decide the median', () => {
    const pooled = poolProcesses([
      [measured([0.81, 0.8, 0.82], [8, 8, 8], [10, 10, 10])],
      [measured([0.92, 0.93, 0.91], [9, 9, 9], [10, 10, 10])],
      [measured([0.94, 0.92, 0.93], [9, 10, 9], [10, 11, 10])],
    ]);
    expect(pooled).toHaveLength(1);
    expect(pooled[0]?.ratio).toBeCloseTo(0.92, 10);
    expect(pooled[0]?.spread[0]).toBeCloseTo(0.82, 10);
    expect(pooled[0]?.spread[1]).toBeCloseTo(0.93, 10);
    expect(pooled[0]?.candidateRate).toBe(9);
    expect(pooled[0]?.baselineRate).toBe(10);
  });

  it('passes one process through, and keeps an error from any process', () => {
    const one = measured([0.9], [9], [10]);
    expect(poolProcesses([[one]])).toEqual([one]);
    const failed = poolProcesses([[one], [{ ...one, rounds: undefined, error: 'loader ran' }]]);
    expect(failed[0]?.error).toBe('loader ran');
    expect(poolProcesses([[one], []])[0]?.error).toBe('not measured in every process');
  });
});

describe('memoryBar', () => {
  const result = (larder: number, lru: number, size = 1_000_000): MemoryResult => ({
    meta,
    entries: 1_000_000,
    rows: [
      { library: LARDER_LRU, size, bytesPerEntry: larder, fillMs: 1 },
      { library: 'lru-cache', size: 1_000_000, bytesPerEntry: lru, fillMs: 1 },
    ],
  });
  it('passes at up to 1.2x lru-cache bytes per entry and misses above', () => {
    expect(memoryBar(result(60, 50))).toMatchObject({
      ratio: 1.2,
      pass: true,
      candidateValue: 60,
      baselineValue: 50,
    });
    expect(memoryBar(result(61, 50)).pass).toBe(false);
  });
  it('misses when larder lost entries or was not measured', () => {
    expect(memoryBar(result(10, 50, 999))).toMatchObject({ pass: false, error: 'larder held 999 entries' });
    expect(memoryBar({ meta, entries: 1, rows: [] })).toMatchObject({ pass: false, error: 'not measured' });
  });
  it("holds the default policy 'tinylfu' to the same 1.2x, as a bar of its own", () => {
    const both: MemoryResult = {
      meta,
      entries: 1_000_000,
      rows: [
        { library: LARDER_LRU, size: 1_000_000, bytesPerEntry: 58, fillMs: 1 },
        { library: LARDER_TINYLFU, size: 1_000_000, bytesPerEntry: 66, fillMs: 1 },
        { library: 'lru-cache', size: 1_000_000, bytesPerEntry: 55, fillMs: 1 },
      ],
    };
    const bar = memoryBar(both, LARDER_TINYLFU);
    expect(bar).toMatchObject({
      id: 'memory-tinylfu-vs-lru',
      candidate: LARDER_TINYLFU,
      pass: true,
      candidateValue: 66,
      baselineValue: 55,
    });
    expect(bar.ratio).toBeCloseTo(1.2, 10);
    expect(bar.label).toContain("default policy 'tinylfu'");
    expect(memoryBar(both)).toMatchObject({ id: 'memory-vs-lru', candidateValue: 58 });
    const heavier = {
      ...both,
      rows: both.rows.map((r) => (r.library === LARDER_TINYLFU ? { ...r, bytesPerEntry: 66.1 } : r)),
    };
    expect(memoryBar(heavier, LARDER_TINYLFU).pass).toBe(false);
    expect(memoryBar(result(60, 50), LARDER_TINYLFU)).toMatchObject({ pass: false, error: 'not measured' });
  });
  it("holds the default policy's evicting state to 1.2x lru-cache's in the same state, as a bar of its own", () => {
    const filled = [
      { library: LARDER_TINYLFU, size: 1_000_000, bytesPerEntry: 65, fillMs: 1 },
      { library: 'lru-cache', size: 1_000_000, bytesPerEntry: 57, fillMs: 1 },
    ];
    const state = (larder: number, lru: number, size = 1_000_000): MemoryResult => ({
      meta,
      entries: 1_000_000,
      rows: filled,
      evicting: [
        { library: LARDER_TINYLFU, size, bytesPerEntry: larder, fillMs: 2 },
        { library: 'lru-cache', size: 1_000_000, bytesPerEntry: lru, fillMs: 1 },
      ],
    });
    const bar = memoryBar(state(99, 87), LARDER_TINYLFU, true);
    expect(bar).toMatchObject({
      id: 'memory-tinylfu-vs-lru-evicting',
      pass: true,
      candidateValue: 99,
      baselineValue: 87,
    });
    expect(bar.label).toContain('after 1,000,000 more sets that each evict');
    expect(memoryBar(state(105, 87), LARDER_TINYLFU, true).pass).toBe(false);
    expect(memoryBar(state(99, 87, 999_999), LARDER_TINYLFU, true)).toMatchObject({
      pass: false,
      error: 'larder held 999999 entries',
    });
    // Below the same library's filled figure, the measurement went wrong (the cache not collected, say).
    expect(memoryBar(state(60, 87), LARDER_TINYLFU, true)).toMatchObject({
      pass: false,
      error: 'larder (tinylfu, default) read 60.0 B/entry evicting, below its 65.0 filled',
    });
    expect(memoryBar(state(99, 50), LARDER_TINYLFU, true).error).toBe(
      'lru-cache read 50.0 B/entry evicting, below its 57.0 filled',
    );
    // The filled state's bar reads the filled rows, whatever the evicting ones say.
    expect(memoryBar(state(105, 87), LARDER_TINYLFU)).toMatchObject({ pass: true, candidateValue: 65 });
    // Results written before the evicting state was measured have no rows for it.
    expect(memoryBar({ meta, entries: 1_000_000, rows: filled }, LARDER_TINYLFU, true)).toMatchObject({
      pass: false,
      error: 'not measured',
    });
  });
});

describe('checkStampedeBar', () => {
  const result = (calls: number[], served = 1000): StampedeResult => ({
    meta,
    concurrency: 1000,
    loaderMs: 10,
    rows: [
      ...calls.map((c, i) => ({ library: 'larder', via: `v${i}`, loaderCalls: c, served, ms: 10 })),
      { library: 'Map (floor)', via: 'naive', loaderCalls: 1000, served: 1000, ms: 10 },
    ],
  });
  it('passes when every larder call ran the loader exactly once and served everyone', () => {
    expect(checkStampedeBar(result([1, 1]))).toEqual([]);
  });
  it('lists each larder row that missed, and ignores peers', () => {
    expect(checkStampedeBar(result([1, 2]))).toEqual([
      'stampede: larder v1 ran the loader 2 times (bar: exactly 1)',
    ]);
    expect(checkStampedeBar(result([1], 999))).toEqual(['stampede: larder v0 served 999 of 1000 callers']);
    expect(checkStampedeBar({ ...result([]), rows: [] })).toEqual(['stampede: larder was not measured']);
  });
});

describe('formatBar', () => {
  it('prints verdict, ratio, bar, spread and medians', () => {
    expect(
      formatBar({
        id: 'x',
        label: 'larder get hit vs bare lru-cache get',
        kind: 'throughput',
        candidate: 'a',
        baseline: 'b',
        ratio: 0.95,
        spread: [0.9, 1],
        bar: 0.9,
        pass: true,
        candidateValue: 9.5e6,
        baselineValue: 1e7,
        source: 'core',
      }),
    ).toBe(
      'PASS  0.95x >= 0.9x [p25 0.90, p75 1.00]  larder get hit vs bare lru-cache get (9.50M vs 10.0M ops/s)',
    );
  });
});

describe('formatBarRatio', () => {
  it('never prints a missed ratio as the bar itself', () => {
    expect(formatBarRatio(0.9962, 1)).toBe('0.996');
    expect(formatBarRatio(1.0004, 1)).toBe('1.0004');
    expect(formatBarRatio(0.95, 0.9)).toBe('0.95');
    expect(formatBarRatio(12.34, 10)).toBe('12.3');
    expect(formatBarRatio(1, 1)).toBe('1.00');
  });
});

describe('formatRate', () => {
  it('is compact and never prints 1000k or 10.0k-style overflows', () => {
    expect(formatRate(12_345_678)).toBe('12.3M');
    expect(formatRate(1_234_567)).toBe('1.23M');
    expect(formatRate(999_999)).toBe('1.00M');
    expect(formatRate(456_789)).toBe('457k');
    expect(formatRate(9_999)).toBe('10k');
    expect(formatRate(7_849)).toBe('7.8k');
    expect(formatRate(789.4)).toBe('789');
  });
});

describe('printed figures (issue 21): the bars at a physical floor never gate', () => {
  const result = (id: string, pass: boolean): BarResult => {
    const spec = THROUGHPUT_BARS.find((b) => b.id === id);
    if (spec === undefined) throw new Error(`no bar ${id}`);
    return {
      ...spec,
      kind: 'throughput',
      ratio: pass ? spec.bar * 1.1 : spec.bar * 0.7,
      pass,
      candidateValue: 1e6,
      baselineValue: 1e6,
    };
  };

  it('are the cache-manager and lru-cache fetch ratios and the Next.js page throughput, nothing else', () => {
    expect(THROUGHPUT_BARS.filter((b) => figureFor(b.label) !== undefined).map((b) => b.id)).toEqual([
      'getOrSet-vs-lru-fetch',
      'getOrSet-vs-cache-manager-wrap',
    ]);
    // The names bench/next gives its results.
    expect(
      figureFor('cached page throughput, larder handlers (1 instance) vs built-in (1 instance)'),
    ).toMatchObject({ issue: 8 });
    expect(figureFor('revalidateTag latency, 20000 vs 100 tagged entries')).toBeUndefined();
    for (const f of FIGURES) expect(f.reason.length).toBeGreaterThan(80);
  });

  it('a missed figure is not a missed gate; every other missed bar is', () => {
    const bars = THROUGHPUT_BARS.map((b) => result(b.id, false));
    expect(missedGates(bars).map((b) => b.id)).toEqual([
      'get-vs-lru-get',
      'getOrSet-vs-promise-floor',
      'getOrSet-vs-bentocache-getOrSet',
      'tinylfu-get-vs-lru-get',
      'tinylfu-set-evict-vs-lru-set',
      'otel-getOrSet-vs-uninstrumented',
    ]);
    expect(missedGates(THROUGHPUT_BARS.map((b) => result(b.id, true)))).toEqual([]);
  });

  it('prints a figure as FIGURE with the bar the issue stated, never PASS or MISS', () => {
    const line = formatBar(result('getOrSet-vs-cache-manager-wrap', false));
    expect(line).toMatch(/^FIGURE {2}3\.50x \(issue bar >= 5x, not gated\)/);
    expect(formatBar(result('getOrSet-vs-lru-fetch', true))).toMatch(/^FIGURE /);
    expect(formatBar(result('get-vs-lru-get', false))).toMatch(/^MISS /);
  });

  it('bench/open-bars.json lists no figure (figures are permanent, open bars are gates not met yet)', () => {
    const open = JSON.parse(readFileSync(new URL('../../bench/open-bars.json', import.meta.url), 'utf8')) as {
      bars: { match: string }[];
    };
    for (const o of open.bars) expect(figureFor(o.match)).toBeUndefined();
    for (const f of FIGURES)
      expect(open.bars.some((o) => o.match.includes(f.match) || f.match.includes(o.match))).toBe(false);
  });
});
