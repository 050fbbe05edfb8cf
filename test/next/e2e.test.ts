/**
 * End to end: one `next build` of test/next/fixture-app, two `next start` instances sharing a private Redis
 * (which the test stops and restarts), a round-robin proxy, and routes that count their renders.
 *
 * Under `LARDER_TEST_POLICY` (the `lru` vitest project) the handlers' memory tier uses that policy: the
 * handlers take no `policy` option, so the bundle of src/next the instances load gets it as its default, as
 * the in-process suites do through test/helpers/lru-default.ts.
 *
 * Each run builds into a `distDir` and a bundle of its own (removed afterwards), so runs of this file at the
 * same time (the two vitest projects, or two checkouts' worth of test runs in one tree) never share a build.
 * LARDER_NEXT_E2E_REUSE_BUILD=1 (local iteration) uses a fixed one per policy instead, and keeps it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLarderNext } from '../../bench/lib/next-bundle.js';
import { warmFromBuild } from '../../src/next/index.js';
import { pageEntrySizes } from '../helpers/next-entry.js';
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
const policy = process.env.LARDER_TEST_POLICY || undefined;
if (policy !== undefined && policy !== 'lru' && policy !== 'tinylfu') {
  throw new Error(`LARDER_TEST_POLICY must be 'lru' or 'tinylfu'; got ${JSON.stringify(policy)}`);
}
const reuseBuild = process.env.LARDER_NEXT_E2E_REUSE_BUILD === '1';
/** This run's name: its build and bundle are its own. */
const run = reuseBuild ? (policy ?? 'default') : `${policy ?? 'default'}-${process.pid}-${Date.now()}`;
const bundleDir = join(root, 'node_modules', '.cache', 'larder-next-e2e', run);
const bundle = join(bundleDir, 'index.mjs');
/** The fixture's `distDir`, relative to it (ending in `.next`, so git and biome ignore it). */
const distDir = reuseBuild && policy === undefined ? '.next' : join('.e2e', run, '.next');

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

/** The id the build gave a Server Action of the fixture's app/actions.js. */
function actionId(name: string): string {
  const manifest = JSON.parse(
    readFileSync(join(app, distDir, 'server', 'server-reference-manifest.json'), 'utf8'),
  ) as { node: Record<string, { exportedName?: string; filename?: string }> };
  for (const [id, action] of Object.entries(manifest.node)) {
    if (action.exportedName === name && action.filename?.endsWith('app/actions.js')) return id;
  }
  throw new Error(`no Server Action ${name} in the build's server-reference-manifest.json`);
}

/**
 * Calls the fixture's `updateTagAction` Server Action (`updateTag(tag)`) the way Next.js's client router
 * does: a POST to the page that uses it, with the action id in `Next-Action` and the arguments as the body.
 */
async function updateTag(instance: Instance, tag: string): Promise<void> {
  const origin = `http://127.0.0.1:${instance.port}`;
  const res = await fetch(`${origin}/action`, {
    method: 'POST',
    headers: {
      'Next-Action': actionId('updateTagAction'),
      'Content-Type': 'text/plain;charset=UTF-8',
      Accept: 'text/x-component',
      Origin: origin,
    },
    body: JSON.stringify([tag]),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  expect(res.status).toBe(200);
  // The action's return value, in the RSC payload of the response.
  expect(text).toContain(`{"ok":true,"by":"${instance.name}"}`);
}

/** Regenerates a Pages Router page now (`res.revalidate(path)` in an API route). */
async function revalidatePage(port: number, path: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/api/revalidate-page?path=${encodeURIComponent(path)}`, {
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

  async function start(instance: Instance, keyPrefix = prefix): Promise<void> {
    spawnNext(instance, keyPrefix);
    await up(instance);
  }

  function spawnNext(instance: Instance, keyPrefix = prefix): void {
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
          LARDER_PREFIX: keyPrefix,
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

  /**
   * Revalidates on one instance and waits until the tag record is in Redis (Next.js runs revalidations after
   * the route's response is sent, in waitUntil), then gives pub/sub a moment to deliver it.
   */
  async function revalidateEverywhere(instance: Instance, query: string, tag: string): Promise<void> {
    await everywhere(tag, () => revalidate(instance.port, query));
  }

  /** Runs an invalidation of `tag`, waits for its record in Redis, then gives pub/sub a moment to deliver it. */
  async function everywhere(tag: string, invalidate: () => Promise<void>): Promise<void> {
    const before = await admin.hget(`${prefix}tags`, tag);
    await invalidate();
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
    let policySet = false;
    await bundleLarderNext(bundle, [
      {
        name: 'test-policy',
        setup(b) {
          if (policy === undefined) return;
          b.onLoad({ filter: /[\\/]src[\\/]policy[\\/]default-policy\.ts$/ }, () => {
            policySet = true;
            return { contents: `export const DEFAULT_POLICY = ${JSON.stringify(policy)};`, loader: 'ts' };
          });
        },
      },
    ]);
    if (policy !== undefined && !policySet) {
      throw new Error('LARDER_TEST_POLICY: src/policy/default-policy.ts is not in the bundle of src/next');
    }
    // One build per run (LARDER_NEXT_E2E_REUSE_BUILD=1 reuses an existing one while iterating locally).
    if (!(reuseBuild && existsSync(join(app, distDir, 'BUILD_ID')))) {
      // No Redis during the build: it must work without one.
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
    if (!reuseBuild) {
      rmSync(join(app, '.e2e', run), { recursive: true, force: true });
      rmSync(bundleDir, { recursive: true, force: true });
      try {
        rmdirSync(join(app, '.e2e')); // once no other run is using it
      } catch {
        // another run's build is in it
      }
    }
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

  it('updateTag (a Server Action) on A makes the next request on either instance fresh, with one regeneration', async () => {
    const before = await data(a.port, '/uc/3');
    expect(await data(b.port, '/uc/3')).toBe(before);
    await everywhere('uc-3', () => updateTag(a, 'uc-3'));
    const fresh = await data(b.port, '/uc/3');
    expect(fresh).not.toBe(before);
    expect(by(fresh)).toBe('B');
    expect(await data(a.port, '/uc/3')).toBe(fresh);
    expect(await data(b.port, '/uc/3')).toBe(fresh);
    expect((await counts(a.port))['uc-3']).toBe(1);
    expect((await counts(b.port))['uc-3']).toBe(1);
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

  it('Pages Router: res.revalidate(path) on B refreshes that page on A and leaves the others alone', async () => {
    const one = await data(a.port, '/ondemand/1');
    const two = await data(a.port, '/ondemand/2');
    expect(await data(b.port, '/ondemand/1')).toBe(one);
    expect(await data(b.port, '/ondemand/2')).toBe(two);
    await revalidatePage(b.port, '/ondemand/1');
    // B regenerated the page and stored it; A drops its memory copy when B's write reaches it over pub/sub.
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
    expect(await data(b.port, '/ondemand/1')).toBe(fresh);
    expect(await data(a.port, '/ondemand/1')).toBe(fresh);
    expect(await data(a.port, '/ondemand/2')).toBe(two);
    expect(await data(b.port, '/ondemand/2')).toBe(two);
    const [onA, onB] = [await counts(a.port), await counts(b.port)];
    expect([onA['od-1'], onB['od-1'], onA['od-2'], onB['od-2']]).toEqual([1, 1, 1, undefined]);
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

  it('compression: a 2 MB page written compressed by A is served by B byte-for-byte', async () => {
    const fromA = await get(a.port, '/catalogue');
    expect(fromA.status).toBe(200);
    expect(fromA.text.length).toBeGreaterThan(1_500_000);
    const keys = await admin.keys(`${prefix}*catalogue*`);
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
  }, 60_000);

  it('a page revalidated while an instance restarts is fresh on it once it is up', async () => {
    const old = await data(a.port, '/static');
    expect(await data(b.port, '/static')).toBe(old);
    await stop(b);
    spawnNext(b);
    // While B starts (its handlers not connected yet), A revalidates the page.
    await revalidateEverywhere(a, 'tag=static', 'static');
    await up(b);
    const fresh = await data(b.port, '/static');
    expect(fresh).not.toBe(old);
    expect(await data(a.port, '/static')).toBe(fresh);
  }, 60_000);

  it('warm: on a fresh Redis the first request of every prerendered page is a hit; a later run keeps revalidations', async () => {
    const fresh = uniquePrefix('next-e2e-warm');
    const warmed = await warmFromBuild({ dir: app, distDir, redisUrl: redis.url, prefix: fresh });
    expect(warmed.byOther).toBe(false);
    expect(warmed.written).toBeGreaterThan(0);
    const c: Instance = { name: 'C', port: await sparePort(), process: undefined };
    await start(c, fresh);
    try {
      const manifest = JSON.parse(readFileSync(join(app, distDir, 'prerender-manifest.json'), 'utf8')) as {
        routes: Record<string, unknown>;
      };
      const pages = Object.keys(manifest.routes).filter((r) => !r.startsWith('/_'));
      expect(pages).toEqual(expect.arrayContaining(['/static', '/catalogue', '/isr']));
      for (const page of pages) expect((await get(c.port, page)).status).toBe(200);
      // Nothing rendered on C: every page came from the build, through Redis.
      expect(await counts(c.port)).toEqual({});
      expect(by(await data(c.port, '/static'))).toBe('build');
      // Revalidated on C after the build: a second warm (forced past the done marker) leaves it alone.
      const before = await admin.hget(`${fresh}tags`, 'static');
      await revalidate(c.port, 'tag=static');
      await waitFor(async () => (await admin.hget(`${fresh}tags`, 'static')) !== before, 10_000);
      const regenerated = await data(c.port, '/static');
      expect(by(regenerated)).toBe('C');
      const again = await warmFromBuild({
        dir: app,
        distDir,
        redisUrl: redis.url,
        prefix: fresh,
        force: true,
      });
      expect(again.refused + again.revalidated).toBeGreaterThan(0);
      const key = (await admin.keys(`${fresh}*static*`)).find((k) => !k.includes('catalogue'));
      const sizes = await pageEntrySizes(String(await admin.get(key as string)));
      expect(sizes.html).toContain(regenerated);
      expect(await data(c.port, '/static')).toBe(regenerated);
    } finally {
      await stop(c);
    }
  }, 120_000);

  it('logs no segmentData or pipe errors', () => {
    const all = logs.join('');
    expect(all).not.toMatch(/segmentData|failed to pipe|is not a function|Invariant/i);
  });
});
