/**
 * `instrument(cache, { name })`: reports a cache's metrics through OpenTelemetry.
 *
 * Everything counted on a read is read from larder's own counters by observable instruments at collection
 * time, so a hit costs exactly what it cost before. Loads are recorded from the cache's `load` event (off the
 * read path); `traceLoads` wraps each loader run in a span.
 */
import {
  type Attributes,
  type BatchObservableResult,
  type Meter,
  metrics,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { describe } from '../duration.js';
import type { LoadEvent } from '../events.js';
import {
  ATTR_CACHE_NAME,
  ATTR_DIRECTION,
  ATTR_OUTCOME,
  ATTR_RESULT,
  BUS_CONNECTED,
  BUS_MESSAGES,
  ENTRIES,
  EVICTIONS,
  LOAD_DURATION,
  LOAD_DURATION_BUCKETS,
  LOADS,
  REQUESTS,
  TIER_REQUESTS,
} from './names.js';
import { type Instrumentable, sourceOf } from './source.js';
import { keyNameOf, traceLoads } from './trace-loads.js';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** The `cache.name` attribute of every point: a short, stable name such as `'users'` (not empty). */
  name: string;
  /** Where the instruments are registered. Default: `metrics.getMeter('larder')` (the global provider). */
  meter?: Meter;
  /**
   * Opens one span per loader run (never per read), named `larder.cache.load`, with the key's name part, the
   * outcome and whether it was a refresh; the loader's own spans become its children. Default `false`.
   */
  traceLoads?: boolean;
  /** The tracer of `traceLoads`. Default: `trace.getTracer('larder')` (the global provider). */
  tracer?: Tracer;
  /**
   * The name part of a key for `traceLoads` spans (keep it low-cardinality: no ids). Default: {@link keyNameOf}:
   * a `wrap` key's function name (`user(42)` → `user`), a `CompatCache` key's type (`course:{"id":7}` →
   * `course`), else the key up to its last `:` (`course:7` → `course`).
   */
  keyName?: (key: unknown) => string;
}

/** Stops reporting: removes the callbacks, listeners and span wrapper `instrument` added. Idempotent. */
export type StopInstrumenting = () => void;

const KNOWN = ['name', 'meter', 'traceLoads', 'tracer', 'keyName'];

function check(options: unknown): InstrumentOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`instrument: options must be an object with a name; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      throw new TypeError(`instrument: unknown option ${key} (known: ${KNOWN.join(', ')})`);
    }
  }
  const o = options as InstrumentOptions;
  if (typeof o.name !== 'string' || o.name.trim() === '') {
    throw new TypeError(`instrument: name must be a non-empty string; got ${describe(o.name)}`);
  }
  if (
    o.meter !== undefined &&
    (typeof o.meter !== 'object' || typeof o.meter?.createCounter !== 'function')
  ) {
    throw new TypeError(`instrument: meter must be an OpenTelemetry Meter; got ${describe(o.meter)}`);
  }
  if (o.traceLoads !== undefined && typeof o.traceLoads !== 'boolean') {
    throw new TypeError(`instrument: traceLoads must be a boolean; got ${describe(o.traceLoads)}`);
  }
  if (o.tracer !== undefined && typeof o.tracer?.startActiveSpan !== 'function') {
    throw new TypeError(`instrument: tracer must be an OpenTelemetry Tracer; got ${describe(o.tracer)}`);
  }
  if (o.keyName !== undefined && typeof o.keyName !== 'function') {
    throw new TypeError(`instrument: keyName must be a function; got ${describe(o.keyName)}`);
  }
  return o;
}

/**
 * Reports a cache's metrics through OpenTelemetry until the returned function is called:
 *
 * - `larder.cache.requests` (counter, `result`: `hit` | `miss` | `stale`),
 * - `larder.cache.loads` (counter, `outcome`: `success` | `error` | `timeout` | `aborted`; `aborted`: the loader
 *   gave up because an invalidation or `close` aborted its signal, which is no failure, as in `stats()`),
 * - `larder.cache.load.duration` (histogram, seconds, one point per load, with its `outcome`),
 * - `larder.cache.evictions` (counter), `larder.cache.entries` (gauge),
 * - with a tier: `larder.cache.tier.requests` (`result`: `hit` | `miss` | `error`); with a bus:
 *   `larder.cache.bus.messages` (`direction`: `sent` | `received`) and `larder.cache.bus.connected` (0/1),
 *
 * every point with `cache.name`. Reads cost nothing extra: their counts are read from the cache's counters
 * when the metrics are collected. Instrument a root cache (a namespace shares its counters), or a `larder/next`
 * handler (`cache.name` `'next-incremental'` / `'next-use-cache'` by convention).
 *
 * @example
 * ```ts
 * import { instrument } from 'larder/otel';
 * const users = new Cache<string, User>({ max: 10_000, ttl: '5m' });
 * const stop = instrument(users, { name: 'users' });
 * ```
 *
 * @param cache - a larder `Cache` (root, not a namespace), or a `larder/next` handler
 * @param options - `name` (required), `meter`, `traceLoads`, `tracer`, `keyName`
 * @returns a function that stops reporting
 * @throws TypeError when `cache` is not a larder cache or handler, or an option is invalid (e.g. an empty `name`).
 */
export function instrument(cache: Instrumentable, options: InstrumentOptions): StopInstrumenting {
  const source = sourceOf(cache);
  if (typeof source === 'string') {
    throw new TypeError(`instrument: cache ${source}; got ${describe(cache)}`);
  }
  const o = check(options);
  const meter = o.meter ?? metrics.getMeter('larder');
  const name = o.name;
  const base: Attributes = { [ATTR_CACHE_NAME]: name };
  const attrs = (key: string, value: string): Attributes => Object.freeze({ ...base, [key]: value });
  const hit = attrs(ATTR_RESULT, 'hit');
  const miss = attrs(ATTR_RESULT, 'miss');
  const stale = attrs(ATTR_RESULT, 'stale');
  const tierError = attrs(ATTR_RESULT, 'error');
  const success = attrs(ATTR_OUTCOME, 'success');
  const error = attrs(ATTR_OUTCOME, 'error');
  const timeout = attrs(ATTR_OUTCOME, 'timeout');
  const aborted = attrs(ATTR_OUTCOME, 'aborted');
  const sent = attrs(ATTR_DIRECTION, 'sent');
  const received = attrs(ATTR_DIRECTION, 'received');

  const requests = meter.createObservableCounter(REQUESTS, {
    description: 'Reads answered from memory: hit (fresh), stale (stale-while-revalidate) or miss',
    unit: '{request}',
  });
  const evictions = meter.createObservableCounter(EVICTIONS, {
    description: 'Entries removed by the eviction policy to stay within the bounds',
    unit: '{entry}',
  });
  const entries = meter.createObservableGauge(ENTRIES, {
    description: 'Live entries in memory',
    unit: '{entry}',
  });
  const tierRequests = meter.createObservableCounter(TIER_REQUESTS, {
    description: 'Reads of the second tier (Redis): hit, miss, or error (any failed tier call)',
    unit: '{request}',
  });
  const busMessages = meter.createObservableCounter(BUS_MESSAGES, {
    description: 'Invalidation messages on the bus, sent or received',
    unit: '{message}',
  });
  const busConnected = meter.createObservableGauge(BUS_CONNECTED, {
    description: '1 while the invalidation bus is subscribed, else 0',
  });
  const observables = [requests, evictions, entries, tierRequests, busMessages, busConnected];
  const collect = (result: BatchObservableResult): void => {
    const s = source.snapshot();
    result.observe(requests, s.hits, hit);
    result.observe(requests, s.misses, miss);
    result.observe(requests, s.stale, stale);
    result.observe(evictions, s.evictions, base);
    result.observe(entries, s.entries, base);
    if (s.tier !== undefined) {
      result.observe(tierRequests, s.tier.hits, hit);
      result.observe(tierRequests, s.tier.misses, miss);
      result.observe(tierRequests, s.tier.errors, tierError);
    }
    if (s.bus !== undefined) {
      result.observe(busMessages, s.bus.received, received);
      if (s.bus.sent !== undefined) result.observe(busMessages, s.bus.sent, sent);
      if (s.bus.connected !== undefined) result.observe(busConnected, s.bus.connected ? 1 : 0, base);
    }
  };
  meter.addBatchObservableCallback(collect, observables);

  const undo: (() => void)[] = [() => meter.removeBatchObservableCallback(collect, observables)];
  if (source.onLoad !== undefined) {
    const loads = meter.createCounter(LOADS, {
      description:
        'Settled loads (loader or second tier): success, error, timeout, or aborted (given up on an invalidation)',
      unit: '{load}',
    });
    const duration = meter.createHistogram(LOAD_DURATION, {
      description: 'How long each load took',
      unit: 's',
      advice: { explicitBucketBoundaries: [...LOAD_DURATION_BUCKETS] },
    });
    undo.push(
      source.onLoad((event: LoadEvent<unknown>) => {
        // A load given up because an invalidation aborted it is no failure (stats().loadErrors agrees).
        const outcome = event.timedOut
          ? timeout
          : event.ok
            ? success
            : event.aborted === true
              ? aborted
              : error;
        loads.add(1, outcome);
        duration.record(event.duration / 1000, outcome);
      }),
    );
  }
  if (o.traceLoads === true && source.wrapLoads !== undefined) {
    const tracer = o.tracer ?? trace.getTracer('larder');
    undo.push(source.wrapLoads(traceLoads(tracer, name, o.keyName ?? keyNameOf)));
  }
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    for (const f of undo) f();
  };
}
