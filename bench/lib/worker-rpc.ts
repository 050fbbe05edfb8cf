/**
 * Request/response calls to a worker in another Node.js process, over the IPC channel of `fork`: one app
 * instance per process, driven by a parent (the multi-process Redis tests, bench/redis/staleness.ts).
 *
 * Protocol: the worker sends `{ ready: true }` once it listens; the parent sends `{ id, op, ...fields }`;
 * the worker answers `{ id, result }`, or `{ id, error }` (the message of what its handler threw). Answers
 * may come in any order; they are matched by `id`.
 *
 * - Parent side: {@link WorkerClient} (`ready`, `call`, `kill`).
 * - Worker side: {@link serveRequests}, called at the end of the worker module.
 *
 * No test-framework imports here: the tests and the benchmarks share this module.
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A request as the worker receives it: the operation, its fields, and the id the answer must carry. */
export interface WorkerRequest {
  /** Matches the answer to the call; assigned by {@link WorkerClient.call}. */
  id: number;
  /** What to do; the worker's handler switches on it. */
  op: string;
  /** The fields passed to {@link WorkerClient.call}. */
  [field: string]: unknown;
}

/** What a worker sends to its parent. */
type WorkerMessage = { ready: true } | { id: number; result: unknown } | { id: number; error: string };

interface Waiting {
  op: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The parent side: forks `script` (a TypeScript module that ends with {@link serveRequests}) with the tsx
 * loader, and calls operations on it.
 *
 * When the worker dies (it exits, is killed, or cannot be started), {@link WorkerClient.ready} (if still
 * pending), every pending call and every later call reject with an error that says how it ended, instead
 * of waiting forever.
 */
export class WorkerClient {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  /** Why the worker is gone, once it is. */
  #gone: string | undefined;

  /** Resolves when the worker listens for calls; rejects when it dies before that. */
  readonly ready: Promise<void>;

  /**
   * Starts the worker: `node --import tsx script`, sharing this process's stdout and stderr (its stdin is
   * ignored).
   *
   * @param script - Path or `file:` URL of the worker module.
   */
  constructor(script: string | URL) {
    const path = script instanceof URL || script.startsWith('file:') ? fileURLToPath(script) : script;
    this.#child = fork(path, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#child.on('message', (msg: WorkerMessage) => {
        if ('ready' in msg) return resolve();
        const waiting = this.#waiting.get(msg.id);
        this.#waiting.delete(msg.id);
        if ('error' in msg) waiting?.reject(new Error(msg.error));
        else waiting?.resolve(msg.result);
      });
      // 'close', not 'exit': it comes after the IPC channel closed, so every answer sent before the worker
      // exited has been delivered above.
      this.#child.once('close', (code, signal) => {
        this.#fail(`worker ${path} exited (${signal ?? `code ${code}`})`, reject);
      });
      this.#child.on('error', (error) => this.#fail(`worker ${path} failed: ${error.message}`, reject));
    });
    // A worker that dies before it is ready also fails the pending calls; a caller that never awaits
    // `ready` must not see an unhandled rejection on top.
    this.ready.catch(() => {});
  }

  /**
   * Sends `{ id, op, ...fields }` to the worker and resolves with its handler's result. Await
   * {@link WorkerClient.ready} first.
   *
   * @typeParam T - The type of the result (not checked: it is what the worker's handler returns).
   * @param op - The operation.
   * @param fields - Its arguments (must survive the IPC serialization); `id` and `op` are reserved.
   * @throws Error with the worker's error message when its handler threw, or saying how the worker ended
   *   when it died before answering.
   */
  call<T = unknown>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    if (this.#gone !== undefined) return Promise.reject(new Error(`${this.#gone} before "${op}"`));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { op, resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ ...fields, id, op } satisfies WorkerRequest, (error) => {
        if (error === null || !this.#waiting.has(id)) return;
        this.#waiting.delete(id);
        reject(new Error(`could not send "${op}" to the worker: ${error.message}`));
      });
    });
  }

  /** Kills the worker (SIGKILL); pending calls reject. */
  kill(): void {
    this.#child.kill('SIGKILL');
  }

  #fail(why: string, rejectReady: (error: Error) => void): void {
    this.#gone ??= why;
    rejectReady(new Error(`${this.#gone} before it was ready`));
    for (const [id, waiting] of this.#waiting) {
      this.#waiting.delete(id);
      waiting.reject(new Error(`${this.#gone} before answering "${waiting.op}"`));
    }
  }
}

/**
 * The worker side: answers each request from the parent with what `handle` returns (or the message of
 * what it throws), then tells the parent that the worker is ready. Call it once, at the end of the worker
 * module.
 *
 * @param handle - Runs one request; requests are handled concurrently, in the order they arrive.
 * @throws Error when this process was not started with an IPC channel (by {@link WorkerClient}).
 */
export function serveRequests(handle: (req: WorkerRequest) => unknown): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    throw new Error('this module runs as a worker process (started by a WorkerClient, over IPC)');
  }
  process.on('message', (req: WorkerRequest) => {
    new Promise((resolve) => resolve(handle(req))).then(
      (result) => send({ id: req.id, result } satisfies WorkerMessage),
      (error: unknown) =>
        send({
          id: req.id,
          error: error instanceof Error ? error.message : String(error),
        } satisfies WorkerMessage),
    );
  });
  send({ ready: true } satisfies WorkerMessage);
}
