/**
 * A bounded memory of recently evicted keys (by hash), each stamped with the value of an event
 * counter when it was evicted. `distance` tells how many events ago a key left, which is how much
 * larger its region would have had to be to still hold it. A key is remembered for the next
 * `capacity` records (as a ring of that many records would), then forgotten.
 *
 * Every eviction records one hash and every insert looks one up, so this sits on the insert path.
 * The memory is a two-way set-associative table in one `Int32Array`: each slot holds a hash, its
 * stamp and the record's sequence number, and each bucket two slots (24 bytes). A record overwrites
 * its own key's slot, else the bucket's older one; a lookup reads one bucket. Nothing is deleted or
 * shifted: age alone forgets. A key can be lost early when two younger keys land in its bucket
 * before it ages out, which only thins the votes it feeds (at {@link SLOTS_PER_KEY} slots per key
 * remembered, about 3% of the keys remembered at any time, and up to 9% of the oldest). The ring and
 * probed table this replaces cost about a fifth of an evicting insert; decisions measured the same over
 * POLICIES.md's rows (docs/policy.md). Stamps and sequence numbers are kept modulo 2^32 and compared by
 * wrapping subtraction; every 2^30 records a sweep re-marks the slots that have aged out, so that no
 * slot's age can wrap round to look young. The table is allocated at the first record: a store that
 * never evicts never pays for it. Once allocated it takes 48-96 bytes per key remembered (the ring and
 * table before it: 36-60).
 *
 * @internal
 */
export class Ghost {
  readonly #capacity: number;
  // Per bucket: hash, stamp, sequence number of slot A, then of slot B.
  #table = new Int32Array(0);
  #shift = 0;
  // Records so far (modulo 2^32): the sequence number of the latest.
  #records = 0;

  /** @param capacity - how many records a key is remembered for */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  /** Allocates the table: a power of two of buckets, at least SLOTS_PER_KEY / 2 per key remembered. */
  #allocate(): void {
    let bits = 1;
    while (2 ** bits < (SLOTS_PER_KEY / 2) * this.#capacity) bits++;
    this.#table = new Int32Array(6 << bits);
    this.#shift = 32 - bits;
    this.#markStale();
  }

  /** Makes every slot older than any capacity. */
  #markStale(): void {
    const t = this.#table;
    const stale = (this.#records - STALE_AGE) | 0;
    for (let i = 2; i < t.length; i += 3) t[i] = stale;
  }

  /** The first index of `hash`'s bucket (Fibonacci hashing: the top bits of a multiplication). */
  #bucket(hash: number): number {
    return (Math.imul(hash, 0x9e3779b1) >>> this.#shift) * 6;
  }

  /** Remembers `hash`, evicted when the event counter read `stamp`. */
  record(hash: number, stamp: number): void {
    if (this.#table.length === 0) this.#allocate();
    const t = this.#table;
    const r = (this.#records + 1) | 0;
    this.#records = r;
    if ((r & SWEEP_MASK) === 0) this.#sweep(r);
    const b = this.#bucket(hash);
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

  /** Events since `hash` was evicted (`now - stamp`), or `Infinity` if it is not remembered. */
  distance(hash: number, now: number): number {
    const at = this.#find(hash);
    return at < 0 ? Number.POSITIVE_INFINITY : ((now | 0) - this.#table[at + 1]!) >>> 0;
  }

  /**
   * `distance`, for the insert path: the events since `hash` was evicted when it is remembered and that is at
   * most `horizon`, else -1. Integers only: `distance` returns `Infinity` for a key it does not remember, which
   * makes its callers' comparisons floating-point; this runs on every insertion.
   *
   * @param horizon - the largest distance that counts, at most 2^31 - 1
   */
  near(hash: number, now: number, horizon: number): number {
    const at = this.#find(hash);
    if (at < 0) return -1;
    const d = ((now | 0) - this.#table[at + 1]!) >>> 0;
    return d <= horizon ? d : -1;
  }

  /** Forgets `hash` (it was seen again). */
  forget(hash: number): void {
    const at = this.#find(hash);
    if (at >= 0) this.#table[at + 2] = (this.#records - STALE_AGE) | 0;
  }

  /** Forgets everything. */
  clear(): void {
    if (this.#table.length > 0) this.#markStale();
  }

  /**
   * For tests: counts `n` records of keys that land in no bucket, as if the table had been left alone
   * meanwhile (sweeps included), to check ages across the 2^32 wrap.
   *
   * @internal
   */
  advance(n: number): void {
    for (let left = n; left > 0; ) {
      const step = Math.min(left, SWEEP_MASK + 1 - (this.#records & SWEEP_MASK));
      this.#records = (this.#records + step) | 0;
      left -= step;
      if ((this.#records & SWEEP_MASK) === 0 && this.#table.length > 0) this.#sweep(this.#records);
    }
  }

  /** Re-marks every slot that aged out as stale (age 2^30), before `r`'s record. */
  #sweep(r: number): void {
    const t = this.#table;
    const stale = (r - STALE_AGE) | 0;
    for (let i = 2; i < t.length; i += 3) {
      if ((r - t[i]!) >>> 0 >= this.#capacity) t[i] = stale;
    }
  }

  /** The slot remembering `hash`, or -1. */
  #find(hash: number): number {
    const t = this.#table;
    if (t.length === 0) return -1;
    const b = this.#bucket(hash);
    const at = t[b] === hash ? b : t[b + 3] === hash ? b + 3 : -1;
    return at >= 0 && (this.#records - t[at + 2]!) >>> 0 < this.#capacity ? at : -1;
  }
}

/** Table slots per key remembered (two per bucket). */
const SLOTS_PER_KEY = 4;

/** How old a stale slot reads (from the latest record): far beyond any capacity. */
const STALE_AGE = 2 ** 30;

/** Records between sweeps, minus one: a stale slot is at most 2^31 records old, far from wrapping. */
const SWEEP_MASK = 2 ** 30 - 1;
