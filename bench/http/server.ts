/**
 * Child process of the HTTP benchmark: serves the Express example (examples/express-sqlite) on a free port,
 * with its cache on or off, until the parent disconnects. `larder` and `larder/*` imports of the example
 * are resolved to the larder prepared for this run (see bench/lib/larder.ts).
 *
 * @module
 */
import { existsSync, rmSync } from 'node:fs';
import { register } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { INPUT_VAR } from '../lib/isolate.js';
import { larderSubpaths, ROOT } from '../lib/larder.js';

/** Input of the server child. */
export interface ServerInput {
  /** Whether the example's cache is on. */
  cache: boolean;
  /** SQLite file (deleted first, then seeded by the example). */
  dbFile: string;
}

/** Messages to the parent. */
export type ServerMessage = { kind: 'listening'; port: number } | { kind: 'error'; message: string };

/** The example's modules, as far as the benchmark uses them. */
interface ExampleModules {
  createApp(options: { db: unknown; cache?: boolean }): Promise<{
    app: { listen(port: number, host: string, cb: () => void): import('node:http').Server };
    close(): Promise<void>;
  }>;
  openDatabase(file: string): { close(): void };
}

const send = (m: ServerMessage) => process.send?.(m);

async function main(): Promise<void> {
  const input = JSON.parse(process.env[INPUT_VAR] ?? '{}') as ServerInput;
  const map = larderSubpaths();
  register(
    `data:text/javascript,${encodeURIComponent(`const map = ${JSON.stringify(map)};
export async function resolve(specifier, context, next) {
  if (Object.hasOwn(map, specifier)) return { url: map[specifier], shortCircuit: true };
  return next(specifier, context);
}`)}`,
  );
  const dir = join(ROOT, 'examples/express-sqlite');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${input.dbFile}${suffix}`, { force: true });
  if (!existsSync(join(dir, 'app.ts'))) throw new Error('examples/express-sqlite/app.ts does not exist');
  const appModule = (await import(pathToFileURL(join(dir, 'app.ts')).href)) as Partial<ExampleModules>;
  const dbModule = (await import(pathToFileURL(join(dir, 'db.ts')).href)) as Partial<ExampleModules>;
  if (typeof appModule.createApp !== 'function' || typeof dbModule.openDatabase !== 'function') {
    throw new Error('examples/express-sqlite must export createApp (app.ts) and openDatabase (db.ts)');
  }
  const db = dbModule.openDatabase(input.dbFile);
  const example = await appModule.createApp({ db, cache: input.cache });
  const server = example.app.listen(0, '127.0.0.1', () => {
    send({ kind: 'listening', port: (server.address() as AddressInfo).port });
  });
  const stop = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await example.close();
    db.close();
    process.exit(0);
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  send({ kind: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  setTimeout(() => process.exit(1), 50);
});
