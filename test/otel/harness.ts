/**
 * The real OpenTelemetry SDK for the larder/otel tests: a MeterProvider with a pull reader (collect on demand),
 * and a tracer provider exporting to memory with an AsyncLocalStorage context manager (so that spans nest
 * across awaits, as they do under the Node SDK).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, context, ROOT_CONTEXT } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class PullReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** One data point: its instrument, attributes, and value (a histogram's count and sum). */
export interface Point {
  name: string;
  attributes: Record<string, unknown>;
  value: number;
  count?: number;
  sum?: number;
}

/** A meter and a way to read everything it has recorded (cumulative). */
export function metricsHarness() {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('larder-test');
  async function collect(): Promise<Point[]> {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw errors[0];
    const points: Point[] = [];
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const p of metric.dataPoints) {
          const attributes = { ...p.attributes };
          if (metric.dataPointType === DataPointType.HISTOGRAM) {
            const h = p.value as { count: number; sum?: number };
            points.push({
              name: metric.descriptor.name,
              attributes,
              value: h.count,
              count: h.count,
              sum: h.sum,
            });
          } else {
            points.push({ name: metric.descriptor.name, attributes, value: p.value as number });
          }
        }
      }
    }
    return points;
  }
  /** The value of the point of `name` whose attributes include `match` (undefined when there is none). */
  async function value(name: string, match: Record<string, unknown> = {}): Promise<number | undefined> {
    const points = (await collect()).filter(
      (p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v),
    );
    if (points.length === 0) return undefined;
    return points.reduce((sum, p) => sum + p.value, 0);
  }
  return { meter, collect, value, provider };
}

class AlsContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

/** A tracer whose finished spans land in `exporter`; installs an AsyncLocalStorage context manager. */
export function tracingHarness() {
  context.setGlobalContextManager(new AlsContextManager());
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('larder-test');
  return {
    tracer,
    exporter,
    close: async () => {
      await provider.shutdown();
      context.disable();
    },
  };
}
