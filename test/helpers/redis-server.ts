/**
 * Real Redis for tests (never a mock):
 *
 * - {@link redisForTests}: the shared Redis at `REDIS_URL` or 127.0.0.1:6379. When nothing answers, tests
 *   skip with a one-line reason on a laptop, and fail in CI (`CI=true`).
 * - {@link RedisServer}: a private `redis-server` on a spare port that a test can SIGKILL and restart.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { inCI } from './ci.js';
import { REGISTRY_ENV } from './redis-server-registry.js';

/** The URL tests use for the shared Redis. */
export const SHARED_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** Answers PING within `timeout` ms? */
export async function pingRedis(url: string, timeout = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The shared Redis URL when it answers. Otherwise: in CI, throws (the suite must fail); elsewhere, prints one
 * line saying why `suite` is skipped and returns `undefined` (use with `describe.runIf`).
 */
export async function redisForTests(suite: string): Promise<string | undefined> {
  if (await pingRedis(SHARED_REDIS_URL)) return SHARED_REDIS_URL;
  if (inCI()) {
    throw new Error(
      `${suite}: no Redis answers at ${SHARED_REDIS_URL}, and CI requires it (run scripts/ensure-redis.sh)`,
    );
  }
  console.warn(
    `skipping ${suite}: no Redis at ${SHARED_REDIS_URL} (set REDIS_URL or run scripts/ensure-redis.sh)`,
  );
  return undefined;
}

/** Whether a `redis-server` binary is on the PATH. In CI a missing binary throws instead of returning false. */
export function hasRedisServerBinary(suite: string): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (inCI())
      throw new Error(
        `${suite}: redis-server is not installed, and CI requires it (run scripts/ensure-redis.sh)`,
      );
    console.warn(`skipping ${suite}: no redis-server binary on the PATH`);
    return false;
  }
}

/** A key prefix unique to this test run. */
export function uniquePrefix(name: string): string {
  return `larder-test:${name}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}

/** A free TCP port on 127.0.0.1. */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Waits until `check` is true, polling every `every` ms; throws after `timeout` ms. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeout = 5000,
  every = 10,
): Promise<void> {
  const until = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`condition not met within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** Options of {@link RedisServer}. */
export interface RedisServerOptions {
  /** Keep data across kills and restarts (append-only file, fsync on every write). Default: no persistence. */
  persistent?: boolean;
}

/**
 * Lists a started server in the run's registry (see `redis-server-registry.ts`), whose teardown kills it if no test
 * stopped it; it leaves the list when it exits. `RedisServer` registers its own; tests that spawn `redis-server`
 * themselves (a sentinel) call this.
 */
export function register(child: ChildProcess): void {
  const dir = process.env[REGISTRY_ENV];
  if (dir === undefined || child.pid === undefined) return;
  const file = join(dir, String(child.pid));
  writeFileSync(file, '');
  child.once('exit', () => rmSync(file, { force: true }));
}

/** A private redis-server on a spare port, which tests can SIGKILL, SIGSTOP and restart. */
export class RedisServer {
  #process: ChildProcess | undefined;
  readonly #dir: string | undefined;

  private constructor(
    readonly port: number,
    options: RedisServerOptions,
  ) {
    this.#dir = options.persistent ? mkdtempSync(join(tmpdir(), 'larder-redis-')) : undefined;
  }

  /** The server's URL. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a spare port and waits until it answers. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = await RedisServer.reserve(options);
    await server.restart();
    return server;
  }

  /** Picks a spare port without starting the server (to test clients started while Redis is down). */
  static async reserve(options: RedisServerOptions = {}): Promise<RedisServer> {
    return new RedisServer(await sparePort(), options);
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.#process !== undefined;
  }

  /** Starts the server (again) on the same port and waits until it answers. */
  async restart(): Promise<void> {
    if (this.#process !== undefined) throw new Error('redis-server is already running');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--daemonize', 'no'];
    if (this.#dir === undefined) args.push('--appendonly', 'no');
    else args.push('--dir', this.#dir, '--appendonly', 'yes', '--appendfsync', 'always');
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    register(child);
    this.#process = child;
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined;
    });
    const until = Date.now() + 10_000;
    while (!(await pingRedis(this.url, 200))) {
      if (this.#process !== child) throw new Error(`redis-server on port ${this.port} exited at start`);
      if (Date.now() > until) throw new Error(`redis-server on port ${this.port} did not answer within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills the server with SIGKILL (no goodbye to clients) and waits until the process is gone. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (child === undefined) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      this.#process = undefined;
      return;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.#process = undefined;
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  /** Unfreezes the server (SIGCONT). */
  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  /** Stops the server for good and removes its data. */
  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
  }
}
