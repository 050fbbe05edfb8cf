/**
 * How stale can an instance be after another instance writes? Measures, for two instances in two processes
 * sharing a database, the time from "A updated the row and told its cache" to "B's cache returns the new
 * row", in three setups (the numbers in docs/scaling.md come from here):
 *
 * - `memory`: memory-only caches (no Redis): B serves the old row until its own TTL runs out
 * - `bus`: memory + the Redis invalidation bus: B drops its copy and reloads from the database
 * - `bus+tier`: createCache (memory + Redis tier + bus): B drops its copy and reads A's value from Redis
 *
 * Run: `npx tsx bench/redis/staleness.ts [--rounds 200]` (needs Redis at REDIS_URL or 127.0.0.1:6379).
 *
 * @module
 */
import { Redis } from 'ioredis';
import { WorkerClient } from '../lib/worker-rpc.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const INSTANCE = new URL('./instance.ts', import.meta.url);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function describeMs(values: number[]): string {
  if (values.length === 0) return 'n/a';
  const s = [...values].sort((a, b) => a - b);
  const f = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
  return `p50 ${f(quantile(s, 0.5))} ms, p99 ${f(quantile(s, 0.99))} ms, max ${f(s[s.length - 1] as number)} ms`;
}

async function run(setup: 'memory' | 'bus' | 'bus+tier', rounds: number, ttl: number): Promise<void> {
  const prefix = `larder-staleness:${process.pid}:${setup}:`;
  const a = new WorkerClient(INSTANCE);
  const b = new WorkerClient(INSTANCE);
  await Promise.all([a.ready, b.ready]);
  await Promise.all([a, b].map((i) => i.call('init', { url: REDIS_URL, prefix, ttl, setup })));
  const visible: number[] = [];
  const dropped: number[] = [];
  let never = 0;
  for (let r = 0; r < rounds; r++) {
    const key = `row:${r % 10}`;
    const value = `v${r}`;
    // B holds the current row in memory.
    await b.call('read', { key });
    const watching = b.call<{ seen: number | null; dropped: number | null }>('watch', {
      key,
      expect: value,
      timeout: ttl + 1000,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const at = await a.call<number>('write', { key, value, how: r % 2 === 0 ? 'set' : 'delete' });
    const seen = await watching;
    if (seen.seen === null) never++;
    else visible.push(seen.seen - at);
    if (seen.dropped !== null) dropped.push(seen.dropped - at);
  }
  console.log(
    `${setup.padEnd(9)} B sees A's write after ${describeMs(visible)}${never > 0 ? ` (${never} never)` : ''}`,
  );
  if (dropped.length > 0)
    console.log(`${''.padEnd(9)} B's memory copy dropped by the bus after ${describeMs(dropped)}`);
  await Promise.all([a.call('close').catch(() => {}), b.call('close').catch(() => {})]);
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
}

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 200;
console.log(`staleness after a write on another instance (${rounds} writes, loopback Redis at ${REDIS_URL})`);
await run('memory', Math.min(rounds, 10), 1000);
await run('bus', rounds, 60_000);
await run('bus+tier', rounds, 60_000);
