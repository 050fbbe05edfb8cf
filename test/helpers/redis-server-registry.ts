/**
 * Vitest global setup: a registry of the `redis-server` processes tests start (see `RedisServer` in
 * `redis-server.ts`), so that none outlives the run. Vitest ends its test workers without running their `exit`
 * handlers, so a server whose test file never reached its `stop()` (a failed hook, a timeout, a forgotten call)
 * would stay running as an orphan. Each server's PID is a file in a directory named by `LARDER_TEST_REDIS_PIDS`;
 * the teardown kills every one still listed.
 *
 * @module
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The environment variable naming the registry's directory (set here, inherited by the test workers). */
export const REGISTRY_ENV = 'LARDER_TEST_REDIS_PIDS';

/** Creates the registry; returns the teardown that kills what is left in it. */
export default function setup(): () => void {
  // Vitest runs a global setup once per project (and once for the root): one registry serves them all.
  const owner = `${REGISTRY_ENV}_OWNER`;
  if (process.env[owner] === String(process.pid) && process.env[REGISTRY_ENV] !== undefined) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'larder-test-redis-'));
  process.env[REGISTRY_ENV] = dir;
  process.env[owner] = String(process.pid);
  return () => {
    for (const name of readdirSync(dir)) {
      const pid = Number(name);
      try {
        if (Number.isInteger(pid) && pid > 0 && isRedisServer(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Whether `pid` is still a redis-server (where `/proc` tells: a listed server that exited unseen could have left its
 * number to another process).
 */
function isRedisServer(pid: number): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc')) return true;
  try {
    return readFileSync(cmdline, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}
