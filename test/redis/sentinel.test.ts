/**
 * larder/redis through Redis Sentinel: tier and bus on clients made with `sentinels:` (a private redis-server
 * and a private sentinel on spare ports). Issue 16.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { redisBus, redisTier } from '../../src/redis/index.js';
import {
  hasRedisServerBinary,
  RedisServer,
  register,
  sparePort,
  uniquePrefix,
  waitFor,
} from '../helpers/redis-server.js';

const canRun = hasRedisServerBinary('larder/redis through Sentinel');

async function read(cache: Cache<string, unknown>, key: string): Promise<unknown> {
  return cache.getOrSet(key, () => Promise.reject(new Error('miss'))).catch((error: Error) => error.message);
}

describe.runIf(canRun)('larder/redis through Redis Sentinel', () => {
  let server: RedisServer;
  let sentinel: ChildProcess;
  let sentinelPort = 0;
  let dir = '';

  beforeAll(async () => {
    server = await RedisServer.start();
    sentinelPort = await sparePort();
    dir = mkdtempSync(join(tmpdir(), 'larder-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor larder-test 127.0.0.1 ${server.port} 1`,
        'sentinel down-after-milliseconds larder-test 1000',
        '',
      ].join('\n'),
    );
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    register(sentinel);
    const admin = new Redis(sentinelPort, { lazyConnect: true, retryStrategy: () => 50 });
    admin.on('error', () => {});
    await waitFor(async () => {
      try {
        if (admin.status === 'wait') await admin.connect();
        const addr = (await admin.call('SENTINEL', 'get-master-addr-by-name', 'larder-test')) as
          | string[]
          | null;
        return addr?.[1] === String(server.port);
      } catch {
        return false;
      }
    }, 10_000);
    admin.disconnect();
  }, 20_000);
  afterAll(async () => {
    sentinel?.kill('SIGKILL');
    await server?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('shares entries through the tier and invalidates over the bus, with clients made with sentinels:', async () => {
    const prefix = uniquePrefix('sentinel');
    const client = () =>
      new Redis({
        sentinels: [{ host: '127.0.0.1', port: sentinelPort }],
        name: 'larder-test',
        enableOfflineQueue: false,
        commandTimeout: 250,
        maxRetriesPerRequest: 0,
      });
    const clients = [client(), client()];
    const [a, b] = clients.map(
      (c) =>
        new Cache<string, unknown>({
          max: 1000,
          ttl: 60_000,
          tier: redisTier(c, { prefix }),
          bus: redisBus(c, { prefix }),
        }),
    ) as [Cache<string, unknown>, Cache<string, unknown>];
    await waitFor(async () => {
      const probe = `probe:${Math.random()}`;
      a.set(probe, 'x');
      await new Promise((r) => setTimeout(r, 20));
      return (await read(b, probe)) === 'x';
    }, 10_000);
    expect(String(await clients[0]?.call('CLIENT', 'INFO'))).toContain(`laddr=127.0.0.1:${server.port}`);
    a.set('k', 'v1');
    await new Promise((r) => setTimeout(r, 20));
    expect(await read(b, 'k')).toBe('v1');
    expect(b.peek('k')).toBe('v1');
    a.set('k', 'v2');
    await waitFor(() => b.peek('k') === undefined, 3000);
    expect(await read(b, 'k')).toBe('v2');
    a.invalidateTag('none');
    a.delete('k');
    await waitFor(() => b.peek('k') === undefined, 3000);
    expect(await read(b, 'k')).toBe('miss');
    await a.close();
    await b.close();
    for (const c of clients) c.disconnect();
  });
});
