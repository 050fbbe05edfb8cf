import { describe, expect, it } from 'vitest';
import { decodePage, encodePage, ownPage, type Page, page } from '../../bench/next/soak.js';

/** The byte arrays of a page, in frame order. */
function bytesOf(p: Page): Buffer[] {
  return [p.rscData, ...p.segmentData.values()];
}

describe('soak baseline (bench/next/soak.ts)', () => {
  it('ownPage copies the byte arrays of a page into one buffer of exactly their size, leaving the page as it was', () => {
    const p = page(7);
    // The soak's pages are views into Node's shared pool, as Next.js's small buffers are.
    expect(bytesOf(p).some((b) => b.byteLength !== b.buffer.byteLength)).toBe(true);
    const before = bytesOf(p).map((b) => Buffer.from(b));
    const owned = ownPage(p);
    const buffers = new Set(bytesOf(owned).map((b) => b.buffer));
    expect(buffers.size).toBe(1);
    const total = bytesOf(p).reduce((n, b) => n + b.byteLength, 0);
    expect([...buffers][0]?.byteLength).toBe(total);
    expect(bytesOf(owned)).toEqual(before);
    expect(bytesOf(p)).toEqual(before);
    expect(owned.html).toBe(p.html);
    expect(owned.headers).toEqual(p.headers);
  });

  it('decodePage(encodePage(p)) gives the page back, its bytes in one buffer of its own', async () => {
    const p = page(11);
    const text = await encodePage(p);
    expect(text.startsWith('~gz~')).toBe(true);
    const back = await decodePage(text);
    expect(back.html).toBe(p.html);
    expect(back.headers).toEqual(p.headers);
    expect(back.status).toBe(200);
    expect(back.rscData).toEqual(p.rscData);
    expect([...back.segmentData]).toEqual([...p.segmentData]);
    const buffers = new Set(bytesOf(back).map((b) => b.buffer));
    expect(buffers.size).toBe(1);
    expect([...buffers][0]?.byteLength).toBe(bytesOf(p).reduce((n, b) => n + b.byteLength, 0));
  });
});
