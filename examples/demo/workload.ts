/**
 * The demo's traffic and its referee: a seeded mix of reads, writes and bad requests, and a checker that
 * compares every answer with a direct read of the database.
 *
 * An answer is **fresh** when it equals what the database holds when the answer arrives. It is **stale
 * within the bound** when it equals a value the database held no longer than `ttl` before the request was
 * sent (an instance that cached it before another instance's write may serve it until its TTL ends: bounded
 * staleness). Anything else is a **mismatch**: a value the database never held, or held too long ago.
 */
import { PAGE_SIZE, type Repository, SEED } from '../express-sqlite/db.js';

/** One request of the mix. */
export interface Step {
  kind: 'read' | 'write' | 'bad';
  method: string;
  path: string;
  body?: unknown;
  /** For writes: the read paths whose answer the write changes. */
  affects?: string[];
  /** For bad requests: the status expected. */
  expect?: number;
}

/** A small seeded PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Zipf sampler over 1..n (exponent `s`): a few ids are very popular, most are rare, as in real traffic. */
export function zipf(n: number, s: number, rnd: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += 1 / k ** s;
    cumulative[k - 1] = total;
  }
  return () => {
    const target = rnd() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

/** The share of each kind of request in {@link workload}. */
export const MIX = { reads: 0.87, writes: 0.05, bad: 0.08 } as const;

/**
 * Builds `count` requests: 87% reads (Zipf-distributed ids), 5% writes, 8% bad input (non-numeric id,
 * unknown id, oversized body, broken JSON, unknown route).
 */
export function workload(count: number, seed = 42): Step[] {
  const rnd = random(seed);
  const pages = Math.ceil(SEED.courses / PAGE_SIZE);
  const courseId = zipf(SEED.courses, 1.2, rnd);
  const userId = zipf(SEED.users, 1.2, rnd);
  const pageNo = zipf(pages, 1.2, rnd);
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const course = courseId();
    if (r < 0.35) steps.push({ kind: 'read', method: 'GET', path: `/courses/${course}` });
    else if (r < 0.52) steps.push({ kind: 'read', method: 'GET', path: `/courses/${course}/lessons` });
    else if (r < 0.74) steps.push({ kind: 'read', method: 'GET', path: `/users/${userId()}` });
    else if (r < 0.87) steps.push({ kind: 'read', method: 'GET', path: `/courses?page=${pageNo()}` });
    else if (r < 0.89) {
      steps.push({
        kind: 'write',
        method: 'PUT',
        path: `/courses/${course}`,
        body: { price: 1000 + Math.floor(rnd() * 9000) },
        affects: [`/courses/${course}`, `/courses?page=${Math.ceil(course / PAGE_SIZE)}`],
      });
    } else if (r < 0.905) {
      const user = userId();
      steps.push({
        kind: 'write',
        method: 'PATCH',
        path: `/users/${user}`,
        body: { name: `User ${i}` },
        affects: [`/users/${user}`],
      });
    } else if (r < 0.92) {
      steps.push({
        kind: 'write',
        method: 'POST',
        path: `/courses/${course}/lessons`,
        body: { title: `Extra lesson ${i}`, minutes: 10 },
        affects: [`/courses/${course}`, `/courses/${course}/lessons`],
      });
    } else {
      const bad: Step[] = [
        { kind: 'bad', method: 'GET', path: '/courses/abc', expect: 400 },
        { kind: 'bad', method: 'GET', path: `/courses/${SEED.courses + 1 + i}`, expect: 404 },
        { kind: 'bad', method: 'GET', path: '/users/0', expect: 400 },
        { kind: 'bad', method: 'GET', path: '/courses?page=-1', expect: 400 },
        {
          kind: 'bad',
          method: 'PUT',
          path: '/courses/3',
          body: JSON.stringify({ title: 'x'.repeat(20_000) }),
          expect: 413,
        },
        { kind: 'bad', method: 'POST', path: '/courses/3/lessons', body: '{"title": oops', expect: 400 },
        { kind: 'bad', method: 'GET', path: '/no/such/route', expect: 404 },
      ];
      steps.push(bad[Math.floor(rnd() * bad.length)] as Step);
    }
  }
  return steps;
}

/**
 * A course that no step reads or writes, so that each instance's copy of it is loaded fresh (right before
 * the staleness test) and expires one full TTL later.
 */
export function coldCourse(steps: readonly Step[]): number {
  const touched = new Set(steps.map((step) => /^\/courses\/(\d+)/.exec(step.path)?.[1]));
  for (let id = SEED.courses; id > 0; id--) if (!touched.has(String(id))) return id;
  return SEED.courses;
}

/** What the database says a read path should answer (as JSON text), or undefined for a 404. */
export function expected(repository: Repository, path: string): string | undefined {
  let match = /^\/courses\/(\d+)$/.exec(path);
  if (match) return json(repository.course(Number(match[1])));
  match = /^\/courses\/(\d+)\/lessons$/.exec(path);
  if (match) return json(repository.lessons(Number(match[1])));
  match = /^\/users\/(\d+)$/.exec(path);
  if (match) return json(repository.user(Number(match[1])));
  match = /^\/courses\?page=(\d+)$/.exec(path);
  if (match) return json({ page: Number(match[1]), courses: repository.courses(Number(match[1])) });
  throw new Error(`no expectation for ${path}`);
}

function json(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

/** The checker's tally. */
export interface Tally {
  fresh: number;
  staleWithinBound: number;
  mismatches: number;
  badAnswered4xx: number;
  badWrong: number;
  writesOk: number;
  writesFailed: number;
  serverErrors: number;
  examples: string[];
}

/** Compares answers with the database. */
export class Checker {
  readonly tally: Tally = {
    fresh: 0,
    staleWithinBound: 0,
    mismatches: 0,
    badAnswered4xx: 0,
    badWrong: 0,
    writesOk: 0,
    writesFailed: 0,
    serverErrors: 0,
    examples: [],
  };
  /** For each read path: each value the database held, and the last time it is known to have held it. */
  readonly #held = new Map<string, Map<string | undefined, number>>();

  constructor(
    private readonly repository: Repository,
    /** The staleness bound: the TTL of the instances, plus a margin for clocks and in-flight loads. */
    readonly boundMs: number,
  ) {}

  #saw(path: string, value: string | undefined, at: number): void {
    let values = this.#held.get(path);
    if (values === undefined) {
      values = new Map();
      this.#held.set(path, values);
    }
    values.set(value, Math.max(values.get(value) ?? 0, at));
  }

  /** Before a write: remember what its paths hold now. Returns a token for {@link Checker.afterWrite}. */
  beforeWrite(step: Step): Map<string, string | undefined> {
    const before = new Map<string, string | undefined>();
    for (const path of step.affects ?? []) {
      const value = expected(this.repository, path);
      before.set(path, value);
      this.#saw(path, value, Date.now());
    }
    return before;
  }

  /** After a write's answer: the old values may have been current until now, the new ones are current now. */
  afterWrite(step: Step, before: Map<string, string | undefined>, status: number): void {
    const now = Date.now();
    if (status >= 200 && status < 300) this.tally.writesOk++;
    else {
      this.tally.writesFailed++;
      this.#example(`${step.method} ${step.path} answered ${status}`);
    }
    if (status >= 500) this.tally.serverErrors++;
    for (const [path, value] of before) {
      this.#saw(path, value, now);
      this.#saw(path, expected(this.repository, path), now);
    }
  }

  /** Checks a read's answer. */
  read(step: Step, status: number, text: string, sentAt: number): 'fresh' | 'stale' | 'mismatch' {
    const now = Date.now();
    const current = expected(this.repository, step.path);
    this.#saw(step.path, current, now);
    if (status >= 500) this.tally.serverErrors++;
    const answer = status === 404 ? undefined : status === 200 ? canonical(text) : `status ${status}`;
    if (answer === current) {
      this.tally.fresh++;
      return 'fresh';
    }
    const lastHeld = this.#held.get(step.path)?.get(answer);
    if (lastHeld !== undefined && sentAt <= lastHeld + this.boundMs) {
      this.tally.staleWithinBound++;
      return 'stale';
    }
    this.tally.mismatches++;
    this.#example(
      `GET ${step.path}: got ${String(answer).slice(0, 80)}, database has ${String(current).slice(0, 80)}`,
    );
    return 'mismatch';
  }

  /** Checks a bad request's answer: the expected 4xx, as a JSON error. */
  bad(step: Step, status: number, text: string): void {
    if (status >= 500) this.tally.serverErrors++;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const error = (body as { error?: { status?: unknown } } | undefined)?.error;
    if (status === step.expect && error?.status === status) this.tally.badAnswered4xx++;
    else {
      this.tally.badWrong++;
      this.#example(
        `${step.method} ${step.path} answered ${status} ${text.slice(0, 80)} (expected ${step.expect})`,
      );
    }
  }

  #example(text: string): void {
    if (this.tally.examples.length < 5) this.tally.examples.push(text);
  }
}

function canonical(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}
