/**
 * Small, dependency-free statistics for benchmark samples.
 *
 * @module
 */

/** Summary of a set of samples (rates or ratios). */
export interface Summary {
  /** Middle value (mean of the two middle values for an even count). */
  median: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
  /** 25th percentile (linear interpolation). */
  p25: number;
  /** 75th percentile (linear interpolation). */
  p75: number;
  /** Interquartile range relative to the median, in percent (a robust spread). */
  iqrPercent: number;
  /** Number of samples. */
  n: number;
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('values must hold at least one number');
  for (const v of values) {
    if (typeof v !== 'number' || Number.isNaN(v))
      throw new TypeError(`values must be numbers; got ${String(v)}`);
  }
  return [...values].sort((a, b) => a - b);
}

/** Quantile `q` in [0, 1] of already sorted values, by linear interpolation between closest ranks. */
function quantileSorted(s: readonly number[], q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (pos - lo);
}

/**
 * Quantile `q` (0 = min, 0.5 = median, 1 = max) by linear interpolation between closest ranks.
 *
 * @throws RangeError when `values` is empty or `q` is outside [0, 1].
 */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q must be in [0, 1]; got ${q}`);
  return quantileSorted(sorted(values), q);
}

/** Median of `values`. @throws RangeError when `values` is empty. */
export function median(values: readonly number[]): number {
  return quantileSorted(sorted(values), 0.5);
}

/** Median, extremes, quartiles and relative IQR of `values`. @throws RangeError when empty. */
export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  const med = quantileSorted(s, 0.5);
  const p25 = quantileSorted(s, 0.25);
  const p75 = quantileSorted(s, 0.75);
  return {
    median: med,
    min: s[0] as number,
    max: s[s.length - 1] as number,
    p25,
    p75,
    iqrPercent: med === 0 ? 0 : ((p75 - p25) / Math.abs(med)) * 100,
    n: s.length,
  };
}

/**
 * Element-wise ratios `candidate[i] / baseline[i]` of two equally long sample series (for example,
 * rates measured in the same interleaved round).
 *
 * @throws RangeError when the lengths differ or a baseline sample is not positive.
 */
export function pairedRatios(candidate: readonly number[], baseline: readonly number[]): number[] {
  if (candidate.length !== baseline.length) {
    throw new RangeError(
      `candidate and baseline must have the same length; got ${candidate.length} and ${baseline.length}`,
    );
  }
  return candidate.map((c, i) => {
    const b = baseline[i] as number;
    if (!(b > 0)) throw new RangeError(`baseline samples must be positive; got ${b} at ${i}`);
    return c / b;
  });
}
