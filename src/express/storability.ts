/**
 * Whether a response may be stored: RFC 9111's rules as `http-cache-semantics` implements them, plus what a
 * response cache in front of application code must refuse besides (cookies, `no-cache`, `Vary: *`), decided on
 * the headers that actually went out.
 *
 * @module
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import CachePolicy from 'http-cache-semantics';
import { headerText } from './request-key.js';

/** Response headers: lower-case names, text values (lists as arrays). */
export type HeaderMap = Record<string, string | string[]>;

/** What the decision looks at besides the response: the request and whether the entry is keyed per user. */
export interface StorabilityContext {
  /** `GET` or `HEAD`. */
  readonly method: string;
  /** The request headers (a request `Cache-Control: no-store` forbids storing, RFC 9111 §5.2.1.5). */
  readonly requestHeaders: IncomingHttpHeaders;
  /** Whether the entry is stored under a user's key (`varyByUser` named one): `private` is allowed then. */
  readonly perUser: boolean;
}

/**
 * Whether a response with this status and these headers may be stored:
 *
 * - a 2xx status other than 206 that RFC 9111 lets a cache store (`http-cache-semantics`' `storable()`: no
 *   `no-store`, no `private` in a shared entry, …; a shared cache for anonymous entries, a private one per user);
 * - no `Set-Cookie`, whoever set it (`public` does not change that);
 * - no `Cache-Control: no-cache` (it would have to be revalidated with the origin on every use);
 * - no `Vary: *`, and `Vary: Cookie` only in a per-user entry.
 */
export function isStorable(status: number, headers: HeaderMap, context: StorabilityContext): boolean {
  if (!passesRules(status, headers, context)) return false;
  const policy = new CachePolicy(
    { method: context.method, url: '/', headers: context.requestHeaders },
    { status, headers: flatten(headers) },
    { shared: !context.perUser },
  );
  return policy.storable();
}

/**
 * The rules of {@link isStorable} other than RFC 9111's (status, `Set-Cookie`, `Cache-Control`, `Vary`): cheap
 * enough to decide, when the route starts its answer, whether copying the body is worth it.
 */
export function passesRules(status: number, headers: HeaderMap, context: StorabilityContext): boolean {
  if (!isStorableStatus(status)) return false;
  if (headers['set-cookie'] !== undefined) return false;
  for (const directive of listOf(headers['cache-control'])) {
    const name = directive.split('=')[0]?.trim();
    if (name === 'no-cache' || name === 'no-store') return false;
    if (name === 'private' && !context.perUser) return false;
  }
  for (const name of listOf(headers.vary)) {
    if (name === '*') return false;
    if (name === 'cookie' && !context.perUser) return false;
  }
  return true;
}

/** Whether a response with this status may be stored at all: 2xx, and not a partial (206) answer. */
export function isStorableStatus(status: number): boolean {
  return status >= 200 && status <= 299 && status !== 206;
}

/** Repeated fields joined into one (RFC 9110 §5.3), as `http-cache-semantics` expects them. */
function flatten(headers: HeaderMap): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const name of Object.keys(headers)) flat[name] = headerText(headers[name]);
  return flat;
}

/** The comma-separated members of a header, trimmed and lower-case. */
function listOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const members: string[] = [];
  for (const part of headerText(value).split(',')) {
    const member = part.trim().toLowerCase();
    if (member !== '') members.push(member);
  }
  return members;
}

/** Headers as `getHeaders()` gives them, with text values. */
export function headerMap(headers: OutgoingHttpHeaders): HeaderMap {
  const map: HeaderMap = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    map[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return map;
}

/**
 * The headers of a response whose head went out, as they were sent: parsed from the header block Node wrote
 * (which includes what `on-headers` hooks added and what was passed straight to `writeHead`), or, where there is
 * no such block (not an HTTP/1 response), `getHeaders()`.
 */
export function sentHeaders(res: ServerResponse): HeaderMap {
  const block = (res as ServerResponse & { _header?: unknown })._header;
  if (typeof block !== 'string') return headerMap(res.getHeaders());
  const map: HeaderMap = {};
  const lines = block.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = map[name];
    if (before === undefined) map[name] = value;
    else if (Array.isArray(before)) before.push(value);
    else map[name] = [before, value];
  }
  return map;
}
