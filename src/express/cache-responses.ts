/**
 * `cacheResponses`: the middleware. It wires the parts together: the request key (request-key.ts), the lookup and
 * store (response-store.ts), the body capture (body-capture.ts), the storability decision (storability.ts) and
 * the replay of stored responses (replay.ts).
 *
 * @module
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { describe } from '../duration.js';
import { BodyCapture } from './body-capture.js';
import { checkOptions } from './options.js';
import { replay } from './replay.js';
import { type RequestKeys, requestKeys, variantKey, varyMatches, varyOf } from './request-key.js';
import { type Lookup, ResponseStore } from './response-store.js';
import { type HeaderMap, headerMap, isStorable, passesRules, sentHeaders } from './storability.js';
import type {
  CacheableRequest,
  CachedResponse,
  CacheMiddleware,
  CacheResponsesOptions,
  ResponseCache,
} from './types.js';

/** Headers that describe one connection or one delivery, never stored. */
const UNSTORED = new Set([
  'x-cache',
  'age',
  'date',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'set-cookie',
]);

/**
 * Caches the responses of `GET` and `HEAD` routes in a larder cache.
 *
 * - Keys on method + origin + URL (`GET https://shop.example/courses?page=2`; see `defaultKey` and
 *   {@link CacheResponsesOptions.key}); a `HEAD` request is also answered from the stored `GET` response. A
 *   response may depend only on what its key holds and on the request headers its `Vary` names. A request whose
 *   `Host` (or trusted `X-Forwarded-Host`) is not a valid host[:port] gets no default key: `BYPASS`.
 * - Stores status, headers and body of 2xx answers (not 206) as the route produced them, and sets `X-Cache`:
 *   `HIT` (served from the cache, or from a concurrent identical request's answer), `MISS` (the handler ran),
 *   `STALE` (a stored answer stood in for a failure, see `staleIfError`), `BYPASS` (the request is not cacheable).
 * - Decides whether to store once the head has gone out, on the headers actually sent (including those that
 *   middleware such as `express-session` or `compression` adds at that moment): never an answer with
 *   `Set-Cookie`, `Cache-Control: no-store` or `no-cache`, `Vary: *`, `Cache-Control: private` or `Vary: Cookie`
 *   (these two are allowed in an entry keyed by user, see `varyByUser`), or one RFC 9111 forbids storing; never a
 *   request with `Authorization` or `Cookie` unless `varyByUser` keys it by user. Nothing is stored, nor handed to
 *   waiting requests, before that; waiting requests are let go (they run the handler themselves) as soon as the
 *   answer is known not to be stored (its head, or its body grew past `maxBodySize`). The body of a `HEAD` or
 *   `204` answer is never sent, so it is stored empty.
 * - A hit is sent through the middleware in front again: with `compression()` in front the identity body is
 *   stored and each client gets the encoding it accepts. Answers that vary on request headers (`Vary`) are
 *   stored per combination of their values.
 * - Answers `If-None-Match` (and `If-Modified-Since`) with `304 Not Modified` from the stored `ETag`
 *   (`Last-Modified`).
 * - Concurrent requests for the same key while the handler runs wait for its answer (single-flight).
 * - With a larder cache, reads go through its second tier (`larder/redis`: one instance serves what another
 *   stored), and a stored response is written through to the tier without an invalidation on the bus.
 *
 * @param cache - where responses are stored: a larder `Cache<string, CachedResponse>` or a namespace of one
 * @param options - see {@link CacheResponsesOptions}
 * @returns the middleware
 * @throws TypeError or RangeError naming the option when an option is invalid.
 *
 * @example
 * ```ts
 * const responses = new Cache<string, CachedResponse>({ maxSize: 50_000_000, sizeOf: (r) => r.body.byteLength + 500, ttl: '30s' });
 * app.get('/courses', cacheResponses(responses, { tags: ['courses'] }), listCourses);
 * // after a write: responses.invalidateTag('courses');
 * ```
 */
export function cacheResponses(cache: ResponseCache, options: CacheResponsesOptions = {}): CacheMiddleware {
  const config = checkOptions(cache, options);
  const store = new ResponseStore(cache, config);
  /** Answers being produced by a handler right now, by key: requests for the same key wait for them. */
  const inflight = new Map<string, Promise<Produced | undefined>>();
  /**
   * Keys being looked up, by key: how many lookups of it are pending, and when (in `stores`) an answer to it was
   * last stored. Lookups of one key are joined into one (single-flight, through the tier): all of them miss
   * together, and the first to go on may run a handler that answers, and stores, before the others go on; they
   * must not run it again. Held only while lookups of the key are pending.
   */
  const lookups = new Map<string, { pending: number; stored: number }>();
  /** Counts stored answers (a clock for `lookups`). */
  let stores = 0;

  return function cacheResponsesMiddleware(req, res, next) {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      next();
      return;
    }
    let keys: RequestKeys;
    let user: string | undefined;
    try {
      user = config.varyByUser === undefined ? undefined : config.varyByUser(req);
      if (user !== undefined && typeof user !== 'string') {
        throw new TypeError(
          `cacheResponses: options.varyByUser must return a string or undefined; got ${describe(user)}`,
        );
      }
      const credentialed = req.headers.authorization !== undefined || req.headers.cookie !== undefined;
      const resource = credentialed && user === undefined ? undefined : config.key(req);
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
      keys = requestKeys(method, resource, user);
    } catch (error) {
      next(error);
      return;
    }
    answer(req, res, next, keys, user, LOOKS_AGAIN);
  };

  /**
   * Answers `req`: from the cache, else from the answer a concurrent request for its key is producing, else by
   * running the handler. When its lookup missed but an answer to its key was stored while it looked (by a request
   * whose lookup was joined with this one and whose handler answered at once), it looks again (`again` times at
   * most): that answer, if it is still stored and fits, is this request's, without running the handler again.
   */
  function answer(
    req: CacheableRequest,
    res: ServerResponse,
    next: (error?: unknown) => void,
    keys: RequestKeys,
    user: string | undefined,
    again: number,
  ): void {
    const key = keys.key;
    const watch = watching(key);
    watch.pending++;
    const since = stores;
    let looking = true;
    /** Ends this lookup (once); whether an answer to `key` was stored since it began. */
    const looked = (): boolean => {
      if (looking) {
        looking = false;
        if (--watch.pending === 0) lookups.delete(key);
      }
      return watch.stored > since;
    };
    store
      .find(keys, req)
      .then((found) => {
        const storedMeanwhile = looked();
        if (found.entry !== undefined) {
          replay(req, res, found.entry, 'HIT', Date.now());
          return;
        }
        const pending = inflight.get(key);
        if (pending === undefined) {
          if (storedMeanwhile && again > 0) answer(req, res, next, keys, user, again - 1);
          else produce(req, res, next, key, found, user, true);
          return;
        }
        pending.then((produced) => {
          if (produced !== undefined && varyMatches(produced.entry, req)) {
            replay(req, res, produced.entry, 'HIT', Date.now());
            return;
          }
          // Not storable, or stored for other values of the headers it varies on: run the handler for this one.
          produce(
            req,
            res,
            next,
            key,
            { ...found, slot: waiterSlot(key, found, produced, req) },
            user,
            false,
          );
        }, next);
      })
      .then(undefined, (error: unknown) => {
        looked();
        next(error);
      });
  }

  /** The entry of `key` in `lookups`, added if there is none. */
  function watching(key: string): { pending: number; stored: number } {
    let watch = lookups.get(key);
    if (watch === undefined) {
      watch = { pending: 0, stored: 0 };
      lookups.set(key, watch);
    }
    return watch;
  }

  /** Notes that an answer to `key` was stored (for the lookups of it still pending). */
  function noteStored(key: string): void {
    const watch = lookups.get(key);
    if (watch !== undefined) watch.stored = ++stores;
  }

  /**
   * Runs the handler, copies what it sends, and once the head went out and the body ended, stores it when the
   * headers that were sent allow it. `own`: this request answers those waiting on `key`.
   */
  function produce(
    req: CacheableRequest,
    res: ServerResponse,
    next: (error?: unknown) => void,
    key: string,
    found: Lookup,
    user: string | undefined,
    own: boolean,
  ): void {
    let settle!: (answer: Produced | undefined) => void;
    const promise = new Promise<Produced | undefined>((resolve) => {
      settle = resolve;
    });
    // A request whose connection is gone will never finish: nobody waits for it.
    if (own && !res.destroyed) inflight.set(key, promise);
    let done = false;
    const finish = (answer: Produced | undefined): void => {
      if (done) return;
      done = true;
      if (own && inflight.get(key) === promise) inflight.delete(key);
      settle(answer);
    };
    const context = {
      method: req.method as string,
      requestHeaders: req.headers,
      perUser: user !== undefined,
    };
    const { stale } = found;
    // Headers set by earlier middleware (a request id, CORS) belong to this delivery: they are not stored
    // unless the handler changed them, and a stale answer keeps them.
    const preset = headerMap(res.getHeaders());
    const body = new BodyCapture(config.maxBodySize);
    /** The status and headers as the route sent them (before hooks in front of this middleware ran). */
    let head: { status: number; headers: HeaderMap } | undefined;
    /** Whether the answer may still be stored; once it may not, nothing more is copied and waiters are let go. */
    let capturing = false;
    /** Whether the route's body is sent at all: not for `HEAD` (Node drops it) nor `204` (a stored one is empty). */
    let copying = false;
    /** Whether the headers as sent allow storing (decided once the head went out). */
    let verdict: boolean | undefined;
    let replaced = false;
    const origWriteHead = res.writeHead;
    const origWrite = res.write;
    const origEnd = res.end;

    const onHead = (): void => {
      if (head !== undefined) return;
      head = { status: res.statusCode, headers: headerMap(res.getHeaders()) };
      if (
        stale !== undefined &&
        res.statusCode >= 500 &&
        stale.freshUntil + config.staleIfError > Date.now()
      ) {
        // The handler failed: send the stored answer instead, through the original methods, and
        // swallow whatever the handler writes after this.
        replaced = true;
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        for (const name of Object.keys(preset)) res.setHeader(name, preset[name] as string | string[]);
        const overrides = { writeHead: res.writeHead, write: res.write, end: res.end };
        res.writeHead = origWriteHead;
        res.write = origWrite;
        res.end = origEnd;
        replay(req, res, stale, 'STALE', Date.now());
        Object.assign(res, overrides);
        finish(undefined);
        return;
      }
      // Copy the body only while the answer may be stored; the final word comes from the headers sent.
      capturing = passesRules(head.status, head.headers, context);
      copying = req.method !== 'HEAD' && head.status !== 204;
      if (!capturing) release();
    };
    /** The answer will not be stored: stop copying, and let the waiting requests run the handler now. */
    const release = (): void => {
      capturing = false;
      finish(undefined);
    };
    const copy = (chunk: unknown, encoding: unknown): void => {
      if (!capturing || !copying) return;
      body.add(chunk, encoding);
      if (body.overflowed) release();
    };
    /** Once the head went out (hooks in front included), decides on the headers sent; `false`: not stored. */
    const judgeSent = (): boolean => {
      if (verdict === undefined && res.headersSent) {
        verdict = isStorable(res.statusCode, sentHeaders(res), context);
        if (!verdict) release();
      }
      return verdict === true;
    };
    const conclude = (): void => {
      if (done) return;
      if (!capturing || body.overflowed || head === undefined || !judgeSent()) {
        finish(undefined);
        return;
      }
      const now = Date.now();
      const entry: CachedResponse = {
        status: head.status,
        headers: storedHeaders(head.headers, preset),
        body: body.body(),
        storedAt: now,
        freshUntil: store.freshUntil(now),
        vary: varyOf(req, head.headers.vary),
      };
      let tags: readonly string[] | undefined;
      try {
        tags = typeof config.tags === 'function' ? config.tags(req, res) : config.tags;
      } catch (error) {
        // The answer was sent already: a failure to store it must not break it.
        config.onError(error, req);
        finish(undefined);
        return;
      }
      store.store(found.slot, entry, tags, req);
      noteStored(key);
      finish({ entry, slot: found.slot });
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
      onHead();
      if (replaced) return this;
      const writeHeadRaw = origWriteHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
      const result =
        reason === undefined
          ? writeHeadRaw.call(this, statusCode)
          : writeHeadRaw.call(this, statusCode, reason);
      if (capturing) judgeSent();
      return result;
    } as ServerResponse['writeHead'];
    res.write = function write(this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
      onHead();
      if (replaced) {
        const callback = rest[rest.length - 1];
        if (typeof callback === 'function') process.nextTick(callback as () => void);
        return true;
      }
      copy(chunk, rest[0]);
      const result = (origWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      if (capturing) judgeSent();
      return result;
    } as ServerResponse['write'];
    res.end = function end(this: ServerResponse, ...args: unknown[]): ServerResponse {
      onHead();
      if (replaced) {
        const callback = args[args.length - 1];
        if (typeof callback === 'function') process.nextTick(callback as () => void);
        return this;
      }
      if (typeof args[0] !== 'function') copy(args[0], args[1]);
      const result = (origEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
      // The head has gone out by now, hooks in front included; where it has not, decide once it has.
      if (this.headersSent) conclude();
      else if (this.destroyed) finish(undefined);
      else this.once('finish', conclude);
      return result;
    } as ServerResponse['end'];
    res.once('close', () => finish(undefined));
    next();
  }
}

/**
 * How many times a request looks its key up again when its lookup missed while an answer to the key was stored
 * (see `answer`): enough for the variants of an answer that varies on request headers, each stored by one of the
 * requests whose lookups were joined; bounded, so that answers stored again and again never hold a request.
 */
const LOOKS_AGAIN = 3;

/** An answer a handler produced and stored, and the key it went under. */
interface Produced {
  readonly entry: CachedResponse;
  readonly slot: string;
}

/**
 * Where a request that waited for another one's answer stores its own, when that answer does not fit it (other
 * values of the headers it varies on). When the other answer went under the base `key`, a lookup now finds it
 * there and goes on to this request's variant of it; otherwise the slot of this request's own lookup stands
 * (the variant of the entry it found under `key`, or `key` itself). Either way a variant of the base key, never a
 * variant of a variant.
 */
function waiterSlot(
  key: string,
  found: Lookup,
  produced: Produced | undefined,
  req: CacheableRequest,
): string {
  return produced !== undefined && produced.slot === key ? variantKey(key, produced.entry, req) : found.slot;
}

/** The headers to store: the route's, without per-delivery ones and without unchanged ones of earlier middleware. */
function storedHeaders(headers: HeaderMap, preset: HeaderMap): Record<string, string | readonly string[]> {
  const stored: Record<string, string | readonly string[]> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name] as string | string[];
    if (UNSTORED.has(name) || sameValue(preset[name], value)) continue;
    stored[name] = value;
  }
  return stored;
}

function sameValue(a: string | string[] | undefined, b: string | string[]): boolean {
  if (a === undefined) return false;
  return (Array.isArray(a) ? a.join(',') : a) === (Array.isArray(b) ? b.join(',') : b);
}
