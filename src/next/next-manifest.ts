import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TagState } from './tags.js';

/**
 * Next.js's process-local tags manifest (best effort: an internal module; `undefined` if it moved). Only Next.js
 * 16's `{ stale, expired }` records are kept in step: Next.js 15's manifest holds one time per tag, and its
 * `revalidateTag` always expires at once, which larder's own table answers without it.
 *
 * @internal
 */
export function nextTagsManifest(): Map<string, TagState> | undefined {
  const id = 'next/dist/server/lib/incremental-cache/tags-manifest.external.js';
  const candidates: [base: string, id: string][] = [];
  // The server's own copy first: `next start` run through a binary (node_modules/<next>/dist/bin/next).
  const bin = process.argv[1];
  if (typeof bin === 'string' && /[\\/]dist[\\/]bin[\\/]next$/.test(bin)) {
    candidates.push([
      bin,
      join(dirname(dirname(bin)), 'server', 'lib', 'incremental-cache', 'tags-manifest.external.js'),
    ]);
  }
  candidates.push([join(process.cwd(), 'noop.js'), id]);
  // `next start <dir>` may run from elsewhere: resolve from the Next.js binary too.
  if (typeof bin === 'string') candidates.push([bin, id]);
  for (const [base, module] of candidates) {
    try {
      const mod = createRequire(base)(module) as { tagsManifest?: unknown; areTagsExpired?: unknown };
      if (!(mod.tagsManifest instanceof Map)) continue;
      return typeof mod.areTagsExpired === 'function'
        ? (mod.tagsManifest as Map<string, TagState>)
        : undefined;
    } catch {
      // try the next base
    }
  }
  return undefined;
}
