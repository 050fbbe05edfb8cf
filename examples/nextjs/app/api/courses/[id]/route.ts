import { getCourse, setPrice } from '../../../../lib/larder';

const ID = /^[1-9]\d{0,8}$/;

function error(status: number, message: string): Response {
  return Response.json({ error: { status, message } }, { status, headers: { 'Cache-Control': 'no-store' } });
}

/** GET /api/courses/:id — the course as JSON, through the same cache as the pages. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!ID.test(id)) return error(400, 'id must be a positive integer');
  const course = await getCourse(Number(id));
  return course === undefined ? error(404, 'course not found') : Response.json(course);
}

/** PUT /api/courses/:id {"price": 1234} — writes the database, then invalidates by tag. */
export async function PUT(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!ID.test(id)) return error(400, 'id must be a positive integer');
  const text = await request.text();
  if (text.length > 1024) return error(413, 'body too large');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return error(400, 'the body must be JSON');
  }
  const price = (body as { price?: unknown } | null)?.price;
  if (typeof price !== 'number' || !Number.isInteger(price) || price < 0 || price > 1_000_000) {
    return error(400, 'price must be an integer from 0 to 1000000');
  }
  const course = setPrice(Number(id), price);
  return course === undefined ? error(404, 'course not found') : Response.json(course);
}
