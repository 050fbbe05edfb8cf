/**
 * Checks of the `redis://` / `rediss://` URLs larder opens connections from.
 *
 * @internal
 */

/** A redis URL, checked by {@link parseRedisUrl}. @internal */
export interface RedisUrl {
  /** The parsed URL (its `protocol` is lower case: `'redis:'` or `'rediss:'`). */
  url: URL;
  /** Whether the scheme asks for TLS (`rediss://`, in any case). */
  tls: boolean;
  /**
   * The URL text to hand ioredis: the input, trimmed, with its scheme in lower case (ioredis recognises only a
   * lower-case `rediss://` as TLS, though URL schemes are case-insensitive).
   */
  text: string;
  /** The host without the brackets of an IPv6 address (`'::1'` for `redis://[::1]:6379`); `''` when absent. */
  host: string;
}

/** `text` with the credentials of a URL masked, fit for an error message. @internal */
export function redactUrl(text: string): string {
  return JSON.stringify(text.replace(/^([^/]*\/\/)[^@/?#]*@/, '$1***@'));
}

/**
 * Parses a `redis://` or `rediss://` URL (scheme in any case, RFC 3986).
 *
 * @param text - the URL
 * @param name - what to name in the error (e.g. `'createCache: redisUrl'`)
 * @throws TypeError naming `name` when `text` is not a `redis://` or `rediss://` URL (credentials masked).
 * @internal
 */
export function parseRedisUrl(text: string, name: string): RedisUrl {
  const trimmed = text.trim();
  let url: URL | undefined;
  try {
    url = new URL(trimmed);
  } catch {
    url = undefined;
  }
  if (url === undefined || !/^rediss?:\/\//i.test(trimmed)) {
    throw new TypeError(`${name} must be a redis:// or rediss:// URL; got ${redactUrl(trimmed)}`);
  }
  const tls = url.protocol === 'rediss:';
  return {
    url,
    tls,
    text: url.protocol + trimmed.slice(url.protocol.length),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
  };
}
