import { cacheLife, cacheTag } from 'next/cache';
import { bump, instance } from '../../lib/counter.js';

// A fully cached page: stored whole (HTML, RSC data, segment data) through the `cacheHandler` handler.
async function getPage() {
  'use cache';
  cacheTag('static');
  cacheLife({ stale: 300, revalidate: 3600, expire: 86400 });
  const n = bump('static');
  return `data:static|${instance()}|${n}|${Date.now()}`;
}

export default async function Page() {
  return <p id="data">{await getPage()}</p>;
}
