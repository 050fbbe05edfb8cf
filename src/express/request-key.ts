/**
 * The request side of a stored response: the default resource key, the user suffix, and the request header
 * values a response varies on.
 *
 * @module
 */
import type { OutgoingHttpHeader } from 'node:http';
import { isIPv6 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CacheableRequest, CachedResponse } from './types.js';

/** The fields Express adds to a request that the key reads (they honour the app's `trust proxy` setting). */
interface ExpressFields {
  readonly protocol?: unknown;
  readonly hostname?: unknown;
}

/** A URI scheme (RFC 3986 §3.1), lower-case. */
const SCHEME = /^[a-z][a-z0-9+.-]*$/;
/** A reg-name or IPv4 address (RFC 3986 §3.2.2): unreserved characters, percent-encodings, sub-delims. */
const REG_NAME = /^(?:[a-z0-9._~!$&'()*+,;=-]|%[0-9a-f]{2})*$/;
/** An optional port (RFC 3986 §3.2.3). */
const PORT = /^(?::[0-9]*)?$/;

/**
 * The default resource key: `<protocol>://<host><original URL>`, so that one host's answer is never served for
 * another (a page that builds links from `Host` is not poisoned by `Host: evil.example`).
 *
 * The protocol and host are the ones the application sees. Without Express's `trust proxy` (or from an
 * untrusted address) they are the connection's (`https` on TLS) and the `Host` header. With `trust proxy`
 * trusting the peer, Express reads `X-Forwarded-Proto` and `X-Forwarded-Host`, and so does the key; the `Host`
 * header is then appended when it differs (`https://shop.example/a (host: 10.0.0.5:3000)`).
 *
 * Returns `undefined` (the request is not cached: `X-Cache: BYPASS`) unless every part can be read back
 * unambiguously: the protocol a URI scheme, each host (`Host`, and `X-Forwarded-Host` when it is used) a valid
 * authority (RFC 9110 §7.2, RFC 3986 §3.2: a reg-name, an IPv4 address or an `[IPv6]` literal, with an
 * optional numeric port; no `/`, `?`, `#`, `@`, spaces, `"`…), and the URL origin-form (`/path?query`).
 * Otherwise `Host: shop.example/docs` on `GET /x` would make the key of `GET http://shop.example/docs/x`, and
 * anyone could store a page under another page's key.
 */
export function defaultKey(req: CacheableRequest): string | undefined {
  const url = req.originalUrl ?? req.url ?? '/';
  if (!url.startsWith('/')) return undefined;
  const origin = requestOrigin(req);
  return origin === undefined ? undefined : origin + url;
}

/**
 * `<protocol>://<host>` of a request, as described in {@link defaultKey} (lower-case), or `undefined` when the
 * protocol or a host is malformed.
 */
export function requestOrigin(req: CacheableRequest): string | undefined {
  const express = req as CacheableRequest & ExpressFields;
  const host = (headerValue(req, 'host') ?? headerValue(req, ':authority') ?? '').toLowerCase();
  const encrypted = (req.socket as TLSSocket | undefined)?.encrypted === true;
  const protocol =
    typeof express.protocol === 'string' ? express.protocol.toLowerCase() : encrypted ? 'https' : 'http';
  if (!SCHEME.test(protocol) || !isAuthority(host)) return undefined;
  const hostname = typeof express.hostname === 'string' ? express.hostname.toLowerCase() : undefined;
  if (hostname === undefined || hostname === hostnameOf(host)) return `${protocol}://${host}`;
  // Express took the host from a trusted proxy's X-Forwarded-Host: key on it (with its port), and on Host too.
  const forwarded = (headerValue(req, 'x-forwarded-host') ?? hostname).split(',')[0]?.trim().toLowerCase();
  if (forwarded === undefined || forwarded === '' || !isAuthority(forwarded)) return undefined;
  return `${protocol}://${forwarded} (host: ${host})`;
}

/**
 * Whether `text` (lower-case) is a valid `Host` value (RFC 9110 §7.2): a host (reg-name, IPv4 address or
 * `[IPv6]` literal) and an optional numeric port. Nothing else may appear, so that it cannot run into the URL or
 * the key's suffixes (`/`, `?`, `#`, `@`, spaces, `"` and other characters outside RFC 3986's reg-name are
 * refused; its sub-delims, `'` `(` `)` `,` among them, are allowed: none of them can end the host).
 */
export function isAuthority(text: string): boolean {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const address = text.slice(1, close);
    // No zone identifier (`%25eth0`, RFC 6874): it means nothing to another machine.
    return close !== -1 && !address.includes('%') && isIPv6(address) && PORT.test(text.slice(close + 1));
  }
  const colon = text.indexOf(':');
  const host = colon === -1 ? text : text.slice(0, colon);
  return REG_NAME.test(host) && PORT.test(colon === -1 ? '' : text.slice(colon));
}

/** The first value of a request header, or `undefined`. */
function headerValue(req: CacheableRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `example.com` of `example.com:8080`, `[::1]` of `[::1]:8080`. */
function hostnameOf(host: string): string {
  const offset = host.startsWith('[') ? host.indexOf(']') + 1 : 0;
  const colon = host.indexOf(':', offset);
  return colon === -1 ? host : host.slice(0, colon);
}

/** The cache keys of a request: its own (`HEAD …` for HEAD) and the GET one a HEAD may be answered from. */
export interface RequestKeys {
  /** `<METHOD> <resource>[ user:<id>]`. */
  readonly key: string;
  /** The same with `GET`. */
  readonly getKey: string;
}

/** Builds the keys of a request from its resource and (per-user caching) its user. */
export function requestKeys(method: string, resource: string, user: string | undefined): RequestKeys {
  const suffix = user === undefined ? '' : ` user:${encodeURIComponent(user)}`;
  return { key: `${method} ${resource}${suffix}`, getKey: `GET ${resource}${suffix}` };
}

/**
 * The key of the variant of `key` for this request, when the entry stored under `key` varies on request headers
 * whose values differ: each combination of values gets its own entry, so clients that differ (languages,
 * say) do not overwrite each other. `key` is the base key (a request's own key), never a variant key.
 */
export function variantKey(key: string, stored: CachedResponse, req: CacheableRequest): string {
  const values: string[] = [];
  for (const name of Object.keys(stored.vary ?? {})) values.push(name, requestHeader(req, name));
  return `${key} vary:${JSON.stringify(values)}`;
}

/** A request header's value as one string (`''` when absent). */
export function requestHeader(req: CacheableRequest, name: string): string {
  const value = req.headers[name];
  return value === undefined ? '' : Array.isArray(value) ? value.join(',') : value;
}

/** The request's values of the headers named in `Vary` (lower-case names), or `undefined` without `Vary`. */
export function varyOf(
  req: CacheableRequest,
  vary: OutgoingHttpHeader | undefined,
): Record<string, string> | undefined {
  const text = headerText(vary);
  if (text === '') return undefined;
  const values: Record<string, string> = {};
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') values[name] = requestHeader(req, name);
  }
  return values;
}

/** Whether the request has the values of the headers the stored response varies on. */
export function varyMatches(entry: CachedResponse, req: CacheableRequest): boolean {
  if (entry.vary === undefined) return true;
  for (const name of Object.keys(entry.vary)) {
    if (entry.vary[name] !== requestHeader(req, name)) return false;
  }
  return true;
}

/** A header value as one string (lists joined with `,`). */
export function headerText(value: OutgoingHttpHeader | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}
