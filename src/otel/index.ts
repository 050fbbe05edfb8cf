/**
 * `larder/otel`: a cache's metrics (and, opt-in, a span per load) through OpenTelemetry.
 *
 * ```ts
 * import { instrument } from 'larder/otel';
 * const stop = instrument(cache, { name: 'users' }); // metrics on metrics.getMeter('larder')
 * ```
 *
 * Needs `@opentelemetry/api` (an optional peer dependency of larder) and an OpenTelemetry SDK set up by the
 * application. Runs anywhere larder's core runs (no Node.js built-ins).
 *
 * @packageDocumentation
 */
export { type InstrumentOptions, instrument, type StopInstrumenting } from './instrument.js';
export {
  ATTR_CACHE_NAME,
  ATTR_DIRECTION,
  ATTR_KEY_NAME,
  ATTR_LOAD_OUTCOME,
  ATTR_LOAD_REFRESH,
  ATTR_OUTCOME,
  ATTR_RESULT,
  BUS_CONNECTED,
  BUS_MESSAGES,
  ENTRIES,
  EVICTIONS,
  LOAD_DURATION,
  LOAD_DURATION_BUCKETS,
  LOAD_SPAN,
  LOADS,
  REQUESTS,
  TIER_REQUESTS,
} from './names.js';
export {
  type BusSnapshot,
  type Instrumentable,
  METRICS_SOURCE,
  type MetricsSnapshot,
  type MetricsSource,
  type StatsSource,
  type TierSnapshot,
} from './source.js';
export { keyNameOf } from './trace-loads.js';
