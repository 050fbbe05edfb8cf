/**
 * A master of a Redis Cluster SIGKILLed while two instances run traffic. Runs on a private cluster that the test
 * starts on ports 30011-30016 (scripts/redis-cluster.sh with LARDER_CLUSTER_PORT), so the shared test cluster
 * (30001-30006) stays intact for the other suites. Issue 16.
 *
 * This file runs in both vitest projects at the same time (`tinylfu` and `lru`, see vitest.config.ts): each
 * project gets its own port range (the `lru` run uses 30021-30026), or the two would start, create and stop one
 * cluster at once (that race failed CI: one `--cluster create` found the other's half-made cluster).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { createCache, redisTier } from '../../src/redis/index.js';
import { hasRedisServerBinary, waitFor } from '../helpers/redis-server.js';
import { connected as bothConnected, read } from '../helpers/two-instances.js';

const FIRST_PORT = process.env.LARDER_TEST_POLICY === 'lru' ? 30021 : 30011;
const ports = [0, 1, 2, 3, 4, 5].map((i) => FIRST_PORT + i);
const canRun = hasRedisServerBinary('larder/redis cluster failover');
const script = join(import.meta.dirname, '../../scripts/redis-cluster.sh');
const env = { ...process.env, LARDER_CLUSTER_PORT: String(FIRST_PORT) };
const TIMEOUT = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(canRun)('Redis Cluster: a master SIGKILLed mid-traffic', () => {
  const urls = ports.map((p) => `redis://127.0.0.1:${p}`).join(',');
  const open: Cache<string, unknown>[] = [];
  let admin: Cluster;

  beforeAll(() => {
    // stderr is kept: when the start fails, the error says why.
    execFileSync('bash', [script, 'start'], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    admin = new Cluster([{ host: '127.0.0.1', port: FIRST_PORT }], {
      redisOptions: { commandTimeout: 1000 },
    });
    admin.on('error', () => {});
  }, 70_000);
  afterAll(async () => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    for (const c of open.splice(0)) await c.close().catch(() => {});
    admin?.disconnect();
    execFileSync('bash', [script, 'stop'], { env, stdio: 'ignore', timeout: 30_000 });
  });

  const errors = new Map<Cache<string, unknown>, string[]>();
  const frozen: number[] = [];
  function instance(name: string): Cache<string, unknown> {
    const cache = createCache<string, unknown>({
      redisUrl: urls,
      max: 10_000,
      ttl: 60_000,
      redis: {
        cluster: true,
        prefix: 'failover:',
        timeout: TIMEOUT,
        reconnectDelay: 200,
        client: { connectionName: name },
      },
    });
    const list: string[] = [];
    errors.set(cache, list);
    cache.on('error', (e) => list.push(String(e.error)));
    open.push(cache);
    return cache;
  }

  /** The port of the node a bus subscriber connection named `<name>-bus` is on (asking every node directly). */
  async function subscriberNode(name: string): Promise<number | undefined> {
    for (const port of ports) {
      const node = new Redis(port, {
        lazyConnect: true,
        commandTimeout: 1000,
        connectTimeout: 1000,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      node.on('error', () => {});
      const list = await node
        .connect()
        .then(() => node.call('CLIENT', 'LIST'))
        .then(String, () => '');
      node.disconnect();
      if (list.split('\n').some((line) => line.includes(` name=${name}-bus `))) return port;
    }
    return undefined;
  }

  const connected = (a: Cache<string, unknown>, b: Cache<string, unknown>): Promise<void> =>
    bothConnected(a, b, 15_000);

  /**
   * Two instances run traffic; the master under A's bus subscriber gets `signal` (SIGKILL, or SIGSTOP then
   * SIGCONT once the replica took over); while its slots have no master, A deletes or rewrites keys both hold.
   */
  async function scenario(signal: 'SIGKILL' | 'SIGSTOP', tag: string): Promise<void> {
    const a = instance(`${tag}-a`);
    const b = instance(`${tag}-b`);
    await connected(a, b);
    const KEYS = 120;
    for (let i = 0; i < KEYS; i++) a.set(`${tag}:${i}`, 'v1');
    await sleep(200);
    for (let i = 0; i < KEYS; i++) expect(await read(b, `${tag}:${i}`)).toBe('v1');

    // Traffic on both instances, every call timed.
    let running = true;
    const durations: number[] = [];
    const loop = async (cache: Cache<string, unknown>): Promise<void> => {
      let i = 0;
      while (running) {
        const key = `traffic:${i++ % 60}`;
        const t0 = performance.now();
        await cache.getOrSet(key, async () => `loaded ${key}`);
        if (i % 7 === 0) cache.set(key, `set ${key}`);
        durations.push(performance.now() - t0);
        await sleep(1);
      }
    };
    const done = Promise.all([loop(a), loop(b)]);
    await sleep(200);

    a.set('unchanged', 'kept in memory');
    // Entries A has never read (set by B): during the outage A reads them from the other masters' slots.
    for (let i = 0; i < 60; i++) b.set(`${tag}-spread:${i}`, 's');
    for (let i = 0; i < 60; i++) b.set(`${tag}-batch:${i}`, 'b');
    let victim = 0;
    await waitFor(async () => {
      victim = (await subscriberNode(`${tag}-a`)) ?? 0;
      return victim > 0;
    }, 5000);
    const victimNodes = String(await admin.call('CLUSTER', 'NODES'));
    const firstSlot = (
      victimNodes
        .split('\n')
        .find((line) => line.includes(`:${victim}@`))
        ?.split(' ')[8] ?? ''
    ).split('-')[0] as string;
    expect(firstSlot).toMatch(/^\d+$/);
    const pid = Number(
      readFileSync(
        join(
          process.env.TMPDIR || tmpdir(),
          `larder-redis-cluster-${FIRST_PORT}`,
          String(victim),
          'redis.pid',
        ),
        'utf8',
      ),
    );
    if (signal === 'SIGSTOP') frozen.push(pid);
    process.kill(pid, signal);
    const hitAt = performance.now();
    // While its slots have no master, A changes every key.
    await sleep(100);
    for (let i = 0; i < KEYS; i++) {
      if (i % 2 === 0) a.delete(`${tag}:${i}`);
      else a.set(`${tag}:${i}`, 'v2');
    }
    // Only the failed master's slot groups fail (fast, after one timeout); the others keep answering.
    const t0 = performance.now();
    let hits = 0;
    for (let i = 0; i < 60; i++) if ((await read(a, `${tag}-spread:${i}`)) === 's') hits++;
    const spreadMs = performance.now() - t0;
    expect(spreadMs).toBeLessThan(4 * TIMEOUT);
    expect(hits).toBeGreaterThanOrEqual(30);
    // A batch read too: the failed master's slot groups read as misses, the others answer from the tier.
    let loaded = 0;
    await a.getOrSetMany(
      Array.from({ length: 60 }, (_, i) => `${tag}-batch:${i}`),
      async (missing) => {
        loaded += missing.length;
        return [];
      },
    );
    expect(loaded).toBeLessThanOrEqual(30);
    // The replica takes over (cluster-node-timeout 1000): another node is the healthy master of those slots.
    const probe = new Cluster([{ host: '127.0.0.1', port: ports.find((p) => p !== victim) as number }], {
      redisOptions: { commandTimeout: 500 },
    });
    probe.on('error', () => {});
    const masterOfSlots = async (): Promise<number | undefined> => {
      const nodesText = String(await probe.call('CLUSTER', 'NODES').catch(() => ''));
      for (const line of nodesText.split('\n')) {
        const f = line.split(' ');
        if (
          /master/.test(f[2] ?? '') &&
          !/fail/.test(f[2] ?? '') &&
          f.slice(8).some((r) => r.startsWith(`${firstSlot}-`))
        ) {
          return Number((f[1] ?? '').split(':')[1]?.split('@')[0]);
        }
      }
      return undefined;
    };
    await waitFor(
      async () => {
        const port = await masterOfSlots();
        return port !== undefined && port !== victim;
      },
      15_000,
      50,
    );
    probe.disconnect();
    const failedOverAfter = performance.now() - hitAt;
    // B reads every key now: where the new master answers before A has replayed its failed writes, B reads the
    // old value back into memory (after A's bus message had dropped it). A's replay must reach B's memory again.
    let readBack = 0;
    for (let i = 0; i < KEYS; i++) if ((await read(b, `${tag}:${i}`)) === 'v1') readBack++;
    // A frozen master wakes up as a replica of the new one.
    if (signal === 'SIGSTOP') process.kill(pid, 'SIGCONT');
    await sleep(1500);
    running = false;
    await done;

    const slowest = Math.max(...durations);
    console.info(
      `cluster ${signal}: new master after ${Math.round(failedOverAfter)} ms; ${durations.length} calls, slowest ${Math.round(slowest)} ms; during the outage 60 reads took ${Math.round(spreadMs)} ms, ${hits} tier hits`,
    );
    expect(slowest).toBeLessThanOrEqual(1500);
    // A noticed that its subscriber's node died or hung, subscribed on another master, and dropped its memory.
    const lost = signal === 'SIGKILL' ? /lost the Redis subscription/ : /did not answer a PING/;
    expect(errors.get(a)?.some((e) => lost.test(e))).toBe(true);
    expect(await subscriberNode(`${tag}-a`)).not.toBe(victim);
    expect(a.peek('unchanged')).toBeUndefined();
    // A replays the writes that found no master once its tier reaches the new one (at once on the slot refresh,
    // else on its retry timer): wait, up to 10 s, until Redis holds none of the old values (a bare tier read).
    const bare = new Cluster([{ host: '127.0.0.1', port: ports.find((p) => p !== victim) as number }], {
      redisOptions: { commandTimeout: 1000 },
    });
    bare.on('error', () => {});
    const tier = redisTier(bare, { prefix: 'failover:', timeout: 1000 });
    const fixedFrom = performance.now();
    await waitFor(
      async () => {
        for (let i = 1; i < KEYS; i += 2) {
          const record = await tier.get(`${tag}:${i}`).catch(() => ({ value: 'unreadable' }));
          if (record !== undefined && record.value !== 'v2') return false;
        }
        return true;
      },
      10_000,
      50,
    );
    console.info(
      `cluster ${signal}: Redis held no old value ${Math.round(performance.now() - fixedFrom)} ms after the checks above; B had read ${readBack} old values back after the failover`,
    );
    await tier.close();
    bare.disconnect();
    const c = instance(`${tag}-c`);
    await connected(a, c);
    // Deleted keys are gone; keys set during the failover hold the new value, or nothing when the set could not
    // reach a master (a failed set is replayed as a deletion). Never the old value, on warm or fresh instances.
    for (let i = 0; i < KEYS; i++) {
      const allowed = i % 2 === 0 ? ['miss'] : ['v2', 'miss'];
      for (const [name, cache] of Object.entries({ a, b, c })) {
        const got = String(await read(cache, `${tag}:${i}`));
        expect(allowed, `key ${i} read on ${name}`).toContain(got);
      }
    }
    for (const cache of [a, b, c]) await cache.close();
  }

  it('a master frozen (SIGSTOP): noticed by the heartbeat, slowest call at most 1.5 s, nothing stale after', async () => {
    await scenario('SIGSTOP', 'frozen');
  }, 60_000);

  it('a master SIGKILLed: slowest call at most 1.5 s; writes made without a master are replayed; nothing stale after, warm or fresh', async () => {
    await scenario('SIGKILL', 'killed');
  }, 60_000);
});
