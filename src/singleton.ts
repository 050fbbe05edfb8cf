const REGISTRY = Symbol.for('larder.singletons');

type Registry = Map<string, unknown>;

/**
 * Returns the object registered under `name`, creating it with `factory` the first time. The registry lives on
 * `globalThis` under a `Symbol.for` key, so it survives module reloads (Next.js dev mode, hot-reloading
 * servers) and duplicate copies of this package: one cache per process, however often the module runs.
 *
 * @param name - a process-wide name, e.g. `'db-cache'`
 * @param factory - creates the object; runs once per process and name
 * @returns the object registered under `name`
 *
 * @example
 * ```ts
 * export const cache = singleton('db-cache', () => new Cache<string, unknown>({ max: 10_000, ttl: '5m' }));
 * ```
 */
export function singleton<T>(name: string, factory: () => T): T {
  if (typeof name !== 'string' || name === '')
    throw new TypeError('singleton: name must be a non-empty string');
  if (typeof factory !== 'function') throw new TypeError('singleton: factory must be a function');
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  let registry = holder[REGISTRY];
  if (registry === undefined) {
    registry = new Map();
    holder[REGISTRY] = registry;
  }
  if (registry.has(name)) return registry.get(name) as T;
  const value = factory();
  registry.set(name, value);
  return value;
}
