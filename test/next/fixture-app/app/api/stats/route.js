import { connection } from 'next/server';
import { counts, instance } from '../../../lib/counter.js';

export async function GET() {
  await connection();
  return Response.json({ instance: instance(), counts: counts() });
}
