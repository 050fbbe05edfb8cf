/**
 * Which larder the benchmarks measure. By default the suite benchmarks the package as users get it: it
 * builds `src/` with tsup and the package's own tsup.config.ts (entries, target, splitting, externals),
 * overriding only the output folder (`bench/results/tmp/larder/`, git-ignored), the format (ESM only) and
 * declarations/sourcemaps (off). So `dist/` is never touched and the bundle is always fresh.
 * `--larder dist` uses an existing `dist/`; `--larder src` loads the TypeScript sources through tsx; the
 * default, `--larder auto`, uses `dist/` when it was built after the last change in `src/` (as in CI, where
 * `npm run build` runs first; same tsup config, so the same ESM code) and builds otherwise.
 *
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The shape of larder's entry module (types only; the module is loaded at run time). */
export type LarderModule = typeof import('../../src/index.js');

/** Where larder is loaded from (`auto`: dist/ when it is newer than every file in src/, else build). */
export type LarderSource = 'auto' | 'build' | 'dist' | 'src';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Environment variable that hands the prepared module URL to child processes. */
export const LARDER_ENV = 'LARDER_BENCH_MODULE';

/** Environment variable that hands the subpath map (`larder`, `larder/express`, ...) to child processes. */
export const LARDER_SUBPATHS_ENV = 'LARDER_BENCH_SUBPATHS';

/** A prepared larder: the module URL and a description for the results. */
export interface PreparedLarder {
  /** `file:` URL of the entry module. */
  url: string;
  /** `file:` URLs of the package's specifiers that exist: `larder`, `larder/express`, ... */
  subpaths: Record<string, string>;
  /** Human-readable description, stored in the results' provenance. */
  description: string;
}

const SUBPATHS = ['compat', 'redis', 'express', 'next', 'otel'];

function subpathsIn(dir: string, ext: string): Record<string, string> {
  const map: Record<string, string> = { larder: pathToFileURL(join(dir, `index${ext}`)).href };
  for (const sub of SUBPATHS) {
    const file = join(dir, sub, `index${ext}`);
    if (existsSync(file)) map[`larder/${sub}`] = pathToFileURL(file).href;
  }
  return map;
}

/**
 * Makes larder loadable for this run and returns where it is, or a reason why it is not available.
 *
 * @param source - `build` (default): bundle src with tsup; `dist`: use dist/index.js; `src`: the sources via tsx
 */
export async function prepareLarder(source: LarderSource): Promise<PreparedLarder | { error: string }> {
  const entry = join(ROOT, 'src/index.ts');
  if (!existsSync(entry)) return { error: 'src/index.ts does not exist yet' };
  if (source === 'auto') return prepareLarder(distIsFresh() ? 'dist' : 'build');
  if (source === 'src') {
    return {
      url: pathToFileURL(entry).href,
      subpaths: subpathsIn(join(ROOT, 'src'), '.ts'),
      description: 'src/ through tsx',
    };
  }
  if (source === 'dist') {
    const dist = join(ROOT, 'dist/index.js');
    if (!existsSync(dist)) return { error: 'dist/index.js does not exist (run npm run build)' };
    const probe = await checkLarder(pathToFileURL(dist).href);
    if (probe !== undefined) return { error: probe };
    return {
      url: pathToFileURL(dist).href,
      subpaths: subpathsIn(join(ROOT, 'dist'), '.js'),
      description: 'dist/ (npm run build)',
    };
  }
  const outDir = join(ROOT, 'bench/results/tmp/larder');
  const t0 = performance.now();
  try {
    const { build } = await import('tsup');
    // tsup merges these over tsup.config.ts (which it loads from the working directory, the repository root).
    await build({ outDir, format: ['esm'], dts: false, sourcemap: false, clean: true, silent: true });
  } catch (error) {
    return {
      error: `tsup build of src/index.ts failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const url = pathToFileURL(join(outDir, 'index.js')).href;
  const probe = await checkLarder(url);
  if (probe !== undefined) return { error: probe };
  return {
    url,
    subpaths: subpathsIn(outDir, '.js'),
    description: `src/ built by tsup with tsup.config.ts (ESM output only) in ${Math.round(performance.now() - t0)} ms`,
  };
}

/** Newest modification time (ms) of the files under `dir`. */
function newest(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

/** Whether dist/index.js exists and is newer than every file in src/ (and the build config). */
function distIsFresh(): boolean {
  const dist = join(ROOT, 'dist/index.js');
  if (!existsSync(dist)) return false;
  const built = statSync(dist).mtimeMs;
  const inputs = [
    newest(join(ROOT, 'src')),
    ...['tsup.config.ts', 'package.json'].map((f) => statSync(join(ROOT, f)).mtimeMs),
  ];
  return inputs.every((t) => t < built);
}

/** Loads a larder module and checks that it exports a usable `Cache`; returns a reason when not. */
async function checkLarder(url: string): Promise<string | undefined> {
  try {
    const mod = (await import(url)) as Partial<LarderModule>;
    if (typeof mod.Cache !== 'function') return 'larder does not export Cache yet';
    const cache = new mod.Cache<string, number>({ max: 10 });
    cache.set('a', 1);
    if (cache.get('a') !== 1) return 'larder Cache does not return what was set';
    return undefined;
  } catch (error) {
    return `larder failed to load: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Environment variables that hand a prepared larder to child processes. */
export function larderEnv(prepared: PreparedLarder | undefined): Record<string, string> {
  if (prepared === undefined) return { [LARDER_ENV]: '', [LARDER_SUBPATHS_ENV]: '{}' };
  return { [LARDER_ENV]: prepared.url, [LARDER_SUBPATHS_ENV]: JSON.stringify(prepared.subpaths) };
}

/** In a child process: the prepared subpath map (`larder` → URL, `larder/express` → URL, ...). */
export function larderSubpaths(): Record<string, string> {
  return JSON.parse(process.env[LARDER_SUBPATHS_ENV] ?? '{}') as Record<string, string>;
}

/** In a child process: loads the larder prepared by the parent. @throws Error when none was prepared. */
export async function loadLarder(): Promise<LarderModule> {
  const url = process.env[LARDER_ENV];
  if (url === undefined || url === '') throw new Error('larder is not available in this run');
  return (await import(url)) as LarderModule;
}

/** The shape of `larder/otel` (types only). */
export type LarderOtelModule = typeof import('../../src/otel/index.js');

/** In a child process: loads the `larder/otel` prepared by the parent. @throws Error when none was prepared. */
export async function loadLarderOtel(): Promise<LarderOtelModule> {
  const url = larderSubpaths()['larder/otel'];
  if (url === undefined) throw new Error('larder/otel is not available in this run');
  return (await import(url)) as LarderOtelModule;
}

/** Whether a larder module was prepared for this process. */
export function larderAvailable(): boolean {
  return (process.env[LARDER_ENV] ?? '') !== '';
}
