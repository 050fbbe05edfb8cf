/**
 * Belady's optimal replacement (OPT/MIN): on a miss with a full cache, evict the resident key whose
 * next request is farthest in the future. No policy that must decide without seeing the future can
 * beat it, so it is the ceiling in the hit-ratio charts.
 *
 * Every miss inserts the requested key (the README's replay rule), so the key evicted is chosen among
 * the residents only. O(n log n): next-use indices are computed once per trace in one backward pass;
 * residents sit in a binary max-heap keyed by their next use, with lazy deletion (a hit pushes the
 * key again with its new next use; outdated heap records are skipped when they reach the top).
 */

/** A trace prepared for OPT: dense key ids and next-use indices. */
export interface OptTrace {
  /** Dense id (0..keys-1) of each request's key. */
  ids: Int32Array;
  /** For each request, the index of the next request of the same key, or `ids.length` if none. */
  nextUse: Int32Array;
  /** Number of distinct keys. */
  keys: number;
}

/** Computes dense ids and next-use indices. */
export function prepareOpt(trace: Int32Array): OptTrace {
  const n = trace.length;
  const ids = new Int32Array(n);
  const idOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const k = trace[i]!;
    let id = idOf.get(k);
    if (id === undefined) {
      id = idOf.size;
      idOf.set(k, id);
    }
    ids[i] = id;
  }
  const nextUse = new Int32Array(n);
  const seen = new Int32Array(idOf.size).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    const id = ids[i]!;
    nextUse[i] = seen[id]!;
    seen[id] = i;
  }
  return { ids, nextUse, keys: idOf.size };
}

/**
 * Hits of Belady's optimal policy with a cache of `size` entries.
 *
 * @returns the number of hits
 */
export function optHits(prepared: OptTrace, size: number): number {
  if (!(Number.isInteger(size) && size > 0))
    throw new RangeError(`size must be a positive integer; got ${size}`);
  const { ids, nextUse, keys } = prepared;
  const n = ids.length;
  const resident = new Uint8Array(keys);
  const current = new Int32Array(keys); // request index of the key's latest heap record
  // Max-heap of request indices, ordered by nextUse.
  const heap = new Int32Array(n + 1);
  let heapSize = 0;
  let count = 0;
  let hits = 0;

  const push = (idx: number): void => {
    let pos = heapSize++;
    const pri = nextUse[idx]!;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const p = heap[parent]!;
      if (nextUse[p]! >= pri) break;
      heap[pos] = p;
      pos = parent;
    }
    heap[pos] = idx;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap[--heapSize]!;
    const pri = nextUse[last]!;
    let pos = 0;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= heapSize) break;
      if (child + 1 < heapSize && nextUse[heap[child + 1]!]! > nextUse[heap[child]!]!) child++;
      if (nextUse[heap[child]!]! <= pri) break;
      heap[pos] = heap[child]!;
      pos = child;
    }
    heap[pos] = last;
    return top;
  };

  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (resident[id] === 1) {
      hits++;
    } else {
      if (count === size) {
        for (;;) {
          const top = pop();
          const victim = ids[top]!;
          if (resident[victim] === 1 && current[victim] === top) {
            resident[victim] = 0;
            count--;
            break;
          }
        }
      }
      resident[id] = 1;
      count++;
    }
    current[id] = i;
    push(i);
  }
  return hits;
}
