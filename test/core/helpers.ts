import { afterEach, beforeEach, expect, vi } from 'vitest';

/** A promise with its resolve/reject exposed, to control exactly when a loader finishes. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Creates a {@link Deferred}. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Passes a deliberately ill-typed value to an API (bad-input tests). */
export function bad(value: unknown): never {
  return value as never;
}

/**
 * Asserts that `fn` throws at once (synchronously) a TypeError or RangeError whose message names
 * `name`.
 */
export function expectBadInput(fn: () => unknown, name: RegExp): void {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    thrown = error;
  }
  expect(threw, `expected a TypeError/RangeError naming ${name}`).toBe(true);
  expect(thrown instanceof TypeError || thrown instanceof RangeError, `got ${String(thrown)}`).toBe(true);
  expect((thrown as Error).message).toMatch(name);
}

/**
 * Like {@link expectBadInput} for a method that returns a promise: the spec says bad input "throws at
 * once"; for a promise-returning API we accept a synchronous throw or an already-rejected promise
 * (either way nothing else happens first, e.g. the loader is never called).
 */
export async function expectBadCall(fn: () => unknown, name: RegExp): Promise<void> {
  let thrown: unknown;
  let threw = false;
  try {
    const result = fn();
    if (result instanceof Promise) await result;
  } catch (error) {
    threw = true;
    thrown = error;
  }
  expect(threw, `expected a TypeError/RangeError naming ${name}`).toBe(true);
  expect(thrown instanceof TypeError || thrown instanceof RangeError, `got ${String(thrown)}`).toBe(true);
  expect((thrown as Error).message).toMatch(name);
}

/** Lets pending promise callbacks run (without moving fake time). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Moves fake time forward by `ms`, running timers and the promise callbacks they trigger. */
export async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Records whether a promise has settled, without letting a rejection go unhandled. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/**
 * For the enclosing describe block: fake timers in every test, and the unhandled rejections each test caused,
 * collected into the returned array (emptied before each test).
 */
export function fakeTimersCollectingUnhandled(): unknown[] {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => {
    unhandled.push(reason);
  };
  beforeEach(() => {
    vi.useFakeTimers();
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    vi.useRealTimers();
  });
  return unhandled;
}
