/**
 * Seeded pseudo-random numbers and key sequences, so every library sees the same keys in the same order.
 *
 * @module
 */

/**
 * A seeded generator of uniform numbers in [0, 1) (mulberry32: tiny, fast, good enough for workloads).
 *
 * @param seed - any 32-bit integer
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random permutation of 0..n-1 (Fisher–Yates with a seeded generator). */
export function permutation(n: number, seed: number): Uint32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer; got ${n}`);
  const rand = mulberry32(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

/**
 * A sampler of Zipf-distributed ranks in 0..n-1: rank r (0-based) is drawn with probability proportional
 * to 1 / (r + 1)^s. Exact inverse-CDF sampling over a precomputed table (binary search per draw).
 *
 * @param n - number of distinct items (positive integer)
 * @param s - skew exponent (non-negative; 0 is uniform, 0.99 is the usual cache workload)
 * @param seed - seed of the uniform generator
 */
export function zipfSampler(n: number, s: number, seed: number): () => number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer; got ${n}`);
  if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`s must be a finite number >= 0; got ${s}`);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) {
    sum += 1 / (r + 1) ** s;
    cdf[r] = sum;
  }
  for (let r = 0; r < n; r++) cdf[r] = (cdf[r] as number) / sum;
  cdf[n - 1] = 1;
  const rand = mulberry32(seed);
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/**
 * `length` Zipf-distributed item indices in 0..n-1. Ranks are mapped to items through a seeded
 * permutation, so popular items are spread over the key space instead of being the first keys.
 */
export function zipfSequence(n: number, s: number, length: number, seed: number): Uint32Array {
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError(`length must be a non-negative integer; got ${length}`);
  const draw = zipfSampler(n, s, seed);
  const items = permutation(n, seed ^ 0x5bd1e995);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) out[i] = items[draw()] as number;
  return out;
}

/** The benchmark's key for item `i`: a short string, as real keys are (`'item:42'`). */
export function keyOf(i: number): string {
  return `item:${i}`;
}
