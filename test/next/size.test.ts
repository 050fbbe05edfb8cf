/**
 * maxMemory counts strings as V8 stores them: one byte per character, or two for a string holding any character
 * above U+00FF (pages in Chinese, Japanese, Greek, Cyrillic, … or an English page with one curly quote or emoji).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncrementalCacheHandler } from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { footprint, sizeOf, stringBytes } from '../../src/next/size.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('larder/next entry sizes', () => {
  afterEach(async () => {
    await closeRuntimes();
  });

  it('counts two bytes per character for a string with a character above U+00FF', () => {
    expect(stringBytes('page text')).toBe(9);
    expect(stringBytes('café ÿ')).toBe(6); // Latin-1: one byte each
    expect(stringBytes('页面')).toBe(4);
    expect(stringBytes(`${'x'.repeat(1000)}’`)).toBe(2002); // one curly quote: the whole string
    expect(stringBytes('😀')).toBe(4); // a surrogate pair
    const html = '页面文字内容'.repeat(1000);
    expect(sizeOf({ html })).toBe(16 + 4 + 12_000);
    const stored = { k: 'i' as const, t: 0, v: { html }, g: ['标签'], s: sizeOf({ html }) + 64 };
    expect(footprint(stored)).toBeGreaterThan(12_000 + 4);
  });

  it('holds about maxMemory of pages whatever their language', async () => {
    const heap = (): number => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const maxMemory = 16 * 1024 * 1024;
    const fill = async (name: string, html: (i: number) => string): Promise<number> => {
      const Handler = withScope(`size-${name}`, () =>
        createIncrementalCacheHandler({ redisUrl: '', buildId: 'b1', maxMemory }),
      );
      const h = new Handler({});
      const before = heap();
      for (let i = 0; i < 300; i++) {
        await h.set(
          `/p/${i}`,
          { kind: 'APP_PAGE', html: html(i), headers: {}, status: 200 },
          {
            cacheControl: { revalidate: false, expire: undefined },
          },
        );
      }
      const grown = heap() - before;
      await closeRuntimes();
      return grown / maxMemory;
    };
    // ~200 KB pages; the CJK ones are 200,000 characters, 400 KB in V8. Copies, as a page rendered per request is.
    const latin = await fill('latin', (i) =>
      Buffer.from(`<p>${i}</p>${'page text '.repeat(20_000)}`).toString(),
    );
    const cjk = await fill('cjk', (i) =>
      Buffer.from(`<p>${i}</p>${'页面文字内容'.repeat(33_000)}`).toString(),
    );
    expect(latin).toBeLessThan(1.3);
    expect(cjk).toBeLessThan(1.3);
    expect(cjk).toBeGreaterThan(0.7);
  });

  it('counts every node of deeply nested data (rich-text ASTs in pageData), however deep', () => {
    const nest = (depth: number, leaf: unknown): unknown => {
      let v = leaf;
      for (let i = 0; i < depth; i++) v = { content: [v] };
      return v;
    };
    const text = 'x'.repeat(100_000);
    for (const depth of [8, 20, 300, 100_000]) {
      expect(sizeOf(nest(depth, { text })), `depth ${depth}`).toBeGreaterThan(100_000 + depth * 32);
    }
    // A cycle (never in Next.js values, which are JSON): finite, over- rather than under-counted.
    const deep = nest(1000, { text }) as { content: unknown[] };
    const cyclic = { content: [deep] as unknown[] };
    (deep as { content: unknown[] }).content.push(cyclic);
    expect(sizeOf(cyclic)).toBeGreaterThan(100_000);
    expect(sizeOf(cyclic)).toBeLessThan(1_000_000);
  });

  it('holds deeply nested pageData within maxMemory', async () => {
    const Handler = withScope('size-deep', () =>
      createIncrementalCacheHandler({ redisUrl: '', buildId: 'b1', maxMemory: 2 * 1024 * 1024 }),
    );
    const h = new Handler({});
    let props: unknown = { text: 'x'.repeat(1024 * 1024) };
    for (let i = 0; i < 10; i++) props = { type: 'node', children: [props] };
    for (let i = 0; i < 10; i++) {
      await h.set(
        `/p/${i}`,
        { kind: 'PAGES', html: '<p>hi</p>', pageData: { pageProps: props }, headers: undefined, status: 200 },
        { cacheControl: { revalidate: false, expire: undefined } },
      );
    }
    // Ten pages of 1 MiB each under a 2 MiB bound: at most one is kept.
    expect(h.stats().entries).toBeLessThanOrEqual(1);
  });
});
