import type { Serializer } from '../serializer.js';
import type { TierRecord } from '../tier.js';
import { LarderRedisError } from './errors.js';
import { tagOfSuffix } from './keys.js';

/** The format marker of an entry; anything else is foreign or from an incompatible version. @internal */
export const MARK = 'L1';

const NO_TAGS: readonly string[] = Object.freeze([]);

function time(t: number, offset: number): string {
  return t === Number.POSITIVE_INFINITY ? 'null' : String(t + offset);
}

/**
 * Serializes a value for {@link encodeRecord}. Throws the serializer's TypeError for a value that cannot be
 * stored, and a TypeError when the serializer does not return a string.
 *
 * @internal
 */
export function serializeValue(value: unknown, serializer: Serializer): string {
  const payload = serializer.serialize(value);
  if (typeof payload !== 'string') {
    throw new TypeError(`serializer.serialize must return a string; got ${typeof payload}`);
  }
  return payload;
}

/**
 * Encodes a record whose value {@link serializeValue} turned into `payload` as `L1<header>\n<payload>` (see
 * scripts.ts). `created` is its createdAt on the Redis clock (an integer); `offset` converts the other local
 * times to the Redis clock.
 *
 * @internal
 */
export function encodeRecord(
  record: TierRecord,
  created: number,
  tagSuffixes: readonly string[],
  payload: string,
  offset: number,
): string {
  const tags = tagSuffixes.length === 0 ? '[]' : JSON.stringify(tagSuffixes);
  return `${MARK}[${created},${tags},${time(record.expires, offset)},${time(record.staleUntil, offset)},${time(record.errorUntil, offset)}]\n${payload}`;
}

function bad(detail: string, cause?: unknown): LarderRedisError {
  return new LarderRedisError(
    'decode',
    `larder/redis: ignoring an entry that cannot be read (${detail}); it may be corrupt, foreign, or from an incompatible version`,
    cause,
  );
}

/** A header number: `null` for never, else a finite number (anything else is refused by localTime). */
function num(text: string): number | null | undefined {
  if (text === 'null') return null;
  const n = text === '' ? Number.NaN : Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function localTime(t: unknown, offset: number): number {
  if (t === null) return Number.POSITIVE_INFINITY;
  if (typeof t !== 'number' || !Number.isFinite(t)) throw bad('bad time in header');
  return t - offset;
}

/**
 * Decodes an entry read from Redis. Throws a `LarderRedisError` with code `decode` when it cannot, and when its
 * createdAt (on this instance's clock) is later than `latest`: an entry dated further ahead than larder's own
 * times can be is foreign (see `MAX_AHEAD_MS` in scripts.ts), and taking it would hand the cache a createdAt that
 * outranks every later load.
 *
 * @param latest - the latest createdAt (local clock, ms) accepted; by default any
 * @internal
 */
export function decodeRecord(
  raw: string,
  serializer: Serializer,
  offset: number,
  latest = Number.POSITIVE_INFINITY,
): TierRecord {
  if (!raw.startsWith(MARK)) throw bad('unknown format');
  const nl = raw.indexOf('\n', 2);
  if (nl < 0) throw bad('no header');
  let header: unknown[] | undefined;
  // Fast path for entries without tags, `L1[created,[],expires,staleUntil,errorUntil]\n`: no JSON.parse.
  const c1 = raw.indexOf(',', 3);
  if (raw.charCodeAt(2) === 91 && c1 > 3 && raw.startsWith('[],', c1 + 1)) {
    const c3 = raw.indexOf(',', c1 + 4);
    const c4 = c3 < 0 ? -1 : raw.indexOf(',', c3 + 1);
    if (c4 > 0 && c4 < nl && raw.charCodeAt(nl - 1) === 93) {
      header = [
        num(raw.slice(3, c1)),
        [],
        num(raw.slice(c1 + 4, c3)),
        num(raw.slice(c3 + 1, c4)),
        num(raw.slice(c4 + 1, nl - 1)),
      ];
    }
  }
  if (header === undefined) {
    try {
      header = JSON.parse(raw.slice(2, nl)) as unknown[];
    } catch (error) {
      throw bad('bad header', error);
    }
  }
  if (!Array.isArray(header) || header.length !== 5 || !Array.isArray(header[1])) throw bad('bad header');
  const createdAt = localTime(header[0], offset);
  if (createdAt > latest || createdAt === Number.POSITIVE_INFINITY)
    throw bad('createdAt too far in the future');
  const suffixes = header[1] as unknown[];
  let tags = NO_TAGS;
  if (suffixes.length > 0) {
    try {
      tags = suffixes.map((s) => tagOfSuffix(s as string));
    } catch (error) {
      throw bad('bad tags', error);
    }
  }
  let value: unknown;
  try {
    value = serializer.deserialize(raw.slice(nl + 1));
  } catch (error) {
    throw bad(error instanceof Error ? error.message : 'the serializer failed', error);
  }
  if (value === undefined) throw bad('the serializer returned undefined');
  return {
    value,
    createdAt,
    tags,
    expires: localTime(header[2], offset),
    staleUntil: localTime(header[3], offset),
    errorUntil: localTime(header[4], offset),
  };
}
