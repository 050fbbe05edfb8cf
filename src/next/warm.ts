import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { type Duration, describe as describeValue, toMs } from '../duration.js';
import { redactUrl } from '../redis/url.js';
import type { TierRecord } from '../tier.js';
import { type BuildEntry, readBuildId, readBuildOutput } from './build-output.js';
import { encodeValue } from './compression.js';
import { tagsOf } from './incremental.js';
import { type NextCacheHandlerOptions, resolveOptions } from './options.js';
import { Runtime, startupWaitMs } from './runtime.js';
import { sizeOf } from './size.js';
import type { StoredIncremental } from './stored.js';
import { FRESH } from './tags.js';

/** Options of {@link warmFromBuild}: the handlers' options (the same `redisUrl`, `prefix`, …) and a few more. */
export interface WarmFromBuildOptions extends NextCacheHandlerOptions {
  /** The app's directory, where `distDir` is (default: the current directory). */
  dir?: string;
  /** Warm again even when this build was warmed already (default `false`; entries stay conditional). */
  force?: boolean;
  /** The longest a process waits for another one warming the same build (default `'5m'`). */
  lockTimeout?: Duration;
}

/** What {@link warmFromBuild} did. */
export interface WarmResult {
  /** The build (key scope) warmed. */
  buildId: string;
  /** Entries found in the build output. */
  entries: number;
  /** Entries written to Redis. */
  written: number;
  /** Entries refused because Redis held a newer one (written at run time after the build). */
  refused: number;
  /** Entries left out because one of their tags was revalidated after the build rendered them. */
  revalidated: number;
  /** Whether another process had warmed (or was warming) this build, so this one wrote nothing. */
  byOther: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Seeds Redis with what `next build` rendered (prerendered pages, route handlers, the fetch cache in `.next`),
 * under the build's key scope, so that the first request of every prerendered page on a new instance is a
 * hit. Run it after `next build` and before (or while) the new instances start: a post-build step, or a
 * Kubernetes init container (see docs/nextjs.md).
 *
 * It is safe to run at any time and from many processes at once:
 * - an entry is written with the time the build rendered it, and Redis refuses it when it holds a newer
 *   one (regenerated at run time), so it never overwrites a newer entry;
 * - an entry with a tag (or path) revalidated after the build rendered it is left out, and would be
 *   served as expired anyway, so it never resurrects revalidated content;
 * - the first process takes a lock and marks the build as warmed; the others wait for it and write
 *   nothing (`byOther`), unless `force`.
 *
 * @param options - the options of the app's handlers (`redisUrl`, `prefix`, `buildId`, `distDir`, `maxTtl`,
 * `compress`, `codec`, …), plus {@link WarmFromBuildOptions}
 * @throws TypeError or RangeError naming the option when an option is invalid; an Error when there is no
 * build or Redis cannot be reached.
 */
export async function warmFromBuild(options: WarmFromBuildOptions = {}): Promise<WarmResult> {
  const name = 'warmFromBuild';
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${name}: options must be an object; got ${describeValue(options)}`);
  }
  const { dir, force, lockTimeout, ...handlerOptions } = options;
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) {
    throw new TypeError(`${name}: dir must be a non-empty string; got ${describeValue(dir)}`);
  }
  if (force !== undefined && typeof force !== 'boolean') {
    throw new TypeError(`${name}: force must be a boolean; got ${describeValue(force)}`);
  }
  const waitMs = toMs(lockTimeout ?? '5m', `${name}: lockTimeout`);
  const resolved = resolveOptions(handlerOptions, name);
  if (resolved.redisUrl === '') {
    throw new TypeError(`${name}: redisUrl (or REDIS_URL) is required: warming seeds the shared Redis`);
  }
  const distDir = resolve(dir ?? process.cwd(), resolved.distDir);
  const buildId = resolved.buildId ?? (process.env.NEXT_DEPLOYMENT_ID || (await readBuildId(distDir)));
  const entries = await readBuildOutput(distDir);
  const rt = new Runtime({ ...resolved, buildId, redisDuringBuild: true });
  try {
    // As long as a handler's first request may wait for Redis, and not cut short by a connection error: a
    // cluster's first slot refresh can fail on a busy host, and Redis may come up just after the command starts.
    const synced = await rt.whenSynced(startupWaitMs(resolved.timeout));
    if (!synced || rt.client === undefined || rt.tier === undefined) {
      throw new Error(`${name}: cannot reach Redis at ${redactUrl(resolved.redisUrl)}`);
    }
    const result: WarmResult = {
      buildId,
      entries: entries.length,
      written: 0,
      refused: 0,
      revalidated: 0,
      byOther: false,
    };
    const done = `${resolved.prefix}warmed:${buildId}`;
    const lock = `${resolved.prefix}warming:${buildId}`;
    const token = randomUUID();
    const lockMs = Math.max(30_000, resolved.timeout * 100);
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (!force && (await rt.run((c) => c.exists(done))) === 1) {
        result.byOther = true;
        return result;
      }
      if ((await rt.run((c) => c.set(lock, token, 'PX', lockMs, 'NX'))) === 'OK') break;
      if (Date.now() > deadline)
        throw new Error(`${name}: another process held the lock for longer than lockTimeout`);
      await sleep(200);
    }
    let renewed = Date.now();
    try {
      for (const entry of entries) {
        if (Date.now() - renewed > lockMs / 3) {
          await rt.run((c) => c.pexpire(lock, lockMs));
          renewed = Date.now();
        }
        await warmOne(rt, entry, result);
      }
      await rt.run((c) => c.set(done, String(Date.now()), 'PX', resolved.maxTtl));
    } finally {
      try {
        if ((await rt.run((c) => c.get(lock))) === token) await rt.run((c) => c.del(lock));
      } catch {
        // the lock expires by itself
      }
    }
    return result;
  } finally {
    await rt.close();
  }
}

async function warmOne(rt: Runtime, entry: BuildEntry, result: WarmResult): Promise<void> {
  const tier = rt.tier;
  if (tier === undefined) return;
  const fetch = entry.kind === 'FETCH';
  const stored: StoredIncremental = {
    k: 'i',
    t: entry.lastModified,
    v: entry.value,
    g: tagsOf(entry.value, fetch ? { fetchCache: true, tags: entry.tags } : undefined),
    s: sizeOf(entry.value) + 64,
  };
  const cc = entry.cacheControl;
  if (cc !== undefined) stored.cc = { revalidate: cc.revalidate, expire: cc.expire };
  // Revalidated after the build rendered it: leave it out (never resurrect older content).
  if (rt.tags.check(stored.g, undefined, stored.t) !== FRESH) {
    result.revalidated++;
    return;
  }
  let ttl = rt.options.maxTtl;
  const expire = cc?.expire;
  if (typeof expire === 'number' && expire > 0 && Number.isFinite(expire)) ttl = Math.min(ttl, expire * 1000);
  const now = Date.now();
  const record: TierRecord = {
    value: await encodeValue(stored, rt.options.encoding),
    expires: now + ttl,
    staleUntil: now + ttl,
    errorUntil: now + ttl,
    tags: [],
    // The render time: Redis refuses the write when it holds an entry written later. Never later than now: a build
    // machine's clock ahead would date the entry in the future, which the tier takes for foreign (scripts.ts).
    createdAt: Math.min(entry.lastModified, now),
  };
  const before = tier.stats().refused;
  await tier.set(rt.key('i', entry.key), record);
  if (tier.stats().refused > before) result.refused++;
  else result.written++;
}
