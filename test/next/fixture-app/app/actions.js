'use server';

import { updateTag } from 'next/cache';

// A Server Action (updateTag may only be called from one). Called with a tag (the e2e test sends it with the
// `Next-Action` header) or with the form data of app/action/page.jsx.
export async function updateTagAction(input) {
  const tag = typeof input === 'string' ? input : input?.get('tag');
  if (typeof tag !== 'string' || tag === '') throw new Error('updateTagAction: no tag');
  updateTag(tag);
  return { ok: true, by: process.env.INSTANCE_NAME };
}
