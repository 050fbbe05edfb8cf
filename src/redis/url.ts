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

/** A leading URL scheme and its `//` (`redis://`, `REDISS://`): all that is shown of a URL before its authority. */
const SCHEME = /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * `text` (one URL, or several separated by commas) as a JSON string fit for an error message or a log, with any
 * secret masked:
 *
 * - the credentials: everything after a leading `scheme://` (from the very start without one) up to the LAST `@` of
 *   the text becomes `***`. Passwords are often base64 and may hold `/`, `?`, `#`, `,`, `:` or `@` unencoded, which
 *   end the authority for a URL parser, so the mask stops at none of them;
 * - the query, from its `?` to the end (ioredis takes options there, `?password=...` among them).
 *
 * When a `?` comes before the last `@` (a `?` in the password, or an `@` in the query), only the scheme is shown.
 * Masking too much (an `@` in a path) only hides more of the host.
 *
 * @internal
 */
export function redactUrl(text: string): string {
  const start = SCHEME.exec(text)?.[0].length ?? 0;
  const head = text.slice(0, start);
  const at = text.lastIndexOf('@');
  const q = text.indexOf('?', start);
  const query = q < 0 ? text.length : q;
  const tail = q < 0 ? '' : '?***';
  // No credentials (an `@` cannot be in the scheme).
  if (at < start) return JSON.stringify(head + text.slice(start, query) + tail);
  if (at < query) return JSON.stringify(`${head}***${text.slice(at, query)}${tail}`);
  return JSON.stringify(`${head}***`);
}

/**
 * Parses a `redis://` or `rediss://` URL (scheme in any case, RFC 3986).
 *
 * @param text - the URL
 * @param name - what to name in the error (e.g. `'createCache: redisUrl'`)
 * @throws TypeError naming `name` when `text` is not a `redis://` or `rediss://` URL, or its credentials are not
 * valid percent-encoding (credentials masked: see {@link redactUrl}).
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
  try {
    // ioredis decodes them as it connects: a stray `%` would throw a URIError there, outside any check.
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new TypeError(
      `${name} must be a redis:// or rediss:// URL with percent-encoded credentials (write % as %25); got ${redactUrl(trimmed)}`,
    );
  }
  const tls = url.protocol === 'rediss:';
  return {
    url,
    tls,
    text: url.protocol + trimmed.slice(url.protocol.length),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
  };
}
