/**
 * The app's one cache and one database connection per server process. `singleton` keeps them on
 * `globalThis`, so route handlers and server components (compiled into separate bundles by Next.js) and
 * modules reloaded in development all share the same objects.
 */
import { Cache, type Policy, singleton } from 'larder';
import { type Course, type CourseSummary, createRepository, openDatabase } from '../../express-sqlite/db';

/** The database: an in-memory SQLite seeded with 200 courses, 4,000 lessons and 2,000 users. */
export const repository = singleton('larder-example:repository', () =>
  createRepository(openDatabase(':memory:')),
);

/** The eviction policy: `POLICY=lru` or `POLICY=tinylfu` at start time; unset, larder's default. */
const policy = (process.env.POLICY || undefined) as Policy | undefined; // new Cache() refuses other names

/** Rows read from the database, for 30 seconds. */
export const cache = singleton(
  'larder-example:cache',
  () => new Cache<string, unknown>({ max: 5_000, ttl: '30s', policy }),
);

/** A course, through the cache (`undefined` when there is none; not cached). */
export function getCourse(id: number): Promise<Course | undefined> {
  return cache.getOrSet(`course:${id}`, () => repository.course(id), { tags: [`course:${id}`] });
}

/** A page of courses, through the cache. */
export const listCourses = cache.wrap(
  'courses',
  (page: number): CourseSummary[] => repository.courses(page),
  {
    tags: ['courses'],
  },
);

/** Changes a course's price, then drops what the change made wrong. */
export function setPrice(id: number, price: number): Course | undefined {
  const course = repository.updateCourse(id, { price });
  if (course !== undefined) {
    cache.invalidateTag(`course:${id}`);
    cache.invalidateTag('courses');
  }
  return course;
}

/** What the stats panel shows. */
export function snapshot() {
  return {
    cache: cache.stats(),
    dbQueries: repository.queries,
    pid: process.pid,
    policy: cache.policy,
  };
}
