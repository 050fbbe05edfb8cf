/**
 * Benchmarks of `larder/redis`, as ratios measured in one run (interleaved rounds, paired per round):
 *
 * 1. Memory hits with the Redis tier and bus attached vs the same cache without them (`get` and `getOrSet`
 *    hits, timed in CPU time): the tier and bus must not slow down the memory path (bar: >= 0.95).
 * 2. A Redis-tier hit (`getOrSet` on a memory miss answered from Redis, memory fill included) vs a bare
 *    ioredis `GET` of the same serialized string, both awaited one at a time on the same connection
 *    (latency ratio, wall time; bar: <= 1.3). Ops alternate one by one; a round's ratio is the ratio of the
 *    median latencies, and the result the median over rounds.
 *
 * For (1), each round runs every case for several slices and keeps the fastest slice (the one least
 * disturbed by other processes); the ratio is the median over rounds of the per-round ratios.
 *
 * Run: `npx tsx bench/redis/index.ts [--ci]` (needs Redis at REDIS_URL or 127.0.0.1:6379).
 * The bench orchestrator calls {@link runRedisBench}.
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { larderSubpaths } from '../lib/larder.js';

type Core = typeof import('../../src/index.js');
type RedisModule = typeof import('../../src/redis/index.js');

/** One measured ratio and its bar. */
export interface RedisBenchResult {
  /** What is compared, and in which direction the bar applies. */
  name: string;
  /** The median of the per-round ratios. */
  ratio: number;
  /** The bar: a minimum for throughput ratios, a maximum for latency ratios (see `name`). */
  bar: number;
  /** Whether the ratio meets the bar. */
  pass: boolean;
}

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** Loads larder: the build the orchestrator prepared, else the sources. */
async function load(): Promise<{ core: Core; redis: RedisModule }> {
  const prepared = larderSubpaths();
  const coreUrl = prepared.larder;
  const redisUrl = prepared['larder/redis'];
  if (coreUrl !== undefined && redisUrl !== undefined) {
    return { core: (await import(coreUrl)) as Core, redis: (await import(redisUrl)) as RedisModule };
  }
  return { core: await import('../../src/index.js'), redis: await import('../../src/redis/index.js') };
}

async function connect(): Promise<Redis | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    // As createCache configures its connection.
    enableOfflineQueue: false,
    commandTimeout: 250,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch {
    client.disconnect();
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A body that performs `n` operations and returns a checksum. */
type Loop = (n: number) => number | Promise<number>;

interface Case {
  id: string;
  loop: Loop;
  clock?: Clock;
  /** Throws when a sample did not do what it should (e.g. a read that was not a hit). */
  verify?: (n: number) => void;
}

interface Sampling {
  /** Warm-up per case, ms. */
  warmupMs: number;
  /** Length of one slice, ms. */
  sliceMs: number;
  /** Slices per sample; a sample's rate is its fastest slice (the least disturbed by other processes). */
  slices: number;
  /** Interleaved rounds. */
  rounds: number;
}

/**
 * Which clock a case is timed with: `cpu` (this process's CPU time: for pure in-memory work, it does not
 * count the time the process waits for a core on a busy machine) or `wall` (for work that waits on Redis).
 */
type Clock = 'cpu' | 'wall';

async function timeOnce(loop: Loop, n: number, clock: Clock = 'wall'): Promise<number> {
  if (clock === 'cpu') {
    const c0 = process.cpuUsage();
    const r = loop(n);
    if (typeof r !== 'number') await r;
    const used = process.cpuUsage(c0);
    return (used.user + used.system) / 1000;
  }
  const t0 = performance.now();
  const r = loop(n);
  if (typeof r !== 'number') await r;
  return performance.now() - t0;
}

async function calibrate(loop: Loop, ms: number, clock: Clock = 'wall'): Promise<number> {
  let n = 16;
  for (;;) {
    const took = await timeOnce(loop, n, clock);
    if (took >= ms / 4) return Math.max(1, Math.ceil((n * ms) / took));
    n *= 4;
  }
}

/**
 * Interleaved sampling: each round runs every case (in rotating order) for `slices` slices and keeps the
 * fastest slice's rate. Returns rates per case, one per round, so that ratios can be paired per round.
 */
async function interleave(cases: readonly Case[], s: Sampling): Promise<Map<string, number[]>> {
  const counts = new Map<string, number>();
  for (const c of cases) {
    const n = await calibrate(c.loop, s.sliceMs, c.clock);
    const end = performance.now() + s.warmupMs;
    while (performance.now() < end) await timeOnce(c.loop, n, c.clock);
    counts.set(c.id, await calibrate(c.loop, s.sliceMs, c.clock));
  }
  const rates = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  for (let round = 0; round < s.rounds; round++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(round + j) % cases.length] as Case;
      const n = counts.get(c.id) as number;
      let best = 0;
      for (let k = 0; k < s.slices; k++) {
        const ms = await timeOnce(c.loop, n, c.clock);
        c.verify?.(n);
        if (ms > 0) best = Math.max(best, (n / ms) * 1000);
      }
      (rates.get(c.id) as number[]).push(best);
    }
  }
  return rates;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median over rounds of `a[i] / b[i]`. */
function pairedMedian(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / (b[i] as number)));
}

/** A typical database row (plain JSON). */
function row(i: number) {
  return {
    id: i,
    email: `user${i}@example.com`,
    name: `User Number ${i}`,
    plan: i % 3 === 0 ? 'pro' : 'free',
    active: true,
    score: i * 1.5,
    createdAt: '2024-05-01T12:00:00.000Z',
    roles: ['reader', 'writer'],
    address: { city: 'Lyon', zip: '69001', country: 'FR' },
  };
}

/**
 * Runs both comparisons and returns their ratios. Throws in CI when Redis is not there; elsewhere returns
 * an empty list (with a note on stderr).
 */
export async function runRedisBench(opts: { ci: boolean }): Promise<RedisBenchResult[]> {
  const client = await connect();
  if (client === undefined) {
    if (opts.ci) throw new Error(`bench/redis: no Redis at ${REDIS_URL} (run scripts/ensure-redis.sh)`);
    console.warn(`bench/redis: skipped, no Redis at ${REDIS_URL}`);
    return [];
  }
  const { core, redis } = await load();
  const prefix = `larder-bench:${process.pid}:${Date.now()}:`;
  const sampling: Sampling = opts.ci
    ? { warmupMs: 300, sliceMs: 30, slices: 5, rounds: 15 }
    : { warmupMs: 1500, sliceMs: 60, slices: 7, rounds: 25 };
  const results: RedisBenchResult[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    // ------------------------------------------------------------ 1. memory hits, with vs without tier+bus
    const KEYS = 1024;
    const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
    const options = { max: 10_000, ttl: '5m' } as const;
    const plain = new core.Cache<string, number>(options);
    const tiered = redis.createCache<string, number>({ ...options, redisUrl: REDIS_URL, redis: { prefix } });
    closers.push(
      () => plain.close(),
      () => tiered.close(),
    );
    while (tiered.stats().busMessages < 1) await sleep(5); // subscribed and connected
    for (const [i, k] of keys.entries()) {
      plain.set(k, i);
      tiered.set(k, i);
    }
    await sleep(100);
    const loader = (): number => {
      throw new Error('a memory hit was expected');
    };
    const getLoop = (cache: typeof plain) => (n: number) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += cache.get(keys[i & (KEYS - 1)] as string) as number;
      return sum;
    };
    const getOrSetLoop = (cache: typeof plain) => async (n: number) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await cache.getOrSet(keys[i & (KEYS - 1)] as string, loader);
      return sum;
    };
    for (const [label, make] of [
      ['get', getLoop],
      ['getOrSet', getOrSetLoop],
    ] as const) {
      const cases: Case[] = [
        { id: 'plain', loop: make(plain), clock: 'cpu' },
        { id: 'tiered', loop: make(tiered), clock: 'cpu' },
      ];
      const rates = await interleave(cases, sampling);
      const ratio = pairedMedian(rates.get('tiered') as number[], rates.get('plain') as number[]);
      results.push({
        name: `memory ${label} hit with Redis tier+bus / without (throughput, higher is better, bar is a minimum)`,
        ratio,
        bar: 0.95,
        pass: ratio >= 0.95,
      });
    }

    // ------------------------------------------------------------ 2. Redis-tier hit vs bare GET
    const ROWS = 256;
    const tier = redis.redisTier(client, { prefix });
    closers.push(() => tier.close());
    // Memory holds one entry, so every read of the next key misses memory and is answered by Redis.
    const l2 = new core.Cache<string, ReturnType<typeof row>>({ max: 1, ttl: '5m', tier });
    closers.push(() => l2.close());
    const rowKeys = Array.from({ length: ROWS }, (_, i) => `row:${i}`);
    const rawKeys = rowKeys.map((k) => `${prefix}raw:${k}`);
    for (const [i, k] of rowKeys.entries()) l2.set(k, row(i));
    await sleep(200);
    for (const [i, k] of rowKeys.entries()) {
      const stored = await client.get(`${prefix}v:${k}`);
      if (stored === null) throw new Error(`bench/redis: ${k} did not reach Redis`);
      await client.set(rawKeys[i] as string, stored);
    }
    const failLoader = (): never => {
      throw new Error('a tier hit was expected');
    };
    // Latency, op by op: each pair runs one bare GET and one tier hit (alternating which goes first), so that
    // both see the same machine; the median per-op latency ignores the ops delayed by other processes.
    const latencies = async (pairs: number, offset: number): Promise<[number[], number[]]> => {
      const bare: number[] = [];
      const tier: number[] = [];
      for (let i = 0; i < pairs; i++) {
        const j = (offset + i) % ROWS;
        for (let k = 0; k < 2; k++) {
          if ((i + k) % 2 === 0) {
            const t0 = performance.now();
            await client.get(rawKeys[j] as string);
            bare.push(performance.now() - t0);
          } else {
            const t0 = performance.now();
            await l2.getOrSet(rowKeys[j] as string, failLoader);
            tier.push(performance.now() - t0);
          }
        }
      }
      return [bare, tier];
    };
    const before = l2.stats();
    await latencies(opts.ci ? 300 : 2000, 0); // warm-up
    const ratios: number[] = [];
    const rounds = opts.ci ? 9 : 15;
    const pairs = opts.ci ? 1000 : 3000;
    for (let r = 0; r < rounds; r++) {
      const [bare, tier] = await latencies(pairs, r * 17);
      ratios.push(median(tier) / median(bare));
    }
    const after = l2.stats();
    if (
      after.tierHits - before.tierHits !== after.loads - before.loads ||
      after.loadErrors !== before.loadErrors
    ) {
      throw new Error('bench/redis: not every read was a tier hit');
    }
    const ratio = median(ratios);
    results.push({
      name: 'Redis-tier hit latency / bare ioredis GET of the same string (lower is better, bar is a maximum)',
      ratio,
      bar: 1.3,
      pass: ratio <= 1.3,
    });
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await client.unlink(...found);
    } while (cursor !== '0');
    client.disconnect();
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ci = process.argv.includes('--ci');
  const results = await runRedisBench({ ci });
  for (const r of results) {
    console.log(`${r.pass ? 'PASS' : 'FAIL'}  ${r.ratio.toFixed(3)} (bar ${r.bar})  ${r.name}`);
  }
  if (results.some((r) => !r.pass)) process.exitCode = 1;
}
