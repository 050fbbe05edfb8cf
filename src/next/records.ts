import type { TierRecord } from '../tier.js';
import { isStored } from './compression.js';
import { ownBytes } from './own-bytes.js';
import { storedSize } from './size.js';
import type { Stored } from './stored.js';

/**
 * The tier record of an entry written now (its encoded text), living `ttl` ms.
 *
 * @internal
 */
export function recordOf(value: string, ttl: number): TierRecord {
  const now = Date.now();
  return {
    value,
    expires: now + ttl,
    staleUntil: now + ttl,
    errorUntil: now + ttl,
    tags: [],
    createdAt: now,
  };
}

/**
 * An entry decoded from a Redis record that expires at `expires`, with byte arrays of its own, and the ms it has
 * left: `undefined` when it is not an entry or has expired.
 *
 * @internal
 */
export function entryOf(decoded: unknown, expires: number): { stored: Stored; ttl: number } | undefined {
  if (!isStored(decoded)) return undefined;
  // Decoded buffers under 4 KiB are views into Node's shared pool: keep copies that own their bytes.
  const stored = ownBytes(decoded);
  // The size the memory bound counts is computed from what the entry holds, never taken from Redis.
  stored.s = storedSize(stored);
  const ttl = expires - Date.now();
  if (ttl <= 0) return undefined;
  return { stored, ttl };
}
