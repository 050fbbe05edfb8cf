/**
 * Runs a benchmark module in a fresh Node.js process (through tsx) and returns what it sends back, so
 * that each library is measured alone: its own heap, its own JIT feedback, no other library loaded.
 *
 * @module
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Options of {@link runIsolated}. */
export interface IsolateOptions {
  /** Start the child with `--expose-gc` (for memory measurements). */
  exposeGc?: boolean;
  /** Kill the child after this many ms (default 5 minutes). */
  timeoutMs?: number;
  /** Extra environment variables for the child. */
  env?: Record<string, string>;
  /** Called with each progress line the child sends through {@link childProgress}. */
  onProgress?: (line: string) => void;
}

type ChildMessage =
  | { kind: 'result'; value: unknown }
  | { kind: 'error'; message: string }
  | { kind: 'progress'; line: string };

/** Environment variable that carries a child's JSON input. */
export const INPUT_VAR = 'LARDER_BENCH_INPUT';
/** Node.js flags of a child process: the tsx loader, and `--expose-gc` when asked. */
export function childExecArgv(exposeGc = false): string[] {
  const tsxLoader = import.meta.resolve('tsx');
  return exposeGc ? ['--expose-gc', '--import', tsxLoader] : ['--import', tsxLoader];
}

/**
 * Forks `script` (a path or `file:` URL of a module that calls {@link childMain}) with `input`, and
 * resolves with the value the child's main function returned.
 *
 * @throws Error when the child fails, exits without a result, or times out.
 */
export function runIsolated<T>(
  script: string | URL,
  input: unknown,
  options: IsolateOptions = {},
): Promise<T> {
  const path = script instanceof URL || script.startsWith('file:') ? fileURLToPath(script) : script;
  const execArgv = childExecArgv(options.exposeGc);
  return new Promise<T>((resolve, reject) => {
    const child = fork(path, [], {
      execArgv,
      env: { ...process.env, ...options.env, [INPUT_VAR]: JSON.stringify(input) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`${path}: timed out after ${options.timeoutMs ?? 300_000} ms`));
    }, options.timeoutMs ?? 300_000);
    child.on('message', (raw) => {
      const msg = raw as ChildMessage;
      if (msg.kind === 'progress') {
        options.onProgress?.(msg.line);
        return;
      }
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (msg.kind === 'result') resolve(msg.value as T);
      else reject(new Error(msg.message));
    });
    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new Error(`${path}: exited (${signal ?? code}) without a result`));
    });
  });
}

/**
 * The child side: reads the input, runs `main`, sends the result (or the error) to the parent, and exits.
 * Call it at the top level of a child module.
 */
export function childMain<I, O>(main: (input: I) => Promise<O>): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    throw new Error('this module runs as a benchmark child process (started by bench/run.ts)');
  }
  const input = JSON.parse(process.env[INPUT_VAR] ?? 'null') as I;
  main(input).then(
    (value) => send({ kind: 'result', value } satisfies ChildMessage, () => process.exit(0)),
    (error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      send({ kind: 'error', message } satisfies ChildMessage, () => process.exit(1));
    },
  );
}

/** Sends a progress line from a child to the parent (ignored when not a child). */
export function childProgress(line: string): void {
  process.send?.({ kind: 'progress', line } satisfies ChildMessage);
}
