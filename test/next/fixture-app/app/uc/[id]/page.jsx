import { cacheLife, cacheTag } from 'next/cache';
import { connection } from 'next/server';
import { Suspense } from 'react';
import { bump, instance } from '../../../lib/counter.js';

// 'use cache' data in a dynamic page: every request reads it through the `cacheHandlers` handler.
async function getData(id) {
  'use cache';
  cacheTag(`uc-${id}`);
  cacheLife({ stale: 60, revalidate: 3600, expire: 86400 });
  const n = bump(`uc-${id}`);
  return `data:${id}|${instance()}|${n}|${Date.now()}`;
}

async function Content({ params }) {
  await connection();
  const { id } = await params;
  return <p id="data">{await getData(id)}</p>;
}

export default function Page({ params }) {
  return (
    <Suspense fallback={<p>loading</p>}>
      <Content params={params} />
    </Suspense>
  );
}
