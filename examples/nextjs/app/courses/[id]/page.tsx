import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getCourse } from '../../../lib/larder';
import { Stats } from '../../stats';

/** A course page: a server component reading through the cache. Unknown or malformed ids get a 404. */
export default async function CoursePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!/^[1-9]\d{0,8}$/.test(id)) notFound();
  const course = await getCourse(Number(id));
  if (course === undefined) notFound();
  return (
    <main>
      <p>
        <Link href="/">← all courses</Link>
      </p>
      <h1>{course.title}</h1>
      <p>{course.description}</p>
      <p>{`${course.lessonCount} lessons, $${(course.price / 100).toFixed(2)}`}</p>
      <h2>Cache stats</h2>
      <Stats />
    </main>
  );
}
