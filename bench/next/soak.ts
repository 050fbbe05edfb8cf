/**
 * Soak benchmark of `larder/next`'s memory bound: one process drives the incremental cache handler (the
 * built package, `larder/next`) with 14,000 distinct ISR pages, the way Next.js does (a miss, a render and a
 * `set`, then reads of earlier pages), and measures how far the process grows beyond its baseline against
 * `maxMemory`. Bar: growth (RSS, after full garbage collections) at most 1.3x `maxMemory`.
 *
 * Pages are shaped like Next.js's `APP_PAGE` values: a 6,000-character `html` string, `rscData` a 2,500-byte
 * `Buffer` built by `Buffer.concat` (so it is a view into Node's shared 8 KiB pool, as Next.js's own buffers
 * under 4 KiB are) and `segmentData`, a `Map` of three small pooled `Buffer`s. With Redis, pages evicted from
 * memory are read back from Redis (decoded buffers) and stored in memory again.
 *
 * Run alone: `node --expose-gc --import tsx bench/next/soak.ts [--redis] [--pages N]` (after `npm run build`);
 * the full suite (`npm run bench`) runs it through {@link runNextSoak}, memory only and with Redis.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { childMain, runIsolated } from '../lib/isolate.js';
import { larderSubpaths } from '../lib/larder.js';

/** Input of the soak child. */
export interface SoakInput {
  /** Distinct pages written (14,000). */
  pages: number;
  /** The handler's `maxMemory` in bytes (64 MiB, the default). */
  maxMemory: number;
  /** Redis URL, or '' for a memory-only handler. */
  redisUrl: string;
}

/** What the soak child measures (bytes, growth over the baseline after full garbage collections). */
export interface SoakOutput {
  /** Resident set size growth. */
  rss: number;
  /**
   * Growth of V8's young generation (physical). V8 sizes it by how much of what is allocated survives (up to
   * 3 x 16 MiB semi-spaces on Node.js 20), whatever the cache's bound; the bar leaves it out.
   */
  newSpace: number;
  /** V8 heap growth (`heapUsed`). */
  heap: number;
  /** `ArrayBuffer` backing store growth (buffers live here). */
  arrayBuffers: number;
  /** V8 heap committed (`heapTotal`) growth. */
  heapTotal: number;
  /** Entries in the memory tier at the end. */
  entries: number;
  /** Seconds the run took. */
  seconds: number;
}

/** One soak bar, in the shape of the Next.js benchmark's results. */
export interface SoakResult {
  /** What was measured. */
  name: string;
  /** RSS growth / maxMemory. */
  ratio: number;
  /** The bar. */
  bar: string;
  /** Whether it met the bar. */
  ok: boolean;
  /** The raw numbers. */
  detail: string;
}

const MiB = 1024 * 1024;
const BAR = 1.3;

interface Handler {
  get(key: string, ctx?: unknown): Promise<unknown>;
  set(key: string, data: unknown, ctx?: unknown): Promise<void>;
}
type HandlerClass = new (ctx?: unknown) => Handler;
interface NextModule {
  createIncrementalCacheHandler(options?: unknown): HandlerClass;
}

/** The memory tier of the handler's runtime (through the process-wide singleton registry). */
interface MemoryTier {
  size: number;
}

async function loadNext(): Promise<NextModule> {
  const fromParent = larderSubpaths()['larder/next'];
  if (fromParent !== undefined) return (await import(fromParent)) as NextModule;
  const dist = join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'next', 'index.js');
  if (!existsSync(dist)) throw new Error('dist/next/index.js does not exist (run npm run build)');
  return (await import(pathToFileURL(dist).href)) as NextModule;
}

/** Physical bytes of V8's new space. */
function newSpace(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
}

function settle(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the soak benchmark must run with --expose-gc');
  for (let i = 0; i < 6; i++) gc();
  return process.memoryUsage();
}

/** Deterministic printable text of `length` one-byte characters (a flat string, as Next.js renders). */
function text(seed: number, length: number): string {
  const bytes = Buffer.allocUnsafeSlow(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = 32 + ((x >>> 0) % 95);
  }
  return bytes.toString('latin1');
}

/** An `APP_PAGE` value as Next.js passes it to `set`: pooled buffers, a Map of segments, a flat html string. */
function page(i: number): unknown {
  const rscData = Buffer.concat([Buffer.from(text(i * 7 + 1, 1200)), Buffer.from(text(i * 7 + 2, 1300))]);
  const segmentData = new Map<string, Buffer>([
    ['/_tree', Buffer.from(text(i * 7 + 3, 400))],
    ['/_index', Buffer.from(text(i * 7 + 4, 900))],
    ['/p/[id]/__PAGE__', Buffer.from(text(i * 7 + 5, 1100))],
  ]);
  return {
    kind: 'APP_PAGE',
    html: `<!DOCTYPE html><html><body><main id="p${i}">${text(i * 7 + 6, 6000)}</main></body></html>`,
    rscData,
    headers: { 'x-next-cache-tags': `_N_T_/layout,_N_T_/p/layout,_N_T_/p/${i}`, 'content-type': 'text/html' },
    postponed: undefined,
    status: 200,
    segmentData,
  };
}

const SET_CTX = { cacheControl: { revalidate: 3600, expire: 86_400 }, isRoutePPREnabled: false };
const GET_CTX = { kind: 'APP_PAGE', isRoutePPREnabled: false };

function memoryTier(): MemoryTier | undefined {
  const registry = (globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>)[
    Symbol.for('larder.singletons')
  ];
  for (const [name, value] of registry ?? []) {
    if (name.startsWith('larder/next:')) return (value as { memory?: MemoryTier }).memory;
  }
  return undefined;
}

/** The child: fills the handler and measures growth. */
export async function soak(input: SoakInput, log: (line: string) => void = () => {}): Promise<SoakOutput> {
  const { createIncrementalCacheHandler } = await loadNext();
  const prefix = `larder-bench:soak:${process.pid}:`;
  const Handler = createIncrementalCacheHandler({
    redisUrl: input.redisUrl,
    prefix,
    buildId: 'soak',
    maxMemory: input.maxMemory,
    onError: (error: unknown, operation: string) => log(`${operation}: ${String(error)}`),
  });
  const started = performance.now();
  // Warm up (code, the runtime, the Redis connection) on keys of their own, then take the baseline.
  for (let i = 0; i < 50; i++) {
    const h = new Handler({});
    await h.get(`/warm/${i}`, GET_CTX);
    await h.set(`/warm/${i}`, page(-1 - i), SET_CTX);
    await h.get(`/warm/${i}`, GET_CTX);
  }
  const before = settle();
  const newSpaceBefore = newSpace();
  let x = 12345;
  for (let i = 0; i < input.pages; i++) {
    // Next.js constructs the handler per request.
    const h = new Handler({});
    if ((await h.get(`/p/${i}`, GET_CTX)) === null) await h.set(`/p/${i}`, page(i), SET_CTX);
    // A visitor of an earlier page (served from memory, or from Redis once evicted).
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    await new Handler({}).get(`/p/${x % (i + 1)}`, GET_CTX);
    if ((i + 1) % 2000 === 0) log(`${i + 1} pages, rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`);
  }
  const after = settle();
  const newSpaceAfter = newSpace();
  const memory = memoryTier();
  const output: SoakOutput = {
    rss: after.rss - before.rss,
    newSpace: newSpaceAfter - newSpaceBefore,
    heap: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    heapTotal: after.heapTotal - before.heapTotal,
    entries: memory?.size ?? 0,
    seconds: (performance.now() - started) / 1000,
  };
  if (input.redisUrl !== '') await dropKeys(input.redisUrl, prefix);
  return output;
}

async function dropKeys(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const admin = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/** What the bar measures: RSS growth without the young generation's. */
function growth(out: SoakOutput): number {
  return out.rss - out.newSpace;
}

function describeRun(input: SoakInput, out: SoakOutput): string {
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  return `${input.pages} pages, maxMemory ${mb(input.maxMemory)}: growth rss ${mb(out.rss)} (young generation ${mb(out.newSpace)} of it), heap ${mb(out.heap)} (committed ${mb(out.heapTotal)}), arrayBuffers ${mb(out.arrayBuffers)} (heap + arrayBuffers ${((out.heap + out.arrayBuffers) / input.maxMemory).toFixed(2)}x maxMemory); ${out.entries} entries in memory; ${out.seconds.toFixed(1)} s`;
}

/**
 * Runs the soak in child processes (`--expose-gc`): memory only, and with Redis when it answers. Full suite only
 * (about a minute).
 */
export async function runNextSoak(opts: {
  redisUrl: string;
  log?: (line: string) => void;
}): Promise<SoakResult[]> {
  const results: SoakResult[] = [];
  for (const redisUrl of ['', opts.redisUrl]) {
    const input: SoakInput = { pages: 14_000, maxMemory: 64 * MiB, redisUrl };
    const out = await runIsolated<SoakOutput>(new URL(import.meta.url), input, {
      exposeGc: true,
      timeoutMs: 600_000,
      onProgress: opts.log,
    });
    const ratio = growth(out) / input.maxMemory;
    results.push({
      name: `larder/next process growth vs maxMemory (${redisUrl === '' ? 'memory only' : 'with Redis'})`,
      ratio,
      bar: `<= ${BAR}`,
      ok: ratio <= BAR,
      detail: describeRun(input, out),
    });
  }
  return results;
}

const asChild = process.send !== undefined && process.env.LARDER_BENCH_INPUT !== undefined;
if (asChild) {
  childMain<SoakInput, SoakOutput>((input) =>
    soak(input, (line) => process.send?.({ kind: 'progress', line })),
  );
} else if (process.argv[1] !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const pagesAt = args.indexOf('--pages');
  const input: SoakInput = {
    pages: pagesAt >= 0 ? Number(args[pagesAt + 1]) : 14_000,
    maxMemory: args.includes('--no-memory') ? 0 : 64 * MiB,
    redisUrl: args.includes('--redis') ? process.env.REDIS_URL || 'redis://127.0.0.1:6379' : '',
  };
  const out = await soak(input, (line) => console.log(line));
  console.log(describeRun(input, out));
  console.log(`ratio ${(growth(out) / input.maxMemory).toFixed(2)} (bar <= ${BAR})`);
  process.exit(0);
}
