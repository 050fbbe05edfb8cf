import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncrementalCacheControl } from './incremental.js';

/**
 * Reads the entries `next build` wrote to `.next` (prerendered pages, route handlers, the fetch cache) as
 * the values Next.js's file-system cache would give its cache handler, for {@link warmFromBuild}.
 *
 * @internal
 */

/** One entry of the build output. @internal */
export interface BuildEntry {
  /** The cache key Next.js asks the `cacheHandler` for. */
  key: string;
  kind: 'APP_PAGE' | 'APP_ROUTE' | 'PAGES' | 'FETCH';
  /** The value, as Next.js passes it to `set`. */
  value: Record<string, unknown>;
  cacheControl: IncrementalCacheControl | undefined;
  /** When the build rendered it (epoch ms). */
  lastModified: number;
  /** Tags of a fetch entry. */
  tags: string[];
}

interface Meta {
  headers?: Record<string, unknown>;
  status?: number;
  postponed?: string;
  segmentPaths?: string[];
  cacheControl?: IncrementalCacheControl;
  routeCache?: { key?: unknown };
  routeCacheLastModified?: number;
}

interface PrerenderRoute {
  initialRevalidateSeconds?: number | false;
  initialExpireSeconds?: number;
  initialStatus?: number;
  initialHeaders?: Record<string, unknown>;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function mtime(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

function keyOf(meta: Meta | undefined, route: string): string {
  const key = meta?.routeCache?.key;
  return typeof key === 'string' && key.startsWith('/') ? key : route;
}

function cacheControlOf(route: PrerenderRoute, meta: Meta | undefined): IncrementalCacheControl | undefined {
  if (meta?.cacheControl !== undefined) return meta.cacheControl;
  const revalidate = route.initialRevalidateSeconds;
  if (revalidate === undefined) return undefined;
  return { revalidate, expire: route.initialExpireSeconds };
}

/** Reads the `BUILD_ID` of a build. Throws when there is no build at `distDir`. */
export async function readBuildId(distDir: string): Promise<string> {
  const id = (await readFile(join(distDir, 'BUILD_ID'), 'utf8')).trim();
  if (id === '') throw new Error(`${join(distDir, 'BUILD_ID')} is empty`);
  return id;
}

/** Reads every prerendered page, route handler body and fetch-cache entry of the build at `distDir`. */
export async function readBuildOutput(distDir: string): Promise<BuildEntry[]> {
  const manifest = await readJson<{ routes?: Record<string, PrerenderRoute> }>(
    join(distDir, 'prerender-manifest.json'),
  );
  if (manifest === undefined)
    throw new Error(`no prerender-manifest.json in ${distDir}: run next build first`);
  const server = join(distDir, 'server');
  const entries: BuildEntry[] = [];
  for (const [route, info] of Object.entries(manifest.routes ?? {})) {
    const file = route === '/' ? '/index' : route;
    const entry =
      (await appEntry(server, route, file, info)) ?? (await pagesEntry(server, route, file, info));
    if (entry !== undefined) entries.push(entry);
  }
  entries.push(...(await fetchEntries(join(distDir, 'cache', 'fetch-cache'))));
  return entries;
}

async function appEntry(
  server: string,
  route: string,
  file: string,
  info: PrerenderRoute,
): Promise<BuildEntry | undefined> {
  const base = join(server, 'app', file);
  const meta = await readJson<Meta>(`${base}.meta`);
  const body = `${base}.body`;
  const bodyTime = await mtime(body);
  if (bodyTime !== undefined) {
    return {
      key: keyOf(meta, route),
      kind: 'APP_ROUTE',
      value: {
        kind: 'APP_ROUTE',
        body: await readFile(body),
        headers: meta?.headers ?? {},
        status: meta?.status,
      },
      cacheControl: cacheControlOf(info, meta),
      lastModified: meta?.routeCacheLastModified ?? bodyTime,
      tags: [],
    };
  }
  const htmlTime = await mtime(`${base}.html`);
  if (htmlTime === undefined || meta === undefined) return undefined;
  let segmentData: Map<string, Buffer> | undefined;
  if (Array.isArray(meta.segmentPaths)) {
    segmentData = new Map();
    for (const segment of meta.segmentPaths) {
      try {
        segmentData.set(segment, await readFile(`${base}.segments${segment}.segment.rsc`));
      } catch {
        // as Next.js does: a segment that cannot be read is served dynamically
      }
    }
  }
  let rscData: Buffer | undefined;
  // A partially prerendered page (postponed) is resumed at request time: Next.js reads no RSC data for it.
  if (meta.postponed === undefined || meta.postponed === null) {
    try {
      rscData = await readFile(`${base}.rsc`);
    } catch {
      rscData = undefined;
    }
  }
  return {
    key: keyOf(meta, route),
    kind: 'APP_PAGE',
    value: {
      kind: 'APP_PAGE',
      html: await readFile(`${base}.html`, 'utf8'),
      rscData,
      postponed: meta.postponed,
      headers: meta.headers,
      status: meta.status,
      segmentData,
    },
    cacheControl: cacheControlOf(info, meta),
    lastModified: meta.routeCacheLastModified ?? htmlTime,
    tags: [],
  };
}

async function pagesEntry(
  server: string,
  route: string,
  file: string,
  info: PrerenderRoute,
): Promise<BuildEntry | undefined> {
  const base = join(server, 'pages', file);
  const htmlTime = await mtime(`${base}.html`);
  if (htmlTime === undefined) return undefined;
  const meta = await readJson<Meta>(`${base}.meta`);
  const pageData = await readJson<unknown>(`${base}.json`);
  if (pageData === undefined) return undefined;
  return {
    key: keyOf(meta, route),
    kind: 'PAGES',
    value: {
      kind: 'PAGES',
      html: await readFile(`${base}.html`, 'utf8'),
      pageData,
      headers: meta?.headers,
      status: meta?.status,
    },
    cacheControl: cacheControlOf(info, meta),
    lastModified: meta?.routeCacheLastModified ?? htmlTime,
    tags: [],
  };
}

async function fetchEntries(dir: string): Promise<BuildEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const entries: BuildEntry[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const value = await readJson<Record<string, unknown>>(file);
    const time = await mtime(file);
    if (value === undefined || time === undefined || value.kind !== 'FETCH') continue;
    const tags = Array.isArray(value.tags)
      ? value.tags.filter((t): t is string => typeof t === 'string')
      : [];
    entries.push({ key: name, kind: 'FETCH', value, cacheControl: undefined, lastModified: time, tags });
  }
  return entries;
}
