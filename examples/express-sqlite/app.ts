/**
 * An Express 5 API over SQLite with larder in front of the database:
 *
 * - reads go through the cache (`getOrSet` with tags, `wrap`), list pages through `cacheResponses`;
 * - writes update the database, then invalidate by key (`wrap`'s `invalidate`) and by tag;
 * - `GET /stats` shows the cache's stats and how many queries reached the database;
 * - `GET /metrics` serves both caches' OpenTelemetry metrics (`larder/otel`) in the Prometheus text format.
 */

import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type Database from 'better-sqlite3';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response } from 'express';
import { Cache, type CacheOptions, type Policy } from 'larder';
import { type CachedResponse, cacheResponses } from 'larder/express';
import { instrument } from 'larder/otel';
import {
  type Course,
  createRepository,
  type Lesson,
  PAGE_SIZE,
  type Repository,
  SEED,
  type User,
} from './db.js';

/**
 * Creates the app's caches: `new Cache(options)` by default, or ones with a Redis tier and bus (see server.ts).
 * `name` tells which: `'data'` (rows) or `'responses'` (whole answers, `CachedResponse` values).
 */
export type CacheFactory = <V>(
  name: 'data' | 'responses',
  options: CacheOptions<string, V>,
) => Cache<string, V>;

/** Options of {@link createApp}. */
export interface AppOptions {
  /** An open database (see `openDatabase`). */
  db: Database.Database;
  /** `false` runs every read against the database (to compare). Default `true`. */
  cache?: boolean;
  /** How long cached reads are fresh. Default `'30s'`. */
  ttl?: CacheOptions<string, unknown>['ttl'];
  /** A name for this instance, sent as `X-Instance` and shown in `/stats`. */
  instance?: string;
  /** How the caches are made. Default: `new Cache(options)`. */
  createCache?: CacheFactory;
  /** The caches' eviction policy, `'tinylfu'` or `'lru'` (see docs/policy.md). Default: larder's. */
  policy?: Policy;
}

/** The app and what it is made of. */
export interface ExampleApp {
  app: express.Express;
  repository: Repository;
  /** Data cache (courses, lessons, users); `undefined` when caching is off. */
  data: Cache<string, unknown> | undefined;
  /** Response cache of the list pages; `undefined` when caching is off. */
  responses: Cache<string, CachedResponse> | undefined;
  /** The OpenTelemetry exporter behind `GET /metrics` (no server of its own). */
  metrics: PrometheusExporter;
  close(): Promise<void>;
}

/** An error answered as `{ error: { status, message } }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ID = /^[1-9]\d{0,8}$/;

function idParam(value: string | undefined, name = 'id'): number {
  if (value === undefined || !ID.test(value)) throw new HttpError(400, `${name} must be a positive integer`);
  return Number(value);
}

function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new HttpError(404, `${what} not found`);
  return value;
}

function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'the body must be a JSON object (Content-Type: application/json)');
  }
  return body as Record<string, unknown>;
}

function text(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = body[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
    throw new HttpError(400, `${name} must be a non-empty string of at most 200 characters`);
  }
  return value;
}

function integer(
  body: Record<string, unknown>,
  name: string,
  max: number,
  required: boolean,
): number | undefined {
  const value = body[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new HttpError(400, `${name} must be an integer from 0 to ${max}`);
  }
  return value;
}

/**
 * Builds the app.
 *
 * @param options - see {@link AppOptions}
 */
export function createApp(options: AppOptions): ExampleApp {
  const repository = createRepository(options.db);
  const cached = options.cache ?? true;
  const ttl = options.ttl ?? '30s';
  const make: CacheFactory = options.createCache ?? ((_name, cacheOptions) => new Cache(cacheOptions));
  const policy = options.policy;
  const data = cached ? make<unknown>('data', { max: 10_000, ttl, policy }) : undefined;
  const responses = cached
    ? make<CachedResponse>('responses', {
        maxSize: 20_000_000,
        sizeOf: (r) => r.body.byteLength + 512,
        ttl,
        policy,
      })
    : undefined;

  // Metrics: larder/otel reports both caches (the response cache of larder/express under its own name) to a
  // Prometheus exporter that answers on this app's own port (GET /metrics) instead of opening a second one.
  const metrics = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [metrics] });
  const meter = meterProvider.getMeter('express-sqlite');
  const stopMetrics = [
    ...(data === undefined ? [] : [instrument(data, { name: 'data', meter })]),
    ...(responses === undefined ? [] : [instrument(responses, { name: 'responses', meter })]),
  ];

  // Reads. With the cache, each goes through it; without, straight to the database.
  const readCourse = (id: number): Promise<Course | undefined> | Course | undefined =>
    data === undefined
      ? repository.course(id)
      : data.getOrSet(`course:${id}`, () => repository.course(id), { tags: [`course:${id}`] });
  const readLessons = (id: number): Promise<Lesson[] | undefined> | Lesson[] | undefined =>
    data === undefined
      ? repository.lessons(id)
      : data.getOrSet(`lessons:${id}`, () => repository.lessons(id), { tags: [`course:${id}`] });
  const cachedUser = data?.wrap('user', (id: number) => repository.user(id));
  const readUser = (id: number): Promise<User | undefined> | User | undefined =>
    cachedUser === undefined ? repository.user(id) : cachedUser(id);
  const listPage: express.RequestHandler =
    responses === undefined
      ? (_req, _res, next) => next()
      : cacheResponses(responses, {
          tags: (req) => [
            `courses:page:${new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '1'}`,
          ],
        });

  const app = express();
  app.disable('x-powered-by');
  const counters = { requests: 0 };
  app.use((req, res, next) => {
    if (options.instance !== undefined) res.setHeader('X-Instance', options.instance);
    if (req.path !== '/stats' && req.path !== '/health' && req.path !== '/metrics') counters.requests++;
    next();
  });
  app.use(express.json({ limit: '16kb' }));

  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/stats', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({
      instance: options.instance ?? null,
      policy: data?.policy ?? null,
      requests: counters.requests,
      db: { queries: repository.queries },
      cache: data?.stats() ?? null,
      responses: responses?.stats() ?? null,
    });
  });

  app.get('/metrics', (req, res) => {
    metrics.getMetricsRequestHandler(req, res);
  });

  app.get('/courses', listPage, (req, res) => {
    const raw = req.query.page ?? '1';
    if (typeof raw !== 'string' || !ID.test(raw) || Number(raw) > 10_000) {
      throw new HttpError(400, 'page must be a positive integer');
    }
    res.json({ page: Number(raw), courses: repository.courses(Number(raw)) });
  });

  app.get('/courses/:id', async (req, res) => {
    res.json(found(await readCourse(idParam(req.params.id)), 'course'));
  });

  app.get('/courses/:id/lessons', async (req, res) => {
    res.json(found(await readLessons(idParam(req.params.id)), 'course'));
  });

  app.get('/users/:id', async (req, res) => {
    res.json(found(await readUser(idParam(req.params.id)), 'user'));
  });

  // Writes: the database first, then the cache entries that the change made wrong.
  app.put('/courses/:id', (req, res) => {
    const id = idParam(req.params.id);
    const body = bodyOf(req);
    const patch = { title: text(body, 'title', false), price: integer(body, 'price', 1_000_000, false) };
    if (patch.title === undefined && patch.price === undefined)
      throw new HttpError(400, 'give title and/or price');
    const course = found(repository.updateCourse(id, patch), 'course');
    data?.invalidateTag(`course:${id}`);
    responses?.invalidateTag(`courses:page:${Math.ceil(id / PAGE_SIZE)}`); // the list page that shows it
    res.json(course);
  });

  app.post('/courses/:id/lessons', (req, res) => {
    const id = idParam(req.params.id);
    const body = bodyOf(req);
    const lesson = {
      title: text(body, 'title', true) as string,
      minutes: integer(body, 'minutes', 600, true) as number,
    };
    const created = found(repository.addLesson(id, lesson), 'course');
    data?.invalidateTag(`course:${id}`); // the course's lessonCount and its lessons list
    res.status(201).json(created);
  });

  app.patch('/users/:id', (req, res) => {
    const id = idParam(req.params.id);
    const user: User = found(
      repository.updateUser(id, { name: text(bodyOf(req), 'name', true) as string }),
      'user',
    );
    cachedUser?.invalidate(id);
    res.json(user);
  });

  app.use((req, _res, next) => {
    next(new HttpError(404, `no route for ${req.method} ${req.path}`));
  });

  const onError: ErrorRequestHandler = (
    error: unknown,
    _req: Request,
    res: Response,
    _next: NextFunction,
  ) => {
    const status =
      error instanceof HttpError
        ? error.status
        : typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number'
          ? error.status
          : 500;
    const message =
      error instanceof HttpError || status < 500
        ? error instanceof Error
          ? error.message
          : String(error)
        : 'internal error';
    if (status >= 500) console.error(error);
    res.status(status).set('Cache-Control', 'no-store').json({ error: { status, message } });
  };
  app.use(onError);

  return {
    app,
    repository,
    data,
    responses,
    metrics,
    close: async () => {
      for (const stop of stopMetrics) stop();
      await meterProvider.shutdown();
      await data?.close();
      await responses?.close();
    },
  };
}

/** What the seed holds, for clients that pick ids. */
export { SEED };
