/**
 * Bundles `src/next` as the package ships it (ESM, node18, the same externals as tsup), for a Next.js app that
 * loads the handlers from a file (`LARDER_NEXT_ENTRY`): the Next.js benchmark and the e2e test.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const ENTRY = fileURLToPath(new URL('../../src/next/index.ts', import.meta.url));

/** Writes the bundle to `outfile`; `plugins` may swap modules (the e2e test's policy switch). */
export async function bundleLarderNext(outfile: string, plugins: Plugin[] = []): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    external: ['ioredis', 'next', 'lru-cache'],
    outfile,
    logLevel: 'warning',
    plugins,
  });
}
