/**
 * The request side of a stored response: the default resource key, the user suffix, and the request header
 * values a response varies on.
 *
 * @module
 */
import type { OutgoingHttpHeader } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { CacheableRequest, CachedResponse } from './types.js';

/** The fields Express adds to a request that the key reads (they honour the app's `trust proxy` setting). */
interface ExpressFields {
  readonly protocol?: unknown;
  readonly hostname?: unknown;
}

/**
 * The default resource key: `<protocol>://<host><original URL>`, so that one host's answer is never served for
 * another (a page that builds links from `Host` is not poisoned by `Host: evil.example`).
 *
 * The protocol and host are the ones the application sees. Without Express's `trust proxy` (or from an
 * untrusted address) they are the connection's (`https` on TLS) and the `Host` header. With `trust proxy`
 * trusting the peer, Express reads `X-Forwarded-Proto` and `X-Forwarded-Host`, and so does the key; the `Host`
 * header is then appended when it differs (`https://shop.example/a (host: 10.0.0.5:3000)`).
 */
export function defaultKey(req: CacheableRequest): string {
  return requestOrigin(req) + (req.originalUrl ?? req.url ?? '/');
}

/** `<protocol>://<host>` of a request, as described in {@link defaultKey} (lower-case). */
export function requestOrigin(req: CacheableRequest): string {
  const express = req as CacheableRequest & ExpressFields;
  const host = (headerValue(req, 'host') ?? headerValue(req, ':authority') ?? '').toLowerCase();
  const encrypted = (req.socket as TLSSocket | undefined)?.encrypted === true;
  const protocol =
    typeof express.protocol === 'string' ? express.protocol.toLowerCase() : encrypted ? 'https' : 'http';
  const hostname = typeof express.hostname === 'string' ? express.hostname.toLowerCase() : undefined;
  if (hostname === undefined || hostname === hostnameOf(host)) return `${protocol}://${host}`;
  // Express took the host from a trusted proxy's X-Forwarded-Host: key on it (with its port), and on Host too.
  const forwarded = (headerValue(req, 'x-forwarded-host') ?? hostname).split(',')[0]?.trim().toLowerCase();
  return `${protocol}://${forwarded} (host: ${host})`;
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
 * say) do not overwrite each other.
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
