import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { flush } from './helpers.js';
import { policies } from './policies.js';

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const TAGS = ['t1', 't2', 't3'] as const;
const key = fc.constantFrom(...KEYS);

type Op =
  | { op: 'set'; key: string; ttl?: number; tags?: string[] }
  | { op: 'get'; key: string }
  | { op: 'peek'; key: string }
  | { op: 'has'; key: string }
  | { op: 'delete'; key: string }
  | { op: 'clear' }
  | { op: 'getOrSet'; key: string; result: 'value' | 'undefined' | 'null'; ttl?: number; tags?: string[] }
  | { op: 'fail'; key: string }
  | { op: 'advance'; ms: number }
  | { op: 'invalidateTag'; tag: string }
  | { op: 'invalidateTags'; tags: string[] };

const ttlArb = fc.option(fc.constantFrom(100, 250, 1000, 3000), { nil: undefined });
const tagsArb = fc.option(fc.subarray([...TAGS], { minLength: 1 }), { nil: undefined });

const basicOps: fc.Arbitrary<Op>[] = [
  fc.record({ op: fc.constant('set' as const), key }),
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record({ op: fc.constant('peek' as const), key }),
  fc.record({ op: fc.constant('has' as const), key }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({
    op: fc.constant('getOrSet' as const),
    key,
    result: fc.constantFrom('value' as const, 'value' as const, 'undefined' as const, 'null' as const),
  }),
];
const clearOp: fc.Arbitrary<Op> = fc.constant({ op: 'clear' as const });

/** Sequence-numbered values: every stored value is distinct, so a wrong entry can never look right. */
let seq = 0;
const nextValue = () => ++seq;

describe('model: LRU cache without TTL matches an exact reference model', () => {
  it('get, peek, has, delete, size and eviction order agree; size never exceeds max', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.oneof({ weight: 12, arbitrary: fc.oneof(...basicOps) }, { weight: 1, arbitrary: clearOp }),
          {
            maxLength: 80,
          },
        ),
        async (max, ops) => {
          const cache = new Cache<string, number | null>({ max, policy: 'lru' });
          // Reference: least recently used first.
          let model: Array<[string, number | null]> = [];
          const find = (k: string) => model.findIndex(([mk]) => mk === k);
          const touch = (k: string) => {
            const i = find(k);
            const [entry] = model.splice(i, 1);
            model.push(entry!);
          };
          const put = (k: string, v: number | null) => {
            const i = find(k);
            if (i >= 0) model.splice(i, 1);
            model.push([k, v]);
            while (model.length > max) model.shift();
          };
          for (const o of ops) {
            switch (o.op) {
              case 'set': {
                const v = nextValue();
                cache.set(o.key, v);
                put(o.key, v);
                break;
              }
              case 'get': {
                const i = find(o.key);
                expect(cache.get(o.key)).toBe(i >= 0 ? model[i]![1] : undefined);
                if (i >= 0) touch(o.key);
                break;
              }
              case 'peek': {
                const i = find(o.key);
                expect(cache.peek(o.key)).toBe(i >= 0 ? model[i]![1] : undefined);
                break;
              }
              case 'has':
                expect(cache.has(o.key)).toBe(find(o.key) >= 0);
                break;
              case 'delete': {
                const i = find(o.key);
                expect(cache.delete(o.key)).toBe(i >= 0);
                if (i >= 0) model.splice(i, 1);
                break;
              }
              case 'clear':
                cache.clear();
                model = [];
                break;
              case 'getOrSet': {
                const i = find(o.key);
                const loaded = o.result === 'value' ? nextValue() : o.result === 'null' ? null : undefined;
                const got = await cache.getOrSet(o.key, () => loaded);
                if (i >= 0) {
                  expect(got).toBe(model[i]![1]);
                  touch(o.key);
                } else {
                  expect(got).toBe(loaded);
                  if (loaded !== undefined) put(o.key, loaded);
                }
                break;
              }
              default:
                break;
            }
            expect(cache.size).toBe(model.length);
            expect(cache.size).toBeLessThanOrEqual(max);
            for (const k of KEYS) {
              const i = find(k);
              expect(cache.peek(k)).toBe(i >= 0 ? model[i]![1] : undefined);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.each(policies)('model: TTL, per-call ttl and tags without evictions (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const ops: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), key, ttl: ttlArb, tags: tagsArb }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const), key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('has' as const), key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('getOrSet' as const),
        key,
        result: fc.constantFrom('value' as const, 'undefined' as const, 'null' as const),
        ttl: ttlArb,
        tags: tagsArb,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1500 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('invalidateTag' as const), tag: fc.constantFrom(...TAGS) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('invalidateTags' as const),
        tags: fc.subarray([...TAGS]),
      }),
    },
    { weight: 1, arbitrary: clearOp },
  );

  it('get, has, peek, size and invalidation counts agree with the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { maxLength: 60 }), async (list) => {
        vi.setSystemTime(0);
        const DEFAULT_TTL = 500;
        const cache = new Cache<string, number | null>({ max: 1000, ttl: DEFAULT_TTL, policy });
        const model = new Map<string, { value: number | null; expiresAt: number; tags: string[] }>();
        const now = () => Date.now();
        // Exactly at the expiry instant the spec does not say fresh or expired: skip those checks.
        const ambiguous = (k: string) => {
          const e = model.get(k);
          return e !== undefined && Math.abs(now() - e.expiresAt) <= 1;
        };
        const fresh = (k: string) => {
          const e = model.get(k);
          if (e === undefined) return undefined;
          if (now() > e.expiresAt) {
            model.delete(k);
            return undefined;
          }
          return e;
        };
        const sweep = () => {
          for (const k of KEYS) if (!ambiguous(k)) fresh(k);
        };
        for (const o of list) {
          switch (o.op) {
            case 'set': {
              const v = nextValue();
              cache.set(o.key, v, {
                ...(o.ttl !== undefined && { ttl: o.ttl }),
                ...(o.tags && { tags: o.tags }),
              });
              model.set(o.key, { value: v, expiresAt: now() + (o.ttl ?? DEFAULT_TTL), tags: o.tags ?? [] });
              break;
            }
            case 'get':
            case 'peek':
            case 'has': {
              if (ambiguous(o.key)) break;
              const e = fresh(o.key);
              if (o.op === 'has') expect(cache.has(o.key)).toBe(e !== undefined);
              else expect(cache[o.op](o.key)).toBe(e?.value);
              break;
            }
            case 'delete': {
              if (ambiguous(o.key)) {
                cache.delete(o.key);
                model.delete(o.key);
                break;
              }
              const e = fresh(o.key);
              // Spec: delete returns a boolean; for an expired entry either answer is defensible.
              const deleted = cache.delete(o.key);
              if (e !== undefined) expect(deleted).toBe(true);
              model.delete(o.key);
              break;
            }
            case 'clear':
              cache.clear();
              model.clear();
              break;
            case 'getOrSet': {
              if (ambiguous(o.key)) {
                // Bring the entry out of its ambiguous instant before using it.
                await vi.advanceTimersByTimeAsync(2);
              }
              const e = fresh(o.key);
              const loaded = o.result === 'value' ? nextValue() : o.result === 'null' ? null : undefined;
              const got = await cache.getOrSet(o.key, () => loaded, {
                ...(o.ttl !== undefined && { ttl: o.ttl }),
                ...(o.tags && { tags: o.tags }),
              });
              if (e !== undefined) {
                expect(got).toBe(e.value);
              } else {
                expect(got).toBe(loaded);
                if (loaded !== undefined) {
                  model.set(o.key, {
                    value: loaded,
                    expiresAt: now() + (o.ttl ?? DEFAULT_TTL),
                    tags: o.tags ?? [],
                  });
                }
              }
              break;
            }
            case 'advance':
              vi.advanceTimersByTime(o.ms);
              break;
            case 'invalidateTag':
            case 'invalidateTags': {
              const tags = o.op === 'invalidateTag' ? [o.tag] : o.tags;
              const anyAmbiguous = KEYS.some(ambiguous);
              sweep();
              let expected = 0;
              for (const [k, e] of [...model]) {
                if (e.tags.some((t) => tags.includes(t))) {
                  expected++;
                  model.delete(k);
                }
              }
              const n = o.op === 'invalidateTag' ? cache.invalidateTag(o.tag) : cache.invalidateTags(o.tags);
              if (!anyAmbiguous) expect(n).toBe(expected);
              break;
            }
            default:
              break;
          }
          if (!KEYS.some(ambiguous)) {
            sweep();
            expect(cache.size).toBe(model.size);
            for (const k of KEYS) expect(cache.has(k)).toBe(model.has(k));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe.each(policies)('model: bounded cache with TTL, loose model (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never serves a value that is not the latest one set or loaded, or one that expired; size ≤ max', async () => {
    const ops = fc.oneof(
      ...basicOps,
      fc.record({ op: fc.constant('set' as const), key, ttl: ttlArb, tags: tagsArb }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 700 }) }),
      fc.record({ op: fc.constant('invalidateTag' as const), tag: fc.constantFrom(...TAGS) }),
      clearOp,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(ops, { maxLength: 80 }),
        async (max, list) => {
          vi.setSystemTime(0);
          const cache = new Cache<string, number | null>({ max, ttl: 1000, policy });
          // The latest value written for each key and until when it is fresh; the cache may have
          // dropped it (eviction, refused admission) but may never serve anything else.
          const model = new Map<string, { value: number | null; expiresAt: number; tags?: string[] }>();
          const allowed = (k: string) => {
            const e = model.get(k);
            return e !== undefined && Date.now() < e.expiresAt - 1 ? e : undefined;
          };
          const maybe = (k: string) => {
            const e = model.get(k);
            return e !== undefined && Date.now() <= e.expiresAt + 1 ? e : undefined;
          };
          for (const o of list) {
            switch (o.op) {
              case 'set': {
                const v = nextValue();
                cache.set(o.key, v, {
                  ...(o.ttl !== undefined && { ttl: o.ttl }),
                  ...(o.tags !== undefined && { tags: o.tags }),
                });
                model.set(o.key, {
                  value: v,
                  expiresAt: Date.now() + (o.ttl ?? 1000),
                  ...(o.tags !== undefined && { tags: o.tags }),
                });
                break;
              }
              case 'invalidateTag': {
                // Exactly the present entries carrying the tag are removed and counted (whatever the
                // policy evicted or refused is not counted).
                const edge = KEYS.some((k) => {
                  const e = model.get(k);
                  return e !== undefined && Math.abs(Date.now() - e.expiresAt) <= 1;
                });
                const carriers = KEYS.filter((k) => cache.has(k) && model.get(k)?.tags?.includes(o.tag));
                const n = cache.invalidateTag(o.tag);
                if (!edge) expect(n).toBe(carriers.length);
                for (const k of carriers) expect(cache.has(k)).toBe(false);
                break;
              }
              case 'get':
              case 'peek': {
                const got = cache[o.op](o.key);
                if (got !== undefined) expect(got).toBe(maybe(o.key)?.value);
                if (maybe(o.key) === undefined) expect(got).toBeUndefined();
                expect(cache.has(o.key)).toBe(cache.peek(o.key) !== undefined);
                break;
              }
              case 'has':
                if (maybe(o.key) === undefined) expect(cache.has(o.key)).toBe(false);
                break;
              case 'delete':
                cache.delete(o.key);
                model.delete(o.key);
                expect(cache.has(o.key)).toBe(false);
                break;
              case 'clear':
                cache.clear();
                model.clear();
                expect(cache.size).toBe(0);
                break;
              case 'getOrSet': {
                const before = allowed(o.key);
                const loaded = o.result === 'value' ? nextValue() : o.result === 'null' ? null : undefined;
                const got = await cache.getOrSet(o.key, () => loaded);
                if (got === loaded) {
                  if (loaded !== undefined) model.set(o.key, { value: loaded, expiresAt: Date.now() + 1000 });
                  else if (before === undefined) model.delete(o.key);
                } else {
                  // Served from the cache: must be the model's value, still fresh.
                  expect(got).toBe(maybe(o.key)?.value);
                }
                if (before === undefined && maybe(o.key) === undefined) expect(got).toBe(loaded);
                break;
              }
              case 'advance':
                vi.advanceTimersByTime(o.ms);
                break;
              default:
                break;
            }
            expect(cache.size).toBeLessThanOrEqual(max);
            let possible = 0;
            for (const k of KEYS) if (maybe(k)) possible++;
            expect(cache.size).toBeLessThanOrEqual(possible);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe.each(policies)('model: staleWhileRevalidate and staleIfError windows (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('getOrSet serves fresh, stale-while-revalidate and stale-if-error values exactly as the model says', async () => {
    const TTL = 1000;
    const SWR = 1000;
    const SIE = 3000;
    const ops = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key }),
      fc.record({ op: fc.constant('get' as const), key }),
      fc.record({ op: fc.constant('has' as const), key }),
      fc.record({ op: fc.constant('delete' as const), key }),
      fc.record({ op: fc.constant('getOrSet' as const), key, result: fc.constant('value' as const) }),
      fc.record({ op: fc.constant('fail' as const), key }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 2500 }) }),
      clearOp,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { maxLength: 60 }), async (list) => {
        vi.setSystemTime(0);
        const cache = new Cache<string, number>({
          max: 1000,
          ttl: TTL,
          staleWhileRevalidate: SWR,
          staleIfError: SIE,
          policy,
        });
        const errors: unknown[] = [];
        cache.on('error', (e) => errors.push(e));
        const model = new Map<string, { value: number; expiresAt: number }>();
        const near = (t: number, edge: number) => Math.abs(t - edge) <= 1;
        for (const o of list) {
          const now = Date.now();
          const e = 'key' in o ? model.get(o.key) : undefined;
          const edge = e !== undefined && [0, SWR, SIE].some((w) => near(now, e.expiresAt + w));
          if (edge && o.op !== 'advance' && o.op !== 'clear' && o.op !== 'set' && o.op !== 'delete') {
            await vi.advanceTimersByTimeAsync(3);
          }
          const t = Date.now();
          const age = e === undefined ? Number.POSITIVE_INFINITY : t - e.expiresAt; // > 0: expired
          switch (o.op) {
            case 'set': {
              const v = nextValue();
              cache.set(o.key, v);
              model.set(o.key, { value: v, expiresAt: t + TTL });
              break;
            }
            case 'get':
              expect(cache.get(o.key)).toBe(age < 0 ? e!.value : undefined);
              break;
            case 'has':
              expect(cache.has(o.key)).toBe(age < 0);
              break;
            case 'delete':
              cache.delete(o.key);
              model.delete(o.key);
              break;
            case 'clear':
              cache.clear();
              model.clear();
              break;
            case 'getOrSet': {
              const v = nextValue();
              const got = await cache.getOrSet(o.key, () => v);
              await flush();
              if (age < 0) {
                expect(got).toBe(e!.value);
              } else if (age < SWR) {
                // Stale served at once; the background reload then stores v.
                expect(got).toBe(e!.value);
                model.set(o.key, { value: v, expiresAt: Date.now() + TTL });
              } else {
                expect(got).toBe(v);
                model.set(o.key, { value: v, expiresAt: Date.now() + TTL });
              }
              break;
            }
            case 'fail': {
              const error = new Error('load failed');
              const result = await cache
                .getOrSet(o.key, () => Promise.reject(error))
                .then(
                  (value) => ({ value }),
                  (err: unknown) => ({ err }),
                );
              await flush();
              if (age < 0 || age < SIE) {
                expect(result).toEqual({ value: e!.value });
              } else {
                expect(result).toEqual({ err: error });
                if (e !== undefined) model.delete(o.key);
              }
              break;
            }
            case 'advance':
              vi.advanceTimersByTime(o.ms);
              break;
            default:
              break;
          }
        }
        // Background failures are reported, never thrown.
        for (const err of errors) expect(err).toMatchObject({ error: expect.any(Error) });
      }),
      { numRuns: 200 },
    );
  });
});
