/**
 * Window sizing for W-TinyLFU: how much of the capacity goes to the recency-ordered admission window
 * and how much to the frequency-guarded main area. Both climbers here return steps as fractions of
 * the capacity (positive: grow the window); the store turns fractions into entries and weight.
 *
 * - {@link GradientClimber} (the default) climbs on a gradient measured inside the cache: ghost hits
 *   say what a bigger window or a bigger main area would have caught, tail hits say what each would
 *   lose by shrinking. See `docs/policy.md` for why and for the numbers.
 * - {@link HitRateClimber} is Caffeine's reactive climber (compare the hit rate of consecutive
 *   samples, keep going while it improves, turn around when it drops), kept to benchmark against.
 *
 * @internal
 */

/** The climbers' step as an enum, for their hot paths (the bundle inlines it; see `tinylfu-store.ts`). */
enum Step {
  FRACTION = 0.0625,
}

/** Step of both climbers, as a fraction of capacity (Caffeine's 6.25%). */
export const STEP_FRACTION: number = Step.FRACTION;

/**
 * Hill climbing on a measured gradient, with a sequential test deciding when the evidence is strong
 * enough to move.
 *
 * The store reports votes: `+1` when a bigger window would have hit (a key that was refused admission
 * a few window exits ago is requested again; a hit in the window's least recent entries), `-1` when a
 * bigger main area would have hit (a key main evicted a few evictions ago is requested again; a hit in
 * probation's least recent entries). "A few" is the horizon: the step size in entries. Votes add up;
 * when the sum reaches ±{@link GradientClimber.threshold}, the window moves one step that way and the
 * sum restarts. Balanced evidence (a window near its best size) is a random walk that rarely reaches
 * the threshold, so the window stays put; one-sided evidence (a recency-heavy phase) moves it within
 * a few dozen misses. No sampling period, no noise from comparing one period with the next.
 */
export class GradientClimber {
  /** Votes needed to move one step. */
  static readonly threshold = 8;
  #score = 0;

  /**
   * Adds a vote; returns the step to take now (a fraction of capacity), or 0.
   *
   * @param vote - `+1` (grow the window) or `-1` (grow main); a weighted vote counts as that many (lazy
   * promotion weighs its probation tail votes, see `TinyLfuStore`)
   */
  vote(vote: number): number {
    const score = this.#score + vote;
    if (score >= GradientClimber.threshold) {
      this.#score = 0;
      return Step.FRACTION;
    }
    if (score <= -GradientClimber.threshold) {
      this.#score = 0;
      return -Step.FRACTION;
    }
    this.#score = score;
    return 0;
  }

  /** Forgets pending votes. */
  reset(): void {
    this.#score = 0;
  }
}

/**
 * Caffeine's reactive hill climber (Einziger, Eytan, Friedman, Manes, "Adaptive Software Cache
 * Management", Middleware 2018). After each sample of about ten times the capacity in requests, the
 * window keeps moving the same way if the sample's hit rate matched or beat the previous one's, and
 * turns around otherwise; the step decays by 2% a sample and restarts at full size when the hit rate
 * moves by 5 points or more (a new workload). Caches of at most 512 entries open by growing the
 * window, decay more slowly and stretch their samples up to 4×, as Caffeine does for small caches.
 */
export class HitRateClimber {
  /** Hits in the current sample. */
  hits = 0;
  /** Misses (insertions) in the current sample. */
  misses = 0;
  #previousHitRate = 0;
  #step: number;
  readonly #restart: number;
  readonly #decay: number;
  readonly #slow: boolean;
  readonly #basePeriod: number;

  /**
   * @param capacity - the cache capacity in entries (or an estimate, for weight-bounded caches)
   * @param period - requests per sample
   */
  constructor(capacity: number, period: number) {
    this.#slow = capacity <= 512;
    this.#restart = Math.max(STEP_FRACTION, 2 / Math.max(1, capacity));
    this.#decay = this.#slow ? 0.995 : 0.98;
    this.#step = this.#slow ? this.#restart : -this.#restart;
    this.#basePeriod = period;
  }

  /** Requests in the current sample. */
  get period(): number {
    if (!this.#slow) return this.#basePeriod;
    const magnitude = Math.max(Math.abs(this.#step), this.#restart / 4);
    const ratio = Math.max(1, Math.min(4, this.#restart / magnitude));
    return Math.floor(this.#basePeriod * ratio);
  }

  /**
   * Closes the sample if it is complete and returns the window step (a fraction of capacity), or 0
   * while the sample is still open.
   */
  adjust(): number {
    const requests = this.hits + this.misses;
    if (requests < this.period) return 0;
    const hitRate = this.hits / requests;
    const change = hitRate - this.#previousHitRate;
    const amount = change >= 0 ? this.#step : -this.#step;
    if (Math.abs(change) >= 0.05) this.#step = amount >= 0 ? this.#restart : -this.#restart;
    else this.#step = this.#decay * amount;
    this.#previousHitRate = hitRate;
    this.hits = 0;
    this.misses = 0;
    return amount;
  }
}
