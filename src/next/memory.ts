import { Cache } from '../cache.js';
import type { HandlerCounters } from './stats.js';
import type { Stored } from './stored.js';

/**
 * Bytes an entry of the memory tier costs beyond its value (`s`): the stored record, its `cacheControl`, the
 * cache's `Entry`, the key and the store's bookkeeping (about 400 measured with bench/next/soak.ts).
 */
const ENTRY_OVERHEAD = 384;
/** Bytes of one tag string and its slot in the entry's tag list, beyond its characters. */
const TAG_OVERHEAD = 40;

/** The memory tier's size of an entry: its value, its tags and its fixed overhead. */
function footprint(stored: Stored): number {
  let size = Math.max(1, stored.s) + ENTRY_OVERHEAD;
  for (const tag of stored.g) size += tag.length + TAG_OVERHEAD;
  return size;
}

/**
 * The memory tier of a runtime: entries bounded by `maxMemory` bytes (`undefined` when 0), each eviction
 * counted in the counters of its handler kind (keys of build `buildId()`).
 *
 * @internal
 */
export function memoryTier(
  maxMemory: number,
  counters: { readonly i: HandlerCounters; readonly u: HandlerCounters },
  buildId: () => string,
): Cache<string, Stored> | undefined {
  const memory =
    maxMemory > 0 ? new Cache<string, Stored>({ maxSize: maxMemory, sizeOf: footprint }) : undefined;
  memory?.on('evict', ({ key }) => {
    const kind = kindOf(key, buildId());
    if (kind !== undefined) counters[kind].evictions++;
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
