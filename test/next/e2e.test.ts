/**
 * End to end: one `next build` of test/next/fixture-app, two `next start` instances sharing a private Redis
 * (which the test stops and restarts), a round-robin proxy, and routes that count their renders.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasRedisServerBinary,
  RedisServer,
  sparePort,
  uniquePrefix,
  waitFor,
} from '../helpers/redis-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const app = fileURLToPath(new URL('./fixture-app', import.meta.url));
const nextBin = join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
const bundle = join(root, 'node_modules', '.cache', 'larder-next-e2e', 'index.mjs');

interface Instance {
  name: string;
  port: number;
  process: ChildProcess | undefined;
}

const logs: string[] = [];

async function get(port: number, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, text: await res.text() };
}

/** The `data:<route>|<instance>|<render #>|<time>` line a fixture route prints. */
async function data(port: number, path: string): Promise<string> {
  const res = await get(port, path);
  expect(res.status).toBe(200);
  const match = /data:[^<"\\]*/.exec(res.text);
  if (match === null) throw new Error(`no data in ${path}: ${res.text.slice(0, 300)}`);
  return match[0];
}

async function counts(port: number): Promise<Record<string, number>> {
  const res = await get(port, '/api/stats');
  return (JSON.parse(res.text) as { counts: Record<string, number> }).counts;
}

async function revalidate(port: number, query: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/api/revalidate?${query}`, {
    method: 'POST',
    signal: AbortSignal.timeout(15_000),
  });
  expect(res.status).toBe(200);
}

const by = (line: string): string => line.split('|')[1] as string;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(hasRedisServerBinary('larder/next e2e'))('larder/next with two next start instances', () => {
  let redis: RedisServer;
  let admin: Redis;
  let proxy: Server;
  let proxyPort = 0;
  const prefix = uniquePrefix('next-e2e');
  const a: Instance = { name: 'A', port: 0, process: undefined };
  const b: Instance = { name: 'B', port: 0, process: undefined };

  async function start(instance: Instance): Promise<void> {
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
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (d: Buffer) => logs.push(`[${instance.name}] ${d}`));
    child.stderr?.on('data', (d: Buffer) => logs.push(`[${instance.name}!] ${d}`));
    instance.process = child;
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

  /**
   * Revalidates on one instance and waits until the tag record is in Redis (Next.js runs revalidations after
   * the route's response is sent, in waitUntil), then gives pub/sub a moment to deliver it.
   */
  async function revalidateEverywhere(instance: Instance, query: string, tag: string): Promise<void> {
    const before = await admin.hget(`${prefix}tags`, tag);
    await revalidate(instance.port, query);
    await waitFor(async () => (await admin.hget(`${prefix}tags`, tag)) !== before, 10_000);
    await sleep(100);
  }

  async function stop(instance: Instance): Promise<void> {
    const child = instance.process;
    instance.process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  beforeAll(async () => {
    // The handlers as the package ships them, from the current source (tsup builds dist/ the same way).
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(root, 'src', 'next', 'index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node18',
      external: ['ioredis', 'next', 'lru-cache'],
      outfile: bundle,
      logLevel: 'warning',
    });
    // One build per run (LARDER_NEXT_E2E_REUSE_BUILD=1 reuses an existing one while iterating locally).
    if (!(process.env.LARDER_NEXT_E2E_REUSE_BUILD === '1' && existsSync(join(app, '.next', 'BUILD_ID')))) {
      // No Redis during the build: it must work without one.
      execFileSync(process.execPath, [nextBin, 'build'], {
        cwd: app,
        env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', REDIS_URL: '', LARDER_NEXT_ENTRY: bundle },
        stdio: 'ignore',
      });
    }
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    admin.on('error', () => {});
    a.port = await sparePort();
    b.port = await sparePort();
    await Promise.all([start(a), start(b)]);
    let turn = 0;
    proxy = createServer((req, res) => {
      const port = turn++ % 2 === 0 ? a.port : b.port;
      const upstream = request(
        { host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    proxyPort = typeof address === 'object' && address !== null ? address.port : 0;
  }, 240_000);

  afterAll(async () => {
    if (process.env.LARDER_NEXT_E2E_LOGS === '1') console.log(logs.join(''));
    await Promise.all([stop(a), stop(b)]);
    proxy?.close();
    admin?.disconnect();
    await redis?.stop();
  }, 30_000);

  it("'use cache': rendered on A, served by B without a second render", async () => {
    const first = await data(a.port, '/uc/1');
    expect(by(first)).toBe('A');
    expect(await data(b.port, '/uc/1')).toBe(first);
    expect((await counts(b.port))['uc-1']).toBeUndefined();
    expect((await counts(a.port))['uc-1']).toBe(1);
  });

  it('revalidateTag on A makes the next request on either instance fresh, with one regeneration', async () => {
    const before = await data(a.port, '/uc/1');
    await revalidateEverywhere(a, 'tag=uc-1', 'uc-1');
    const fresh = await data(b.port, '/uc/1');
    expect(fresh).not.toBe(before);
    expect(await data(a.port, '/uc/1')).toBe(fresh);
    const total = ((await counts(a.port))['uc-1'] ?? 0) + ((await counts(b.port))['uc-1'] ?? 0);
    expect(total).toBe(2);
  });

  it('revalidatePath on B refreshes that path on A and leaves the others alone', async () => {
    const one = await data(a.port, '/uc/1');
    const two = await data(a.port, '/uc/2');
    await revalidateEverywhere(b, 'path=/uc/1', '_N_T_/uc/1');
    const fresh = await data(a.port, '/uc/1');
    expect(fresh).not.toBe(one);
    expect(await data(a.port, '/uc/2')).toBe(two);
    expect(await data(b.port, '/uc/2')).toBe(two);
  });

  it('a whole cached page: after A regenerates it, B never serves its older memory copy', async () => {
    const v1 = await data(a.port, '/static');
    expect(await data(b.port, '/static')).toBe(v1);
    await revalidateEverywhere(a, 'tag=static', 'static');
    const v2 = await data(a.port, '/static');
    expect(v2).not.toBe(v1);
    for (let i = 0; i < 5; i++) expect(await data(b.port, '/static')).toBe(v2);
    expect((await counts(b.port)).static).toBeUndefined();
  });

  it('RSC and prefetch requests to B for a page rendered on A answer 200', async () => {
    const v = await data(a.port, '/static');
    const rsc = await get(b.port, '/static', { RSC: '1' });
    expect(rsc.status).toBe(200);
    expect(rsc.text).toContain(v);
    const prefetch = await get(b.port, '/static', { RSC: '1', 'Next-Router-Prefetch': '1' });
    expect(prefetch.status).toBe(200);
    const segment = await get(b.port, '/static', {
      RSC: '1',
      'Next-Router-Prefetch': '1',
      'Next-Router-Segment-Prefetch': '/_tree',
    });
    expect(segment.status).toBe(200);
    expect((await counts(b.port)).static).toBeUndefined();
  });

  it('classic ISR and the data cache are shared and follow tags', async () => {
    const isr = await data(a.port, '/isr');
    expect(await data(b.port, '/isr')).toBe(isr);
    expect((await counts(b.port)).isr).toBeUndefined();
    const fc = await data(a.port, '/api/fetch-cache');
    expect(await data(b.port, '/api/fetch-cache')).toBe(fc);
    await revalidateEverywhere(b, 'tag=fc', 'fc');
    const fresh = await data(a.port, '/api/fetch-cache');
    expect(fresh).not.toBe(fc);
    expect(await data(b.port, '/api/fetch-cache')).toBe(fresh);
  });

  it('keeps the number of Redis connections flat over 500 requests', async () => {
    const count = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .filter((l: string) => l.includes('name=larder')).length;
    const before = await count();
    const paths = ['/uc/1', '/uc/2', '/static', '/isr', '/api/fetch-cache'];
    for (let i = 0; i < 500; i += 10) {
      await Promise.all(paths.flatMap((p) => [get(proxyPort, p), get(proxyPort, p)]));
    }
    expect(await count()).toBe(before);
  }, 120_000);

  it('with Redis stopped, answers 200; when it returns, caching and tag state resync', async () => {
    await redis.kill();
    for (const port of [a.port, b.port]) {
      for (const path of ['/uc/1', '/static', '/isr', '/api/fetch-cache']) {
        expect((await get(port, path)).status).toBe(200);
      }
    }
    const beforeOutageRevalidate = await data(b.port, '/uc/7');
    await revalidate(a.port, 'tag=uc-7');
    await redis.restart();
    // Caching resumes by itself: both instances serve the one entry in Redis.
    await waitFor(
      async () => {
        const v = await data(a.port, '/uc/8');
        return (await data(b.port, '/uc/8')) === v && (await data(a.port, '/uc/8')) === v;
      },
      20_000,
      250,
    );
    // The revalidation made on A during the outage reached B.
    await waitFor(async () => (await data(b.port, '/uc/7')) !== beforeOutageRevalidate, 20_000, 250);
  }, 60_000);

  it('a restarted instance serves from Redis and honours revalidations made while it was down', async () => {
    const page = await data(a.port, '/static');
    const old = await data(a.port, '/uc/1');
    await stop(b);
    await revalidateEverywhere(a, 'tag=uc-1', 'uc-1');
    await start(b);
    expect(await data(b.port, '/static')).toBe(page);
    expect((await counts(b.port)).static).toBeUndefined();
    expect(await data(b.port, '/uc/1')).not.toBe(old);
  }, 60_000);

  it('logs no segmentData or pipe errors', () => {
    const all = logs.join('');
    expect(all).not.toMatch(/segmentData|failed to pipe|is not a function|Invariant/i);
  });
});
