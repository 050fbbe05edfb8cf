import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { redisForTests } from '../helpers/redis-server.js';
import { testPolicy } from '../helpers/test-policy.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const redisUrl = await redisForTests('the demo with REDIS_URL');

interface Summary {
  ok: boolean;
  failed: string[];
  requests: number;
  redis: boolean;
  load: {
    withoutCache: {
      dbQueries: number;
      mismatches: number;
      serverErrors: number;
      instances: { policy: string | null }[];
    };
    withCache: {
      dbQueries: number;
      fresh: number;
      staleWithinBound: number;
      mismatches: number;
      badAnswered4xx: number;
      badWrong: number;
      serverErrors: number;
      writesOk: number;
      instances: {
        instance: string;
        policy: string | null;
        requests: number;
        hitRate: number;
        dbQueries: number;
      }[];
    };
  };
  staleness: {
    mode: 'ttl' | 'bus';
    boundMs: number;
    writerNew: boolean;
    bounded: boolean;
    others: { instance: string; staleMs: number; converged: boolean }[];
  };
  chat: Record<'memoryRoundRobin' | 'roomHash' | 'sharedStore', { agree: boolean; correct: boolean }> & {
    store: string;
  };
}

/** The instances' policy: this test run's (see test/helpers/test-policy.ts), else larder's default. */
const policy = testPolicy();

/** Runs `npm run demo` in its fast mode and returns the JSON summary line and the exit code. */
function runDemo(
  extraEnv: Record<string, string>,
): Promise<{ code: number | null; summary: Summary; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_REQUESTS: '300', DEMO_TTL: '2s', ...extraEnv };
  if (extraEnv.REDIS_URL === undefined) delete env.REDIS_URL;
  if (policy === undefined) delete env.POLICY;
  else env.POLICY = policy;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/run.ts', '--json'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ code, summary: JSON.parse(last) as Summary, stderr });
      } catch {
        reject(new Error(`the demo printed no summary (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

function expectSound(summary: Summary): void {
  const load = summary.load.withCache;
  expect(summary.failed).toEqual([]);
  expect(load.mismatches).toBe(0);
  expect(summary.load.withoutCache.mismatches).toBe(0);
  expect(load.serverErrors).toBe(0);
  expect(load.badWrong).toBe(0);
  expect(load.badAnswered4xx).toBeGreaterThan(0);
  expect(load.writesOk).toBeGreaterThan(0);
  expect(load.fresh + load.staleWithinBound).toBeGreaterThan(200);
  // Round-robin spreads the requests evenly, and the cache takes load off the database.
  expect(load.instances.map((i) => i.requests)).toEqual([100, 100, 100]);
  // The instances run under this test run's policy.
  expect(load.instances.map((i) => i.policy)).toEqual(Array(3).fill(policy ?? 'tinylfu'));
  expect(summary.load.withoutCache.instances.map((i) => i.policy)).toEqual([null, null, null]);
  expect(load.dbQueries).toBeLessThan(summary.load.withoutCache.dbQueries);
  // The counter-example diverges; both fixes agree on the true last 10 messages.
  expect(summary.chat.memoryRoundRobin.agree).toBe(false);
  expect(summary.chat.roomHash).toEqual({ agree: true, correct: true, distinctHistories: expect.anything() });
  expect(summary.chat.sharedStore).toEqual({
    agree: true,
    correct: true,
    distinctHistories: expect.anything(),
  });
  expect(summary.staleness.writerNew).toBe(true);
  expect(summary.staleness.bounded).toBe(true);
}

describe('npm run demo', () => {
  it('without Redis: zero mismatches, staleness bounded by the TTL, the chat diverges and both fixes agree', async () => {
    const { code, summary, stderr } = await runDemo({});
    expect(stderr).toBe('');
    expectSound(summary);
    expect(summary.ok).toBe(true);
    expect(code).toBe(0);
    expect(summary.redis).toBe(false);
    expect(summary.chat.store).toBe('http');
    expect(summary.staleness.mode).toBe('ttl');
    for (const other of summary.staleness.others) {
      expect(other.converged).toBe(true);
      expect(other.staleMs).toBeLessThanOrEqual(summary.staleness.boundMs + 250);
    }
    // An instance that cached the value before the write keeps serving it for a while: the demo shows it.
    expect(Math.max(...summary.staleness.others.map((o) => o.staleMs))).toBeGreaterThan(0);
  }, 180_000);

  it.runIf(redisUrl)(
    'with REDIS_URL: the other instances get the new value through the bus',
    async () => {
      const { code, summary } = await runDemo({ REDIS_URL: redisUrl as string, DEMO_TTL: '5s' });
      expectSound(summary);
      expect(code).toBe(0);
      expect(summary.redis).toBe(true);
      expect(summary.chat.store).toBe('redis');
      expect(summary.staleness.mode).toBe('bus');
      // Not the TTL (5 s) but the bus made the others drop their copies.
      for (const other of summary.staleness.others) expect(other.staleMs).toBeLessThan(2500);
    },
    180_000,
  );
});
