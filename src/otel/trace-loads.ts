/**
 * `traceLoads`: one span per loader run, active while the loader runs (so the loader's own spans, such as
 * its database query, are its children). Never per read: a hit opens no span.
 *
 * Tracing never changes a load's outcome: every call to the tracer and the span is guarded, a span that cannot
 * be started leaves the load to run untraced, and the loader runs exactly once whatever the tracer does.
 */
import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { TimeoutError } from '../errors.js';
import type { LoadWrapper } from '../internals.js';
import { ATTR_CACHE_NAME, ATTR_KEY_NAME, ATTR_LOAD_OUTCOME, ATTR_LOAD_REFRESH, LOAD_SPAN } from './names.js';

/** A `CompatCache` key whose argument is a `Date`: `type:Date(ms)` (see `encodeArgs`). */
const COMPAT_DATE = /:Date\((?:-?\d+|NaN)\)$/;

/**
 * A `larder/express` response key, `<METHOD> <scheme>://<host><url>[ user:<id>][ vary:[…]]` (see `requestKeys`;
 * `<METHOD> /<path>…` with a `key` option that returns the path), alone or after namespace prefixes (`http:`,
 * without spaces, brackets or quotes): what precedes the first space is kept.
 */
const HTTP_KEY = /^(?:[^\s"(:[{]+:)*[A-Z]+ (?:[a-z][a-z0-9+.-]*:\/\/|\/)/;

/**
 * The name part of a key, for spans (low-cardinality: no ids or argument values):
 *
 * - a `larder/express` response key (`<METHOD> <scheme>://…` as `cacheResponses` makes them, or `<METHOD> /…`):
 *   its method (`GET https://shop.example/users/1 user:alice` → `GET`), after its namespace prefix if any
 *   (`http:GET`), never its URL, user or `Vary` values;
 * - a key whose last part is a quoted string, an object or an array after a `:` (a `CompatCache` key such as
 *   `course:{"id":7,"lang":"en"}`, `user:"u:1"` or `list:[1,2]`, or any key shaped so): the part before that
 *   `:` (`course`), however many `:` or `(` the value holds; likewise `type:Date(…)` → `type`;
 * - a `wrap` key: its function name (`user(42)` → `user`, `reports:user({"id":1})` → `reports:user`);
 * - else the key up to its last `:` (`course:7` → `course`, `tenant:user:9` → `tenant:user`), or the whole key;
 * - `typeof` for a key that is not a string.
 *
 * Namespace prefixes are part of the key.
 */
export function keyNameOf(key: unknown): string {
  if (typeof key !== 'string') return typeof key;
  if (HTTP_KEY.test(key)) return key.slice(0, key.indexOf(' '));
  const paren = key.indexOf('(');
  const value = structuredValueAt(key);
  if (value > 0 && (paren === -1 || value < paren)) return key.slice(0, value);
  if (paren > 0) {
    const date = COMPAT_DATE.exec(key);
    if (date !== null && date.index > 0) return key.slice(0, date.index);
    return key.slice(0, paren);
  }
  const colon = key.lastIndexOf(':');
  return colon > 0 ? key.slice(0, colon) : key;
}

/**
 * Where the `:` before a JSON-like value ending the key is (`"…"`, `{…}` or `[…]`, as `CompatCache` encodes a
 * string, object or array argument), or -1. The value may hold `:` and `(` itself, so it is found from the left:
 * the first `:` followed by the opening character of what the key ends with.
 */
function structuredValueAt(key: string): number {
  const last = key.charCodeAt(key.length - 1);
  const open = last === 0x22 ? ':"' : last === 0x7d ? ':{' : last === 0x5d ? ':[' : undefined;
  return open === undefined ? -1 : key.indexOf(open);
}

/** `keyName(key)`, or `''` when it throws or returns something else than a string (a span must not fail a load). */
function safeKeyName(keyName: (key: unknown) => string, key: unknown): string {
  try {
    const name = keyName(key);
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}

/** Runs one tracer or span call, ignoring what it throws: tracing must not change a load's outcome. */
function attempt(call: () => unknown): void {
  try {
    call();
  } catch {
    // A broken tracer or span: the load goes on untouched.
  }
}

/** Whether a load's signal was aborted by its timeout (not by an invalidation). */
function timedOut(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof TimeoutError;
}

/**
 * Whether `error` is the loader giving up because an invalidation (or `close`) aborted its signal: its reason,
 * or an `AbortError`, as the cache itself tells (such a load is no load error in `stats()`).
 */
function abortedBy(signal: AbortSignal, error: unknown): boolean {
  if (!signal.aborted || signal.reason instanceof TimeoutError) return false;
  if (error === signal.reason) return true;
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/** Records how the load ended on its span and ends it. Never rejects. */
function finish(span: Span, signal: AbortSignal, load: Promise<unknown>): Promise<void> {
  return load.then(
    () => {
      if (timedOut(signal)) {
        attempt(() => span.setAttribute(ATTR_LOAD_OUTCOME, 'timeout'));
        attempt(() =>
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'the load exceeded its timeout' }),
        );
      } else {
        attempt(() => span.setAttribute(ATTR_LOAD_OUTCOME, 'success'));
      }
      attempt(() => span.end());
    },
    (error: unknown) => {
      if (abortedBy(signal, error)) {
        // Given up because of an invalidation: no failure (its callers are answered afresh), so no error status.
        attempt(() => span.setAttribute(ATTR_LOAD_OUTCOME, 'aborted'));
      } else {
        attempt(() => span.setAttribute(ATTR_LOAD_OUTCOME, timedOut(signal) ? 'timeout' : 'error'));
        attempt(() => span.recordException(error instanceof Error ? error : String(error)));
        attempt(() =>
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: error instanceof Error ? error.message : String(error),
          }),
        );
      }
      attempt(() => span.end());
    },
  );
}

/** The load wrapper that opens a span per loader run. @internal */
export function traceLoads(
  tracer: Tracer,
  cacheName: string,
  keyName: (key: unknown) => string,
): LoadWrapper {
  return (key, refresh, signal, run) => {
    // The loader's run, started at most once: inside the span when the tracer calls back, else untraced.
    let load: Promise<unknown> | undefined;
    const start = (): Promise<unknown> => {
      if (load === undefined) {
        try {
          load = Promise.resolve(run());
        } catch (error) {
          load = Promise.reject(error);
        }
      }
      return load;
    };
    // Set by the callback (assignments there are invisible to narrowing, hence the cast).
    let traced = undefined as Promise<void> | undefined;
    try {
      const attributes: Attributes = {
        [ATTR_CACHE_NAME]: cacheName,
        [ATTR_KEY_NAME]: safeKeyName(keyName, key),
        [ATTR_LOAD_REFRESH]: refresh,
      };
      tracer.startActiveSpan(LOAD_SPAN, { kind: SpanKind.INTERNAL, attributes }, (span: Span) => {
        const done = finish(span, signal, start());
        traced = done;
        return done;
      });
    } catch {
      // The span could not be started (or the tracer threw after starting it): the load runs regardless.
    }
    const result = start();
    // Settle once the span is ended (so that it is exported by the time the callers hear), with the load's own
    // result or error; `finish` never rejects.
    return traced === undefined ? result : traced.then(() => result);
  };
}
