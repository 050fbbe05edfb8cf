import { revalidatePath, revalidateTag } from 'next/cache';

export async function POST(request) {
  const url = new URL(request.url);
  const tag = url.searchParams.get('tag');
  const path = url.searchParams.get('path');
  // Next.js 15: revalidateTag(tag) expires the tag at once.
  if (tag) revalidateTag(tag);
  if (path) revalidatePath(path);
  return Response.json({ ok: true, by: process.env.INSTANCE_NAME });
}
