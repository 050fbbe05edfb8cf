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
  createNoopMeter,
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
  /**
   * Where the instruments are registered. Default: `metrics.getMeter('larder')` of the global provider, looked up
   * when `instrument` is called: register the SDK's MeterProvider first (see {@link instrument}).
   */
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
   * `course`), a `larder/express` response key's method (`GET https://shop.example/users/1` → `GET`), else the key
   * up to its last `:` (`course:7` → `course`).
   */
  keyName?: (key: unknown) => string;
}

/** Stops reporting: removes the callbacks, listeners and span wrapper `instrument` added. Idempotent. */
export type StopInstrumenting = () => void;

/** A live instrumentation of one cache (or metrics source), as the registry of {@link instrument} keeps it. */
interface Live {
  readonly name: string;
  readonly meter: Meter;
  readonly traceLoads: boolean;
  readonly stop: StopInstrumenting;
  /** Set once stopped (by its stop function, or because the cache was closed or collected). */
  stopped: boolean;
}

const REGISTRY = Symbol.for('larder.otel.instrumented');

/**
 * The live instrumentations by cache. On `globalThis` under a registered symbol (as `singleton`'s registry), so
 * that a copy of this module evaluated again (a hot reload that bundles larder) still finds them; weak, so that it
 * keeps no cache alive. Nothing in a `Live` refers to its cache.
 */
function registry(): WeakMap<object, Live> {
  const holder = globalThis as unknown as Record<symbol, WeakMap<object, Live> | undefined>;
  let live = holder[REGISTRY];
  if (live === undefined) {
    live = new WeakMap();
    holder[REGISTRY] = live;
  }
  return live;
}

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
 * - **Once per cache.** Instrumenting a cache that is instrumented already returns the first call's stop
 *   function when it asks for the same `name`, `meter` and `traceLoads` (a module that runs again, as on a hot
 *   reload with `singleton`, counts nothing twice; its other options are not applied), and throws a `TypeError`
 *   when it asks for something else: stop the first one first.
 * - **Until the cache is closed.** A closed cache is no longer reported: at the next collection the
 *   instrumentation stops itself (its bus does not read as disconnected for ever). The cache is held weakly: one
 *   dropped without `stop()` can still be garbage-collected, and is no longer reported either.
 * - **The default meter is looked up now.** Without `meter`, the instruments go to `metrics.getMeter('larder')`
 *   of the global MeterProvider registered when `instrument` is called. Before the application registers one,
 *   that is OpenTelemetry's no-op meter and nothing is ever reported: unlike the trace API (whose tracer forwards
 *   to a provider registered later, so `traceLoads` works either way), the metrics API has no provider that
 *   forwards. Set up the SDK first (`node --import ./instrumentation.mjs`), pass `meter`, or call `instrument`
 *   again once the SDK is set up: an instrumentation on the no-op meter is replaced.
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
 * @throws TypeError when `cache` is not a larder cache or handler, or an option is invalid (e.g. an empty `name`),
 * or when `cache` is instrumented already with another `name`, `meter` or `traceLoads`.
 */
export function instrument(cache: Instrumentable, options: InstrumentOptions): StopInstrumenting {
  const source = sourceOf(cache);
  if (typeof source === 'string') {
    throw new TypeError(`instrument: cache ${source}; got ${describe(cache)}`);
  }
  const o = check(options);
  const meter = o.meter ?? metrics.getMeter('larder');
  const name = o.name;
  const traceLoadsOn = o.traceLoads === true;
  const target = cache as object;
  const live = registry().get(target);
  // Instrumented before the application registered its MeterProvider, on the global no-op meter: it reports
  // nothing, so a later call (once the SDK is set up) replaces it.
  if (live !== undefined && !live.stopped && live.meter === createNoopMeter()) live.stop();
  if (live !== undefined && !live.stopped) {
    // Instrumented already: the module that instruments it ran again (a hot reload, with `singleton`), or two
    // places instrument one cache. Answering the same request twice must not count everything twice.
    if (live.name === name && live.meter === meter && live.traceLoads === traceLoadsOn) return live.stop;
    const asked =
      live.name !== name
        ? `as '${name}'`
        : live.meter !== meter
          ? 'on another meter'
          : `with traceLoads ${traceLoadsOn}`;
    throw new TypeError(
      `instrument: cache '${live.name}' is instrumented already; instrumenting it again ${asked} would report ` +
        `it twice. Call the function the first instrument(cache, { name: '${live.name}' }) returned to stop it first`,
    );
  }
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
  let stopped = false;
  const collect = (result: BatchObservableResult): void => {
    const s = stopped ? undefined : source.snapshot();
    if (s === undefined) {
      // The cache was closed (or collected): it is no longer reported (a closed bus must not read as a
      // disconnected one for ever), and the instrumentation stops itself. Not from within this callback: the SDK
      // is iterating over its callbacks.
      if (!stopped) queueMicrotask(stop);
      return;
    }
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
  if (traceLoadsOn && source.wrapLoads !== undefined) {
    const tracer = o.tracer ?? trace.getTracer('larder');
    undo.push(source.wrapLoads(traceLoads(tracer, name, o.keyName ?? keyNameOf)));
  }
  // Everything `stop` reaches holds the cache weakly (see `sourceOf`): the meter keeps `collect`, which keeps
  // `stop`, for as long as it lives.
  const entry: Live = { name, meter, traceLoads: traceLoadsOn, stop, stopped: false };
  function stop(): void {
    if (stopped) return;
    stopped = true;
    entry.stopped = true;
    for (const f of undo) f();
  }
  registry().set(target, entry);
  return entry.stop;
}
