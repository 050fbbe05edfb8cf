import { unstable_cache } from 'next/cache';
import { bump, instance } from '../../lib/counter.js';

// An ISR page (App Router) whose data carries the tag `static`: revalidateTag('static') regenerates it.
export const revalidate = 3600;

const load = unstable_cache(
  async () => `data:static|${instance()}|${bump('static')}|${Date.now()}`,
  ['static'],
  {
    tags: ['static'],
    revalidate: 3600,
  },
);

export default async function Page() {
  return <p id="data">{await load()}</p>;
}
