/**
 * ioredis runs `class VerbatimString extends String`, which leaves String.prototype with slow (dictionary)
 * properties, so that every string method call in optimized code is a generic lookup, process-wide (in
 * `next start`, Next.js's ETag hash ran 4-5 times slower). larder/redis undoes it (src/redis/fast-strings.ts).
 * Each case runs in a fresh process: once fast again, the prototype stays fast.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/string-prototype.ts', import.meta.url));

function run(how: string): { afterIoredis: boolean; afterLarder: boolean } {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', FIXTURE, how], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as { afterIoredis: boolean; afterLarder: boolean };
}

describe('String.prototype after ioredis is loaded', () => {
  it('is slow without larder (the probe tells)', () => {
    expect(run('none')).toEqual({ afterIoredis: false, afterLarder: false });
  });

  it.each(['import', 'tier', 'bus', 'next'])('is fast again after larder (%s)', (how) => {
    expect(run(how)).toEqual({ afterIoredis: false, afterLarder: true });
  });
});
