/** Caches with a Redis tier and bus on clients of their own, for tests that put a proxy in front of one of them. */
import { Redis } from 'ioredis';
import { Cache } from '../../src/index.js';
import { redisBus, redisTier } from '../../src/redis/index.js';

/** What {@link tierBusInstances} makes; everything it opens is closed by the `cleanup` functions it was given. */
export interface TierBusInstances {
  /** An ioredis client of 127.0.0.1:`port` with no offline queue and no retries. */
  client(port: number): Redis;
  /** A cache (1,000 entries, 60 s TTL) whose tier talks to `tierPort` and bus to `busPort`. */
  instance(prefix: string, tierPort: number, busPort: number): Cache<string, unknown>;
}

/** Makes clients and caches whose closing is pushed on `cleanup`; `timeout`: the tier's and bus's. */
export function tierBusInstances(cleanup: (() => Promise<unknown>)[], timeout: number): TierBusInstances {
  function client(port: number): Redis {
    const c = new Redis(port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    c.on('error', () => {});
    cleanup.push(async () => c.disconnect());
    return c;
  }
  function instance(prefix: string, tierPort: number, busPort: number): Cache<string, unknown> {
    const cache = new Cache<string, unknown>({
      max: 1000,
      ttl: 60_000,
      tier: redisTier(client(tierPort), { prefix, timeout }),
      bus: redisBus(client(busPort), { prefix, timeout }),
    });
    cache.on('error', () => {});
    cleanup.push(() => cache.close());
    return cache;
  }
  return { client, instance };
}
