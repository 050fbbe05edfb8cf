import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMeta } from '../../bench/lib/env.js';
import { LARDER_ENV } from '../../bench/lib/larder.js';
import { runMemory } from '../../bench/memory/index.js';
import { LARDER_TINYLFU } from '../../bench/throughput/adapters.js';

// The memory children, for real: the evicting state of issue 18's memory bar (small caches, so that it runs in
// seconds). The children load larder's source through tsx, as the benchmark's children load the prepared build.
describe('runMemory in the evicting state', () => {
  const saved = process.env[LARDER_ENV];
  beforeAll(() => {
    process.env[LARDER_ENV] = pathToFileURL(new URL('../../src/index.ts', import.meta.url).pathname).href;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env[LARDER_ENV];
    else process.env[LARDER_ENV] = saved;
  });

  it('fills each library past its capacity and counts the heap the instance holds', async () => {
    const entries = 20_000;
    const lines: string[] = [];
    const result = await runMemory({
      meta: { date: 'd' } as RunMeta,
      entries,
      libraries: ['lru-cache'],
      evicting: ['lru-cache', LARDER_TINYLFU],
      concurrency: 2,
      log: (line) => lines.push(line),
    });
    expect(result.rows.map((r) => r.library)).toEqual(['lru-cache']);
    expect(result.evicting?.map((r) => [r.library, r.error, r.size])).toEqual([
      ['lru-cache', undefined, entries],
      [LARDER_TINYLFU, undefined, entries],
    ]);
    const [lru, larder] = result.evicting ?? [];
    // An instance kept reachable past the second measurement, or measured before it was filled, would read about
    // zero; lru-cache's own links and Map alone take more than 40 bytes an entry.
    expect(lru?.bytesPerEntry).toBeGreaterThan(40);
    expect(larder?.bytesPerEntry).toBeGreaterThan(40);
    // Both held their entries, keys and values excluded: neither comes near the 2 x 20,000 keys' strings and objects.
    expect(larder?.bytesPerEntry).toBeLessThan(400);
    expect(lines.filter((l) => l.includes(', evicting:'))).toHaveLength(2);
  }, 120_000);
});
