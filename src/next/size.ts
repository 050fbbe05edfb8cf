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

/** Approximate bytes of a value (strings and byte arrays dominate Next.js entries). @internal */
export function sizeOf(value: unknown, depth = 0): number {
  if (typeof value === 'string') return stringBytes(value);
  if (typeof value !== 'object' || value === null) return 8;
  if (ArrayBuffer.isView(value)) return value.byteLength + VIEW_OVERHEAD;
  if (depth > 8) return 64;
  let size = 16;
  if (value instanceof Map) {
    size = MAP_OVERHEAD;
    for (const [k, v] of value) size += sizeOf(k, depth + 1) + sizeOf(v, depth + 1);
    return size;
  }
  if (Array.isArray(value)) {
    for (const v of value) size += sizeOf(v, depth + 1);
    return size;
  }
  const bytes = (value as { bytes?: unknown }).bytes;
  if (bytes instanceof Uint8Array) return bytes.byteLength;
  for (const key of Object.keys(value))
    size += stringBytes(key) + sizeOf((value as Record<string, unknown>)[key], depth + 1);
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
