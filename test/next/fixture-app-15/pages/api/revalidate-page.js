// On-demand revalidation in the Pages Router: res.revalidate regenerates the page on this instance now.
export default async function handler(req, res) {
  if (req.method !== 'POST') return res.status(405).end();
  const path = req.query.path;
  if (typeof path !== 'string') return res.status(400).json({ error: 'path' });
  await res.revalidate(path);
  return res.json({ ok: true, by: process.env.INSTANCE_NAME });
}
