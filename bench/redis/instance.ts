/**
 * One app instance for bench/redis/staleness.ts, in its own process: a cache in front of a "database" (a
 * Redis hash, so that every instance's loader sees the latest row), in one of three setups.
 *
 * @module
 */
import { Redis } from 'ioredis';
import { Cache } from '../../src/index.js';
import { createCache, redisBus } from '../../src/redis/index.js';
import { serveRequests, type WorkerRequest } from '../lib/worker-rpc.js';

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cache: Cache<string, string> | undefined;
let db: Redis | undefined;
let table = '';
let busClient: Redis | undefined;
const drops = new Map<string, number>();

function load(key: string): Promise<string> {
  return (db as Redis).hget(table, key).then((v) => v ?? 'missing');
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'init': {
      const url = req.url as string;
      const prefix = req.prefix as string;
      const ttl = req.ttl as number;
      table = `${prefix}db`;
      db = new Redis(url);
      if (req.setup === 'memory') {
        cache = new Cache<string, string>({ max: 10_000, ttl });
      } else if (req.setup === 'bus') {
        busClient = new Redis(url, { enableOfflineQueue: false, commandTimeout: 250 });
        cache = new Cache<string, string>({ max: 10_000, ttl, bus: redisBus(busClient, { prefix }) });
      } else {
        cache = createCache<string, string>({ redisUrl: url, max: 10_000, ttl, redis: { prefix } });
      }
      const c = cache;
      c.on('delete', (e) => {
        if (e.reason === 'remote') drops.set(String(e.key), now());
      });
      if (req.setup !== 'memory') while (c.stats().busMessages < 1) await sleep(5);
      return process.pid;
    }
    case 'write': {
      // Update the row, then tell the cache (as an app does after a successful UPDATE).
      const key = req.key as string;
      await (db as Redis).hset(table, key, req.value as string);
      const at = now();
      if (req.how === 'delete') cache?.delete(key);
      else cache?.set(key, req.value as string);
      return at;
    }
    case 'read':
      return (cache as Cache<string, string>).getOrSet(req.key as string, () => load(req.key as string));
    case 'watch': {
      // Polls the cache until it returns the expected value; returns when (and when the bus dropped the key).
      const key = req.key as string;
      const until = now() + (req.timeout as number);
      drops.delete(key);
      for (;;) {
        const value = await (cache as Cache<string, string>).getOrSet(key, () => load(key));
        if (value === req.expect) return { seen: now(), dropped: drops.get(key) ?? null };
        if (now() > until) return { seen: null, dropped: drops.get(key) ?? null };
        await sleep(0.5);
      }
    }
    case 'close':
      await cache?.close();
      busClient?.disconnect();
      db?.disconnect();
      setImmediate(() => process.exit(0));
      return true;
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

serveRequests(handle);
