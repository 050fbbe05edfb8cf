import { unstable_cache } from 'next/cache';
import { bump, instance } from '../../../lib/counter.js';

export const dynamic = 'force-dynamic';

// The classic data cache (incremental cache, FETCH entries) with a tag.
const load = unstable_cache(async () => `data:fc|${instance()}|${bump('fc')}|${Date.now()}`, ['fc-key'], {
  tags: ['fc'],
  revalidate: 3600,
});

export async function GET() {
  return new Response(await load());
}
