/**
 * `npm run demo`: three instances of the Express + SQLite example behind a round-robin load balancer.
 *
 * 1. A few thousand mixed requests, once without a cache and once with larder: per-instance requests, hit
 *    rates and database queries, and every answer checked against a direct read of the database.
 * 2. A write through one instance, and what the others serve next: the old value until their TTL ends
 *    (bounded staleness), or the new one at once with REDIS_URL set (the invalidation bus).
 * 3. The counter-example: a chat room's last 10 messages kept in each instance's memory. Users of one room
 *    see different histories; routing by room, or moving the room to a shared store, fixes it.
 *
 * Environment: DEMO_REQUESTS (default 3000), DEMO_TTL (default 10s), REDIS_URL (optional), POLICY (the
 * instances' eviction policy, tinylfu or lru; default larder's). `--json` prints only a JSON summary line.
 * Exits 1 when an answer did not match the database or a check failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../express-sqlite/app.js';
import { createRepository, openDatabase, SEED } from '../express-sqlite/db.js';
import { type Backend, type Balancer, startBalancer } from './balancer.js';
import type { Message } from './chat-server.js';
import { agent, getJson, send } from './http.js';
import { type SharedStore, startStore } from './store.js';
import { bold, dim, green, ms, n, Progress, pad, pct, red, say, setQuiet, yellow } from './ui.js';
import { Checker, coldCourse, MIX, type Step, type Tally, workload } from './workload.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const env = process.env;
const jsonOnly = process.argv.includes('--json');
setQuiet(jsonOnly);

function durationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (match === null)
    throw new TypeError(`DEMO_TTL must look like 5s, 1500ms or 2000; got ${JSON.stringify(text)}`);
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

const REQUESTS = Number(env.DEMO_REQUESTS ?? 3000);
if (!Number.isInteger(REQUESTS) || REQUESTS < 50)
  throw new RangeError('DEMO_REQUESTS must be an integer of 50 or more');
const TTL_MS = durationMs(env.DEMO_TTL ?? '10s');
const MARGIN_MS = 250;
const CONCURRENCY = 16;
const REDIS_URL = env.REDIS_URL === '' ? undefined : env.REDIS_URL;
const runId = `${process.pid}-${Date.now().toString(36)}`;

// ------------------------------------------------------------------ child processes

interface Instance extends Backend {
  proc: ChildProcess;
  /** The mode line the instance printed, e.g. `larder, memory`. */
  mode: string;
  /** What the instance printed so far. */
  output(): string;
}

const children: ChildProcess[] = [];

/**
 * Compiles the two servers into one JavaScript file each (esbuild, with the tsconfig's paths, packages left
 * external), so that each process starts several times faster than through tsx. Falls back to tsx.
 */
async function compile(outdir: string): Promise<{ app: string[]; chat: string[] }> {
  const app = join(root, 'examples', 'express-sqlite', 'server.ts');
  const chat = join(root, 'examples', 'demo', 'chat-server.ts');
  try {
    const { build } = await import('esbuild');
    await build({
      entryPoints: { app, chat },
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      tsconfig: env.TSX_TSCONFIG_PATH ?? join(root, 'tsconfig.json'),
      logLevel: 'silent',
    });
    return { app: [join(outdir, 'app.mjs')], chat: [join(outdir, 'chat.mjs')] };
  } catch {
    return { app: ['--import', 'tsx', app], chat: ['--import', 'tsx', chat] };
  }
}

function start(args: string[], name: string, extra: Record<string, string | undefined>): Promise<Instance> {
  const proc = spawn(process.execPath, args, {
    cwd: root,
    env: { ...env, ...extra, INSTANCE: name, PORT: '0', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /\[([^\]]+)\] listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ name, port: Number(match[2]), proc, mode: match[1] as string, output: () => output });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

async function stopAll(): Promise<void> {
  await stop(children);
}

async function stop(procs: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) {
            resolve();
            return;
          }
          const kill = setTimeout(() => proc.kill('SIGKILL'), 2000);
          proc.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          proc.kill('SIGTERM');
        }),
    ),
  );
}

// ------------------------------------------------------------------ the client

interface InstanceStats {
  /** The caches' eviction policy, `null` without a cache. */
  policy: string | null;
  requests: number;
  db: { queries: number };
  cache: { hits: number; misses: number; tierHits: number } | null;
  responses: { hits: number; misses: number; tierHits: number } | null;
}

async function drive(balancer: Balancer, steps: Step[], checker: Checker, label: string) {
  const progress = new Progress(label, steps.length);
  const locks = new Map<string, Promise<void>>();
  let next = 0;
  const one = async (step: Step): Promise<void> => {
    if (step.kind === 'write') {
      // Writes to the same rows go one at a time, so the checker knows every value the rows held.
      const paths = step.affects ?? [];
      const earlier = paths.map((path) => locks.get(path));
      let release!: () => void;
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      for (const path of paths) locks.set(path, mine);
      await Promise.all(earlier);
      try {
        const before = checker.beforeWrite(step);
        const answer = await send(balancer.port, step.method, step.path, step.body);
        checker.afterWrite(step, before, answer.status);
      } finally {
        for (const path of paths) if (locks.get(path) === mine) locks.delete(path);
        release();
      }
    } else {
      const answer = await send(balancer.port, step.method, step.path, step.body);
      if (step.kind === 'read') checker.read(step, answer.status, answer.text, answer.sentAt);
      else checker.bad(step, answer.status, answer.text);
    }
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < steps.length) {
        await one(steps[next++] as Step);
        progress.tick();
      }
    }),
  );
  return progress.finish();
}

async function statsOf(instances: Instance[]) {
  return Promise.all(
    instances.map(async (instance) => {
      const stats = await getJson<InstanceStats>(instance.port, '/stats');
      // Answered without the database: from memory, or (with Redis) from the shared second tier.
      const hits =
        (stats.cache?.hits ?? 0) +
        (stats.responses?.hits ?? 0) +
        (stats.cache?.tierHits ?? 0) +
        (stats.responses?.tierHits ?? 0);
      const lookups =
        (stats.cache?.hits ?? 0) +
        (stats.cache?.misses ?? 0) +
        (stats.responses?.hits ?? 0) +
        (stats.responses?.misses ?? 0);
      return {
        instance: instance.name,
        policy: stats.policy,
        requests: stats.requests,
        hitRate: lookups === 0 ? 0 : hits / lookups,
        dbQueries: stats.db.queries,
      };
    }),
  );
}

function tallyLine(tally: Tally): string {
  const mismatches =
    tally.mismatches === 0 ? green('0 mismatches') : red(`${n(tally.mismatches)} mismatches`);
  return `${n(tally.fresh)} fresh, ${n(tally.staleWithinBound)} stale within the TTL bound, ${mismatches}`;
}

// ------------------------------------------------------------------ the phases

async function staleness(writer: Instance, others: Instance[], courseId: number) {
  type Course = { price: number };
  const path = `/courses/${courseId}`;
  // Every instance has the course cached before the write.
  const before = await Promise.all([writer, ...others].map((i) => getJson<Course>(i.port, path)));
  const oldPrice = (before[0] as Course).price;
  const newPrice = oldPrice + 1;
  say(`   ${bold(`PUT ${path}`)} {"price": ${newPrice}} through instance ${writer.name} (was ${oldPrice})`);
  const wroteAt = Date.now();
  const write = await send(writer.port, 'PUT', path, { price: newPrice });
  if (write.status !== 200) throw new Error(`the write answered ${write.status}: ${write.text}`);
  const firstReads = await Promise.all([writer, ...others].map((i) => send(i.port, 'GET', path)));
  const priceOf = (answer: { text: string }) => (JSON.parse(answer.text) as Course).price;
  const shown = firstReads.map((answer, k) => {
    const name = ([writer, ...others][k] as Instance).name;
    const price = priceOf(answer);
    return `${name} → ${price === newPrice ? green(`${price} (new)`) : yellow(`${price} (old)`)}`;
  });
  say(`   right after the write:   ${shown.join('   ')}`);
  // Poll each other instance: staleMs is when the last old answer was asked for, after the write (the
  // instance served the old value at least that long); newAfterMs is when the first new answer arrived.
  const results = await Promise.all(
    others.map(async (instance, k) => {
      const first = firstReads[k + 1] as (typeof firstReads)[number];
      let staleMs = priceOf(first) === newPrice ? -1 : first.sentAt - wroteAt;
      if (staleMs < 0)
        return {
          instance: instance.name,
          staleMs: 0,
          newAfterMs: first.receivedAt - wroteAt,
          converged: true,
        };
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const answer = await send(instance.port, 'GET', path);
        if (priceOf(answer) === newPrice) {
          return {
            instance: instance.name,
            staleMs,
            newAfterMs: answer.receivedAt - wroteAt,
            converged: true,
          };
        }
        staleMs = answer.sentAt - wroteAt;
        if (staleMs > TTL_MS + 2000)
          return { instance: instance.name, staleMs, newAfterMs: -1, converged: false };
      }
    }),
  );
  const writerNew = priceOf(firstReads[0] as (typeof firstReads)[number]) === newPrice;
  return { path, oldPrice, newPrice, writerNew, others: results };
}

async function chat(
  balancer: Balancer,
  instances: Instance[],
  label: string,
  mode: 'round-robin' | 'room-hash',
) {
  balancer.use(instances, mode);
  const rooms = ['lobby', 'support', 'random'];
  const users = ['alice', 'bob', 'carol'];
  const truth = new Map<string, string[]>();
  let id = 0;
  for (const room of rooms) {
    const sent: string[] = [];
    for (let k = 0; k < 15; k++) {
      const message = { id: `m${++id}`, user: users[k % users.length], text: `hello ${k}` };
      const answer = await send(balancer.port, 'POST', `/rooms/${room}/messages`, message);
      if (answer.status !== 201) throw new Error(`chat POST answered ${answer.status}: ${answer.text}`);
      sent.push(message.id);
    }
    truth.set(room, sent.slice(-10));
  }
  const views: Record<string, Record<string, string[]>> = {};
  let agree = true;
  let correct = true;
  const distinct: Record<string, number> = {};
  for (const room of rooms) {
    views[room] = {};
    for (const user of users) {
      const body = await getJson<{ messages: Message[] }>(balancer.port, `/rooms/${room}/messages`);
      (views[room] as Record<string, string[]>)[user] = body.messages.map((m) => m.id);
    }
    const seen = new Set(Object.values(views[room] as Record<string, string[]>).map((ids) => ids.join(',')));
    distinct[room] = seen.size;
    if (seen.size !== 1) agree = false;
    if (!seen.has((truth.get(room) as string[]).join(','))) correct = false;
  }
  const counts = rooms.map((room) => distinct[room]).join('/');
  const verdict =
    agree && correct
      ? green('✓ all users of a room see its last 10 messages')
      : red(`✗ users of one room see different histories (${counts} per room)`);
  say(`   ${pad(label, 42)} ${verdict}`);
  return { mode, agree, correct, distinctHistories: distinct, views, truth: Object.fromEntries(truth) };
}

// ------------------------------------------------------------------ main

async function main(): Promise<boolean> {
  const began = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'larder-demo-'));
  const dbFile = join(dir, 'demo.db');
  const db = openDatabase(dbFile);
  const repository = createRepository(db);
  let balancer: Balancer | undefined;
  let store: SharedStore | undefined;
  try {
    balancer = await startBalancer();
    store = REDIS_URL === undefined ? await startStore() : undefined;
    // Inside the repository, so that the compiled servers find its node_modules.
    const { app, chat: chatServer } = await compile(
      join(root, 'node_modules', '.cache', 'larder-demo', runId),
    );
    const common = { DB_FILE: dbFile, TTL: String(TTL_MS), REDIS_URL, REDIS_PREFIX: `larder-demo:${runId}:` };
    const shared =
      REDIS_URL === undefined ? { STATE: 'shared', STORE_URL: store?.url } : { STATE: 'redis', REDIS_URL };
    const chatPrefix = `larder-demo:${runId}:chat:`;
    const data = `${SEED.courses} courses, ${n(SEED.courses * SEED.lessonsPerCourse)} lessons, ${n(SEED.users)} users`;
    say(`${bold('larder demo')}${dim(` — ${data} in one SQLite file`)}`);
    const startedAt = Date.now();
    const [plain, cached] = await Promise.all([
      Promise.all(['a', 'b', 'c'].map((name) => start(app, name, { ...common, CACHE: 'off' }))),
      Promise.all(['a', 'b', 'c'].map((name) => start(app, name, common))),
    ]);
    say(dim(`   6 app processes started (3 without cache, 3 with larder) in ${ms(Date.now() - startedAt)}`));
    const withRedis = (cached[0] as Instance).mode.includes('Redis');
    if (REDIS_URL === undefined) {
      say(`   Redis: ${dim('not set — the instances share nothing but the database')}`);
    } else if (withRedis) {
      say(`   Redis: ${green(REDIS_URL)} — the instances use larder/redis (second tier + invalidation bus)`);
    } else {
      say(
        `   Redis: ${yellow('REDIS_URL is set, but larder/redis is not available: the instances run without Redis')}`,
      );
    }
    say(
      `   balancer: round-robin on :${balancer.port}, TTL ${ms(TTL_MS)}, ${CONCURRENCY} requests in flight`,
    );
    say();

    // 1. Load.
    const mix = `${pct(MIX.reads)} reads, ${pct(MIX.writes)} writes, ${pct(MIX.bad)} bad input`.replaceAll(
      '.0%',
      '%',
    );
    say(`${bold(`1) ${n(REQUESTS)} mixed requests through the balancer`)}${dim(` (${mix})`)}`);
    const steps = workload(REQUESTS);
    const plainChecker = new Checker(repository, TTL_MS + MARGIN_MS);
    balancer.use(plain, 'round-robin');
    const plainMs = await drive(balancer, steps, plainChecker, 'without cache');
    const plainStats = await statsOf(plain);
    await stop(plain.map((instance) => instance.proc));
    const checker = new Checker(repository, TTL_MS + MARGIN_MS);
    balancer.use(cached, 'round-robin');
    const cachedMs = await drive(balancer, steps, checker, 'with larder');
    const cachedStats = await statsOf(cached);
    say();
    const row = (a: string, b: string, c: string, d: string, e: string) =>
      say(`   ${pad(a, 10)}${pad(b, 10, true)}${pad(c, 11, true)}${pad(d, 13, true)}${pad(e, 18, true)}`);
    row('instance', 'requests', 'hit rate', 'db queries', 'without cache');
    cachedStats.forEach((stats, k) => {
      const before = plainStats[k] as (typeof plainStats)[number];
      row(
        stats.instance,
        n(stats.requests),
        pct(stats.hitRate),
        n(stats.dbQueries),
        dim(n(before.dbQueries)),
      );
    });
    const plainQueries = plainStats.reduce((sum, stats) => sum + stats.dbQueries, 0);
    const cachedQueries = cachedStats.reduce((sum, stats) => sum + stats.dbQueries, 0);
    const ratio = plainQueries / Math.max(1, cachedQueries);
    say(
      dim(
        `   (each cache starts empty and sees ${n(Math.round(REQUESTS / 3))} requests; a long-running one hits more)`,
      ),
    );
    say();
    say(
      `   database load: ${bold(n(plainQueries))} queries without a cache → ${bold(green(n(cachedQueries)))} with larder (${bold(`${ratio.toFixed(1)}× fewer`)})`,
    );
    const t = checker.tally;
    say(`   every answer checked against the database: ${tallyLine(t)}`);
    say(
      dim(`     (stale: a value the database held less than one TTL (${ms(TTL_MS)}) earlier, served by an`),
    );
    say(dim("      instance that had cached it before another instance's write)"));
    const wrong = t.badWrong + plainChecker.tally.badWrong;
    const errors5xx = t.serverErrors + plainChecker.tally.serverErrors;
    say(
      `   bad input: ${n(t.badAnswered4xx)} answered with the right 4xx JSON error, ${wrong === 0 ? green('0 wrong') : red(`${wrong} wrong`)}; 5xx: ${errors5xx === 0 ? green('0') : red(String(errors5xx))}; writes: ${n(t.writesOk)}`,
    );
    for (const example of [...plainChecker.tally.examples, ...t.examples]) say(red(`     ${example}`));
    if (errors5xx > 0) {
      for (const instance of [...plain, ...cached]) {
        const lines = instance
          .output()
          .split('\n')
          .filter((line) => /error/i.test(line));
        for (const line of lines.slice(0, 3)) say(red(`     ${instance.name}: ${line.trim().slice(0, 160)}`));
      }
    }
    say();

    // 2. Staleness. The chat processes start meanwhile.
    const chatStarting = Promise.all([
      Promise.all(['x', 'y', 'z'].map((name) => start(chatServer, name, { STATE: 'memory' }))),
      Promise.all(
        ['x', 'y', 'z'].map((name) => start(chatServer, name, { ...shared, STATE_PREFIX: chatPrefix })),
      ),
    ]);
    chatStarting.catch(() => {});
    say(bold('2) A write through one instance: what do the others serve next?'));
    const [writer, ...others] = cached as [Instance, ...Instance[]];
    const stale = await staleness(writer, others, coldCourse(steps));
    for (const other of stale.others) {
      const name = `   ${other.instance}:`;
      if (!other.converged) say(red(`${name} still the old value ${ms(other.staleMs)} after the write`));
      else if (other.staleMs === 0)
        say(`${name} ${green('the new value on the first read')} (${ms(other.newAfterMs)} after the write)`);
      else say(`${name} the old value for ${yellow(ms(other.staleMs, 2))} after the write, then the new one`);
    }
    const worst = Math.max(...stale.others.map((o) => o.staleMs));
    const limit = withRedis ? TTL_MS / 2 : TTL_MS + MARGIN_MS;
    const bounded = stale.writerNew && stale.others.every((o) => o.converged && o.staleMs <= limit);
    const mark = bounded ? green('✓') : red('✗');
    if (withRedis)
      say(`   ${mark} the write's invalidation reached every instance over the Redis bus at once`);
    else {
      say(
        `   ${mark} bounded staleness: the writer invalidated its copy at once; the others lag by at most one`,
      );
      say(
        `     TTL (bound ${bold(ms(TTL_MS))}, here ${ms(worst, 2)}). Set REDIS_URL to invalidate every instance at once.`,
      );
    }
    say();

    // 3. The counter-example.
    const [chatMemory, chatShared] = await chatStarting;
    say(bold('3) Counter-example: state that is not a cache'));
    say(dim("   A chat service keeps each room's last 10 messages. 15 messages go to each of 3 rooms, then"));
    say(dim("   each room's 3 users read its history, all through the same balancer."));
    const memory = await chat(balancer, chatMemory, 'round-robin, rooms in instance memory', 'round-robin');
    for (const [user, ids] of Object.entries(memory.views.lobby as Record<string, string[]>)) {
      say(dim(`     lobby, as ${pad(user, 5)} sees it: ${ids.join(' ')}`));
    }
    say(dim(`     lobby really holds:       ${(memory.truth.lobby as string[]).join(' ')}`));
    const hashed = await chat(
      balancer,
      chatMemory,
      'fix 1: route by room (hash of the room id)',
      'room-hash',
    );
    const sharedLabel = `fix 2: rooms in ${REDIS_URL === undefined ? 'a shared store' : 'Redis'}, round-robin`;
    const sharedView = await chat(balancer, chatShared, sharedLabel, 'round-robin');
    say(
      dim(
        REDIS_URL === undefined
          ? '     (fix 2 used a tiny HTTP store run by the demo process; with REDIS_URL set it uses Redis)'
          : `     (fix 2 used Redis at ${REDIS_URL})`,
      ),
    );
    say();

    // 4. A list page: N+1 against one batch.
    say(bold(`4) A list page of ${LIST_SIZE} courses on a cold cache (GET /courses?ids=1,...,${LIST_SIZE})`));
    const list = await listPage(db);
    say(`   one getOrSet per course: ${bold(n(list.unbatched))} queries`);
    say(
      `   wrapMany:                ${bold(green(n(list.batched)))} ${list.batched === 1 ? 'query' : 'queries'} (one WHERE id IN (...))`,
    );
    say(dim(`   the second read of the page, either way: ${n(list.warm)} queries`));
    say();

    const checks: Record<string, boolean> = {
      'no mismatch with the database': t.mismatches + plainChecker.tally.mismatches === 0,
      'bad input answered with 4xx JSON': wrong === 0,
      'no 5xx': errors5xx === 0,
      'all writes succeeded': t.writesFailed + plainChecker.tally.writesFailed === 0,
      'staleness bounded': bounded,
      'in-memory chat diverges': !memory.agree,
      'routing by room agrees': hashed.agree && hashed.correct,
      'shared store agrees': sharedView.agree && sharedView.correct,
      'a list page is one query with batching': list.batched === 1 && list.unbatched === LIST_SIZE,
    };
    const failed = Object.keys(checks).filter((name) => !checks[name]);
    const ok = failed.length === 0;
    const elapsed = Date.now() - began;
    if (ok) {
      say(
        `${green(bold('✓'))} Cached reads behind a plain round-robin balancer: 0 mismatches, staleness bounded by`,
      );
      say('  the TTL, no sticky sessions. In-memory state that is not a cache needed routing by room or a');
      say(`  shared store. ${dim(`(${ms(elapsed)})`)}`);
    } else say(red(bold(`✗ failed: ${failed.join(', ')} (${ms(elapsed)})`)));
    if (jsonOnly) {
      const summary = {
        ok,
        failed,
        requests: REQUESTS,
        ttlMs: TTL_MS,
        redis: withRedis,
        elapsedMs: elapsed,
        load: {
          withoutCache: {
            dbQueries: plainQueries,
            elapsedMs: plainMs,
            ...strip(plainChecker.tally),
            instances: plainStats,
          },
          withCache: { dbQueries: cachedQueries, elapsedMs: cachedMs, ...strip(t), instances: cachedStats },
          queryRatio: ratio,
        },
        staleness: { boundMs: TTL_MS, mode: withRedis ? 'bus' : 'ttl', ...stale, bounded },
        listPage: { size: LIST_SIZE, ...list },
        chat: {
          store: REDIS_URL === undefined ? 'http' : 'redis',
          memoryRoundRobin: {
            agree: memory.agree,
            correct: memory.correct,
            distinctHistories: memory.distinctHistories,
          },
          roomHash: {
            agree: hashed.agree,
            correct: hashed.correct,
            distinctHistories: hashed.distinctHistories,
          },
          sharedStore: {
            agree: sharedView.agree,
            correct: sharedView.correct,
            distinctHistories: sharedView.distinctHistories,
          },
        },
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    }
    return ok;
  } finally {
    await stopAll();
    await balancer?.close();
    await store?.close();
    if (REDIS_URL !== undefined) await deleteRedisKeys(REDIS_URL, `larder-demo:${runId}:`);
    agent.destroy();
    db.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(root, 'node_modules', '.cache', 'larder-demo', runId), { recursive: true, force: true });
    try {
      rmdirSync(join(root, 'node_modules', '.cache', 'larder-demo')); // when no other run is using it
    } catch {
      // another demo is running, or it was not there
    }
  }
}

/** How many courses the list page of step 4 shows. */
const LIST_SIZE = 50;

/**
 * Step 4: the queries one cold read of a list page costs, through the example app in this process (its own
 * caches), with `wrapMany` and with one `getOrSet` per course; then a warm read.
 */
async function listPage(db: ReturnType<typeof openDatabase>) {
  const path = `/courses?ids=${Array.from({ length: LIST_SIZE }, (_, i) => i + 1).join(',')}`;
  const count = async (batch: boolean) => {
    const example = createApp({ db, ttl: '1m', batch });
    const server = example.app.listen(0, '127.0.0.1');
    try {
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const port = (server.address() as AddressInfo).port;
      const before = example.repository.queries;
      await getJson(port, path);
      const cold = example.repository.queries - before;
      await getJson(port, path);
      return { cold, warm: example.repository.queries - before - cold };
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await example.close();
    }
  };
  const unbatched = await count(false);
  const batched = await count(true);
  return { unbatched: unbatched.cold, batched: batched.cold, warm: Math.max(unbatched.warm, batched.warm) };
}

/** Deletes this run's keys (the instances' tiers and the chat rooms) from Redis. */
async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // Leaving a few keys behind (they expire) is no reason to fail the demo.
  } finally {
    redis.disconnect();
  }
}

function strip(tally: Tally): Omit<Tally, 'examples'> & { examples?: string[] } {
  return tally.examples.length === 0 ? { ...tally, examples: undefined } : tally;
}

const guard = setTimeout(() => {
  process.stderr.write('demo: took longer than 90 s, giving up\n');
  for (const proc of children) proc.kill('SIGKILL');
  process.exit(2);
}, 90_000);
guard.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const proc of children) proc.kill('SIGTERM');
    process.exit(130);
  });
}

main().then(
  (ok) => {
    process.exitCode = ok ? 0 : 1;
  },
  async (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
