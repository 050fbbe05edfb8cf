/**
 * Timing harness. A benchmark body is a loop `(n) => checksum` that performs `n` operations and returns a
 * number derived from their results (so the work cannot be optimized away, and so callers can check that
 * every `get` really hit). Async bodies return a promise of the checksum. Time is read from the global
 * `performance` (so tests can fake it).
 *
 * @module
 */

/** A body that performs `n` operations and returns a checksum of their results. */
export type Loop = (n: number) => number | Promise<number>;

/**
 * How long and how often to sample. A sample is made of `slices` short runs of about `sliceMs` each, and
 * its rate is that of the fastest slice: on a shared machine another process can only ever slow a slice
 * down (preemption), so the fastest of a few short slices estimates the uncontended cost, while the
 * median over samples (or over interleaved rounds) guards against flukes.
 */
export interface SampleOptions {
  /** Time spent running the body before measuring (JIT warm-up), in ms. */
  warmupMs: number;
  /** Target duration of one slice, in ms. */
  sliceMs: number;
  /** Slices per sample; the sample's rate is the fastest slice's. */
  slices: number;
  /** Number of samples (or rounds, for interleaved runs). */
  samples: number;
}

/** Samples of one body. */
export interface Measured {
  /** Operations per second, one per sample. */
  rates: number[];
  /** Operations per sample. */
  n: number;
  /** Checksum of the last sample. */
  checksum: number;
}

/** Runs `loop(n)` once and returns [elapsed ms, checksum]. */
export async function timeOnce(loop: Loop, n: number): Promise<[number, number]> {
  const t0 = performance.now();
  let r = loop(n);
  if (typeof r !== 'number') r = await r;
  const t1 = performance.now();
  return [t1 - t0, r];
}

/**
 * Finds an operation count that makes one run of `loop` last about `targetMs`.
 *
 * @param maxN - upper bound for the count (for bodies with a finite supply of work)
 */
export async function calibrate(loop: Loop, targetMs: number, maxN = 1e9): Promise<number> {
  let n = 64;
  for (;;) {
    const [ms] = await timeFastest(loop, n, 3);
    if (ms >= targetMs / 8 || n >= maxN) {
      const scaled = Math.round((n * targetMs) / Math.max(ms, 0.001));
      return Math.max(1, Math.min(maxN, scaled));
    }
    n = Math.min(maxN, n * 4);
  }
}

/** Runs `loop(n)` `slices` times and returns [fastest elapsed ms, checksum of the last run]. */
export async function timeFastest(loop: Loop, n: number, slices: number): Promise<[number, number]> {
  let best = Number.POSITIVE_INFINITY;
  let checksum = 0;
  for (let i = 0; i < Math.max(1, slices); i++) {
    const [ms, sum] = await timeOnce(loop, n);
    if (ms < best) best = ms;
    checksum = sum;
  }
  return [best, checksum];
}

/** Runs `loop` repeatedly for `ms` milliseconds with count `n`. */
async function runFor(loop: Loop, n: number, ms: number): Promise<void> {
  const end = performance.now() + ms;
  do await timeOnce(loop, n);
  while (performance.now() < end);
}

/** Warms `loop` up, calibrates it, and takes `samples` timed samples. */
export async function measure(loop: Loop, options: SampleOptions): Promise<Measured> {
  let n = await calibrate(loop, options.sliceMs);
  await runFor(loop, n, options.warmupMs);
  n = await calibrate(loop, options.sliceMs);
  const rates: number[] = [];
  let checksum = 0;
  for (let i = 0; i < options.samples; i++) {
    const [ms, sum] = await timeFastest(loop, n, options.slices);
    rates.push((n / ms) * 1000);
    checksum = sum;
  }
  return { rates, n, checksum };
}

/** One body in an interleaved comparison. */
export interface Case {
  /** Identifier of the case in the result. */
  id: string;
  /** The body. */
  loop: Loop;
  /** Optional check of each sample's checksum for count `n`; throw to reject the run. */
  verify?: (checksum: number, n: number) => void;
}

/**
 * Interleaved sampling: every round runs each case once (one sample: its fastest of `slices` slices),
 * starting at a rotating offset, so that machine
 * noise (other processes, frequency changes, GC of earlier rounds) falls on all cases alike. Returns the
 * rate of each case in each round; ratios should be computed per round.
 *
 * @param onRound - called after each round (progress)
 */
export async function interleave(
  cases: readonly Case[],
  options: SampleOptions,
  onRound?: (round: number) => void,
): Promise<Map<string, number[]>> {
  const counts = new Map<string, number>();
  for (const c of cases) counts.set(c.id, await calibrate(c.loop, options.sliceMs));
  const warmEach = options.warmupMs / Math.max(1, cases.length);
  for (const c of cases) await runFor(c.loop, counts.get(c.id) as number, warmEach);
  for (const c of cases) counts.set(c.id, await calibrate(c.loop, options.sliceMs));
  const rates = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  for (let round = 0; round < options.samples; round++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(round + j) % cases.length] as Case;
      const n = counts.get(c.id) as number;
      const [ms, sum] = await timeFastest(c.loop, n, options.slices);
      c.verify?.(sum, n);
      (rates.get(c.id) as number[]).push((n / ms) * 1000);
    }
    onRound?.(round + 1);
  }
  return rates;
}
