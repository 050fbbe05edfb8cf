import type { Entry } from './entry.js';

/**
 * A binary min-heap of entries by `deadline`, so that expired entries can be found in O(log n) each instead
 * of by scanning the cache. Each queued entry knows its place in the heap (`Entry.slot`), so an entry that
 * leaves the store before its deadline (evicted, deleted, replaced) is taken out at once, in O(log n): the
 * queue holds live entries only, and never keeps a dropped entry's value reachable.
 *
 * @internal
 */
export class ExpiryQueue {
  #heap: Entry<unknown>[] = [];

  /** Number of queued entries. */
  get length(): number {
    return this.#heap.length;
  }

  /** The earliest deadline queued, or `Infinity`. */
  peekDeadline(): number {
    const top = this.#heap[0];
    return top === undefined ? Number.POSITIVE_INFINITY : top.deadline;
  }

  /** Whether `entry` is queued. */
  has(entry: Entry<unknown>): boolean {
    return entry.slot >= 0 && this.#heap[entry.slot] === entry;
  }

  /** Queues `entry` (if it is queued already, it is left where it is). */
  push(entry: Entry<unknown>): void {
    if (this.has(entry)) return;
    const heap = this.#heap;
    heap.push(entry);
    this.#up(entry, heap.length - 1);
  }

  /** Removes and returns the entry with the earliest deadline. */
  pop(): Entry<unknown> | undefined {
    const top = this.#heap[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Takes `entry` out of the queue; does nothing when it is not queued. */
  remove(entry: Entry<unknown>): void {
    if (!this.has(entry)) return;
    const heap = this.#heap;
    const i = entry.slot;
    entry.slot = -1;
    const last = heap.pop() as Entry<unknown>;
    if (last === entry) return;
    // Move the last entry into the hole, then restore the order up or down from there.
    const parent = (i - 1) >> 1;
    if (i > 0 && last.deadline < (heap[parent] as Entry<unknown>).deadline) this.#up(last, i);
    else this.#down(last, i);
  }

  /** Empties the queue. */
  clear(): void {
    for (const entry of this.#heap) entry.slot = -1;
    this.#heap = [];
  }

  /** Places `entry` at `i` or above, moving larger parents down. */
  #up(entry: Entry<unknown>, i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry<unknown>;
      if (p.deadline <= entry.deadline) break;
      heap[i] = p;
      p.slot = i;
      i = parent;
    }
    heap[i] = entry;
    entry.slot = i;
  }

  /** Places `entry` at `i` or below, moving smaller children up. */
  #down(entry: Entry<unknown>, i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child =
        right < n && (heap[right] as Entry<unknown>).deadline < (heap[left] as Entry<unknown>).deadline
          ? right
          : left;
      const c = heap[child] as Entry<unknown>;
      if (entry.deadline <= c.deadline) break;
      heap[i] = c;
      c.slot = i;
      i = child;
    }
    heap[i] = entry;
    entry.slot = i;
  }
}
