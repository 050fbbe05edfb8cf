import { Cache } from '../cache.js';
import { footprint } from './size.js';
import type { HandlerCounters } from './stats.js';
import type { Stored } from './stored.js';

/**
 * The memory tier of a runtime: entries bounded by `maxMemory` bytes (`undefined` when 0), each eviction
 * counted in the counters of its handler kind.
 *
 * @internal
 */
export function memoryTier(
  maxMemory: number,
  counters: { readonly i: HandlerCounters; readonly u: HandlerCounters },
): Cache<string, Stored> | undefined {
  const memory =
    maxMemory > 0 ? new Cache<string, Stored>({ maxSize: maxMemory, sizeOf: footprint }) : undefined;
  memory?.on('evict', ({ value }) => {
    if (value.k === 'i' || value.k === 'u') counters[value.k].evictions++;
  });
  return memory;
}

/** How many entries of handler kind `kind` (keys of build `buildId()`) the memory tier holds now. @internal */
export function entriesOf(
  memory: Cache<string, Stored> | undefined,
  buildId: () => string,
  kind: 'i' | 'u',
): number {
  let entries = 0;
  if (memory !== undefined) {
    const build = buildId();
    for (const key of memory.keys()) if (kindOf(key, build) === kind) entries++;
  }
  return entries;
}

/** The handler kind of a full key (`<buildId>:<kind>:<key>`) of build `build`. */
function kindOf(key: string, build: string): 'i' | 'u' | undefined {
  if (key.length <= build.length + 2 || !key.startsWith(build) || key[build.length] !== ':') return undefined;
  const kind = key[build.length + 1];
  return (kind === 'i' || kind === 'u') && key[build.length + 2] === ':' ? kind : undefined;
}
