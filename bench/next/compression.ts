/**
 * Compression of `larder/next` entries in Redis (issue 20), on real rendered pages: the prerendered pages of
 * a `next build` of test/next/fixture-app (among them `/catalogue`, about 2 MB of HTML and its RSC payload),
 * stored through the incremental handler with `compress: false`, `'gzip'` and `'brotli'`.
 *
 * Reports, per page and setting: the page's bytes (HTML + RSC + segments), the bytes of its Redis value, and
 * the median latency of `set` (encode + write) and of `get` from Redis (read + decode; no memory tier).
 *
 * Run: `npx tsx bench/next/compression.ts [--dist <.next of a build>]` (needs Redis at REDIS_URL or
 * 127.0.0.1:6379; builds the fixture app into its own distDir when no build is given and none is there).
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type BuildEntry, readBuildOutput } from '../../src/next/build-output.js';
import { createIncrementalCacheHandler, type IncrementalCacheHandler } from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { bundleLarderNext } from '../lib/next-bundle.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const app = join(root, 'test', 'next', 'fixture-app');
const nextBin = join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ROUNDS = 15;

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function build(): Promise<string> {
  const given = argument('--dist');
  if (given !== undefined) return given;
  const distDir = join('.e2e', 'bench-compression', '.next');
  if (existsSync(join(app, distDir, 'BUILD_ID'))) return join(app, distDir);
  const bundle = join(root, 'node_modules', '.cache', 'larder-next-e2e', 'bench-compression', 'index.mjs');
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
  return join(app, distDir);
}

function pageBytes(entry: BuildEntry): number {
  const v = entry.value as {
    html?: string;
    rscData?: Buffer;
    pageData?: unknown;
    segmentData?: Map<string, Buffer>;
  };
  let n = Buffer.byteLength(v.html ?? '');
  if (v.rscData !== undefined) n += v.rscData.byteLength;
  if (v.pageData !== undefined) n += Buffer.byteLength(JSON.stringify(v.pageData));
  for (const s of v.segmentData?.values() ?? []) n += s.byteLength;
  return n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function handler(
  prefix: string,
  name: string,
  extra: Record<string, unknown>,
): Promise<IncrementalCacheHandler> {
  const h = withScope(name, () => {
    const Inc = createIncrementalCacheHandler({ redisUrl, prefix, buildId: 'bench', maxMemory: 0, ...extra });
    return new Inc({});
  });
  await h.get('warm-up', { kind: 'FETCH' });
  return h;
}

async function main(): Promise<void> {
  const distDir = await build();
  const pages = (await readBuildOutput(distDir)).filter((e) => e.kind === 'APP_PAGE' || e.kind === 'PAGES');
  const admin = new Redis(redisUrl);
  const rows: string[] = [];
  rows.push('| page | page bytes | setting | Redis bytes | % of page | set median ms | get median ms |');
  rows.push('|---|---:|---|---:|---:|---:|---:|');
  for (const entry of pages) {
    for (const compress of [false, 'gzip', 'brotli'] as const) {
      const prefix = `larder:bench:compression:${process.pid}:${String(compress)}:`;
      const writer = await handler(prefix, `w-${String(compress)}-${entry.key}`, { compress });
      const reader = await handler(prefix, `r-${String(compress)}-${entry.key}`, { compress });
      const sets: number[] = [];
      const gets: number[] = [];
      let redisBytes = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        await writer.set(entry.key, entry.value, { cacheControl: entry.cacheControl });
        sets.push(performance.now() - t0);
        const t1 = performance.now();
        const got = await reader.get(entry.key, { kind: entry.kind });
        gets.push(performance.now() - t1);
        if (got === null) throw new Error(`no entry read back for ${entry.key}`);
      }
      for (const key of await admin.keys(`${prefix}*`)) {
        if (key.includes(entry.key) && (await admin.type(key)) === 'string')
          redisBytes += await admin.strlen(key);
      }
      const bytes = pageBytes(entry);
      const route = entry.key.replace(/^\/route-cache\/[A-Z_]+\/[0-9a-f]+\/\$/, '');
      rows.push(
        `| ${route} | ${bytes} | ${compress === false ? 'off' : compress} | ${redisBytes} | ${((100 * redisBytes) / bytes).toFixed(1)} | ${median(sets).toFixed(2)} | ${median(gets).toFixed(2)} |`,
      );
      await closeRuntimes();
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    }
  }
  admin.disconnect();
  console.log(rows.join('\n'));
}

await main();
