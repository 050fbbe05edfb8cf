import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { next15Bin } from '../helpers/next15.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const nextBin = fileURLToPath(new URL('../../node_modules/next/dist/bin/next', import.meta.url));
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

let server: ChildProcess | undefined;
let base = '';
let output = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * The example on Next.js 15: a copy in examples/.nextjs-next15 (a sibling, for its `../../express-sqlite`
 * import; ignored by git and biome) with Next.js 15 as its `next` (test/helpers/next15.ts).
 */
const example15 = 'examples/.nextjs-next15';
let nextBin15 = '';

function run(args: string[], bin = nextBin): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`next ${args[0]} exited ${code}:\n${log}`)),
    );
  });
}

async function get(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${base}${path}`, init);
}

interface Stats {
  cache: { hits: number; misses: number };
  dbQueries: number;
  policy: string;
}

async function json<T>(path: string): Promise<T> {
  return (await (await get(path)).json()) as T;
}

beforeAll(async () => {
  if (!existsSync(`${root}/dist/index.js`)) {
    throw new Error('examples/nextjs imports larder from dist/: run `npm run build` before this test');
  }
  await run(['build', 'examples/nextjs']);
}, 600_000);

/** Copies the example for Next.js 15 and builds it there. */
async function build15(): Promise<void> {
  const target = join(root, example15);
  rmSync(target, { recursive: true, force: true });
  cpSync(join(root, 'examples/nextjs'), target, {
    recursive: true,
    filter: (source) => !/[\\/](\.next|node_modules)$/.test(source),
  });
  nextBin15 = next15Bin(target);
  await run(['build', example15], nextBin15);
}

/**
 * Starts `next start` on the build with `POLICY` set to `policy` (unset: larder's default), on Next.js 16 or on
 * the Next.js 15 copy.
 */
async function start(policy: string | undefined, major: 15 | 16 = 16): Promise<void> {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  output = '';
  const serverEnv: NodeJS.ProcessEnv = { ...env };
  delete serverEnv.POLICY;
  if (policy !== undefined) serverEnv.POLICY = policy;
  server = spawn(
    process.execPath,
    [
      major === 15 ? nextBin15 : nextBin,
      'start',
      major === 15 ? example15 : 'examples/nextjs',
      '-p',
      String(port),
      '-H',
      '127.0.0.1',
    ],
    {
      cwd: root,
      env: serverEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  server.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await get('/api/stats')).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300 || server.exitCode !== null) throw new Error(`next start did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stop(): Promise<void> {
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  server = undefined;
}

// One build, started once per eviction policy (the policy is read at start time): this file runs in the
// `tinylfu` vitest project only, since two projects building examples/nextjs at once would share its .next.
// Next.js 15: built (in its copy) once, started with larder's default policy.
describe.each([
  [undefined, 'tinylfu', 16],
  ['lru', 'lru', 16],
  [undefined, 'tinylfu', 15],
] as const)('examples/nextjs (next build + next start, POLICY=%s, Next.js %s)', (policy, reported, major) => {
  beforeAll(async () => {
    if (major === 15) await build15();
    await start(policy, major);
    if (!output.includes(`Next.js ${major}.`)) throw new Error(`expected Next.js ${major}:\n${output}`);
  }, 600_000);
  afterAll(async () => {
    await stop();
    if (major === 15) rmSync(join(root, example15), { recursive: true, force: true });
  }, 60_000);

  it(`runs its cache with the ${reported} policy`, async () => {
    expect((await json<Stats>('/api/stats')).policy).toBe(reported);
  });

  it('serves a course from a route handler through the cache', async () => {
    const before = await json<Stats>('/api/stats');
    const first = await get('/api/courses/3');
    expect(first.status).toBe(200);
    const course = await first.json();
    expect(course).toMatchObject({ id: 3, lessonCount: 20 });
    expect(await (await get('/api/courses/3')).json()).toEqual(course);
    const after = await json<Stats>('/api/stats');
    expect(after.cache.hits).toBeGreaterThan(before.cache.hits);
    expect(after.dbQueries - before.dbQueries).toBeLessThanOrEqual(1);
  });

  it('renders the page with live stats, from the same singleton cache as the route handlers', async () => {
    const stats = await json<Stats>('/api/stats');
    const page = await get('/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('larder + Next.js');
    expect(html).toContain('Deep dive: Node.js #3');
    const hits = Number(/data-stat="hits">(\d+)</.exec(html)?.[1]);
    expect(hits).toBeGreaterThanOrEqual(stats.cache.hits);
    const again = await (await get('/')).text();
    expect(Number(/data-stat="hits">(\d+)</.exec(again)?.[1])).toBeGreaterThan(hits);
  });

  it('renders a course page, and a 404 for a bad id', async () => {
    const page = await get('/courses/5');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('#5');
    expect((await get('/courses/abc')).status).toBe(404);
    expect((await get('/courses/99999')).status).toBe(404);
  });

  it('answers bad input with 4xx JSON errors', async () => {
    for (const [path, status] of [
      ['/api/courses/abc', 400],
      ['/api/courses/0', 400],
      ['/api/courses/99999', 404],
    ] as const) {
      const answer = await get(path);
      expect(answer.status).toBe(status);
      expect(await answer.json()).toEqual({ error: { status, message: expect.any(String) } });
    }
    const put = (body: string) => get('/api/courses/4', { method: 'PUT', body });
    expect((await put('{"price": "free"}')).status).toBe(400);
    expect((await put('not json')).status).toBe(400);
    expect((await put(JSON.stringify({ price: 1, pad: 'x'.repeat(5000) }))).status).toBe(413);
  });

  it('invalidates on write: a PUT shows at once in the route and on the page', async () => {
    await get('/api/courses/2');
    const put = await get('/api/courses/2', { method: 'PUT', body: JSON.stringify({ price: 4321 }) });
    expect(put.status).toBe(200);
    expect((await json<{ price: number }>('/api/courses/2')).price).toBe(4321);
    expect(await (await get('/')).text()).toContain('$43.21');
  });
});
