import { revalidatePath, revalidateTag } from 'next/cache';

export async function POST(request) {
  const url = new URL(request.url);
  const tag = url.searchParams.get('tag');
  const path = url.searchParams.get('path');
  // { expire: 0 }: expire now, like updateTag (which only Server Actions may call).
  if (tag) revalidateTag(tag, { expire: 0 });
  if (path) revalidatePath(path);
  return Response.json({ ok: true, by: process.env.INSTANCE_NAME });
}
