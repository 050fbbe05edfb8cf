/**
 * A bounded memory of recently evicted keys (by hash), each stamped with the value of an event
 * counter when it was evicted. `distance` tells how many events ago a key left, which is how much
 * larger its region would have had to be to still hold it.
 *
 * @internal
 */
export class Ghost {
  readonly #seen = new Map<number, number>();
  readonly #hashes: Int32Array;
  readonly #stamps: Float64Array;
  #head = 0;
  #length = 0;

  /** @param capacity - keys remembered, at most */
  constructor(capacity: number) {
    const n = Math.max(1, Math.floor(capacity));
    this.#hashes = new Int32Array(n);
    this.#stamps = new Float64Array(n);
  }

  /** Remembers `hash`, evicted when the event counter read `stamp`. */
  record(hash: number, stamp: number): void {
    const cap = this.#hashes.length;
    let slot: number;
    if (this.#length < cap) {
      slot = (this.#head + this.#length) % cap;
      this.#length++;
    } else {
      slot = this.#head;
      const old = this.#hashes[slot]!;
      if (this.#seen.get(old) === this.#stamps[slot]) this.#seen.delete(old);
      this.#head = (this.#head + 1) % cap;
    }
    this.#hashes[slot] = hash;
    this.#stamps[slot] = stamp;
    this.#seen.set(hash, stamp);
  }

  /** Events since `hash` was evicted (`now - stamp`), or `Infinity` if it is not remembered. */
  distance(hash: number, now: number): number {
    const stamp = this.#seen.get(hash);
    return stamp === undefined ? Number.POSITIVE_INFINITY : now - stamp;
  }

  /** Forgets `hash` (it was seen again). */
  forget(hash: number): void {
    this.#seen.delete(hash);
  }

  /** Forgets everything. */
  clear(): void {
    this.#seen.clear();
    this.#head = 0;
    this.#length = 0;
  }
}
