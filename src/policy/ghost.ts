/**
 * A bounded memory of recently evicted keys (by hash), each stamped with the value of an event
 * counter when it was evicted. `distance` tells how many events ago a key left, which is how much
 * larger its region would have had to be to still hold it.
 *
 * Every eviction records one hash (and forgets the oldest), so this sits on the insert path. The
 * latest stamp of each hash is kept in an open-addressing table in typed arrays (linear probing,
 * deletion by backward shift), at most half full: no `Map` entries to allocate and free per eviction.
 * The table is allocated at the first record (a store that never evicts never needs it), at 12 bytes
 * per slot, about as much as the `Map` it replaces held when full.
 *
 * @internal
 */
export class Ghost {
  // The ring of records, oldest first from #head.
  readonly #hashes: Int32Array;
  readonly #stamps: Float64Array;
  #head = 0;
  #length = 0;
  // The table: hash → its latest stamp. An empty slot has stamp EMPTY (stamps are counters >= 0).
  #keys = new Int32Array(0);
  #values = new Float64Array(0);
  #mask = 0;
  #shift = 0;

  /** @param capacity - keys remembered, at most */
  constructor(capacity: number) {
    const n = Math.max(1, Math.floor(capacity));
    this.#hashes = new Int32Array(n);
    this.#stamps = new Float64Array(n);
  }

  /** Allocates the table for the ring's capacity. */
  #allocate(): void {
    let bits = 1;
    while (1 << bits < 2 * this.#hashes.length) bits++;
    this.#keys = new Int32Array(1 << bits);
    this.#values = new Float64Array(1 << bits).fill(EMPTY);
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
  }

  /** Remembers `hash`, evicted when the event counter read `stamp`. */
  record(hash: number, stamp: number): void {
    if (this.#values.length === 0) this.#allocate();
    const cap = this.#hashes.length;
    let slot: number;
    // (No `%`: a division costs more than the rest of the ring's bookkeeping. The head stays 0 until
    // the ring is full.)
    if (this.#length < cap) {
      slot = this.#head + this.#length;
      if (slot >= cap) slot -= cap;
      this.#length++;
    } else {
      slot = this.#head;
      const old = this.#hashes[slot]!;
      const at = this.#find(old);
      if (at >= 0 && this.#values[at] === this.#stamps[slot]) this.#remove(at);
      this.#head = slot + 1 === cap ? 0 : slot + 1;
    }
    this.#hashes[slot] = hash;
    this.#stamps[slot] = stamp;
    this.#put(hash, stamp);
  }

  /** Events since `hash` was evicted (`now - stamp`), or `Infinity` if it is not remembered. */
  distance(hash: number, now: number): number {
    const at = this.#find(hash);
    return at < 0 ? Number.POSITIVE_INFINITY : now - this.#values[at]!;
  }

  /** Forgets `hash` (it was seen again). */
  forget(hash: number): void {
    const at = this.#find(hash);
    if (at >= 0) this.#remove(at);
  }

  /** Forgets everything. */
  clear(): void {
    this.#values.fill(EMPTY);
    this.#head = 0;
    this.#length = 0;
  }

  /** The home slot of `hash` (Fibonacci hashing: the top bits of a multiplication). */
  #home(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> this.#shift;
  }

  /** The slot holding `hash`, or -1. */
  #find(hash: number): number {
    const keys = this.#keys;
    const values = this.#values;
    if (values.length === 0) return -1;
    for (let i = this.#home(hash); ; i = (i + 1) & this.#mask) {
      if (values[i] === EMPTY) return -1;
      if (keys[i] === hash) return i;
    }
  }

  #put(hash: number, stamp: number): void {
    const keys = this.#keys;
    const values = this.#values;
    let i = this.#home(hash);
    while (values[i] !== EMPTY && keys[i] !== hash) i = (i + 1) & this.#mask;
    keys[i] = hash;
    values[i] = stamp;
  }

  /** Empties slot `i`, moving later entries of its probe run back so that every lookup still finds them. */
  #remove(i: number): void {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let hole = i;
    for (let j = (hole + 1) & mask; values[j] !== EMPTY; j = (j + 1) & mask) {
      // Move the entry at j into the hole unless its home lies cyclically in (hole, j].
      const home = this.#home(keys[j]!);
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        keys[hole] = keys[j]!;
        values[hole] = values[j]!;
        hole = j;
      }
    }
    values[hole] = EMPTY;
  }
}

/** The stamp of an empty table slot. */
const EMPTY = -1;
