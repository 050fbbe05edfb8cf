import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createIncrementalCacheHandler,
  type IncrementalCacheHandler,
  warmFromBuild,
} from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { clusterForTests } from '../helpers/redis-cluster.js';
import {
  deleteKeys,
  hasRedisServerBinary,
  RedisServer,
  redisForTests,
  uniquePrefix,
  waitFor,
} from '../helpers/redis-server.js';

const url = await redisForTests('larder/next warmFromBuild');
const root = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = 'warm-build-1';

/** Writes a small `next build` output (the files Next.js 16 writes) into a new directory; returns the app dir. */
function fakeBuild(builtAt: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'larder-warm-'));
  const next = join(dir, '.next');
  const files: Record<string, string | Buffer> = {
    BUILD_ID: BUILD,
    'prerender-manifest.json': JSON.stringify({
      version: 4,
      routes: {
        '/p1': { initialRevalidateSeconds: 3600, initialExpireSeconds: 86400 },
        '/p2': { initialRevalidateSeconds: false },
        '/r': { initialRevalidateSeconds: 60 },
        '/isr': { initialRevalidateSeconds: 3600 },
      },
      dynamicRoutes: {},
      notFoundRoutes: [],
    }),
    'server/app/p1.html': '<html><p>page one</p></html>',
    'server/app/p1.rsc': Buffer.from([0, 1, 2, 255]),
    'server/app/p1.meta': JSON.stringify({
      status: 200,
      headers: { 'x-next-cache-tags': '_N_T_/layout,_N_T_/p1,t1' },
      segmentPaths: ['/_tree'],
      routeCache: { key: '/route-cache/APP_PAGE/abc/$/p1' },
    }),
    'server/app/p1.segments/_tree.segment.rsc': Buffer.from('tree'),
    'server/app/p2.html': '<html><p>page two</p></html>',
    'server/app/p2.rsc': Buffer.from('rsc two'),
    'server/app/p2.meta': JSON.stringify({ status: 200, headers: { 'x-next-cache-tags': '_N_T_/p2,t2' } }),
    'server/app/r.body': Buffer.from('{"route":true}'),
    'server/app/r.meta': JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' } }),
    'server/pages/isr.html': '<html><p>isr</p></html>',
    'server/pages/isr.json': JSON.stringify({ pageProps: { n: 1 } }),
    'server/pages/isr.meta': JSON.stringify({}),
    'cache/fetch-cache/fk1': JSON.stringify({
      kind: 'FETCH',
      data: { headers: {}, body: 'ZmV0Y2hlZA==', status: 200, url: 'https://example.com/' },
      revalidate: 60,
      tags: ['ft'],
    }),
  };
  const time = builtAt / 1000;
  for (const [path, content] of Object.entries(files)) {
    const file = join(next, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    utimesSync(file, time, time);
  }
  return dir;
}

describe.runIf(url !== undefined)('warmFromBuild', () => {
  const redisUrl = url as string;
  let admin: Redis;
  const prefixes: string[] = [];
  const dirs: string[] = [];
  let n = 0;
  const builtAt = Date.now() - 60_000;

  function prefix(): string {
    const p = uniquePrefix('next-warm');
    prefixes.push(p);
    return p;
  }
  function build(): string {
    const dir = fakeBuild(builtAt);
    dirs.push(dir);
    return dir;
  }
  async function handler(p: string): Promise<IncrementalCacheHandler> {
    const h = withScope(`warm-${++n}`, () => {
      const Inc = createIncrementalCacheHandler({ redisUrl, prefix: p, buildId: BUILD, maxMemory: 0 });
      return new Inc({});
    });
    await h.get('warm-up', { kind: 'FETCH' });
    return h;
  }

  beforeAll(() => {
    admin = new Redis(redisUrl);
  });
  afterEach(async () => {
    await closeRuntimes();
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(admin, p);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    admin.disconnect();
  });

  it('seeds every prerendered page, route handler and fetch entry: the first read of each is a hit', async () => {
    const p = prefix();
    const dir = build();
    const result = await warmFromBuild({ dir, redisUrl, prefix: p });
    expect(result).toEqual({
      buildId: BUILD,
      entries: 5,
      written: 5,
      refused: 0,
      revalidated: 0,
      byOther: false,
    });
    const h = await handler(p);
    const p1 = await h.get('/route-cache/APP_PAGE/abc/$/p1', { kind: 'APP_PAGE' });
    const v1 = p1?.value as {
      html: string;
      rscData: Buffer;
      segmentData: Map<string, Buffer>;
      status: number;
    };
    expect(v1.html).toBe('<html><p>page one</p></html>');
    expect([...v1.rscData]).toEqual([0, 1, 2, 255]);
    expect(v1.segmentData.get('/_tree')?.toString()).toBe('tree');
    expect(v1.status).toBe(200);
    expect(Math.abs((p1?.lastModified ?? 0) - builtAt)).toBeLessThan(1000);
    expect(p1?.cacheControl).toEqual({ revalidate: 3600, expire: 86400 });
    expect(
      ((await h.get('/p2', { kind: 'APP_PAGE' }))?.value as { html?: string } | undefined)?.html,
    ).toContain('page two');
    const route = (await h.get('/r', { kind: 'APP_ROUTE' }))?.value as { body: Buffer };
    expect(route.body.toString()).toBe('{"route":true}');
    const isr = (await h.get('/isr', { kind: 'PAGES' }))?.value as { pageData: unknown };
    expect(isr.pageData).toEqual({ pageProps: { n: 1 } });
    const fetched = await h.get('fk1', { kind: 'FETCH', tags: ['ft'] });
    expect((fetched?.value as { data?: { body?: string } } | undefined)?.data?.body).toBe('ZmV0Y2hlZA==');
  });

  it('never overwrites a newer entry, nor restores one revalidated after the build', async () => {
    const p = prefix();
    const dir = build();
    const h = await handler(p);
    // At run time, after the build: /p2 regenerated, tag t1 (of /p1) and ft (of the fetch) revalidated.
    await h.set('/p2', { kind: 'APP_PAGE', html: '<p>newer</p>', status: 200, headers: {} }, {});
    await h.revalidateTag('t1');
    await h.revalidateTag(['ft']);
    const result = await warmFromBuild({ dir, redisUrl, prefix: p });
    expect(result).toMatchObject({ written: 2, refused: 1, revalidated: 2, byOther: false });
    const fresh = await handler(p);
    expect(
      ((await fresh.get('/p2', { kind: 'APP_PAGE' }))?.value as { html?: string } | undefined)?.html,
    ).toBe('<p>newer</p>');
    expect(await fresh.get('/route-cache/APP_PAGE/abc/$/p1', { kind: 'APP_PAGE' })).toBeNull();
    expect(await fresh.get('fk1', { kind: 'FETCH', tags: ['ft'] })).toBeNull();
    expect(await fresh.get('/r', { kind: 'APP_ROUTE' })).not.toBeNull();
  });

  it('N processes at once warm once; later runs do nothing unless forced', async () => {
    const p = prefix();
    const dir = build();
    const results = await Promise.all([1, 2, 3, 4].map(() => warmFromBuild({ dir, redisUrl, prefix: p })));
    expect(results.filter((r) => !r.byOther)).toHaveLength(1);
    expect(results.reduce((sum, r) => sum + r.written, 0)).toBe(5);
    expect(await warmFromBuild({ dir, redisUrl, prefix: p })).toMatchObject({ byOther: true, written: 0 });
    // Forced: the same entries again (same times: Redis takes them, the values are the same).
    expect(await warmFromBuild({ dir, redisUrl, prefix: p, force: true })).toMatchObject({
      byOther: false,
      written: 5,
    });
  });

  it.runIf(hasRedisServerBinary('warmFromBuild against a Redis that starts late'))(
    'waits for a Redis that comes up after it starts: a refused connection does not end the wait',
    async () => {
      const server = await RedisServer.reserve();
      const dir = build();
      try {
        const started = Date.now();
        const warming = warmFromBuild({ dir, redisUrl: server.url, prefix: 'larder-test:late:' });
        // Observed at once, so that a rejection during the wait below fails this test rather than the run.
        const outcome = warming.then(
          (result) => ({ result, error: undefined }),
          (error: unknown) => ({ result: undefined, error }),
        );
        // The first connection attempts are refused (nothing listens yet).
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await server.restart();
        const { result, error } = await outcome;
        expect(error).toBeUndefined();
        expect(result).toMatchObject({ buildId: BUILD, written: 5, byOther: false });
        expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
        const direct = new Redis(server.url);
        try {
          expect(await direct.exists(`larder-test:late:warmed:${BUILD}`)).toBe(1);
        } finally {
          direct.disconnect();
        }
      } finally {
        await closeRuntimes();
        await server.kill();
      }
    },
  );

  it('gives up when Redis never answers, after waiting its bound (5 s by default), without showing the password', async () => {
    const never = await RedisServer.reserve();
    const started = Date.now();
    const redisUrl = never.url.replace('redis://', 'redis://:warm-s3cret@');
    const failure = warmFromBuild({ dir: build(), redisUrl, prefix: 'larder-test:never:' });
    await expect(failure).rejects.toThrow(/cannot reach Redis at "redis:\/\/\*\*\*@127\.0\.0\.1:/);
    await expect(failure).rejects.not.toThrow(/warm-s3cret/);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(5000);
    expect(waited).toBeLessThan(15_000);
  }, 30_000);

  it('checks its options and the build', async () => {
    await expect(warmFromBuild({ dir: build(), redisUrl: '' })).rejects.toThrow(/redisUrl/);
    await expect(warmFromBuild({ dir: '', redisUrl })).rejects.toThrow(TypeError);
    await expect(warmFromBuild({ force: 'yes' as never, redisUrl })).rejects.toThrow(/force/);
    await expect(warmFromBuild({ redisUrl, nope: 1 } as never)).rejects.toThrow(/unknown option nope/);
    const empty = mkdtempSync(join(tmpdir(), 'larder-warm-'));
    dirs.push(empty);
    await expect(warmFromBuild({ dir: empty, redisUrl, buildId: 'x' })).rejects.toThrow(/prerender-manifest/);
  });

  /** `node --import tsx src/next/cli.ts warm --dir <dir> --redis-url <redisUrl>`, without `node`. */
  const warmArgs = (dir: string): string[] => [
    '--import',
    'tsx',
    join(root, 'src/next/cli.ts'),
    'warm',
    '--dir',
    dir,
    '--redis-url',
    redisUrl,
  ];

  it('larder-next warm: the command prints what it did', async () => {
    const p = prefix();
    const dir = build();
    const run = promisify(execFile);
    const args = warmArgs(dir);
    const { stdout } = await run(process.execPath, [...args, '--prefix', p], { cwd: root });
    expect(JSON.parse(stdout)).toMatchObject({ buildId: BUILD, written: 5, byOther: false });
    await expect(run(process.execPath, [...args.slice(0, 3), 'cool'], { cwd: root })).rejects.toMatchObject({
      code: 2,
    });
  });

  it("larder-next warm --max-ttl: warmed entries live no longer than the app's maxTtl (nor its tag records)", async () => {
    const p = prefix();
    const dir = build();
    const run = promisify(execFile);
    const cli = warmArgs(dir);
    const { stdout } = await run(
      process.execPath,
      [...cli, '--prefix', p, '--max-ttl', '30s', '--timeout', '1s'],
      { cwd: root },
    );
    expect(JSON.parse(stdout)).toMatchObject({ buildId: BUILD, written: 5 });
    // /p2 has revalidate: false (no expiry of its own): it lives maxTtl.
    const ttl = await admin.pttl(`${p}v:${BUILD}:i:/p2`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    for (const [option, value] of [
      ['--max-ttl', '2x'],
      ['--max-ttl', '0'],
      ['--timeout', 'soon'],
    ]) {
      await expect(
        run(process.execPath, [...cli, '--prefix', p, option as string, value as string], { cwd: root }),
      ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`larder-next: ${option} must be`) });
    }
  });
});

const clusterUrls = await clusterForTests('larder-next warm on a Redis Cluster');

describe.runIf(clusterUrls !== undefined)('larder-next warm --cluster', () => {
  it('seeds a Redis Cluster in the layout that cluster: true handlers read', async () => {
    const redisUrl = (clusterUrls as string[]).join(',');
    const p = uniquePrefix('next-warm-cluster');
    const dir = fakeBuild(Date.now() - 60_000);
    try {
      const run = promisify(execFile);
      const cli = ['--import', 'tsx', join(root, 'src/next/cli.ts'), 'warm', '--dir', dir];
      const { stdout } = await run(
        process.execPath,
        [...cli, '--redis-url', redisUrl, '--prefix', p, '--cluster'],
        { cwd: root },
      );
      expect(JSON.parse(stdout)).toMatchObject({ buildId: BUILD, written: 5, byOther: false });
      const h = withScope('warm-cluster', () => {
        const Inc = createIncrementalCacheHandler({
          redisUrl,
          prefix: p,
          buildId: BUILD,
          maxMemory: 0,
          cluster: true,
        });
        return new Inc({});
      });
      // The handler answers misses until its cluster connection is synced (seconds on a busy CI host).
      let page: { html?: string } | undefined;
      await waitFor(async () => {
        page = (await h.get('/p2', { kind: 'APP_PAGE' }))?.value as { html?: string } | undefined;
        return page !== undefined;
      }, 15_000);
      expect(page?.html).toContain('page two');
    } finally {
      await closeRuntimes();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
