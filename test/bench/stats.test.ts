import { describe, expect, it } from 'vitest';
import { median, pairedRatios, quantile, summarize } from '../../bench/lib/stats.js';

describe('median', () => {
  it('is the middle value of an odd count, in any order', () => {
    expect(median([5, 1, 3])).toBe(3);
  });
  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('does not reorder its input', () => {
    const v = [3, 1, 2];
    median(v);
    expect(v).toEqual([3, 1, 2]);
  });
  it('refuses an empty list and non-numbers', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => median([1, Number.NaN])).toThrow(TypeError);
  });
});

describe('quantile', () => {
  it('interpolates linearly between closest ranks', () => {
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
    expect(quantile([1, 2], 0.25)).toBe(1.25);
    expect(quantile([7, 1, 4], 0)).toBe(1);
    expect(quantile([7, 1, 4], 1)).toBe(7);
  });
  it('refuses q outside [0, 1]', () => {
    expect(() => quantile([1], 1.5)).toThrow(/q must be in \[0, 1\]/);
  });
});

describe('summarize', () => {
  it('gives median, extremes, quartiles and the IQR relative to the median', () => {
    const s = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s).toMatchObject({ median: 5, min: 1, max: 9, p25: 3, p75: 7, n: 9 });
    expect(s.iqrPercent).toBeCloseTo(80);
  });
  it('is robust to one outlier (the point of using medians)', () => {
    expect(summarize([10, 10, 10, 10, 1e9]).median).toBe(10);
  });
});

describe('pairedRatios', () => {
  it('divides round by round', () => {
    expect(pairedRatios([2, 9], [1, 3])).toEqual([2, 3]);
  });
  it('refuses series of different lengths and non-positive baselines', () => {
    expect(() => pairedRatios([1], [1, 2])).toThrow(RangeError);
    expect(() => pairedRatios([1], [0])).toThrow(/positive/);
  });
});
