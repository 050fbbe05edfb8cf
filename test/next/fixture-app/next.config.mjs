import { fileURLToPath } from 'node:url';

// The fixture of test/next/e2e.test.ts: larder/next as Next.js's cache handlers (one build, two `next start`).
const useCache = fileURLToPath(new URL('./use-cache-handler.mjs', import.meta.url));

// LARDER_NEXT_BUILTIN=1 (bench/next): the same build served by Next.js's built-in handlers.
const larder = process.env.LARDER_NEXT_BUILTIN !== '1';

/** @type {import('next').NextConfig} */
export default {
  // LARDER_NEXT_DIST_DIR: the e2e test builds each of its runs (one per LARDER_TEST_POLICY) into its own.
  distDir: process.env.LARDER_NEXT_DIST_DIR || '.next',
  cacheComponents: true,
  ...(larder
    ? {
        cacheHandler: fileURLToPath(new URL('./cache-handler.mjs', import.meta.url)),
        cacheHandlers: { default: useCache, remote: useCache },
        cacheMaxMemorySize: 0,
      }
    : {}),
  turbopack: { root: fileURLToPath(new URL('../../..', import.meta.url)) },
  outputFileTracingRoot: fileURLToPath(new URL('../../..', import.meta.url)),
};
