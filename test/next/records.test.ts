/** Entries read back from Redis: untrusted, so the size the memory bound counts is computed, never read. */
import { describe, expect, it } from 'vitest';
import { entryOf } from '../../src/next/records.js';

describe('entryOf', () => {
  it("computes an entry's size from what it holds, ignoring the size field read from Redis", () => {
    const inRedis = {
      k: 'u',
      t: 1,
      g: [],
      s: 0,
      b: new Uint8Array(10_000),
      stale: 0,
      expire: 0,
      revalidate: 0,
    };
    const read = entryOf(inRedis, Date.now() + 60_000);
    expect(read?.stored.s).toBe(10_064);
    const page = { k: 'i', t: 1, g: [], s: 1, v: { kind: 'APP_PAGE', html: 'x'.repeat(5000) } };
    expect(entryOf(page, Date.now() + 60_000)?.stored.s).toBeGreaterThan(5000);
  });

  it('refuses what is not an entry, and an expired one', () => {
    expect(entryOf({ k: 'u', t: 1, g: [], s: 0 }, Date.now() + 60_000)).toBeUndefined();
    const entry = { k: 'i', t: 1, g: [], s: 1, v: 'x' };
    expect(entryOf(entry, Date.now() - 1)).toBeUndefined();
  });
});
