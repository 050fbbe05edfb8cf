/**
 * `responseSerializer`: stored responses as text for a second tier (`larder/redis`), and back.
 *
 * @module
 */
import { describe } from '../duration.js';
import { ownedConcat } from './body-capture.js';
import { isStorableStatus } from './storability.js';
import type { CachedResponse } from './types.js';

/** Turns {@link CachedResponse} values into text and back (the shape of `larder/redis`'s `Serializer`). */
export interface ResponseSerializer {
  /** A stored response as text; a `TypeError` for anything else. */
  serialize(value: unknown): string;
  /** The stored response back from the text; throws when the text is not one. */
  deserialize(text: string): unknown;
}

/**
 * A serializer for {@link CachedResponse} values, for a cache with a second tier (`larder/redis`): the
 * default serializer refuses binary bodies. Bodies travel as base64; a decoded body owns its memory (it is not a
 * view into Node's shared buffer pool). Text that is not a stored response (another application's data under
 * the prefix, say) is refused with a `TypeError`, which the tier reports and treats as a miss.
 *
 * @example
 * ```ts
 * const responses = createCache<string, CachedResponse>({
 *   redisUrl: process.env.REDIS_URL, max: 5_000, ttl: '30s',
 *   redis: { prefix: 'app:http:', serializer: responseSerializer },
 * });
 * ```
 */
export const responseSerializer: ResponseSerializer = {
  serialize(value: unknown): string {
    const entry = value as CachedResponse;
    if (
      typeof entry !== 'object' ||
      entry === null ||
      typeof entry.status !== 'number' ||
      !(entry.body instanceof Uint8Array)
    ) {
      throw new TypeError(`responseSerializer: expected a CachedResponse; got ${describe(value)}`);
    }
    return JSON.stringify({
      s: entry.status,
      h: entry.headers,
      b: Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength).toString('base64'),
      t: entry.storedAt,
      f: entry.freshUntil === Number.POSITIVE_INFINITY ? null : entry.freshUntil,
      v: entry.vary ?? null,
    });
  },
  deserialize(text: string): CachedResponse {
    const raw = JSON.parse(text) as Record<string, unknown> | null;
    if (
      typeof raw !== 'object' ||
      raw === null ||
      !Number.isInteger(raw.s) ||
      typeof raw.b !== 'string' ||
      typeof raw.t !== 'number' ||
      !(raw.f === null || typeof raw.f === 'number') ||
      !isHeaders(raw.h) ||
      !(raw.v === null || isStrings(raw.v))
    ) {
      throw new TypeError('responseSerializer: not a stored response');
    }
    // Text from Redis is untrusted (another app may write under the prefix): never replay what cacheResponses
    // would not have stored, such as another visitor's cookie or a non-2xx status.
    const status = raw.s as number;
    if (!isStorableStatus(status)) {
      throw new TypeError(`responseSerializer: a stored response never has status ${status}`);
    }
    if (Object.keys(raw.h).some((name) => name.toLowerCase() === 'set-cookie')) {
      throw new TypeError('responseSerializer: a stored response never sets a cookie');
    }
    const decoded = Buffer.from(raw.b, 'base64'); // small ones are views into the shared pool: copy them out
    return {
      status,
      headers: raw.h,
      body: ownedConcat([decoded], decoded.byteLength),
      storedAt: raw.t,
      freshUntil: raw.f ?? Number.POSITIVE_INFINITY,
      vary: raw.v ?? undefined,
    };
  },
};

/** A plain object whose own values are strings or arrays of strings. */
function isHeaders(value: unknown): value is Record<string, string | string[]> {
  if (!isPlainObject(value)) return false;
  for (const name of Object.keys(value)) {
    const field = value[name];
    if (typeof field === 'string') continue;
    if (!Array.isArray(field) || !field.every((item) => typeof item === 'string')) return false;
  }
  return true;
}

/** A plain object whose own values are strings. */
function isStrings(value: unknown): value is Record<string, string> {
  return isPlainObject(value) && Object.keys(value).every((name) => typeof value[name] === 'string');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
