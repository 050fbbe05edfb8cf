import { describe, expect, it } from 'vitest';
import { mergeBars, PARTS, parseArgs } from '../../bench/lib/args.js';
import type { BarResult } from '../../bench/lib/results.js';

describe('parseArgs', () => {
  it('runs every part by default, and only the asserted ones with --ci', () => {
    // Every part but 'otel', which 'bars' measures already (it is one of its groups, runnable alone).
    expect(parseArgs([])).toEqual({
      ci: false,
      parts: PARTS.filter((p) => p !== 'otel'),
      larder: 'auto',
    });
    expect(parseArgs(['--only', 'otel']).parts).toEqual(['otel']);
    expect(parseArgs(['--ci']).parts).toEqual([
      'bars',
      'policy',
      'redis',
      'next',
      'stampede',
      'memory',
      'hit-ratio',
    ]);
  });
  it('accepts --only with a list (run in suite order), in both spellings, and --larder', () => {
    expect(parseArgs(['--only', 'report,memory']).parts).toEqual(['memory', 'report']);
    expect(parseArgs(['--only=http', '--larder=dist'])).toMatchObject({ parts: ['http'], larder: 'dist' });
    expect(parseArgs(['--ci', '--only', 'bars'])).toMatchObject({ ci: true, parts: ['bars'] });
  });
  it('names the bad argument', () => {
    expect(() => parseArgs(['--only', 'nope'])).toThrow(/--only: unknown part "nope"/);
    expect(() => parseArgs(['--only'])).toThrow(/--only needs a value/);
    expect(() => parseArgs(['--larder', 'x'])).toThrow(/--larder must be auto, build, dist or src/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument "--fast"/);
  });
});

const bar = (id: string, ratio: number): BarResult => ({
  id,
  label: id,
  kind: 'throughput',
  candidate: 'a',
  baseline: 'b',
  ratio,
  bar: 1,
  pass: ratio >= 1,
  candidateValue: 1,
  baselineValue: 1,
  source: 'core',
});

describe('mergeBars', () => {
  it('replaces bars by id in place and appends new ones', () => {
    const merged = mergeBars([bar('x', 1), bar('y', 2)], [bar('y', 3), bar('z', 4)]);
    expect(merged.map((b) => [b.id, b.ratio])).toEqual([
      ['x', 1],
      ['y', 3],
      ['z', 4],
    ]);
  });
});
