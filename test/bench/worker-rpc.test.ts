import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../../bench/lib/worker-rpc.js';

const WORKER = new URL('./fixtures/rpc-worker.ts', import.meta.url);

describe('WorkerClient and serveRequests', () => {
  let worker: WorkerClient;
  beforeAll(async () => {
    worker = new WorkerClient(WORKER);
    await worker.ready;
  });
  afterAll(() => worker.kill());

  it('calls an op with its fields and resolves with what the handler returned', async () => {
    expect(await worker.call('echo', { a: 1, list: ['x'] })).toMatchObject({ op: 'echo', a: 1, list: ['x'] });
    // `id` and `op` belong to the protocol: fields cannot overwrite them.
    expect(await worker.call('echo', { op: 'other', id: 1000 })).toMatchObject({ op: 'echo' });
  });

  it('matches answers to calls by id, whatever their order', async () => {
    const first = worker.call<string>('hold', { key: 'a' });
    const second = worker.call<string>('hold', { key: 'b' });
    expect(await worker.call('release', { key: 'b' })).toBe(true);
    expect(await second).toBe('released b');
    expect(await worker.call('release', { key: 'a' })).toBe(true);
    expect(await first).toBe('released a');
  });

  it("rejects with the message of the handler's error, thrown or rejected", async () => {
    await expect(worker.call('nope')).rejects.toThrow(/^unknown op nope$/);
    await expect(worker.call('reject', { key: 'k' })).rejects.toThrow(/^rejected k$/);
    // The worker goes on serving.
    expect(await worker.call('echo', { b: 2 })).toMatchObject({ b: 2 });
  });
});

describe('when the worker dies', () => {
  it('rejects the pending calls and every later one, saying how it ended', async () => {
    const worker = new WorkerClient(WORKER);
    await worker.ready;
    const held = worker.call('hold', { key: 'h' });
    await expect(worker.call('exit')).rejects.toThrow(/exited \(code 3\) before answering "exit"/);
    await expect(held).rejects.toThrow(/exited \(code 3\) before answering "hold"/);
    await expect(worker.call('echo')).rejects.toThrow(/exited \(code 3\) before "echo"/);
  });

  it('kill() ends it: pending calls reject', async () => {
    const worker = new WorkerClient(WORKER);
    await worker.ready;
    const held = worker.call('hold', { key: 'h' });
    worker.kill();
    await expect(held).rejects.toThrow(/exited \(SIGKILL\) before answering "hold"/);
  });

  it('delivers the answer a worker sent just before it exited', async () => {
    const worker = new WorkerClient(WORKER);
    await worker.ready;
    expect(await worker.call('last')).toBe('bye');
  });

  it('ready rejects when the worker exits before it is ready, also when nobody awaits it', async () => {
    const unawaited = new WorkerClient(new URL('./fixtures/rpc-worker-exits.ts', import.meta.url));
    await expect(unawaited.call('echo')).rejects.toThrow(
      /rpc-worker-exits\.ts exited \(code 2\) before answering "echo"/,
    );
    // `unawaited.ready` is never awaited: were its rejection unhandled, vitest would fail the run.
    const worker = new WorkerClient(new URL('./fixtures/rpc-worker-exits.ts', import.meta.url));
    await expect(worker.ready).rejects.toThrow(/rpc-worker-exits\.ts exited \(code 2\) before it was ready/);
  });
});

describe('serveRequests', () => {
  it('refuses to run in a process without an IPC channel', async () => {
    const stderr = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(WORKER)],
        { timeout: 15_000 },
        (_, __, err) => resolve(err),
      );
    });
    expect(stderr).toContain('this module runs as a worker process (started by a WorkerClient, over IPC)');
  });
});
