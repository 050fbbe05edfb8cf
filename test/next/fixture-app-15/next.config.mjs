import { fileURLToPath } from 'node:url';

// The Next.js 15 fixture of test/next/e2e-next15.test.ts: larder/next as the incremental `cacheHandler` (the
// 'use cache' handler is Next.js 16+), built and served with Next.js 15 (node_modules/next15).
/** @type {import('next').NextConfig} */
export default {
  distDir: process.env.LARDER_NEXT_DIST_DIR || '.next',
  cacheHandler: fileURLToPath(new URL('./cache-handler.mjs', import.meta.url)),
  cacheMaxMemorySize: 0,
  outputFileTracingRoot: fileURLToPath(new URL('../../..', import.meta.url)),
};
