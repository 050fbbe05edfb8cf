/**
 * `larder/express`: response caching middleware for Express (and any Connect-style server).
 *
 * @packageDocumentation
 */
import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type Duration, describe, toMs } from '../duration.js';

/** A response as `cacheResponses` stores it. */
export interface CachedResponse {
  /** The HTTP status (2xx, never 206). */
  readonly status: number;
  /** The response headers, lower-case names, without `X-Cache`, `Age`, `Date` and hop-by-hop headers. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The body (empty for a stored `HEAD` response). */
  readonly body: Uint8Array;
  /** When it was stored (epoch ms); `Age` is counted from here. */
  readonly storedAt: number;
  /** Fresh until this time (epoch ms; `Infinity` when the cache's own TTL decides). */
  readonly freshUntil: number;
  /** The request header values the response varies on (from its `Vary` header), lower-case names. */
  readonly vary: Readonly<Record<string, string>> | undefined;
}

/**
 * What `cacheResponses` needs from a cache: a larder `Cache<string, CachedResponse>`, or a namespace of one
 * (`cache.namespace('http:')`), fits.
 */
export interface ResponseCache {
  /** Returns a fresh entry or `undefined`. */
  get(key: string): CachedResponse | undefined;
  /** Stores an entry. */
  set(key: string, value: CachedResponse, options?: { ttl?: Duration; tags?: readonly string[] }): unknown;
  /** Removes an entry. */
  delete(key: string): boolean;
}

/** The request as the middleware sees it: Node's, with Express's `originalUrl` when there is one. */
export interface CacheableRequest extends IncomingMessage {
  /** The URL as received, before Express routers stripped their mount paths (Express sets it). */
  originalUrl?: string;
}

/** Options of {@link cacheResponses}. */
export interface CacheResponsesOptions {
  // The callbacks are declared as methods so that functions written for Express's `Request` (which extends
  // `IncomingMessage`) are accepted as they are.
  /**
   * Names the resource of a request; the method is prefixed to it (`GET <key>`, `HEAD <key>`). Return
   * `undefined` to leave the request uncached. Default: the URL, path and query (`req.originalUrl`).
   */
  key?(req: CacheableRequest): string | undefined;
  /**
   * Identifies the user a request is made for, so responses can be stored per user. Without it, a request
   * carrying `Authorization` or `Cookie` is never served from nor stored into the cache (`X-Cache: BYPASS`).
   * With it, such a request is cached under its own key when the function returns a string; when it returns
   * `undefined` the request bypasses the cache. Responses marked `Cache-Control: private` are stored only
   * under a user's key.
   */
  varyByUser?(req: CacheableRequest): string | undefined;
  /** How long a stored response is fresh. Default: the cache's `ttl`. */
  ttl?: Duration;
  /**
   * After `ttl`, how long a stored response may stand in for a 5xx answer or an error of the handler
   * (`X-Cache: STALE`). Needs `ttl`. Default 0 (never).
   */
  staleIfError?: Duration;
  /** Tags of the stored entries, for `cache.invalidateTag`: a list, or a function of the request and response. */
  tags?: readonly string[] | ((req: CacheableRequest, res: ServerResponse) => readonly string[]);
  /** Bodies larger than this many bytes are sent but not stored. Default 1 MiB. */
  maxBodySize?: number;
  /**
   * Called when an answer that was sent could not be stored (the `tags` function threw, the cache refused
   * the entry). The response is not affected. Default: ignore.
   */
  onError?(error: unknown, req: CacheableRequest): void;
}

/** A Connect/Express middleware. */
export type CacheMiddleware = (
  req: CacheableRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

const OPTION_KEYS = ['key', 'varyByUser', 'ttl', 'staleIfError', 'tags', 'maxBodySize', 'onError'];

/** Headers that describe one connection or one delivery, never stored. */
const UNSTORED = new Set([
  'x-cache',
  'age',
  'date',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
]);

/** Headers a 304 answer carries (RFC 9110 §15.4.5), besides those added per delivery. */
const NOT_MODIFIED_HEADERS = [
  'cache-control',
  'content-location',
  'etag',
  'expires',
  'vary',
  'last-modified',
];

/**
 * Caches the responses of `GET` and `HEAD` routes in a larder cache.
 *
 * - Keys on method + URL (see {@link CacheResponsesOptions.key}); a `HEAD` request is also answered from
 *   the stored `GET` response.
 * - Stores status, headers and body of 2xx answers (not 206), and sets `X-Cache`: `HIT` (served from the
 *   cache, or from a concurrent identical request's answer), `MISS` (the handler ran), `STALE` (a stored
 *   answer stood in for a failure, see `staleIfError`), `BYPASS` (the request is not cacheable).
 * - Answers `If-None-Match` (and `If-Modified-Since`) with `304 Not Modified` from the stored `ETag`
 *   (`Last-Modified`).
 * - Safe by default: never stores an answer that carries `Set-Cookie`, `Cache-Control: no-store`,
 *   `no-cache` or `private`, or `Vary: *`, and never caches a request that carries `Authorization` or
 *   `Cookie` unless `varyByUser` keys it by user. Answers that vary on request headers (`Vary`) are served
 *   only to requests with the same values of those headers.
 * - Concurrent requests for the same key while the handler runs wait for its answer (single-flight).
 *
 * @param cache - where responses are stored: a larder `Cache<string, CachedResponse>` or a namespace of one
 * @param options - see {@link CacheResponsesOptions}
 * @returns the middleware
 *
 * @example
 * ```ts
 * const responses = new Cache<string, CachedResponse>({ maxSize: 50_000_000, sizeOf: (r) => r.body.length + 500, ttl: '30s' });
 * app.get('/courses', cacheResponses(responses, { tags: ['courses'] }), listCourses);
 * // after a write: responses.invalidateTag('courses');
 * ```
 */
export function cacheResponses(cache: ResponseCache, options: CacheResponsesOptions = {}): CacheMiddleware {
  if (
    typeof cache !== 'object' ||
    cache === null ||
    typeof cache.get !== 'function' ||
    typeof cache.set !== 'function' ||
    typeof cache.delete !== 'function'
  ) {
    throw new TypeError(
      `cacheResponses: cache must be a larder Cache (get/set/delete); got ${describe(cache)}`,
    );
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`cacheResponses: options must be an object; got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_KEYS.includes(name)) {
      throw new TypeError(
        `cacheResponses: unknown option ${JSON.stringify(name)} (known: ${OPTION_KEYS.join(', ')})`,
      );
    }
  }
  const keyOf = options.key ?? defaultKey;
  if (typeof keyOf !== 'function')
    throw new TypeError(`cacheResponses: options.key must be a function; got ${describe(keyOf)}`);
  const { varyByUser, tags } = options;
  const onError = options.onError ?? ignore;
  if (typeof onError !== 'function') {
    throw new TypeError(`cacheResponses: options.onError must be a function; got ${describe(onError)}`);
  }
  if (varyByUser !== undefined && typeof varyByUser !== 'function') {
    throw new TypeError(`cacheResponses: options.varyByUser must be a function; got ${describe(varyByUser)}`);
  }
  if (tags !== undefined && typeof tags !== 'function') {
    if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string')) {
      throw new TypeError(
        `cacheResponses: options.tags must be an array of strings or a function; got ${describe(tags)}`,
      );
    }
  }
  const ttl =
    options.ttl === undefined ? undefined : toMs(options.ttl, 'cacheResponses: options.ttl', false, true);
  const staleIfError =
    options.staleIfError === undefined
      ? 0
      : toMs(options.staleIfError, 'cacheResponses: options.staleIfError', true);
  if (staleIfError > 0 && (ttl === undefined || ttl === Number.POSITIVE_INFINITY)) {
    throw new TypeError(
      'cacheResponses: options.staleIfError needs a finite options.ttl (the time the answer is fresh)',
    );
  }
  const maxBodySize = options.maxBodySize ?? 1024 * 1024;
  if (typeof maxBodySize !== 'number' || !Number.isInteger(maxBodySize) || maxBodySize < 0) {
    throw new RangeError(
      `cacheResponses: options.maxBodySize must be a non-negative integer of bytes; got ${describe(maxBodySize)}`,
    );
  }
  const storeTtl = ttl === undefined ? undefined : ttl + staleIfError;
  /** Answers being produced by a handler right now, by key: requests for the same key wait for them. */
  const inflight = new Map<string, Promise<CachedResponse | undefined>>();

  const lookup = (key: string, req: CacheableRequest): CachedResponse | undefined => {
    const entry = cache.get(key);
    return entry !== undefined && varyMatches(entry, req) ? entry : undefined;
  };

  return function cacheResponsesMiddleware(req, res, next) {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      next();
      return;
    }
    let key: string;
    let getKey: string;
    let user: string | undefined;
    try {
      user = varyByUser === undefined ? undefined : varyByUser(req);
      if (user !== undefined && typeof user !== 'string') {
        throw new TypeError(
          `cacheResponses: options.varyByUser must return a string or undefined; got ${describe(user)}`,
        );
      }
      const credentialed = req.headers.authorization !== undefined || req.headers.cookie !== undefined;
      const resource = credentialed && user === undefined ? undefined : keyOf(req);
      if (resource === undefined) {
        res.setHeader('X-Cache', 'BYPASS');
        next();
        return;
      }
      if (typeof resource !== 'string') {
        throw new TypeError(
          `cacheResponses: options.key must return a string or undefined; got ${describe(resource)}`,
        );
      }
      const suffix = user === undefined ? '' : ` user:${encodeURIComponent(user)}`;
      key = `${method} ${resource}${suffix}`;
      getKey = `GET ${resource}${suffix}`;
    } catch (error) {
      next(error);
      return;
    }
    const now = Date.now();
    let entry = lookup(getKey, req);
    if (entry === undefined && method === 'HEAD') entry = lookup(key, req);
    if (entry !== undefined && entry.freshUntil > now) {
      send(req, res, entry, 'HIT', now);
      return;
    }
    const pending = inflight.get(key);
    if (pending !== undefined) {
      const stale = entry;
      pending.then((answer) => {
        if (answer !== undefined && varyMatches(answer, req)) send(req, res, answer, 'HIT', Date.now());
        else produce(req, res, next, key, user, stale);
      }, next);
      return;
    }
    produce(req, res, next, key, user, entry);
  };

  /** Runs the handler, copies what it sends, and stores it when it may be stored. */
  function produce(
    req: CacheableRequest,
    res: ServerResponse,
    next: (error?: unknown) => void,
    key: string,
    user: string | undefined,
    stale: CachedResponse | undefined,
  ): void {
    let settle!: (answer: CachedResponse | undefined) => void;
    const promise = new Promise<CachedResponse | undefined>((resolve) => {
      settle = resolve;
    });
    const own = !inflight.has(key);
    if (own) inflight.set(key, promise);
    const finish = (answer: CachedResponse | undefined): void => {
      if (own && inflight.get(key) === promise) inflight.delete(key);
      settle(answer);
    };

    const chunks: Buffer[] = [];
    let size = 0;
    let decided = false;
    let storable = false;
    let replaced = false;
    let done = false;
    // Headers set by earlier middleware (a request id, CORS) belong to this delivery: they are not stored
    // unless the handler changed them, and a stale answer keeps them.
    const preset = new Map<string, string>();
    for (const [name, value] of Object.entries(res.getHeaders())) preset.set(name, headerText(value));
    const origWriteHead = res.writeHead;
    const origWrite = res.write;
    const origEnd = res.end;

    const decide = (): void => {
      if (decided) return;
      decided = true;
      if (stale !== undefined && res.statusCode >= 500 && stale.freshUntil + staleIfError > Date.now()) {
        // The handler failed: send the stored answer instead, through the original methods, and
        // swallow whatever the handler writes after this.
        replaced = true;
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        for (const [name, value] of preset) res.setHeader(name, value);
        const overrides = { writeHead: res.writeHead, write: res.write, end: res.end };
        res.writeHead = origWriteHead;
        res.write = origWrite;
        res.end = origEnd;
        send(req, res, stale, 'STALE', Date.now());
        Object.assign(res, overrides);
        done = true;
        finish(undefined);
        return;
      }
      storable = isStorable(res, user !== undefined);
    };
    const capture = (chunk: unknown, encoding: unknown): void => {
      if (!storable || chunk === undefined || chunk === null || typeof chunk === 'function') return;
      const buffer =
        typeof chunk === 'string'
          ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
          : chunk instanceof Uint8Array
            ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
            : undefined;
      if (buffer === undefined) return;
      size += buffer.length;
      if (size > maxBodySize) {
        storable = false;
        chunks.length = 0;
        return;
      }
      chunks.push(Buffer.from(buffer));
    };

    res.setHeader('X-Cache', 'MISS');
    res.writeHead = function writeHead(this: ServerResponse, statusCode: number, ...rest: unknown[]) {
      if (replaced) return this;
      // Move headers given here onto the response, so that getHeaders() sees every header sent.
      const reason = typeof rest[0] === 'string' ? rest[0] : undefined;
      const headers = typeof rest[0] === 'string' ? rest[1] : rest[0];
      this.statusCode = statusCode;
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(String(headers[i]), headers[i + 1]);
      } else if (typeof headers === 'object' && headers !== null) {
        for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
          if (value !== undefined) this.setHeader(name, value);
        }
      }
      decide();
      if (replaced) return this;
      const writeHeadRaw = origWriteHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
      return reason === undefined
        ? writeHeadRaw.call(this, statusCode)
        : writeHeadRaw.call(this, statusCode, reason);
    } as ServerResponse['writeHead'];
    res.write = function write(this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
      if (!this.headersSent) decide();
      if (replaced) {
        const callback = rest[rest.length - 1];
        if (typeof callback === 'function') process.nextTick(callback as () => void);
        return true;
      }
      capture(chunk, rest[0]);
      return (origWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse['write'];
    res.end = function end(this: ServerResponse, ...args: unknown[]): ServerResponse {
      if (!this.headersSent) decide();
      if (replaced) {
        const callback = args[args.length - 1];
        if (typeof callback === 'function') process.nextTick(callback as () => void);
        return this;
      }
      capture(args[0], args[1]);
      const result = (origEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
      if (!done) {
        done = true;
        finish(storable ? store(req, res, key, chunks, size, preset) : undefined);
      }
      return result;
    } as ServerResponse['end'];
    res.once('close', () => {
      if (!done) {
        done = true;
        finish(undefined);
      }
    });
    next();
  }

  /** Builds the entry from the response and stores it. */
  function store(
    req: CacheableRequest,
    res: ServerResponse,
    key: string,
    chunks: Buffer[],
    size: number,
    preset: ReadonlyMap<string, string>,
  ): CachedResponse | undefined {
    try {
      const now = Date.now();
      const headers: Record<string, string | readonly string[]> = {};
      for (const [name, value] of Object.entries(res.getHeaders())) {
        if (value === undefined || UNSTORED.has(name) || preset.get(name) === headerText(value)) continue;
        headers[name] = typeof value === 'object' ? value.map(String) : String(value);
      }
      const vary = varyOf(req, res.getHeader('vary'));
      const entry: CachedResponse = {
        status: res.statusCode,
        headers,
        body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
        storedAt: now,
        freshUntil: ttl === undefined ? Number.POSITIVE_INFINITY : now + ttl,
        vary,
      };
      const entryTags = typeof tags === 'function' ? tags(req, res) : tags;
      cache.set(key, entry, { ttl: storeTtl, tags: entryTags });
      return entry;
    } catch (error) {
      // The answer was sent already: a failure to store it (a throwing tags function, say) must not break it.
      onError(error, req);
      return undefined;
    }
  }
}

function ignore(): void {}

function defaultKey(req: CacheableRequest): string {
  return req.originalUrl ?? req.url ?? '/';
}

/** Whether the response, as it is about to be sent, may be stored. */
function isStorable(res: ServerResponse, perUser: boolean): boolean {
  const status = res.statusCode;
  if (status < 200 || status > 299 || status === 206) return false;
  if (res.hasHeader('set-cookie')) return false;
  const cacheControl = headerText(res.getHeader('cache-control')).toLowerCase();
  if (cacheControl !== '') {
    for (const part of cacheControl.split(',')) {
      const directive = (part.split('=')[0] as string).trim();
      if (directive === 'no-store' || directive === 'no-cache') return false;
      if (directive === 'private' && !perUser) return false;
    }
  }
  const vary = headerText(res.getHeader('vary'));
  if (vary.split(',').some((name) => name.trim() === '*')) return false;
  return true;
}

function headerText(value: OutgoingHttpHeader | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The request's values of the headers named in `Vary`. */
function varyOf(
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

function requestHeader(req: CacheableRequest, name: string): string {
  const value = req.headers[name];
  return value === undefined ? '' : Array.isArray(value) ? value.join(',') : value;
}

function varyMatches(entry: CachedResponse, req: CacheableRequest): boolean {
  if (entry.vary === undefined) return true;
  for (const name of Object.keys(entry.vary)) {
    if (entry.vary[name] !== requestHeader(req, name)) return false;
  }
  return true;
}

/** Whether the conditional headers of the request match the stored response. */
function notModified(req: CacheableRequest, entry: CachedResponse): boolean {
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

/** Sends a stored response. */
function send(
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
    if (fresh && !NOT_MODIFIED_HEADERS.includes(name)) continue;
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

/** Turns {@link CachedResponse} values into text and back (the shape of `larder/redis`'s `Serializer`). */
export interface ResponseSerializer {
  /** A stored response as text; a `TypeError` for anything else. */
  serialize(value: unknown): string;
  /** The stored response back from the text; throws when the text is not one. */
  deserialize(text: string): unknown;
}

/**
 * A serializer for {@link CachedResponse} values, for a cache with a second tier (`larder/redis`): the
 * default serializer refuses binary bodies. Bodies travel as base64.
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
    const raw = JSON.parse(text) as {
      s: number;
      h: Record<string, string | string[]>;
      b: string;
      t: number;
      f: number | null;
      v: Record<string, string> | null;
    };
    if (typeof raw !== 'object' || raw === null || typeof raw.s !== 'number' || typeof raw.b !== 'string') {
      throw new TypeError('responseSerializer: not a stored response');
    }
    return {
      status: raw.s,
      headers: raw.h,
      body: Buffer.from(raw.b, 'base64'),
      storedAt: raw.t,
      freshUntil: raw.f ?? Number.POSITIVE_INFINITY,
      vary: raw.v ?? undefined,
    };
  },
};
