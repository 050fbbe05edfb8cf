import type { Stored } from './stored.js';

/** Heap bytes of a byte array's object beyond its bytes (a view: 96 measured on Node.js 20, x64). */
const VIEW_OVERHEAD = 96;
/** Heap bytes of a `Map` beyond its keys and values (about 110 measured for a 3-entry `Map`). */
const MAP_OVERHEAD = 112;

/** Approximate bytes of a value (strings and byte arrays dominate Next.js entries). @internal */
export function sizeOf(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
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
    size += key.length + sizeOf((value as Record<string, unknown>)[key], depth + 1);
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
