/**
 * The example's database: one SQLite file (better-sqlite3), seeded with courses, lessons and users, and a
 * small repository whose every statement run is counted, so the app can show how many queries reached it.
 */
import Database from 'better-sqlite3';

/** A course as the API shows it. */
export interface Course {
  id: number;
  title: string;
  description: string;
  price: number;
  lessonCount: number;
  updatedAt: number;
}

/** A course in a list page. */
export interface CourseSummary {
  id: number;
  title: string;
  price: number;
}

/** A lesson of a course. */
export interface Lesson {
  id: number;
  courseId: number;
  position: number;
  title: string;
  minutes: number;
}

/** A user. */
export interface User {
  id: number;
  name: string;
  email: string;
}

/** How much the seed writes. */
export const SEED = { courses: 200, lessonsPerCourse: 20, users: 2000 } as const;
/** Courses per list page. */
export const PAGE_SIZE = 20;

/** The most ids one `GET /courses?ids=...` may ask for. */
export const MAX_IDS = 100;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS courses (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  price_cents INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lessons (
  id INTEGER PRIMARY KEY,
  course_id INTEGER NOT NULL REFERENCES courses(id),
  position INTEGER NOT NULL,
  title TEXT NOT NULL,
  minutes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS lessons_by_course ON lessons(course_id, position);
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL
);
`;

const TOPICS = [
  'SQL',
  'TypeScript',
  'Caching',
  'Node.js',
  'Redis',
  'React',
  'HTTP',
  'Testing',
  'Linux',
  'Go',
];
const LEVELS = ['Intro to', 'Practical', 'Advanced', 'Deep dive:', 'Patterns in'];
const FIRST = [
  'Ada',
  'Linus',
  'Grace',
  'Ken',
  'Barbara',
  'Dennis',
  'Margaret',
  'Edsger',
  'Frances',
  'Donald',
];
const LAST = [
  'Lovelace',
  'Torvalds',
  'Hopper',
  'Thompson',
  'Liskov',
  'Ritchie',
  'Hamilton',
  'Dijkstra',
  'Allen',
  'Knuth',
];

/**
 * Opens (and creates and seeds, when empty) the database at `file`. Every connection uses WAL mode, so
 * several processes can read the same file while one writes.
 *
 * @param file - a path, or `':memory:'`
 */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  const seed = db.transaction(() => {
    const { n } = db.prepare('SELECT count(*) AS n FROM courses').get() as { n: number };
    if (n > 0) return;
    const course = db.prepare('INSERT INTO courses VALUES (?, ?, ?, ?, ?)');
    const lesson = db.prepare(
      'INSERT INTO lessons (course_id, position, title, minutes) VALUES (?, ?, ?, ?)',
    );
    const user = db.prepare('INSERT INTO users VALUES (?, ?, ?)');
    for (let id = 1; id <= SEED.courses; id++) {
      const topic = TOPICS[id % TOPICS.length] as string;
      const title = `${LEVELS[id % LEVELS.length]} ${topic} #${id}`;
      course.run(id, title, `Everything about ${topic}, part ${id}.`, 1900 + ((id * 37) % 80) * 100, 0);
      for (let p = 1; p <= SEED.lessonsPerCourse; p++) {
        lesson.run(id, p, `${topic} ${id}.${p}`, 5 + ((id * p) % 40));
      }
    }
    for (let id = 1; id <= SEED.users; id++) {
      const first = FIRST[id % FIRST.length] as string;
      const last = LAST[Math.floor(id / FIRST.length) % LAST.length] as string;
      user.run(id, `${first} ${last}`, `${first.toLowerCase()}.${last.toLowerCase()}${id}@example.com`);
    }
  });
  seed.immediate();
  return db;
}

/** The queries the app runs, each counted in {@link Repository.queries}. */
export interface Repository {
  /** Statements run so far through this repository. */
  readonly queries: number;
  course(id: number): Course | undefined;
  /** The courses among `ids` that exist, by id: one `WHERE id IN (...)` query. */
  coursesByIds(ids: readonly number[]): Map<number, Course>;
  courses(page: number): CourseSummary[];
  /** `undefined` when the course does not exist. */
  lessons(courseId: number): Lesson[] | undefined;
  user(id: number): User | undefined;
  updateCourse(id: number, patch: { title?: string; price?: number }): Course | undefined;
  addLesson(courseId: number, lesson: { title: string; minutes: number }): Lesson | undefined;
  updateUser(id: number, patch: { name: string }): User | undefined;
}

/**
 * Prepares the app's statements on `db`. Each `get`/`all`/`run` counts as one query.
 *
 * @param db - an open database
 */
export function createRepository(db: Database.Database): Repository {
  let queries = 0;
  const counted = <A extends unknown[]>(sql: string) => {
    const statement = db.prepare<A>(sql);
    return {
      get: (...args: A): unknown => {
        queries++;
        return statement.get(...args);
      },
      all: (...args: A): unknown[] => {
        queries++;
        return statement.all(...args);
      },
      run: (...args: A): Database.RunResult => {
        queries++;
        return statement.run(...args);
      },
    };
  };
  const selectCourse = counted<[number]>(
    `SELECT id, title, description, price_cents AS price,
            (SELECT count(*) FROM lessons WHERE course_id = courses.id) AS lessonCount, updated_at AS updatedAt
       FROM courses WHERE id = ?`,
  );
  const COURSE_COLUMNS = `id, title, description, price_cents AS price,
            (SELECT count(*) FROM lessons WHERE course_id = courses.id) AS lessonCount, updated_at AS updatedAt`;
  // One prepared statement per number of ids (at most MAX_IDS of them).
  const selectCoursesIn = new Map<number, ReturnType<typeof counted<number[]>>>();
  const coursesIn = (n: number) => {
    let statement = selectCoursesIn.get(n);
    if (statement === undefined) {
      statement = counted<number[]>(
        `SELECT ${COURSE_COLUMNS} FROM courses WHERE id IN (${Array.from({ length: n }, () => '?').join(', ')})`,
      );
      selectCoursesIn.set(n, statement);
    }
    return statement;
  };
  const selectPage = counted<[number, number]>(
    'SELECT id, title, price_cents AS price FROM courses ORDER BY id LIMIT ? OFFSET ?',
  );
  const courseExists = counted<[number]>('SELECT 1 AS found FROM courses WHERE id = ?');
  const selectLessons = counted<[number]>(
    'SELECT id, course_id AS courseId, position, title, minutes FROM lessons WHERE course_id = ? ORDER BY position',
  );
  const selectUser = counted<[number]>('SELECT id, name, email FROM users WHERE id = ?');
  const updateCourse = counted<[string | null, number | null, number, number]>(
    `UPDATE courses SET title = coalesce(?, title), price_cents = coalesce(?, price_cents), updated_at = ?
      WHERE id = ?`,
  );
  const insertLesson = counted<[number, number, string, number]>(
    'INSERT INTO lessons (course_id, position, title, minutes) VALUES (?, ?, ?, ?)',
  );
  const nextPosition = counted<[number]>(
    'SELECT coalesce(max(position), 0) + 1 AS position FROM lessons WHERE course_id = ?',
  );
  const selectLesson = counted<[number]>(
    'SELECT id, course_id AS courseId, position, title, minutes FROM lessons WHERE id = ?',
  );
  const updateUser = counted<[string, number]>('UPDATE users SET name = ? WHERE id = ?');

  const addLesson = db.transaction((courseId: number, lesson: { title: string; minutes: number }) => {
    if (courseExists.get(courseId) === undefined) return undefined;
    const { position } = nextPosition.get(courseId) as { position: number };
    const { lastInsertRowid } = insertLesson.run(courseId, position, lesson.title, lesson.minutes);
    return selectLesson.get(Number(lastInsertRowid)) as Lesson;
  });

  const repository: Repository = {
    get queries() {
      return queries;
    },
    course: (id) => selectCourse.get(id) as Course | undefined,
    coursesByIds: (ids) => {
      if (ids.length === 0) return new Map();
      const rows = coursesIn(ids.length).all(...ids) as Course[];
      return new Map(rows.map((row) => [row.id, row]));
    },
    courses: (page) => selectPage.all(PAGE_SIZE, (page - 1) * PAGE_SIZE) as CourseSummary[],
    lessons: (courseId) =>
      courseExists.get(courseId) === undefined ? undefined : (selectLessons.all(courseId) as Lesson[]),
    user: (id) => selectUser.get(id) as User | undefined,
    updateCourse: (id, patch) => {
      const { changes } = updateCourse.run(patch.title ?? null, patch.price ?? null, Date.now(), id);
      return changes === 0 ? undefined : repository.course(id);
    },
    // IMMEDIATE: the transaction reads, then writes; taking the write lock first lets concurrent writers
    // (other instances on the same file) wait for each other instead of failing with SQLITE_BUSY.
    addLesson: (courseId, lesson) => addLesson.immediate(courseId, lesson),
    updateUser: (id, patch) => {
      const { changes } = updateUser.run(patch.name, id);
      return changes === 0 ? undefined : repository.user(id);
    },
  };
  return repository;
}
