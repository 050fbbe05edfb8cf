/**
 * End to end on Next.js 15: one `next build` of test/next/fixture-app-15 with Next.js 15 (the devDependency
 * `next15`, see test/helpers/next15.ts), two `next start` instances sharing a private Redis, and routes that
 * count their renders. The incremental `cacheHandler` only: the `'use cache'` handler is Next.js 16+.
 *
 * Each run builds into a `distDir` and a bundle of its own (removed afterwards).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLarderNext } from '../../bench/lib/next-bundle.js';
import { pageEntrySizes } from '../helpers/next-entry.js';
import { next15Bin } from '../helpers/next15.js';
import {
  hasRedisServerBinary,
  RedisServer,
  sparePort,
  uniquePrefix,
  waitFor,
} from '../helpers/redis-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const app = fileURLToPath(new URL('./fixture-app-15', import.meta.url));
const run = `next15-${process.env.LARDER_TEST_POLICY || 'default'}-${process.pid}-${Date.now()}`;
const bundleDir = join(root, 'node_modules', '.cache', 'larder-next-e2e', run);
const bundle = join(bundleDir, 'index.mjs');
const distDir = join('.e2e', run, '.next');

interface Instance {
  name: string;
  port: number;
  process: ChildProcess | undefined;
}

const logs: string[] = [];

async function get(port: number, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(30_000) });
  return { status: res.status, text: await res.text() };
}

async function data(port: number, path: string): Promise<string> {
  const res = await get(port, path);
  expect(res.status).toBe(200);
  const match = /data:[^<"\\]*/.exec(res.text);
  if (match === null) throw new Error(`no data in ${path}: ${res.text.slice(0, 300)}`);
  return match[0];
}

async function counts(port: number): Promise<Record<string, number>> {
  return (JSON.parse((await get(port, '/api/stats')).text) as { counts: Record<string, number> }).counts;
}

async function post(port: number, path: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    signal: AbortSignal.timeout(15_000),
  });
  expect(res.status).toBe(200);
}

const by = (line: string): string => line.split('|')[1] as string;

describe.runIf(hasRedisServerBinary('larder/next e2e on Next.js 15'))(
  'larder/next on Next.js 15 with two next start instances',
  () => {
    let redis: RedisServer;
    let admin: Redis;
    let nextBin = '';
    const prefix = uniquePrefix('next15-e2e');
    const a: Instance = { name: 'A', port: 0, process: undefined };
    const b: Instance = { name: 'B', port: 0, process: undefined };

    function spawnNext(instance: Instance): void {
      const child = spawn(
        process.execPath,
        [nextBin, 'start', '-p', String(instance.port), '-H', '127.0.0.1'],
        {
          cwd: app,
          env: {
            ...process.env,
            NODE_ENV: 'production',
            NEXT_TELEMETRY_DISABLED: '1',
            INSTANCE_NAME: instance.name,
            REDIS_URL: redis.url,
            LARDER_PREFIX: prefix,
            LARDER_NEXT_ENTRY: bundle,
            LARDER_NEXT_DIST_DIR: distDir,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.on('data', (d: Buffer) => logs.push(`[${instance.name}] ${d}`));
      child.stderr?.on('data', (d: Buffer) => logs.push(`[${instance.name}!] ${d}`));
      instance.process = child;
    }

    async function up(instance: Instance): Promise<void> {
      await waitFor(
        async () => {
          try {
            return (await get(instance.port, '/api/stats')).status === 200;
          } catch {
            return false;
          }
        },
        30_000,
        100,
      );
    }

    async function start(instance: Instance): Promise<void> {
      spawnNext(instance);
      await up(instance);
    }

    async function stop(instance: Instance): Promise<void> {
      const child = instance.process;
      instance.process = undefined;
      if (child === undefined || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }

    /** Runs an invalidation of `tag`, waits for its record in Redis, then gives pub/sub a moment. */
    async function everywhere(tag: string, invalidate: () => Promise<void>): Promise<void> {
      const before = await admin.hget(`${prefix}tags`, tag);
      await invalidate();
      await waitFor(async () => (await admin.hget(`${prefix}tags`, tag)) !== before, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    beforeAll(async () => {
      nextBin = next15Bin(app);
      await bundleLarderNext(bundle);
      execFileSync(process.execPath, [nextBin, 'build'], {
        cwd: app,
        env: {
          ...process.env,
          NEXT_TELEMETRY_DISABLED: '1',
          REDIS_URL: '',
          LARDER_NEXT_ENTRY: bundle,
          LARDER_NEXT_DIST_DIR: distDir,
        },
        stdio: 'ignore',
      });
      redis = await RedisServer.start();
      admin = new Redis(redis.url);
      admin.on('error', () => {});
      a.port = await sparePort();
      b.port = await sparePort();
      await Promise.all([start(a), start(b)]);
    }, 400_000);

    afterAll(async () => {
      if (process.env.LARDER_NEXT_E2E_LOGS === '1') console.log(logs.join(''));
      await Promise.all([stop(a), stop(b)]);
      admin?.disconnect();
      await redis?.stop();
      rmSync(join(app, '.e2e', run), { recursive: true, force: true });
      rmSync(bundleDir, { recursive: true, force: true });
      try {
        rmdirSync(join(app, '.e2e'));
      } catch {
        // another run's build is in it
      }
    }, 30_000);

    it('runs Next.js 15', () => {
      expect(logs.join('')).toMatch(/Next\.js 15\./);
      expect(execFileSync(process.execPath, [nextBin, '--version'], { encoding: 'utf8' })).toMatch(/v15\./);
    });

    it('an ISR page rendered on A is served by B; revalidateTag on A makes it fresh everywhere, once', async () => {
      const first = await data(a.port, '/static');
      expect(await data(b.port, '/static')).toBe(first);
      expect((await counts(b.port)).static).toBeUndefined();
      await everywhere('static', () => post(a.port, '/api/revalidate?tag=static'));
      const fresh = await data(b.port, '/static');
      expect(fresh).not.toBe(first);
      expect(await data(a.port, '/static')).toBe(fresh);
      const total = ((await counts(a.port)).static ?? 0) + ((await counts(b.port)).static ?? 0);
      expect(total).toBe(2);
    });

    it('revalidatePath on B refreshes the page on A', async () => {
      const before = await data(a.port, '/static');
      await everywhere('_N_T_/static', () => post(b.port, '/api/revalidate?path=/static'));
      await waitFor(async () => (await data(a.port, '/static')) !== before, 10_000, 100);
    });

    it('Pages Router: ISR is shared, and res.revalidate(path) on B refreshes the page on A', async () => {
      const isr = await data(a.port, '/isr');
      expect(await data(b.port, '/isr')).toBe(isr);
      const one = await data(a.port, '/ondemand/1');
      expect(await data(b.port, '/ondemand/1')).toBe(one);
      await post(b.port, '/api/revalidate-page?path=%2Fondemand%2F1');
      let fresh = '';
      await waitFor(
        async () => {
          fresh = await data(a.port, '/ondemand/1');
          return fresh !== one;
        },
        10_000,
        50,
      );
      expect(by(fresh)).toBe('B');
    });

    it('the data cache (unstable_cache) is shared and follows tags', async () => {
      const fc = await data(a.port, '/api/fetch-cache');
      expect(await data(b.port, '/api/fetch-cache')).toBe(fc);
      await everywhere('fc', () => post(b.port, '/api/revalidate?tag=fc'));
      const fresh = await data(a.port, '/api/fetch-cache');
      expect(fresh).not.toBe(fc);
      expect(await data(b.port, '/api/fetch-cache')).toBe(fresh);
    });

    it('compression: a 2 MB page written compressed by A is served by B byte-for-byte', async () => {
      const fromA = await get(a.port, '/catalogue');
      expect(fromA.status).toBe(200);
      expect(fromA.text.length).toBeGreaterThan(1_500_000);
      const keys = (await admin.keys(`${prefix}*catalogue*`)).filter((k) => !k.includes('fetch'));
      const values = await Promise.all(keys.map((k) => admin.get(k)));
      const page = values.filter((v): v is string => typeof v === 'string' && v.length > 10_000);
      expect(page.length).toBeGreaterThan(0);
      for (const v of page) {
        expect(v).toMatch(/\n~gz~/);
        // At most 30% of the page's bytes (HTML, RSC payload and segment data, as Next.js handed them over).
        const sizes = await pageEntrySizes(v);
        expect(sizes.html.length).toBeGreaterThan(1_500_000);
        expect(sizes.redis / sizes.page).toBeLessThanOrEqual(0.3);
      }
      const fromB = await get(b.port, '/catalogue');
      expect(fromB.text).toBe(fromA.text);
      expect((await counts(b.port)).catalogue).toBeUndefined();
    });

    it('a page revalidated while an instance restarts is fresh on it once it is up', async () => {
      const old = await data(a.port, '/static');
      expect(await data(b.port, '/static')).toBe(old);
      await stop(b);
      spawnNext(b);
      // While B starts (its handler not connected yet), A revalidates the page.
      await everywhere('static', () => post(a.port, '/api/revalidate?tag=static'));
      await up(b);
      const fresh = await data(b.port, '/static');
      expect(fresh).not.toBe(old);
      expect(await data(a.port, '/static')).toBe(fresh);
    }, 60_000);

    it('logs no segmentData or pipe errors', () => {
      const all = logs.join('');
      expect(all).not.toMatch(/segmentData|failed to pipe|is not a function|Invariant/i);
    });
  },
);
