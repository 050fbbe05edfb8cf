/**
 * A small LRU of 32-bit key hashes, used to estimate what plain LRU would hit.
 *
 * @internal
 */
export class ShadowLru {
  readonly #map = new Map<number, number>();
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #keys: Int32Array;
  readonly #capacity: number;
  #size = 0;

  /** @param capacity - entries held */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#next = new Int32Array(this.#capacity + 1);
    this.#prev = new Int32Array(this.#capacity + 1);
    this.#keys = new Int32Array(this.#capacity + 1);
    this.#next[0] = 0;
    this.#prev[0] = 0;
  }

  /** Records an access; returns whether it hit. */
  access(h: number): boolean {
    const next = this.#next;
    const prev = this.#prev;
    let i = this.#map.get(h);
    const hit = i !== undefined;
    if (i !== undefined) {
      next[prev[i]!] = next[i]!;
      prev[next[i]!] = prev[i]!;
    } else if (this.#size < this.#capacity) {
      i = ++this.#size;
      this.#map.set(h, i);
    } else {
      i = next[0]!;
      next[0] = next[i]!;
      prev[next[i]!] = 0;
      this.#map.delete(this.#keys[i]!);
      this.#map.set(h, i);
    }
    this.#keys[i] = h;
    const last = prev[0]!;
    next[last] = i;
    prev[i] = last;
    next[i] = 0;
    prev[0] = i;
    return hit;
  }
}
