/**
 * `traceLoads`: one span per loader run, active while the loader runs (so the loader's own spans, such as
 * its database query, are its children). Never per read: a hit opens no span.
 */
import { type Attributes, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { TimeoutError } from '../errors.js';
import type { LoadWrapper } from '../internals.js';
import { ATTR_CACHE_NAME, ATTR_KEY_NAME, ATTR_LOAD_OUTCOME, ATTR_LOAD_REFRESH, LOAD_SPAN } from './names.js';

/**
 * The name part of a key, for spans: a `wrap` key's function name (`user(42)` → `user`), else the key up to its
 * last `:` (`course:7` → `course`, `tenant:user:9` → `tenant:user`), else the whole key; `typeof` for a key that
 * is not a string. Namespace prefixes are part of the key.
 */
export function keyNameOf(key: unknown): string {
  if (typeof key !== 'string') return typeof key;
  const paren = key.indexOf('(');
  if (paren > 0) return key.slice(0, paren);
  const colon = key.lastIndexOf(':');
  return colon > 0 ? key.slice(0, colon) : key;
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

/** Whether a load's signal was aborted by its timeout (not by an invalidation). */
function timedOut(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof TimeoutError;
}

/** The load wrapper that opens a span per loader run. @internal */
export function traceLoads(
  tracer: Tracer,
  cacheName: string,
  keyName: (key: unknown) => string,
): LoadWrapper {
  return (key, refresh, signal, run) => {
    const attributes: Attributes = {
      [ATTR_CACHE_NAME]: cacheName,
      [ATTR_KEY_NAME]: safeKeyName(keyName, key),
      [ATTR_LOAD_REFRESH]: refresh,
    };
    return tracer.startActiveSpan(LOAD_SPAN, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      try {
        const value = await run();
        if (timedOut(signal)) {
          span.setAttribute(ATTR_LOAD_OUTCOME, 'timeout');
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'the load exceeded its timeout' });
        } else {
          span.setAttribute(ATTR_LOAD_OUTCOME, 'success');
        }
        return value;
      } catch (error) {
        span.setAttribute(ATTR_LOAD_OUTCOME, timedOut(signal) ? 'timeout' : 'error');
        if (error instanceof Error) span.recordException(error);
        else span.recordException(String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}
