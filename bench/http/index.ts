/**
 * HTTP benchmark: autocannon against the Express example (examples/express-sqlite), cache off and on.
 * Reports requests/s, p50/p99 latency and database queries per request (from the example's `/stats`).
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunMeta } from '../lib/env.js';
import { childExecArgv, INPUT_VAR } from '../lib/isolate.js';
import { ROOT } from '../lib/larder.js';
import { mulberry32, zipfSampler } from '../lib/random.js';
import type { HttpResult, HttpRow } from '../lib/results.js';
import { median } from '../lib/stats.js';
import type { ServerInput, ServerMessage } from './server.js';

/** The parts of autocannon's result the benchmark reads. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** autocannon's request object, as `setupRequest` sees it. */
interface AutocannonRequest {
  path?: string;
  method?: string;
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: Array<{ setupRequest: (req: AutocannonRequest) => AutocannonRequest }>;
}) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Options of {@link runHttp}. */
export interface HttpOptions {
  /** Provenance. */
  meta: RunMeta;
  /** Seconds per measured window. */
  durationS: number;
  /** Windows per configuration (the load alternates between cache off and on). */
  rounds: number;
  /** Seconds of warm-up before each measured run. */
  warmupS: number;
  /** Concurrent connections. */
  connections: number;
  /** Environment for the server child (the prepared larder). */
  env: Record<string, string>;
  /** Progress output. */
  log: (line: string) => void;
}

/** The request mix, in words (for the report). */
export const WORKLOAD =
  'GET /courses/:id 40%, /courses/:id/lessons 25%, /users/:id 25%, /courses?page=N 10%; ids Zipf(0.99) over the seeded 200 courses, 2,000 users and 10 pages';

/** A deterministic cycle of request paths following {@link WORKLOAD}. */
export function workloadPaths(count: number, seed = 1): string[] {
  const rand = mulberry32(seed);
  const course = zipfSampler(200, 0.99, seed + 1);
  const user = zipfSampler(2000, 0.99, seed + 2);
  const page = zipfSampler(10, 0.99, seed + 3);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const u = rand();
    if (u < 0.4) paths.push(`/courses/${course() + 1}`);
    else if (u < 0.65) paths.push(`/courses/${course() + 1}/lessons`);
    else if (u < 0.9) paths.push(`/users/${user() + 1}`);
    else paths.push(`/courses?page=${page() + 1}`);
  }
  return paths;
}

function startServer(
  input: ServerInput,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), [], {
      execArgv: childExecArgv(),
      env: { ...process.env, ...env, [INPUT_VAR]: JSON.stringify(input) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the example server did not start within 60 s'));
    }, 60_000);
    child.once('message', (raw) => {
      clearTimeout(timer);
      const m = raw as ServerMessage;
      if (m.kind === 'listening') resolve({ child, port: m.port });
      else reject(new Error(m.message.split('\n')[0]));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example server exited (${code}) before listening`));
    });
  });
}

async function stats(port: number): Promise<{ requests: number; queries: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  const body = (await res.json()) as { requests?: number; db?: { queries?: number } };
  return { requests: body.requests ?? 0, queries: body.db?.queries ?? 0 };
}

function load(
  port: number,
  durationS: number,
  connections: number,
  paths: readonly string[],
): Promise<AutocannonResult> {
  let i = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: durationS,
    requests: [
      {
        setupRequest: (req) => {
          req.path = paths[i] as string;
          i = (i + 1) % paths.length;
          return req;
        },
      },
    ],
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.disconnect();
  });
}

/**
 * Runs the benchmark. Both servers (cache off, cache on) run at once, each in its own process, and the load
 * alternates between them in short windows, so machine noise falls on both; rates and latencies are
 * medians over the windows, queries per request the total over them.
 */
export async function runHttp(options: HttpOptions): Promise<HttpResult> {
  const paths = workloadPaths(20_000);
  const configs = [false, true] as const;
  const servers = new Map<boolean, { child: ChildProcess; port: number }>();
  const windows = new Map<
    boolean,
    { rps: number[]; p50: number[]; p99: number[]; requests: number; queries: number; errors: number }
  >(configs.map((c) => [c, { rps: [], p50: [], p99: [], requests: 0, queries: 0, errors: 0 }]));
  const name = (cache: boolean) => `cache ${cache ? 'on' : 'off'}`;
  try {
    for (const cache of configs) {
      const dbFile = join(ROOT, `bench/results/tmp/http-${cache ? 'on' : 'off'}.db`);
      servers.set(cache, await startServer({ cache, dbFile }, options.env));
    }
    for (const cache of configs) {
      options.log(`${name(cache)}: warm-up ${options.warmupS} s`);
      await load((servers.get(cache) as { port: number }).port, options.warmupS, options.connections, paths);
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const cache of round % 2 === 0 ? configs : [...configs].reverse()) {
        const { port } = servers.get(cache) as { port: number };
        const w = windows.get(cache) as NonNullable<ReturnType<typeof windows.get>>;
        const before = await stats(port);
        const r = await load(port, options.durationS, options.connections, paths);
        const after = await stats(port);
        w.rps.push(r.requests.average);
        w.p50.push(r.latency.p50);
        w.p99.push(r.latency.p99);
        w.requests += after.requests - before.requests;
        w.queries += after.queries - before.queries;
        w.errors += r.errors + r.non2xx;
        options.log(
          `round ${round + 1}/${options.rounds} ${name(cache)}: ${r.requests.average.toFixed(0)} req/s, p99 ${r.latency.p99} ms`,
        );
      }
    }
  } finally {
    for (const { child } of servers.values()) await stopServer(child);
  }
  const rows: HttpRow[] = configs.map((cache) => {
    const w = windows.get(cache) as NonNullable<ReturnType<typeof windows.get>>;
    const row: HttpRow = {
      cache,
      requestsPerSec: median(w.rps),
      p50: median(w.p50),
      p99: median(w.p99),
      requests: w.requests,
      errors: w.errors,
      queries: w.queries,
      queriesPerRequest: w.requests > 0 ? w.queries / w.requests : 0,
    };
    options.log(
      `${name(cache)}: ${row.requestsPerSec.toFixed(0)} req/s, p99 ${row.p99} ms, ${row.queriesPerRequest.toFixed(3)} queries/request, ${row.errors} errors`,
    );
    return row;
  });
  return {
    meta: options.meta,
    app: 'examples/express-sqlite (createApp with its default caches, SQLite file in WAL mode)',
    workload: WORKLOAD,
    durationS: options.durationS,
    rounds: options.rounds,
    connections: options.connections,
    rows,
  };
}
