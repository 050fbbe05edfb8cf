/**
 * One adapter per library: how to build a bounded cache with it and how to call each operation the way its
 * documentation shows. Libraries are imported lazily, so a child process loads only the one it measures.
 *
 * Configuration principle: each library's defaults plus the capacity bound. Options that change what `get`
 * returns are aligned with lru-cache and larder, which return the stored object: value cloning is turned
 * off where a library clones by default (node-cache `useClones`, cacheable `useClone`). cache-manager uses
 * its default store and bentocache its default memory driver (which serializes values), as their users get.
 *
 * @module
 */
import { loadLarder } from '../lib/larder.js';

/** The value type stored by every benchmark: a small object. */
export interface Value {
  /** Item number. */
  id: number;
}

/** Operation identifiers of the throughput table. */
export type OpId = 'get' | 'setOverwrite' | 'setEvict' | 'getOrSet' | 'wrap' | 'zipf';

/** What an adapter needs to build an instance. */
export interface AdapterContext {
  /** Maximum number of entries. */
  capacity: number;
  /**
   * Which operations the instance will serve: `sync` (get/set) or `async` (getOrSet/wrap). Libraries whose
   * synchronous and cache-aside APIs live on differently configured objects build only the one needed
   * (a lru-cache with a `fetchMethod` has slower `get`s than a bare one).
   */
  mode: 'sync' | 'async';
  /** The loader (the "database"): called on a miss by the library's cache-aside operation. */
  load: (key: string) => Value | Promise<Value>;
}

/** A library instance, reduced to the operations it has. Missing members mean "no such operation". */
export interface Instance {
  /** Synchronous read; `undefined` on a miss. */
  get?: (key: string) => Value | undefined;
  /** Synchronous write (may evict). */
  set?: (key: string, value: Value) => void;
  /** Asynchronous write, for libraries without a synchronous one. */
  setAsync?: (key: string, value: Value) => Promise<unknown>;
  /** Cache-aside by key: returns the cached value or loads it through `context.load`, single-flight or not. */
  getOrSet?: (key: string) => Promise<unknown>;
  /** A memoized function of the key, built from the library's function wrapper over `context.load`. */
  wrapped?: (key: string) => Promise<unknown>;
  /** Releases timers and connections. */
  close?: () => unknown;
  /** The library's own object (the cache itself), for a memory measurement to tell when it has been collected. */
  target?: object;
}

/** A library under test. */
export interface Adapter {
  /** Row name in the tables. */
  name: string;
  /** npm package whose version is reported, or undefined for floors. */
  pkg: string | undefined;
  /** What each operation calls, for the table ("lru.fetch(k)"). Absent = not available. */
  via: Partial<Record<OpId, string>>;
  /** Configuration notes shown under the tables. */
  config: string;
  /** Whether the row is a floor (a bare structure, not a cache library). */
  floor?: boolean;
  /** Builds a fresh instance. */
  create(context: AdapterContext): Promise<Instance>;
}

const SYNC_VIA = {
  get: 'get(k)',
  setOverwrite: 'set(k, v)',
  setEvict: 'set(k, v)',
  zipf: 'get(k) ?? set(k, load(k))',
};

/** The larder rows: policy 'lru' (what issue 2's bars measure) and the default policy, 'tinylfu'. */
export const LARDER_LRU = 'larder (lru)';
/** See {@link LARDER_LRU}. */
export const LARDER_TINYLFU = 'larder (tinylfu, default)';

function larderAdapter(name: string, policy: 'lru' | 'tinylfu'): Adapter {
  return {
    name,
    pkg: undefined,
    via: { ...SYNC_VIA, getOrSet: 'await getOrSet(k, () => load(k))', wrap: "await wrap('item', load)(k)" },
    config: `new Cache({ max${policy === 'lru' ? ", policy: 'lru'" : ''} })`,
    async create({ capacity, load }) {
      const { Cache } = await loadLarder();
      const cache = new Cache<string, Value>({ max: capacity, policy });
      const wrapped = cache.wrap('item', (key: string) => load(key));
      return {
        get: (k) => cache.get(k),
        set: (k, v) => {
          cache.set(k, v);
        },
        getOrSet: (k) => cache.getOrSet(k, () => load(k)),
        wrapped: (k) => wrapped(k),
        close: () => cache.close(),
        target: cache,
      };
    },
  };
}

/** Every library, in table order. */
export const ADAPTERS: readonly Adapter[] = [
  larderAdapter(LARDER_LRU, 'lru'),
  larderAdapter(LARDER_TINYLFU, 'tinylfu'),
  {
    name: 'lru-cache',
    pkg: 'lru-cache',
    via: { ...SYNC_VIA, getOrSet: 'await fetch(k) (fetchMethod)' },
    config: 'sync ops: new LRUCache({ max }); fetch: new LRUCache({ max, fetchMethod })',
    async create({ capacity, load, mode }) {
      const { LRUCache } = await import('lru-cache');
      if (mode === 'async') {
        const fetching = new LRUCache<string, Value>({ max: capacity, fetchMethod: (k) => load(k) });
        return { getOrSet: (k) => fetching.fetch(k) };
      }
      const lru = new LRUCache<string, Value>({ max: capacity });
      return {
        get: (k) => lru.get(k),
        set: (k, v) => {
          lru.set(k, v);
        },
        target: lru,
      };
    },
  },
  {
    name: 'lru.min',
    pkg: 'lru.min',
    via: SYNC_VIA,
    config: 'createLRU({ max })',
    async create({ capacity }) {
      const { createLRU } = await import('lru.min');
      const lru = createLRU<string, Value>({ max: capacity });
      return {
        get: (k) => lru.get(k),
        set: (k, v) => {
          lru.set(k, v);
        },
      };
    },
  },
  {
    name: 'mnemonist',
    pkg: 'mnemonist',
    via: SYNC_VIA,
    config: 'new LRUCache(max)',
    async create({ capacity }) {
      const { LRUCache } = await import('mnemonist');
      const lru = new LRUCache<string, Value>(capacity);
      return {
        get: (k) => lru.get(k),
        set: (k, v) => {
          lru.set(k, v);
        },
      };
    },
  },
  {
    name: 'quick-lru',
    pkg: 'quick-lru',
    via: SYNC_VIA,
    config: 'new QuickLRU({ maxSize }) (holds up to 2 × maxSize entries)',
    async create({ capacity }) {
      const { default: QuickLRU } = await import('quick-lru');
      const lru = new QuickLRU<string, Value>({ maxSize: capacity });
      return {
        get: (k) => lru.get(k),
        set: (k, v) => {
          lru.set(k, v);
        },
      };
    },
  },
  {
    name: 'tiny-lru',
    pkg: 'tiny-lru',
    via: SYNC_VIA,
    config: 'lru(max)',
    async create({ capacity }) {
      const { lru: tinyLru } = await import('tiny-lru');
      const lru = tinyLru<Value>(capacity);
      return {
        get: (k) => lru.get(k),
        set: (k, v) => {
          lru.set(k, v);
        },
      };
    },
  },
  {
    name: '@isaacs/ttlcache',
    pkg: '@isaacs/ttlcache',
    via: SYNC_VIA,
    config: 'new TTLCache({ max, ttl: 1h }) (evicts the soonest-expiring entry, i.e. FIFO here; not LRU)',
    async create({ capacity }) {
      const { TTLCache } = await import('@isaacs/ttlcache');
      // ttl: Infinity together with max makes set() spin forever once full (seen with 2.1.5), so 1 hour.
      const cache = new TTLCache<string, Value>({ max: capacity, ttl: 3_600_000 });
      return {
        get: (k) => cache.get(k),
        set: (k, v) => {
          cache.set(k, v);
        },
        close: () => cache.clear(),
      };
    },
  },
  {
    name: 'node-cache',
    pkg: 'node-cache',
    via: { get: SYNC_VIA.get, setOverwrite: SYNC_VIA.setOverwrite },
    config:
      'new NodeCache({ useClones: false, checkperiod: 0 }) (no capacity bound: maxKeys makes set throw)',
    async create() {
      const { default: NodeCache } = await import('node-cache');
      const cache = new NodeCache({ useClones: false, checkperiod: 0 });
      return {
        get: (k) => cache.get<Value>(k),
        set: (k, v) => {
          cache.set(k, v);
        },
        close: () => cache.close(),
      };
    },
  },
  {
    name: 'cacheable',
    pkg: 'cacheable',
    via: { ...SYNC_VIA, getOrSet: 'await getOrSet(k, async () => load(k))', wrap: 'await wrap(load)(k)' },
    config:
      'sync ops: new CacheableMemory({ lruSize, useClone: false }); async ops: new Cacheable({ primary: createKeyv({ lruSize, useClone: false }) })',
    async create({ capacity, load, mode }) {
      const { Cacheable, CacheableMemory, createKeyv } = await import('cacheable');
      if (mode === 'sync') {
        const memory = new CacheableMemory({ lruSize: capacity, useClone: false });
        return {
          get: (k) => memory.get<Value>(k),
          set: (k, v) => {
            memory.set(k, v);
          },
        };
      }
      const cacheable = new Cacheable({ primary: createKeyv({ lruSize: capacity, useClone: false }) });
      const wrapped = cacheable.wrap(async (key: string) => load(key), { cacheId: 'item' });
      return {
        setAsync: (k, v) => cacheable.set(k, v),
        getOrSet: (k) => cacheable.getOrSet(k, async () => load(k)),
        wrapped: (k) => wrapped(k),
        close: () => cacheable.disconnect(),
      };
    },
  },
  {
    name: 'cache-manager',
    pkg: 'cache-manager',
    via: { getOrSet: 'await wrap(k, () => load(k))' },
    config: 'createCache() (default Keyv in-memory store, unbounded)',
    async create({ load }) {
      const { createCache } = await import('cache-manager');
      const cache = createCache();
      return {
        setAsync: (k, v) => cache.set(k, v),
        getOrSet: (k) => cache.wrap(k, () => load(k)),
        close: () => cache.disconnect(),
      };
    },
  },
  {
    name: 'bentocache',
    pkg: 'bentocache',
    via: { getOrSet: 'await getOrSet({ key: k, factory: () => load(k) })' },
    config:
      "new BentoCache({ default: 'memory', stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems })) } })",
    async create({ capacity, load }) {
      const { BentoCache, bentostore } = await import('bentocache');
      const { memoryDriver } = await import('bentocache/drivers/memory');
      const bento = new BentoCache({
        default: 'memory',
        stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: capacity })) },
      });
      return {
        setAsync: (k, v) => bento.set({ key: k, value: v }),
        getOrSet: (k) => bento.getOrSet({ key: k, factory: () => load(k) }),
        close: () => bento.disconnect(),
      };
    },
  },
  {
    name: 'async-cache-dedupe',
    pkg: 'async-cache-dedupe',
    via: { wrap: "await define('item', load).item(k)" },
    config: "createCache({ ttl: 3600, storage: { type: 'memory', options: { size } } })",
    async create({ capacity, load }) {
      const { createCache } = await import('async-cache-dedupe');
      const cache = createCache({
        ttl: 3600,
        storage: { type: 'memory', options: { size: capacity } },
      }).define('item', async (key: string) => load(key));
      return { wrapped: (k) => cache.item(k) };
    },
  },
  {
    name: 'Map (floor)',
    pkg: undefined,
    floor: true,
    // No eviction columns: evicting the oldest entry of a Map (map.keys().next()) slows down as deleted
    // slots pile up at the front until V8 rehashes, so a "FIFO Map" is no floor.
    via: { get: SYNC_VIA.get, setOverwrite: SYNC_VIA.setOverwrite },
    config: 'a bare Map (unbounded)',
    async create() {
      const map = new Map<string, Value>();
      return {
        get: (k) => map.get(k),
        set: (k, v) => {
          map.set(k, v);
        },
      };
    },
  },
  {
    name: 'Promise.resolve (floor)',
    pkg: undefined,
    floor: true,
    via: { getOrSet: 'await Promise.resolve(lru.get(k))', wrap: 'await Promise.resolve(lru.get(k))' },
    config: 'a bare lru-cache read wrapped in an awaited Promise.resolve: the least an async API can cost',
    async create({ capacity }) {
      const { LRUCache } = await import('lru-cache');
      const lru = new LRUCache<string, Value>({ max: capacity });
      const read = (k: string) => Promise.resolve(lru.get(k));
      return {
        set: (k, v) => {
          lru.set(k, v);
        },
        getOrSet: read,
        wrapped: read,
      };
    },
  },
];

/** The adapter named `name`. @throws RangeError for an unknown name. */
export function adapterNamed(name: string): Adapter {
  const a = ADAPTERS.find((x) => x.name === name);
  if (a === undefined)
    throw new RangeError(
      `unknown library ${JSON.stringify(name)}; known: ${ADAPTERS.map((x) => x.name).join(', ')}`,
    );
  return a;
}
