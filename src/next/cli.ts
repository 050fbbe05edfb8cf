#!/usr/bin/env node
/**
 * `larder-next`: the command line of `larder/next`.
 *
 * ```sh
 * larder-next warm [--dir <app>] [--dist-dir .next] [--redis-url redis://…] [--prefix larder:next:]
 *                  [--build-id <id>] [--max-ttl 7d] [--timeout 250ms] [--compress gzip|brotli|false]
 *                  [--cluster] [--force]
 * ```
 *
 * `warm` runs {@link warmFromBuild}: seeds Redis from the `next build` output. `REDIS_URL` is the default of
 * `--redis-url`, `NEXT_DEPLOYMENT_ID` (else the build's BUILD_ID) of `--build-id`. Prints what it did as JSON;
 * exits with 1 on failure, 2 on bad arguments.
 *
 * @internal
 * @module
 */
import { parseArgs } from 'node:util';
import { toMs } from '../duration.js';
import type { NextCompression } from './compression.js';
import { type WarmFromBuildOptions, warmFromBuild } from './warm.js';

const USAGE = `Usage: larder-next warm [options]

Seeds Redis with the pages, route handlers and fetch-cache entries of a \`next build\`, under its build id.
Never overwrites a newer entry nor restores one revalidated after the build; many processes at once warm once.

Options:
  --dir <path>          the app's directory (default: the current directory)
  --dist-dir <path>     Next.js's distDir, relative to --dir (default: .next)
  --redis-url <url>     the Redis the app's handlers use (default: $REDIS_URL)
  --prefix <prefix>     the handlers' key prefix (default: larder:next:)
  --build-id <id>       the key scope (default: $NEXT_DEPLOYMENT_ID, else the build's BUILD_ID)
  --max-ttl <duration>  the handlers' maxTtl, e.g. 7d, 12h, 3600s (default: 7d, as the handlers)
  --timeout <duration>  the handlers' timeout, e.g. 250ms, 1s (default: 250ms, as the handlers)
  --compress <alg>      gzip, brotli or false (default: gzip, as the handlers)
  --cluster             the Redis is a Redis Cluster (as the handlers' cluster: true)
  --force               warm again even if this build was warmed already
  --help                this text
`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    console.error(`larder-next: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'warm') {
    console.error(`larder-next: expected the command \`warm\`\n\n${USAGE}`);
    return 2;
  }
  const options: WarmFromBuildOptions = {};
  if (values.dir !== undefined) options.dir = values.dir;
  if (values['dist-dir'] !== undefined) options.distDir = values['dist-dir'];
  if (values['redis-url'] !== undefined) options.redisUrl = values['redis-url'];
  if (values.prefix !== undefined) options.prefix = values.prefix;
  if (values['build-id'] !== undefined) options.buildId = values['build-id'];
  if (values.force === true) options.force = true;
  if (values.cluster === true) options.cluster = true;
  try {
    if (values['max-ttl'] !== undefined) options.maxTtl = duration(values['max-ttl'], '--max-ttl');
    if (values.timeout !== undefined) options.timeout = duration(values.timeout, '--timeout');
  } catch (error) {
    console.error(`larder-next: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const compress = values.compress;
  if (compress !== undefined) {
    options.compress = (compress === 'false' ? false : compress) as NextCompression;
  }
  // Failures are thrown: no console warnings from the handlers' runtime.
  options.onError = () => {};
  try {
    const result = await warmFromBuild(options);
    console.log(JSON.stringify(result));
    return 0;
  } catch (error) {
    console.error(`larder-next warm: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof TypeError || error instanceof RangeError ? 2 : 1;
  }
}

/**
 * A duration argument in milliseconds: a bare number is milliseconds (as in the handlers' options), else a duration
 * such as `7d` or `250ms`.
 *
 * @throws TypeError or RangeError naming the argument.
 */
function duration(text: string, name: string): number {
  return toMs(/^\d+(\.\d+)?$/.test(text) ? Number(text) : text, name);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      'dist-dir': { type: 'string' },
      'redis-url': { type: 'string' },
      prefix: { type: 'string' },
      'build-id': { type: 'string' },
      'max-ttl': { type: 'string' },
      timeout: { type: 'string' },
      compress: { type: 'string' },
      force: { type: 'boolean' },
      cluster: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
