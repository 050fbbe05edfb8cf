/**
 * A 100-key list page: `getOrSetMany` against 100 concurrent `getOrSet` calls, cold and warm, in memory and with
 * the Redis tier. Counts loader calls and Redis commands and measures the page's latency (median of rounds).
 * Not part of `npm run bench`; run it alone:
 *
 * ```sh
 * npx tsx bench/batch/index.ts            # memory only; with Redis when REDIS_URL (or 127.0.0.1:6379) answers
 * ```
 *
 * larder is loaded from src/ (through tsx). The "database" answers each query after `QUERY_MS`, however many
 * keys it asks for (a round trip dominates a small `IN` query).
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Cache } from '../../src/index.js';
import { redisTier } from '../../src/redis/index.js';

const PAGE = 100;
const QUERY_MS = 2;
const COLD_ROUNDS = 30;
const WARM_ROUNDS = 2000;
const REDIS_ROUNDS = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fake database: counts queries. */
class Db {
  queries = 0;
  async one(key: string): Promise<string> {
    this.queries++;
    await sleep(QUERY_MS);
    return `row ${key}`;
  }
  async many(keys: string[]): Promise<Map<string, string>> {
    this.queries++;
    await sleep(QUERY_MS);
    return new Map(keys.map((k) => [k, `row ${k}`]));
  }
}

type Page = (cache: Cache<string, string>, keys: string[], db: Db) => Promise<unknown>;

const ways: Record<string, Page> = {
  'getOrSetMany(100 keys)': (cache, keys, db) => cache.getOrSetMany(keys, (missing) => db.many(missing)),
  '100 concurrent getOrSet': (cache, keys, db) =>
    Promise.all(keys.map((k) => cache.getOrSet(k, () => db.one(k)))),
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const pageKeys = (round: number) => Array.from({ length: PAGE }, (_, i) => `course:${round}:${i}`);

interface Row {
  setting: string;
  way: string;
  loaderCalls: number;
  redisCommands: number | undefined;
  medianMs: number;
}

/** A peer's page read: `page(keys, db)` against a cache made by `make()`. */
interface Peer {
  way: string;
  make(): Promise<{ page(keys: string[], db: Db): Promise<unknown>; close(): Promise<unknown> | undefined }>;
}

/** The peers' closest equivalents, as their users get them (default in-memory stores). */
const peers: Peer[] = [
  {
    way: 'cache-manager: mget, one query for the misses, mset',
    async make() {
      const { createCache } = await import('cache-manager');
      const cache = createCache();
      return {
        async page(keys, db) {
          const found = await cache.mget<string>(keys);
          const missing = keys.filter((_, i) => found[i] === undefined);
          if (missing.length === 0) return found;
          const rows = await db.many(missing);
          await cache.mset([...rows].map(([key, value]) => ({ key, value, ttl: 300_000 })));
          return keys.map((k, i) => found[i] ?? rows.get(k));
        },
        close: () => cache.disconnect(),
      };
    },
  },
  {
    way: 'cache-manager: 100 concurrent wrap',
    async make() {
      const { createCache } = await import('cache-manager');
      const cache = createCache();
      return {
        page: (keys, db) => Promise.all(keys.map((k) => cache.wrap(k, () => db.one(k), 300_000))),
        close: () => cache.disconnect(),
      };
    },
  },
  {
    way: 'bentocache: 100 concurrent getOrSet',
    async make() {
      const { BentoCache, bentostore } = await import('bentocache');
      const { memoryDriver } = await import('bentocache/drivers/memory');
      const bento = new BentoCache({
        default: 'memory',
        stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
      });
      return {
        page: (keys, db) =>
          Promise.all(keys.map((k) => bento.getOrSet({ key: k, factory: () => db.one(k), ttl: '5m' }))),
        close: () => bento.disconnect(),
      };
    },
  },
];

async function memoryPeers(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const peer of peers) {
    const db = new Db();
    const cold: number[] = [];
    for (let r = 0; r < COLD_ROUNDS; r++) {
      const cache = await peer.make();
      const t0 = performance.now();
      await cache.page(pageKeys(r), db);
      cold.push(performance.now() - t0);
      await cache.close();
    }
    rows.push({
      setting: 'memory, cold',
      way: peer.way,
      loaderCalls: db.queries / COLD_ROUNDS,
      redisCommands: undefined,
      medianMs: median(cold),
    });
    const warmDb = new Db();
    const cache = await peer.make();
    const keys = pageKeys(0);
    await cache.page(keys, warmDb);
    warmDb.queries = 0;
    const warm: number[] = [];
    for (let r = 0; r < WARM_ROUNDS / 4; r++) {
      const t0 = performance.now();
      await cache.page(keys, warmDb);
      warm.push(performance.now() - t0);
    }
    await cache.close();
    rows.push({
      setting: 'memory, warm',
      way: peer.way,
      loaderCalls: warmDb.queries / (WARM_ROUNDS / 4),
      redisCommands: undefined,
      medianMs: median(warm),
    });
  }
  return rows;
}

async function memory(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [way, page] of Object.entries(ways)) {
    // Cold: a fresh cache each round.
    const db = new Db();
    const cold: number[] = [];
    for (let r = 0; r < COLD_ROUNDS; r++) {
      const cache = new Cache<string, string>({ max: 10_000, ttl: '5m' });
      const t0 = performance.now();
      await page(cache, pageKeys(r), db);
      cold.push(performance.now() - t0);
    }
    rows.push({
      setting: 'memory, cold',
      way,
      loaderCalls: db.queries / COLD_ROUNDS,
      redisCommands: undefined,
      medianMs: median(cold),
    });
    // Warm: every key in memory.
    const warmDb = new Db();
    const cache = new Cache<string, string>({ max: 10_000, ttl: '5m' });
    const keys = pageKeys(0);
    await page(cache, keys, warmDb);
    warmDb.queries = 0;
    const warm: number[] = [];
    for (let r = 0; r < WARM_ROUNDS; r++) {
      const t0 = performance.now();
      await page(cache, keys, warmDb);
      warm.push(performance.now() - t0);
    }
    rows.push({
      setting: 'memory, warm',
      way,
      loaderCalls: warmDb.queries / WARM_ROUNDS,
      redisCommands: undefined,
      medianMs: median(warm),
    });
  }
  return rows;
}

/** Counts the commands a client sends. */
function counted(client: Redis): { n: number } {
  const count = { n: 0 };
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: unknown[]) => {
    count.n++;
    return (send as (...a: unknown[]) => unknown)(...args);
  }) as typeof client.sendCommand;
  return count;
}

async function withRedis(url: string): Promise<Row[]> {
  const prefix = `larder-bench:batch:${process.pid}:`;
  const writer = new Redis(url, { enableOfflineQueue: false, lazyConnect: true });
  const reader = new Redis(url, { enableOfflineQueue: false, lazyConnect: true });
  await Promise.all([writer.connect(), reader.connect()]);
  const rows: Row[] = [];
  try {
    for (const [way, page] of Object.entries(ways)) {
      const db = new Db();
      const commands = counted(reader);
      const times: number[] = [];
      let sent = 0;
      for (let r = 0; r < REDIS_ROUNDS; r++) {
        // Another instance stored the page; a fresh instance (empty memory) reads it.
        const a = new Cache<string, string>({ max: 10_000, ttl: '5m', tier: redisTier(writer, { prefix }) });
        const keys = pageKeys(1000 + r).map((k) => `${way}:${k}`);
        await a.getOrSetMany(keys, (missing) => new Db().many(missing));
        await sleep(20);
        await a.close();
        const b = new Cache<string, string>({ max: 10_000, ttl: '5m', tier: redisTier(reader, { prefix }) });
        await sleep(20); // the tier's start-up commands (clock measurement) are not the page's
        const before = commands.n;
        const t0 = performance.now();
        await page(b, keys, db);
        times.push(performance.now() - t0);
        sent += commands.n - before;
        await b.close();
      }
      rows.push({
        setting: 'Redis tier, fresh instance',
        way,
        loaderCalls: db.queries / REDIS_ROUNDS,
        redisCommands: sent / REDIS_ROUNDS,
        medianMs: median(times),
      });
    }
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await writer.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await writer.unlink(...keys);
    } while (cursor !== '0');
    await Promise.all([writer.quit(), reader.quit()]);
  }
  return rows;
}

async function reachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function main(): Promise<void> {
  const rows = await memory();
  rows.push(...(await memoryPeers()));
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (await reachable(url)) rows.push(...(await withRedis(url)));
  else console.log(`(no Redis at ${url}: the Redis rows are left out)`);
  console.log(`A ${PAGE}-key page; the fake database answers each query after ${QUERY_MS} ms.\n`);
  console.log('| setting | way | loader calls per page | Redis commands per page | median page latency |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.setting} | ${r.way} | ${r.loaderCalls} | ${r.redisCommands ?? '-'} | ${r.medianMs.toFixed(3)} ms |`,
    );
  }
}

await main();
