/**
 * Redis key layout of `larder/redis` (all under the tier's `prefix`, default `larder:`):
 *
 * - `<prefix>v:<key>`: an entry (or a tombstone), one string per cache key
 * - `<prefix>t:<tag>`: the time a tag was last invalidated (`0`: never), outliving every entry carrying it
 * - `<prefix>c`: a hash of `clear(prefix)` times, field = encoded key prefix
 * - `<prefix>i`: the time of the latest tag invalidation or clear; `<prefix>j`: its copy (see scripts.ts)
 * - `<prefix>bus`: the pub/sub channel of the bus (`<prefix>bus:db<N>` on database N > 0, see bus.ts)
 *
 * Keys and tags are used as they are (Redis keys are binary-safe), except strings that are not well-formed
 * UTF-16 (lone surrogates), which UTF-8 cannot represent: those are stored as `v~:` / `t~:` followed by
 * their JSON encoding, so two different keys never share a Redis key.
 *
 * @internal
 */

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` survives a round trip through UTF-8. */
export function isWellFormed(s: string): boolean {
  return !SURROGATE.test(s) || !LONE_SURROGATE.test(s);
}

/** The key suffix (after the tier prefix) for a cache key. */
export function valueSuffix(key: string): string {
  return isWellFormed(key) ? `v:${key}` : `v~:${JSON.stringify(key)}`;
}

/** The cache key a suffix made by {@link valueSuffix} stands for. */
export function keyOfSuffix(suffix: string): string {
  return decodeSuffix(suffix, 'v');
}

/** The key suffix (after the tier prefix) for a tag's invalidation time. */
export function tagSuffix(tag: string): string {
  return isWellFormed(tag) ? `t:${tag}` : `t~:${JSON.stringify(tag)}`;
}

/** The tag a suffix made by {@link tagSuffix} stands for. */
export function tagOfSuffix(suffix: string): string {
  return decodeSuffix(suffix, 't');
}

/** Reverses {@link valueSuffix} (`mark` `v`) or {@link tagSuffix} (`mark` `t`). */
function decodeSuffix(suffix: string, mark: 'v' | 't'): string {
  if (suffix.startsWith(`${mark}:`)) return suffix.slice(2);
  if (suffix.startsWith(`${mark}~:`)) {
    const decoded: unknown = JSON.parse(suffix.slice(3));
    if (typeof decoded === 'string') return decoded;
  }
  throw new Error(`bad ${mark === 'v' ? 'key' : 'tag'} ${JSON.stringify(suffix)}`);
}

/**
 * The encoded forms a key starting with `prefix` can take: `v:<prefix>` for well-formed keys, and
 * `v~:"<JSON-escaped prefix>` for the others.
 */
export function valuePrefixes(prefix: string): string[] {
  const escaped = JSON.stringify(prefix).slice(0, -1);
  return isWellFormed(prefix) ? [`v:${prefix}`, `v~:${escaped}`] : [`v~:${escaped}`];
}

/** Escapes glob metacharacters for SCAN MATCH. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
