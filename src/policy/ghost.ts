/**
 * The two regions of a {@link Ghost}. (An enum, as the table's layout below, so that the bundle holds literals where a
 * module-level const would be a variable read on every use: see `tinylfu-store.ts`.)
 */
export enum GhostRegion {
  /** Keys the window evicted (refused candidates, or the window's own victims). */
  WINDOW = 0,
  /** Keys evicted from the main area. */
  MAIN = 1,
}

/**
 * A bounded memory of recently evicted keys (by hash), in two regions (the window's and main's, see
 * {@link GhostRegion.WINDOW}), each key stamped with the value of its region's event counter when it was evicted.
 * `distance` tells how many events ago a key left, which is how much larger its region would have had to be to
 * still hold it. A key is remembered for the next `capacity` records of its region (as a ring of that many
 * records would), then forgotten. The two regions behave exactly as two separate memories would; they share one
 * table so that the insert path's lookup of a key in both ({@link Ghost.vote}) computes one bucket and reads one
 * 48-byte stretch of memory where two objects read two (an evicting insert: 2,674 machine instructions with two
 * separate memories, 2,652 with this one; callgrind, 2026-12-06).
 *
 * Every eviction records one hash and every insert looks one up, so this sits on the insert path.
 * The memory is a two-way set-associative table in one `Int32Array`: each slot holds a hash, its
 * stamp and the record's sequence number in its region, and each bucket two slots per region (48 bytes). A record
 * overwrites its own key's slot in its region, else the region's older one; a lookup reads one bucket. Nothing is
 * deleted or shifted: age alone forgets. A key can be lost early when two younger keys land in its bucket
 * before it ages out, which only thins the votes it feeds (at `Layout.SLOTS_PER_KEY` slots per key
 * remembered, about 3% of the keys remembered at any time, and up to 9% of the oldest). The ring and
 * probed table this replaces cost about a fifth of an evicting insert; decisions measured the same over
 * POLICIES.md's rows (docs/policy-log.md). Stamps and sequence numbers are kept modulo 2^32 and compared by
 * wrapping subtraction; every 2^30 records of a region a sweep re-marks that region's slots that have aged out, so
 * that no slot's age can wrap round to look young. The table is allocated at the first record: a store that
 * never evicts never pays for it. Once allocated it takes 48-96 bytes per key remembered in each region.
 *
 * Every method that takes a region defaults to {@link GhostRegion.WINDOW}, so that one region alone is a plain memory.
 *
 * **Sampling.** With a `rate` above 1, only the keys in a hash sample of 1 in `rate` are recorded and remembered
 * (about `capacity / rate` of them, plus room for the sample's spread), and each of their votes counts `rate` times,
 * as in miniature cache simulation: the votes add up to the same on average, and the records' writes and the table
 * (a power of two of buckets) shrink about `rate` times. The sample is the top bits of a multiplicative hash, so
 * that every bit of the key's hash counts. {@link Ghost.rateFor} samples 1 key in 4 once that leaves at least 64 of
 * them in the horizon on average (the store's ghosts: from 5,110 entries) and keeps every key below, where a few
 * sampled keys' votes would move the window (docs/policy-log.md, "The ghosts keep a sample of the keys", has the
 * numbers, and those of an earlier sampling of every store, not kept).
 *
 * @internal
 */
export class Ghost {
  /** Records of sampled keys a key is remembered for. */
  readonly #capacity: number;
  /** A key is in the sample when its sample hash (unsigned) is below this: 2^32 / rate. */
  readonly #sampleBelow: number;
  /** 1 in how many keys the sample keeps, and so what a remembered key's vote counts for. */
  readonly #rate: number;
  // Per bucket: hash, stamp, sequence number of the window's slot A, then of its slot B, then main's two slots.
  #table = new Int32Array(0);
  #shift = 0;
  // Records so far in each region (modulo 2^32): the sequence number of its latest.
  #windowRecords = 0;
  #mainRecords = 0;

  /**
   * @param capacity - how many records a key is remembered for (records of every key, sampled or not)
   * @param rate - keep 1 key in `rate` (a power of two, default 1: every key)
   */
  constructor(capacity: number, rate = 1) {
    const all = Math.max(1, Math.floor(capacity));
    this.#rate = rate;
    this.#sampleBelow = 2 ** 32 / rate;
    // The sampled keys among `all` records: `all / rate` on average, binomially spread; three deviations more.
    const sampled = all / rate;
    this.#capacity = rate === 1 ? all : Math.min(all, Math.ceil(sampled + 3 * Math.sqrt(sampled) + 2));
  }

  /** 1 in how many keys this memory keeps. */
  get rate(): number {
    return this.#rate;
  }

  /** The sampling rate for a memory of `horizon` records (see "Sampling" above): 4 or 1. */
  static rateFor(horizon: number): number {
    return horizon / Sample.RATE >= Sample.MIN_KEYS ? Sample.RATE : 1;
  }

  /** Whether the key with this hash is in the sample (every key at rate 1). */
  sampled(hash: number): boolean {
    return Math.imul(hash, Sample.MULTIPLIER) >>> 0 < this.#sampleBelow;
  }

  /** Allocates the table: a power of two of buckets, at least `Layout.SLOTS_PER_KEY / 2` per key remembered. */
  #allocate(): void {
    let bits = 1;
    while (2 ** bits < (Layout.SLOTS_PER_KEY / 2) * this.#capacity) bits++;
    this.#table = new Int32Array(Layout.BUCKET << bits);
    this.#shift = 32 - bits;
    this.#markStale(GhostRegion.WINDOW);
    this.#markStale(GhostRegion.MAIN);
  }

  /** The latest record's sequence number in `region`. */
  #records(region: number): number {
    return region === GhostRegion.WINDOW ? this.#windowRecords : this.#mainRecords;
  }

  /** Makes every slot of `region` older than any capacity. */
  #markStale(region: number): void {
    const t = this.#table;
    const stale = (this.#records(region) - Age.STALE) | 0;
    for (let i = region * Layout.REGION + 2; i < t.length; i += Layout.BUCKET) {
      t[i] = stale;
      t[i + 3] = stale;
    }
  }

  /** The first index of `hash`'s bucket (Fibonacci hashing: the top bits of a multiplication). */
  #bucket(hash: number): number {
    return (Math.imul(hash, 0x9e3779b1) >>> this.#shift) * Layout.BUCKET;
  }

  /** Remembers `hash` in `region`, evicted when the region's event counter read `stamp` (if it is in the sample). */
  record(hash: number, stamp: number, region: number = GhostRegion.WINDOW): void {
    if (!this.sampled(hash)) return;
    if (this.#table.length === 0) this.#allocate();
    const t = this.#table;
    let r: number;
    if (region === GhostRegion.WINDOW) {
      r = (this.#windowRecords + 1) | 0;
      this.#windowRecords = r;
    } else {
      r = (this.#mainRecords + 1) | 0;
      this.#mainRecords = r;
    }
    if ((r & Age.SWEEP_MASK) === 0) this.#sweep(region, r);
    const b = this.#bucket(hash) + region * Layout.REGION;
    const at =
      t[b] === hash
        ? b
        : t[b + 3] === hash
          ? b + 3
          : (r - t[b + 2]!) >>> 0 >= (r - t[b + 5]!) >>> 0
            ? b
            : b + 3;
    t[at] = hash;
    t[at + 1] = stamp | 0;
    t[at + 2] = r;
  }

  /** Events since `hash` was evicted from `region` (`now - stamp`), or `Infinity` if it is not remembered there. */
  distance(hash: number, now: number, region: number = GhostRegion.WINDOW): number {
    const at = this.#find(hash, region);
    return at < 0 ? Number.POSITIVE_INFINITY : ((now | 0) - this.#table[at + 1]!) >>> 0;
  }

  /**
   * `distance`, for the insert path: the events since `hash` was evicted when it is remembered and that is at
   * most `horizon`, else -1. Integers only: `distance` returns `Infinity` for a key it does not remember, which
   * makes its callers' comparisons floating-point; this runs on every insertion.
   *
   * @param horizon - the largest distance that counts, at most 2^31 - 1
   */
  near(hash: number, now: number, horizon: number, region: number = GhostRegion.WINDOW): number {
    const at = this.#find(hash, region);
    if (at < 0) return -1;
    const d = ((now | 0) - this.#table[at + 1]!) >>> 0;
    return d <= horizon ? d : -1;
  }

  /**
   * The window climber's vote for a key being inserted: 1 (a bigger window would have kept it) when the window's
   * region remembers it within `horizon` and main's does not remember it nearer, -1 (a bigger main area) when only
   * main's does or main's is nearer, else 0; times the sampling rate. The same answer as `near` in each region,
   * compared, with one bucket computed and read.
   *
   * @param nowWindow - the window's event counter now
   * @param nowMain - main's event counter now
   * @param horizon - the largest distance that counts, at most 2^31 - 1
   */
  vote(hash: number, nowWindow: number, nowMain: number, horizon: number): number {
    const t = this.#table;
    if (t.length === 0) return 0;
    if (!this.sampled(hash)) return 0;
    const w = this.#rate; // each vote counts for the keys the sample leaves out
    const b = this.#bucket(hash);
    // `#find`'s slot test and `near`'s distance, written out for both regions: through shared helpers, an evicting
    // insert counted about 15 more instructions (scratch callgrind builds), most of what sharing the table saves.
    let window = -1;
    const ws = t[b] === hash ? b : t[b + 3] === hash ? b + 3 : -1;
    if (ws >= 0 && (this.#windowRecords - t[ws + 2]!) >>> 0 < this.#capacity) {
      const d = ((nowWindow | 0) - t[ws + 1]!) >>> 0;
      if (d <= horizon) window = d;
    }
    const mb = b + Layout.REGION; // main's region
    const m = t[mb] === hash ? mb : t[mb + 3] === hash ? mb + 3 : -1;
    if (m >= 0 && (this.#mainRecords - t[m + 2]!) >>> 0 < this.#capacity) {
      const d = ((nowMain | 0) - t[m + 1]!) >>> 0;
      if (d <= horizon) return window >= 0 && window <= d ? w : -w;
    }
    return window >= 0 ? w : 0;
  }

  /** Forgets `hash` in `region` (it was seen again). */
  forget(hash: number, region: number = GhostRegion.WINDOW): void {
    const at = this.#find(hash, region);
    if (at >= 0) this.#table[at + 2] = (this.#records(region) - Age.STALE) | 0;
  }

  /** Forgets everything, in both regions. */
  clear(): void {
    if (this.#table.length === 0) return;
    this.#markStale(GhostRegion.WINDOW);
    this.#markStale(GhostRegion.MAIN);
  }

  /**
   * For tests: counts `n` records in `region` of keys that land in no bucket, as if the table had been left alone
   * meanwhile (sweeps included), to check ages across the 2^32 wrap.
   *
   * @internal
   */
  advance(n: number, region: number = GhostRegion.WINDOW): void {
    for (let left = n; left > 0; ) {
      const records = this.#records(region);
      const step = Math.min(left, Age.SWEEP_MASK + 1 - (records & Age.SWEEP_MASK));
      const r = (records + step) | 0;
      if (region === GhostRegion.WINDOW) this.#windowRecords = r;
      else this.#mainRecords = r;
      left -= step;
      if ((r & Age.SWEEP_MASK) === 0 && this.#table.length > 0) this.#sweep(region, r);
    }
  }

  /** Re-marks every slot of `region` that aged out as stale (age 2^30), before `r`'s record. */
  #sweep(region: number, r: number): void {
    const t = this.#table;
    const stale = (r - Age.STALE) | 0;
    for (let i = region * Layout.REGION + 2; i < t.length; i += Layout.BUCKET) {
      if ((r - t[i]!) >>> 0 >= this.#capacity) t[i] = stale;
      if ((r - t[i + 3]!) >>> 0 >= this.#capacity) t[i + 3] = stale;
    }
  }

  /** The slot remembering `hash` in `region`, or -1. */
  #find(hash: number, region: number): number {
    const t = this.#table;
    if (t.length === 0) return -1;
    const b = this.#bucket(hash) + region * Layout.REGION;
    const at = t[b] === hash ? b : t[b + 3] === hash ? b + 3 : -1;
    return at >= 0 && (this.#records(region) - t[at + 2]!) >>> 0 < this.#capacity ? at : -1;
  }
}

/** The table's layout (an enum: see {@link GhostRegion}). */
enum Layout {
  /** Table slots per key remembered in a region (two per bucket and region). */
  SLOTS_PER_KEY = 4,
  /** Words per region in a bucket: two slots of hash, stamp and sequence number. */
  REGION = 6,
  /** Words per bucket: the window's region, then main's. */
  BUCKET = 2 * REGION,
}

/** The key sample (an enum: see {@link GhostRegion}). */
enum Sample {
  /** The sampling rate of large memories. */
  RATE = 4,
  /** Fewest keys a sampled horizon holds on average. */
  MIN_KEYS = 64,
  /** Multiplier of the sample's hash (not the buckets' nor the guards' sample's, so that the three are unrelated). */
  MULTIPLIER = 0x85ebca6b,
}

/** Ages of records, in records of their region. */
enum Age {
  /** How old a stale slot reads (from the latest record): far beyond any capacity. */
  STALE = 1 << 30,
  /** Records between sweeps, minus one: a stale slot is at most 2^31 records old, far from wrapping. */
  SWEEP_MASK = (1 << 30) - 1,
}
