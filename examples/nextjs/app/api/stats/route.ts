import { connection } from 'next/server';
import { snapshot } from '../../../lib/larder';

/** GET /api/stats — the cache's stats and the database query count, as JSON. */
export async function GET() {
  await connection();
  return Response.json(snapshot(), { headers: { 'Cache-Control': 'no-store' } });
}
