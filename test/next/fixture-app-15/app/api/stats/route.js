import { counts, instance } from '../../../lib/counter.js';

export const dynamic = 'force-dynamic';

export async function GET() {
  return Response.json({ instance: instance(), counts: counts() });
}
