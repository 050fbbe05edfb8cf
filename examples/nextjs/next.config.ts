import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const handler = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

// With REDIS_URL set, Next.js's own caches (ISR, fetch, 'use cache') go through larder/next, so every instance
// behind a load balancer shares them and revalidateTag() on one instance reaches all. Without it, Next.js keeps
// its built-in per-process caches. Either way the app's data cache is the larder singleton in lib/larder.ts.
const shared: Partial<NextConfig> = process.env.REDIS_URL
  ? {
      cacheHandler: handler('./cache-handler.mjs'),
      cacheHandlers: {
        default: handler('./use-cache-handler.mjs'),
        remote: handler('./use-cache-handler.mjs'),
      },
      cacheMaxMemorySize: 0,
    }
  : {};

const config: NextConfig = {
  // better-sqlite3 is a native module: Node.js loads it at run time (Next.js lists it as external by default).
  serverExternalPackages: ['better-sqlite3'],
  ...shared,
};

export default config;
