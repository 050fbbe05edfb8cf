import type { Stored } from './stored.js';

/** Heap bytes of a byte array's object beyond its bytes (a view: 96 measured on Node.js 20, x64). */
const VIEW_OVERHEAD = 96;
/** Heap bytes of a `Map` beyond its keys and values (about 110 measured for a 3-entry `Map`). */
const MAP_OVERHEAD = 112;

/** A character V8 cannot store in one byte: a string holding one is stored with two bytes per character. */
const TWO_BYTE = /[\u0100-\uffff]/;

/**
 * Bytes V8 holds for a string's characters: one per character, or two when any character is above U+00FF (V8
 * then stores the whole string two bytes per character). The test costs next to nothing for a string V8 stores
 * one byte per character (the pattern cannot match, and V8 knows it without scanning), and one scan up to the
 * first wide character otherwise (about 0.6 ns per character, measured on Node.js 20, x64).
 *
 * @internal
 */
export function stringBytes(text: string): number {
  return TWO_BYTE.test(text) ? text.length * 2 : text.length;
}

/** Bytes a reference to an object already counted costs (the slot pointing at it). */
const REFERENCE = 8;
/** Depth the recursive walk goes to before it defers an object to the explicit stack. */
const MAX_RECURSION = 256;

/**
 * Approximate bytes of a value (strings and byte arrays dominate Next.js entries). Every node is counted, however
 * deep (rich-text ASTs in `pageData` commonly nest past 8 levels, sometimes past hundreds): the walk recurses up
 * to {@link MAX_RECURSION} levels (a page of usual depth costs no more than that), and walks what is deeper with
 * an explicit stack, counting each object once there (a shared or cyclic reference costs {@link REFERENCE}).
 *
 * @internal
 */
export function sizeOf(value: unknown): number {
  const deferred: object[] = [];
  let size = walk(value, 0, deferred);
  if (deferred.length === 0) return size;
  const seen = new Set<object>();
  for (let v = deferred.pop(); v !== undefined; v = deferred.pop()) {
    if (seen.has(v)) {
      size += REFERENCE;
      continue;
    }
    seen.add(v);
    // Its own fields only: the objects among them are deferred in turn.
    size += walk(v, MAX_RECURSION, deferred, true);
  }
  return size;
}

/**
 * The bytes of `value` down to {@link MAX_RECURSION} levels; deeper objects are pushed to `deferred` (`open`: walk
 * this one's fields even at that depth).
 */
function walk(value: unknown, depth: number, deferred: object[], open = false): number {
  if (typeof value === 'string') return stringBytes(value);
  if (typeof value !== 'object' || value === null) return 8;
  if (ArrayBuffer.isView(value)) return value.byteLength + VIEW_OVERHEAD;
  if (depth >= MAX_RECURSION && !open) {
    deferred.push(value);
    return 0;
  }
  let size = 16;
  if (value instanceof Map) {
    size = MAP_OVERHEAD;
    for (const [k, v] of value) size += walk(k, depth + 1, deferred) + walk(v, depth + 1, deferred);
    return size;
  }
  if (Array.isArray(value)) {
    for (const v of value) size += walk(v, depth + 1, deferred);
    return size;
  }
  const bytes = (value as { bytes?: unknown }).bytes;
  if (bytes instanceof Uint8Array) return bytes.byteLength;
  for (const key of Object.keys(value))
    size += stringBytes(key) + walk((value as Record<string, unknown>)[key], depth + 1, deferred);
  return size;
}

/**
 * The size in bytes an entry counts for the memory bound, computed from what it holds (the handlers' `set`
 * record it in `s`; an entry read from Redis gets it computed again, since bytes from Redis are not trusted).
 *
 * @internal
 */
export function storedSize(stored: Stored): number {
  return stored.k === 'i' ? sizeOf(stored.v) + 64 : stored.b.byteLength + 64;
}

/**
 * Bytes an entry of the memory tier costs beyond its value (`s`): the stored record, its `cacheControl`, the
 * cache's `Entry`, the key and the store's bookkeeping (about 400 measured with bench/next/soak.ts).
 */
const ENTRY_OVERHEAD = 384;
/** Bytes of one tag string and its slot in the entry's tag list, beyond its characters. */
const TAG_OVERHEAD = 40;

/**
 * The memory tier's size of an entry: its value, its tags and its fixed overhead (what `maxMemory` bounds; the
 * soak benchmark's lru-cache baseline counts the same bytes).
 *
 * @internal
 */
export function footprint(stored: Stored): number {
  let size = Math.max(1, stored.s) + ENTRY_OVERHEAD;
  for (const tag of stored.g) size += stringBytes(tag) + TAG_OVERHEAD;
  return size;
}
