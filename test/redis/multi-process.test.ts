import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../../bench/lib/worker-rpc.js';
import { deleteKeys, redisForTests, uniquePrefix } from '../helpers/redis-server.js';
import { expectedPolicy } from '../helpers/test-policy.js';

const url = await redisForTests('larder/redis multi-process tests');
/** One app instance, run in its own Node process by a WorkerClient. */
const WORKER = new URL('./fixtures/worker.ts', import.meta.url);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(url)('three Cache instances in three Node processes sharing one Redis', () => {
  const prefix = uniquePrefix('procs');
  let p: WorkerClient[] = [];
  let admin: Redis;

  beforeAll(async () => {
    admin = new Redis(url as string);
    p = [new WorkerClient(WORKER), new WorkerClient(WORKER), new WorkerClient(WORKER)];
    await Promise.all(p.map((i) => i.ready));
    await Promise.all(p.map((i) => i.call('init', { url, prefix })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(p.map((i) => i.call('close').catch(() => i.kill())));
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  it(`every instance builds its caches under this run's policy (${expectedPolicy()})`, async () => {
    expect(await Promise.all(p.map((i) => i.call('policy')))).toEqual(p.map(() => expectedPolicy()));
  });

  it('a write on one is seen by the others within 50 ms', async () => {
    const [a, b, c] = p as [WorkerClient, WorkerClient, WorkerClient];
    const heard = async (i: WorkerClient) => (await i.call<{ busMessages: number }>('stats')).busMessages;
    const before = [await heard(b), await heard(c)];
    await a.call('set', { key: 'shared', value: 'v0' });
    // Let a's invalidation for v0 reach b and c first: arriving after they read v0 from Redis, it would drop
    // their fresh copies (harmless, one more Redis read, but then the rounds below would not start from memory).
    while ((await heard(b)) === before[0] || (await heard(c)) === before[1]) await sleep(2);
    // Both others hold v0 in memory...
    expect(await b.call('getOrSet', { key: 'shared', value: 'loader' })).toBe('v0');
    expect(await c.call('getOrSet', { key: 'shared', value: 'loader' })).toBe('v0');
    expect(await b.call('peek', { key: 'shared' })).toBe('v0');
    for (let round = 1; round <= 3; round++) {
      const value = `v${round}`;
      const seen = [
        b.call<number>('watch', { key: 'shared', expect: value }),
        c.call<number>('watch', { key: 'shared', expect: value }),
      ];
      await sleep(20);
      const writtenAt = await a.call<number>('set', { key: 'shared', value });
      const [seenB, seenC] = await Promise.all(seen);
      expect((seenB as number) - writtenAt).toBeLessThan(50);
      expect((seenC as number) - writtenAt).toBeLessThan(50);
    }
  });

  it('tag invalidation reaches every instance (memory and Redis)', async () => {
    const [a, b, c] = p as [WorkerClient, WorkerClient, WorkerClient];
    await a.call('set', { key: 'tagged', value: 'before', tags: ['g'] });
    expect(await b.call('getOrSet', { key: 'tagged', value: 'loader' })).toBe('before');
    expect(await c.call('getOrSet', { key: 'tagged', value: 'loader' })).toBe('before');
    const seen = [
      a.call<number>('watch', { key: 'tagged', expect: 'not in the cache' }),
      b.call<number>('watch', { key: 'tagged', expect: 'not in the cache' }),
    ];
    await sleep(20);
    const at = await c.call<number>('invalidateTag', { tag: 'g' });
    for (const t of await Promise.all(seen)) expect(t - at).toBeLessThan(50);
    expect(await a.call('getOrSet', { key: 'tagged', value: 'after' })).toBe('after');
  });

  it('a value loaded by one instance fills another from Redis without a second load', async () => {
    const [a, b] = p as [WorkerClient, WorkerClient, WorkerClient];
    const before = [await a.call<number>('loaderCalls'), await b.call<number>('loaderCalls')];
    expect(await a.call('getOrSet', { key: 'l2', value: { n: 1, when: '2024' } })).toEqual({
      n: 1,
      when: '2024',
    });
    expect(await b.call('getOrSet', { key: 'l2', value: 'a second load' })).toEqual({ n: 1, when: '2024' });
    expect(await a.call<number>('loaderCalls')).toBe((before[0] as number) + 1);
    expect(await b.call<number>('loaderCalls')).toBe(before[1]);
    expect((await b.call<{ tierHits: number }>('stats')).tierHits).toBeGreaterThan(0);
  });

  it('3 processes x 100 concurrent cold getOrSet of one key call the loader at most 3 times', async () => {
    const before = await Promise.all(p.map((i) => i.call<number>('loaderCalls')));
    const results = await Promise.all(
      p.map((i) => i.call<string[]>('concurrent', { key: 'cold', n: 100, delay: 30 })),
    );
    const after = await Promise.all(p.map((i) => i.call<number>('loaderCalls')));
    const loads = after.reduce((sum, n, i) => sum + n - (before[i] as number), 0);
    expect(loads).toBeGreaterThanOrEqual(1);
    expect(loads).toBeLessThanOrEqual(3);
    for (const list of results) {
      expect(list).toHaveLength(100);
      expect(new Set(list).size).toBe(1);
    }
  });
});
