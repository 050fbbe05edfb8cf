import type Database from 'better-sqlite3';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type ExampleApp } from '../../examples/express-sqlite/app.js';
import { openDatabase, SEED } from '../../examples/express-sqlite/db.js';
import { expectedPolicy, observedPolicy } from '../helpers/test-policy.js';

let db: Database.Database;
let example: ExampleApp;

async function queries(): Promise<number> {
  return (await request(example.app).get('/stats')).body.db.queries;
}

beforeEach(async () => {
  db = openDatabase(':memory:');
  example = createApp({ db, ttl: '1m', instance: 'test' });
});

afterEach(async () => {
  await example.close();
  db.close();
});

describe('examples/express-sqlite: reads', () => {
  it('seeds courses, lessons and users', () => {
    const count = (table: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect(count('courses')).toBe(SEED.courses);
    expect(count('lessons')).toBe(SEED.courses * SEED.lessonsPerCourse);
    expect(count('users')).toBe(SEED.users);
  });

  it('serves a course, then serves it from the cache without a query', async () => {
    const first = await request(example.app).get('/courses/7');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: 7, lessonCount: SEED.lessonsPerCourse });
    expect(first.headers['x-instance']).toBe('test');
    const before = await queries();
    const second = await request(example.app).get('/courses/7');
    expect(second.body).toEqual(first.body);
    expect(await queries()).toBe(before);
    const stats = (await request(example.app).get('/stats')).body;
    expect(stats.cache.hits).toBe(1);
    expect(stats.cache.misses).toBe(1);
    expect(stats.requests).toBe(2);
  });

  it('serves lessons and users through the cache', async () => {
    const lessons = await request(example.app).get('/courses/3/lessons');
    expect(lessons.body).toHaveLength(SEED.lessonsPerCourse);
    expect(lessons.body[0]).toMatchObject({ courseId: 3, position: 1 });
    const user = await request(example.app).get('/users/42');
    expect(user.body).toMatchObject({ id: 42 });
    const before = await queries();
    await request(example.app).get('/courses/3/lessons');
    await request(example.app).get('/users/42');
    expect(await queries()).toBe(before);
  });

  it('caches list pages as responses (X-Cache) and answers If-None-Match with 304', async () => {
    // One Host for every request (supertest listens on a new port each time; the response key holds the host).
    const first = await request(example.app).get('/courses?page=2').set('Host', 'courses.example');
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.body.courses).toHaveLength(20);
    expect(first.body.courses[0].id).toBe(21);
    const second = await request(example.app).get('/courses?page=2').set('Host', 'courses.example');
    expect(second.headers['x-cache']).toBe('HIT');
    const conditional = await request(example.app)
      .get('/courses?page=2')
      .set('Host', 'courses.example')
      .set('If-None-Match', String(first.headers.etag));
    expect(conditional.status).toBe(304);
  });

  it('reads the database every time with cache: false', async () => {
    const plain = createApp({ db, cache: false });
    await request(plain.app).get('/courses/1');
    await request(plain.app).get('/courses/1');
    await request(plain.app).get('/courses?page=1');
    const stats = (await request(plain.app).get('/stats')).body;
    expect(stats.db.queries).toBe(3);
    expect(stats.cache).toBeNull();
    expect(stats.policy).toBeNull();
  });

  it('builds its caches with the policy it is given, and shows it in /stats', async () => {
    expect((await request(example.app).get('/stats')).body.policy).toBe(expectedPolicy());
    for (const policy of ['lru', 'tinylfu'] as const) {
      const other = createApp({ db, policy });
      expect((await request(other.app).get('/stats')).body.policy).toBe(policy);
      expect(observedPolicy(other.data!, 10_000)).toBe(policy);
      await other.close();
    }
  });
});

describe('examples/express-sqlite: writes invalidate at once', () => {
  it('PUT /courses/:id shows the new course and list page on the next read', async () => {
    await request(example.app).get('/courses/5');
    await request(example.app).get('/courses?page=1');
    const put = await request(example.app).put('/courses/5').send({ price: 4242, title: 'Renamed' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: 5, price: 4242, title: 'Renamed' });
    expect((await request(example.app).get('/courses/5')).body).toMatchObject({
      price: 4242,
      title: 'Renamed',
    });
    const page = await request(example.app).get('/courses?page=1');
    expect(page.headers['x-cache']).toBe('MISS');
    expect(page.body.courses[4]).toEqual({ id: 5, title: 'Renamed', price: 4242 });
  });

  it('POST /courses/:id/lessons updates the lesson count and the lessons list', async () => {
    await request(example.app).get('/courses/9');
    await request(example.app).get('/courses/9/lessons');
    const created = await request(example.app)
      .post('/courses/9/lessons')
      .send({ title: 'Bonus', minutes: 12 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ courseId: 9, position: SEED.lessonsPerCourse + 1, title: 'Bonus' });
    expect((await request(example.app).get('/courses/9')).body.lessonCount).toBe(SEED.lessonsPerCourse + 1);
    const lessons = (await request(example.app).get('/courses/9/lessons')).body;
    expect(lessons.at(-1)).toMatchObject({ title: 'Bonus', minutes: 12 });
  });

  it('PATCH /users/:id invalidates the wrapped user read by key', async () => {
    await request(example.app).get('/users/8');
    expect((await request(example.app).patch('/users/8').send({ name: 'New Name' })).status).toBe(200);
    expect((await request(example.app).get('/users/8')).body.name).toBe('New Name');
  });
});

describe('examples/express-sqlite: bad input gets 4xx JSON, never cached', () => {
  const cases: [string, string, string, unknown, number][] = [
    ['non-numeric id', 'GET', '/courses/abc', undefined, 400],
    ['zero id', 'GET', '/users/0', undefined, 400],
    ['huge id', 'GET', '/courses/99999999999999', undefined, 400],
    ['unknown course', 'GET', '/courses/999', undefined, 404],
    ['unknown lessons', 'GET', '/courses/999/lessons', undefined, 404],
    ['unknown user', 'GET', '/users/999999', undefined, 404],
    ['bad page', 'GET', '/courses?page=abc', undefined, 400],
    ['repeated page', 'GET', '/courses?page=1&page=2', undefined, 400],
    ['unknown route', 'GET', '/nope', undefined, 404],
    ['empty patch', 'PUT', '/courses/1', {}, 400],
    ['negative price', 'PUT', '/courses/1', { price: -5 }, 400],
    ['title of a wrong type', 'PUT', '/courses/1', { title: 42 }, 400],
    ['unknown course write', 'PUT', '/courses/999', { price: 5 }, 404],
    ['lesson without title', 'POST', '/courses/1/lessons', { minutes: 5 }, 400],
    ['lesson for unknown course', 'POST', '/courses/999/lessons', { title: 'x', minutes: 5 }, 404],
    ['array body', 'PATCH', '/users/1', [1, 2], 400],
  ];
  it.each(cases)('%s (%s %s)', async (_name, method, path, body, status) => {
    const call = request(example.app)[method.toLowerCase() as 'get' | 'put' | 'post' | 'patch'](path);
    const answer = body === undefined ? await call : await call.send(body as object);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(/application\/json/);
    expect(answer.body.error.status).toBe(status);
    expect(typeof answer.body.error.message).toBe('string');
    expect(answer.headers['x-cache']).not.toBe('HIT');
    const again =
      body === undefined ? await request(example.app)[method.toLowerCase() as 'get'](path) : answer;
    expect(again.status).toBe(status);
    expect(again.headers['x-cache']).not.toBe('HIT');
  });

  it('answers an oversized body with 413 and broken JSON with 400', async () => {
    const big = await request(example.app)
      .put('/courses/1')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ title: 'x'.repeat(20_000) }));
    expect(big.status).toBe(413);
    expect(big.body.error.status).toBe(413);
    const broken = await request(example.app)
      .post('/courses/1/lessons')
      .set('Content-Type', 'application/json')
      .send('{"title": oops');
    expect(broken.status).toBe(400);
    expect(broken.body.error.status).toBe(400);
    expect((await request(example.app).get('/courses/1')).status).toBe(200);
  });

  it('does not cache a 404: a read after the row exists finds it', async () => {
    const before = await queries();
    await request(example.app).get('/courses/999');
    await request(example.app).get('/courses/999');
    expect(await queries()).toBe(before + 2);
    db.prepare('INSERT INTO courses VALUES (999, ?, ?, 100, 0)').run('Late course', 'added later');
    expect((await request(example.app).get('/courses/999')).body.title).toBe('Late course');
  });
});
