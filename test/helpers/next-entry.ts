import { decodeValue } from '../../src/next/compression.js';

/**
 * The size of a `larder/next` page entry as read from Redis: the bytes of its value in Redis, and the bytes of
 * the page it holds (HTML, RSC payload, segment data, page data), as Next.js handed them to the handler.
 */
export async function pageEntrySizes(raw: string): Promise<{ redis: number; page: number; html: string }> {
  const payload = raw.slice(raw.indexOf('\n') + 1);
  const stored = (await decodeValue(payload, { compress: 'gzip', threshold: 1024, codec: undefined })) as {
    v: { html?: string; rscData?: Uint8Array; segmentData?: Map<string, Uint8Array>; pageData?: unknown };
  };
  const v = stored.v;
  let page = Buffer.byteLength(v.html ?? '');
  page += v.rscData?.byteLength ?? 0;
  for (const segment of v.segmentData?.values() ?? []) page += segment.byteLength;
  if (v.pageData !== undefined) page += Buffer.byteLength(JSON.stringify(v.pageData));
  return { redis: Buffer.byteLength(raw), page, html: v.html ?? '' };
}
