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
 * The floor: each run also measures, in a process of its own and the same way, a baseline that holds the same
 * pages with the same access pattern in a bare `lru-cache` bounded by `maxSize` = `maxMemory`, each page
 * counting the bytes larder counts for it (src/next/size.ts's `footprint`), its byte arrays copied into one
 * buffer of its own (as larder does; views of Node's pool would keep the pool alive). With Redis the baseline
 * writes each page to the same Redis (gzip of its JSON and bytes, base64, as larder writes) and reads an
 * evicted page back the same way larder does (GET, base64, gunzip in zlib's thread pool, JSON.parse, the bytes
 * copied into one buffer). Its growth is what an LRU cache of these pages costs on this Node.js; larder's growth
 * over it is what larder adds (larder's W-TinyLFU tier holds as many pages, but not the same ones: memory only it
 * turns away pages read once while they are young, and grows less; docs/nextjs.md "Memory").
 *
 * Run alone: `node --expose-gc --import tsx bench/next/soak.ts [--redis] [--pages N] [--runs N] [--max-memory MiB]`
 * (after `npm run build`; each cache in a child process, the baseline then larder, `--runs` times), or with
 * `--only larder` / `--only lru-cache` for one run in this process; the full suite (`npm run bench`) runs it
 * through {@link runNextSoak}, memory only and with Redis.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { gunzip, gzip } from 'node:zlib';
import { footprint, sizeOf } from '../../src/next/size.js';
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
  /** What holds the pages: larder/next's handler, or the bare `lru-cache` baseline (default `'larder'`). */
  cache?: SoakCacheName;
}

/** The caches the soak measures: larder/next, and the floor it is compared with. */
export type SoakCacheName = 'larder' | 'lru-cache';

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
  /** Entries in the memory tier (the baseline's `lru-cache`) at the end. */
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
  /** The baseline's (`lru-cache`'s) RSS growth / maxMemory in the same run. */
  baseline: number;
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

/** The pages the soak writes. */
export interface Page {
  kind: 'APP_PAGE';
  html: string;
  rscData: Buffer;
  headers: Record<string, string>;
  postponed: undefined;
  status: number;
  segmentData: Map<string, Buffer>;
}

/** An `APP_PAGE` value as Next.js passes it to `set`: pooled buffers, a Map of segments, a flat html string. */
export function page(i: number): Page {
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

/** What the soak drives: a cache of pages (larder/next's handler, or the baseline). */
interface SoakCache {
  /** Whether the page is there (from memory, or read back from Redis). */
  get(key: string): Promise<boolean>;
  /** Stores a page. */
  set(key: string, value: Page): Promise<void>;
  /** Entries held in memory. */
  entries(): number;
  /** Drops what it wrote to Redis. */
  close(): Promise<void>;
}

/** larder/next's incremental handler, constructed per request as Next.js does. */
async function larderCache(
  input: SoakInput,
  prefix: string,
  log: (line: string) => void,
): Promise<SoakCache> {
  const { createIncrementalCacheHandler } = await loadNext();
  const Handler = createIncrementalCacheHandler({
    redisUrl: input.redisUrl,
    prefix,
    buildId: 'soak',
    maxMemory: input.maxMemory,
    onError: (error: unknown, operation: string) => log(`${operation}: ${String(error)}`),
  });
  return {
    get: async (key) => (await new Handler({}).get(key, GET_CTX)) !== null,
    set: (key, value) => new Handler({}).set(key, value, SET_CTX),
    entries: () => memoryTier()?.size ?? 0,
    close: async () => {
      if (input.redisUrl !== '') await dropKeys(input.redisUrl, prefix);
    },
  };
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The page with its byte arrays copied into one buffer of its own (one allocation per page). */
export function ownPage(p: Page): Page {
  let total = p.rscData.byteLength;
  for (const b of p.segmentData.values()) total += b.byteLength;
  const buffer = new ArrayBuffer(total);
  let at = 0;
  const copy = (b: Buffer): Buffer => {
    const out = Buffer.from(buffer, at, b.byteLength);
    out.set(b);
    at += b.byteLength;
    return out;
  };
  const rscData = copy(p.rscData);
  const segmentData = new Map<string, Buffer>();
  for (const [k, v] of p.segmentData) segmentData.set(k, copy(v));
  return { ...p, rscData, segmentData };
}

/** The size larder counts for a page (its value, its tags, an entry's overhead). */
function countedSize(p: Page): number {
  const tags = (p.headers['x-next-cache-tags'] ?? '').split(',').filter((t) => t !== '');
  return footprint({ k: 'i', t: 0, v: p, g: tags, s: sizeOf(p) + 64 });
}

/** What larder stores in Redis for a page, in the baseline's own words: `~gz~` and the base64 of a gzip frame. */
export async function encodePage(p: Page): Promise<string> {
  const shape = {
    ...p,
    rscData: p.rscData.byteLength,
    segmentData: [...p.segmentData].map(([k, v]) => [k, v.byteLength]),
  };
  const json = Buffer.from(JSON.stringify(shape), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.byteLength, 0);
  const packed = await gzipAsync(Buffer.concat([head, json, p.rscData, ...p.segmentData.values()]));
  return `~gz~${packed.toString('base64')}`;
}

/** The inverse of {@link encodePage}, decoding as larder does: base64, gunzip, JSON.parse, one owned buffer. */
export async function decodePage(text: string): Promise<Page> {
  const bytes = await gunzipAsync(Buffer.from(text.slice(4), 'base64'));
  const jsonLength = bytes.readUInt32BE(0);
  const shape = JSON.parse(bytes.toString('utf8', 4, 4 + jsonLength)) as Omit<
    Page,
    'rscData' | 'segmentData'
  > & { rscData: number; segmentData: [string, number][] };
  let at = 4 + jsonLength;
  const take = (n: number): Buffer => {
    const b = bytes.subarray(at, at + n);
    at += n;
    return b;
  };
  const rscData = take(shape.rscData);
  const segmentData = new Map<string, Buffer>(shape.segmentData.map(([k, n]) => [k, take(n)]));
  return ownPage({ ...shape, rscData, segmentData });
}

/**
 * The floor: a bare `lru-cache` bounded by `maxSize` = `maxMemory`, each page counting what larder counts, and
 * with Redis the same writes and the same read-back of evicted pages.
 */
async function baselineCache(input: SoakInput, prefix: string): Promise<SoakCache> {
  const { LRUCache } = await import('lru-cache');
  const lru = new LRUCache<string, Page>({ maxSize: input.maxMemory, sizeCalculation: countedSize });
  const { Redis } = await import('ioredis');
  const redis = input.redisUrl === '' ? undefined : new Redis(input.redisUrl);
  return {
    async get(key) {
      if (lru.get(key) !== undefined) return true;
      if (redis === undefined) return false;
      const text = await redis.get(prefix + key);
      if (text === null) return false;
      lru.set(key, await decodePage(text));
      return true;
    },
    async set(key, value) {
      lru.set(key, ownPage(value));
      if (redis !== undefined) await redis.set(prefix + key, await encodePage(value), 'PX', 86_400_000);
    },
    entries: () => lru.size,
    async close() {
      redis?.disconnect();
      if (input.redisUrl !== '') await dropKeys(input.redisUrl, prefix);
    },
  };
}

/** The child: fills the cache (larder/next's handler, or the baseline) and measures growth. */
export async function soak(input: SoakInput, log: (line: string) => void = () => {}): Promise<SoakOutput> {
  const prefix = `larder-bench:soak:${process.pid}:`;
  const cache =
    input.cache === 'lru-cache' ? await baselineCache(input, prefix) : await larderCache(input, prefix, log);
  const started = performance.now();
  // Warm up (code, the runtime, the Redis connection) on keys of their own, then take the baseline.
  for (let i = 0; i < 50; i++) {
    await cache.get(`/warm/${i}`);
    await cache.set(`/warm/${i}`, page(-1 - i));
    await cache.get(`/warm/${i}`);
  }
  const before = settle();
  const newSpaceBefore = newSpace();
  let x = 12345;
  for (let i = 0; i < input.pages; i++) {
    // Next.js constructs the handler per request (larderCache does).
    if (!(await cache.get(`/p/${i}`))) await cache.set(`/p/${i}`, page(i));
    // A visitor of an earlier page (served from memory, or from Redis once evicted).
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    await cache.get(`/p/${x % (i + 1)}`);
    if ((i + 1) % 2000 === 0) log(`${i + 1} pages, rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`);
  }
  const after = settle();
  const newSpaceAfter = newSpace();
  const output: SoakOutput = {
    rss: after.rss - before.rss,
    newSpace: newSpaceAfter - newSpaceBefore,
    heap: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    heapTotal: after.heapTotal - before.heapTotal,
    entries: cache.entries(),
    seconds: (performance.now() - started) / 1000,
  };
  await cache.close();
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

/** Runs one cache's soak in a child process of its own (`--expose-gc`). */
function soakChild(input: SoakInput, onProgress?: (line: string) => void): Promise<SoakOutput> {
  return runIsolated<SoakOutput>(new URL(import.meta.url), input, {
    exposeGc: true,
    timeoutMs: 600_000,
    onProgress,
  });
}

/** The baseline's and larder's runs on the same input, one after the other (the baseline first). */
async function soakPair(
  input: SoakInput,
  onProgress?: (line: string) => void,
): Promise<{ baseline: SoakOutput; larder: SoakOutput }> {
  const baseline = await soakChild({ ...input, cache: 'lru-cache' }, onProgress);
  const larder = await soakChild({ ...input, cache: 'larder' }, onProgress);
  return { baseline, larder };
}

/** The line that compares larder's growth with the baseline's. */
function describePair(input: SoakInput, pair: { baseline: SoakOutput; larder: SoakOutput }): string {
  const a = growth(pair.larder) / input.maxMemory;
  const b = growth(pair.baseline) / input.maxMemory;
  return `larder ${a.toFixed(2)}x, baseline lru-cache ${b.toFixed(2)}x maxMemory (larder / baseline ${(a / b).toFixed(2)})`;
}

/**
 * Runs the soak in child processes (`--expose-gc`), the baseline then larder: memory only, and with Redis. Full
 * suite only (about a minute).
 */
export async function runNextSoak(opts: {
  redisUrl: string;
  log?: (line: string) => void;
}): Promise<SoakResult[]> {
  const results: SoakResult[] = [];
  for (const redisUrl of ['', opts.redisUrl]) {
    const input: SoakInput = { pages: 14_000, maxMemory: 64 * MiB, redisUrl };
    const pair = await soakPair(input, opts.log);
    const ratio = growth(pair.larder) / input.maxMemory;
    results.push({
      name: `larder/next process growth vs maxMemory (${redisUrl === '' ? 'memory only' : 'with Redis'})`,
      ratio,
      baseline: growth(pair.baseline) / input.maxMemory,
      bar: `<= ${BAR}`,
      ok: ratio <= BAR,
      detail: `${describePair(input, pair)}. larder: ${describeRun(input, pair.larder)}. Baseline: ${describeRun(input, pair.baseline)}`,
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
  const flag = (name: string): string | undefined => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const input: SoakInput = {
    pages: Number(flag('--pages') ?? 14_000),
    maxMemory: args.includes('--no-memory') ? 0 : Number(flag('--max-memory') ?? 64) * MiB,
    redisUrl: args.includes('--redis') ? process.env.REDIS_URL || 'redis://127.0.0.1:6379' : '',
  };
  const only = flag('--only');
  if (only !== undefined) {
    if (only !== 'larder' && only !== 'lru-cache') throw new Error('--only takes larder or lru-cache');
    const out = await soak({ ...input, cache: only }, (line) => console.log(line));
    console.log(describeRun(input, out));
    console.log(`${only}: ratio ${(growth(out) / input.maxMemory).toFixed(2)} (bar <= ${BAR})`);
  } else {
    const runs = Number(flag('--runs') ?? 1);
    for (let run = 1; run <= runs; run++) {
      const pair = await soakPair(input);
      console.log(`baseline: ${describeRun(input, pair.baseline)}`);
      console.log(`larder:   ${describeRun(input, pair.larder)}`);
      console.log(`run ${run}: ${describePair(input, pair)} (bar <= ${BAR})`);
    }
  }
  process.exit(0);
}
