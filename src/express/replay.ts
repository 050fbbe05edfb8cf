/**
 * Sends a stored response: its headers and body through whatever the response passes through (so middleware in
 * front, `compression` say, treats it like a fresh one), or `304 Not Modified` for a matching conditional request.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { CacheableRequest, CachedResponse } from './types.js';

/** Headers a 304 answer carries (RFC 9110 §15.4.5), besides those added per delivery. */
const NOT_MODIFIED_HEADERS = new Set([
  'cache-control',
  'content-location',
  'etag',
  'expires',
  'vary',
  'last-modified',
]);

/** Sends `entry` as the answer to `req`, marked `X-Cache: <status>`, with its `Age` as of `now`. */
export function replay(
  req: CacheableRequest,
  res: ServerResponse,
  entry: CachedResponse,
  status: 'HIT' | 'STALE',
  now: number,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const fresh = notModified(req, entry);
  for (const name of Object.keys(entry.headers)) {
    if (fresh && !NOT_MODIFIED_HEADERS.has(name)) continue;
    res.setHeader(name, entry.headers[name] as string | string[]);
  }
  res.setHeader('Age', String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))));
  res.setHeader('X-Cache', status);
  if (fresh) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = entry.status;
  res.end(entry.body);
}

/** Whether the conditional headers of the request match the stored response. */
export function notModified(req: CacheableRequest, entry: CachedResponse): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const etag = entry.headers.etag;
    if (typeof etag !== 'string') return false;
    const stored = weak(etag);
    return ifNoneMatch.split(',').some((tag) => {
      const candidate = tag.trim();
      return candidate === '*' || weak(candidate) === stored;
    });
  }
  const ifModifiedSince = req.headers['if-modified-since'];
  const lastModified = entry.headers['last-modified'];
  if (ifModifiedSince !== undefined && typeof lastModified === 'string') {
    const since = Date.parse(ifModifiedSince);
    const modified = Date.parse(lastModified);
    return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
  }
  return false;
}

function weak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}
