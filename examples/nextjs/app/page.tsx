import Link from 'next/link';
import { connection } from 'next/server';
import { listCourses } from '../lib/larder';
import { Stats } from './stats';

function dollars(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

/** The home page: a server component that reads the course list through the cache. */
export default async function Home() {
  await connection(); // render on every request: the stats are live
  const courses = await listCourses(1);
  return (
    <main>
      <h1>larder + Next.js</h1>
      <p>
        Server components and route handlers read through one <code>singleton</code> cache per process. Reload
        the page: the hits go up, the database queries do not.
      </p>
      <h2>Cache stats</h2>
      <Stats />
      <h2>Courses</h2>
      <ul>
        {courses.map((course) => (
          <li key={course.id}>
            <Link href={`/courses/${course.id}`}>{course.title}</Link> {`— ${dollars(course.price)} `}
            <a href={`/api/courses/${course.id}`}>
              <small>JSON</small>
            </a>
          </li>
        ))}
      </ul>
    </main>
  );
}
