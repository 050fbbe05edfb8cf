import type { Entry } from './entry.js';

/**
 * A binary min-heap of entries by `deadline`, so that expired entries can be found in O(log n) each instead
 * of by scanning the cache. Entries that were replaced or removed stay in the heap until they surface or
 * the heap is rebuilt: the owner checks that a popped entry is still the one stored under its key.
 *
 * @internal
 */
export class ExpiryQueue {
  #heap: Entry<unknown>[] = [];

  /** Number of queued entries (live or not). */
  get length(): number {
    return this.#heap.length;
  }

  /** The earliest deadline queued, or `Infinity`. */
  peekDeadline(): number {
    const top = this.#heap[0];
    return top === undefined ? Number.POSITIVE_INFINITY : top.deadline;
  }

  push(entry: Entry<unknown>): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry<unknown>;
      if (p.deadline <= entry.deadline) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  /** Removes and returns the entry with the earliest deadline. */
  pop(): Entry<unknown> | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child =
        right < n && (heap[right] as Entry<unknown>).deadline < (heap[left] as Entry<unknown>).deadline
          ? right
          : left;
      const c = heap[child] as Entry<unknown>;
      if (last.deadline <= c.deadline) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  /** Replaces the contents with `entries` (used to drop entries that are no longer stored). */
  rebuild(entries: Entry<unknown>[]): void {
    this.#heap = [];
    for (const entry of entries) this.push(entry);
  }

  clear(): void {
    this.#heap = [];
  }
}
