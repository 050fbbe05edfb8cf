// Core smoke suite for other JavaScript runtimes (Bun, Deno; Node.js too): the built ESM entry (dist/index.js),
// plain asserts only, no test framework and no Node.js built-ins. Covers get/set/TTL, getOrSet single-flight and
// errors, tags, namespaces, stale-while-revalidate and bounds under both policies.
//
//   node test/runtimes/core-smoke.mjs
//   bun test/runtimes/core-smoke.mjs
//   deno run --allow-read --allow-env test/runtimes/core-smoke.mjs
//
// Prints one line per test and a closing `N passed, M failed`; exits non-zero when anything failed.
import { Cache } from '../../dist/index.js';

const runtime =
  typeof globalThis.Bun !== 'undefined'
    ? `Bun ${globalThis.Bun.version}`
    : typeof globalThis.Deno !== 'undefined'
      ? `Deno ${globalThis.Deno.version.deno}`
      : `Node.js ${globalThis.process?.versions?.node}`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
function equal(actual, expected, message) {
  if (!Object.is(actual, expected)) {
    throw new Error(`${message}: expected ${String(expected)}, got ${String(actual)}`);
  }
}
async function rejects(promise, pattern, message) {
  try {
    await promise;
  } catch (error) {
    assert(pattern.test(String(error?.message)), `${message}: unexpected error ${String(error)}`);
    return;
  }
  throw new Error(`${message}: expected a rejection`);
}
function throws(fn, type, pattern, message) {
  try {
    fn();
  } catch (error) {
    assert(error instanceof type, `${message}: expected a ${type.name}, got ${String(error)}`);
    assert(pattern.test(error.message), `${message}: unexpected message ${error.message}`);
    return;
  }
  throw new Error(`${message}: expected a throw`);
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

for (const policy of ['lru', 'tinylfu']) {
  test(`${policy}: get/set/delete/has, falsy values`, () => {
    const cache = new Cache({ max: 100, policy });
    equal(cache.policy, policy, 'policy');
    equal(cache.get('missing'), undefined, 'miss');
    for (const [key, value] of [
      ['zero', 0],
      ['empty', ''],
      ['false', false],
      ['null', null],
      ['nan', Number.NaN],
    ]) {
      cache.set(key, value);
      equal(cache.get(key), value, `falsy value ${key}`);
      assert(cache.has(key), `has ${key}`);
    }
    const object = { id: 1 };
    cache.set('object', object);
    equal(cache.get('object'), object, 'object by reference');
    cache.set('object', 2);
    equal(cache.get('object'), 2, 'set replaces');
    equal(cache.delete('object'), true, 'delete returns true');
    equal(cache.get('object'), undefined, 'deleted');
    equal(cache.delete('object'), false, 'delete of a missing key');
    equal(cache.size, 5, 'size');
    throws(() => cache.set('k', undefined), TypeError, /undefined/, 'undefined value');
    const stats = cache.stats();
    assert(stats.hits >= 6 && stats.misses >= 2, `stats counted: ${JSON.stringify(stats)}`);
  });

  test(`${policy}: TTL (default and per entry)`, async () => {
    const cache = new Cache({ max: 100, policy, ttl: '40ms' });
    cache.set('short', 1);
    cache.set('long', 2, { ttl: '10s' });
    equal(cache.get('short'), 1, 'fresh');
    await sleep(80);
    equal(cache.get('short'), undefined, 'expired after its TTL');
    equal(cache.get('long'), 2, 'a per-entry TTL overrides the default');
    throws(() => new Cache({ max: 10, policy, ttl: -1 }), RangeError, /ttl/, 'bad ttl');
  });

  test(`${policy}: bounded by max`, () => {
    const cache = new Cache({ max: 50, policy });
    for (let i = 0; i < 500; i++) cache.set(`k${i}`, i);
    assert(cache.size <= 50, `size ${cache.size} within max`);
    assert(cache.stats().evictions >= 450, 'evictions counted');
    throws(() => new Cache({ policy }), TypeError, /max/, 'unbounded cache refused');
  });

  test(`${policy}: getOrSet single-flight`, async () => {
    const cache = new Cache({ max: 100, policy });
    let calls = 0;
    let release;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    const loader = async () => {
      calls++;
      await gate;
      return { loaded: calls };
    };
    const pending = Array.from({ length: 50 }, () => cache.getOrSet('course:1', loader));
    release();
    const results = await Promise.all(pending);
    equal(calls, 1, 'the loader ran once for 50 concurrent misses');
    assert(
      results.every((r) => r === results[0]),
      'every caller got the same value',
    );
    equal(await cache.getOrSet('course:1', loader), results[0], 'then a hit');
    equal(calls, 1, 'no second load');
  });

  test(`${policy}: getOrSet errors are not cached; undefined is not stored`, async () => {
    const cache = new Cache({ max: 100, policy });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('database down');
    };
    await rejects(
      Promise.all([cache.getOrSet('k', failing), cache.getOrSet('k', failing)]),
      /database down/,
      'rejects',
    );
    equal(calls, 1, 'coalesced failing load');
    equal(await cache.getOrSet('k', () => 7), 7, 'the next call loads again');
    equal(await cache.getOrSet('u', () => undefined), undefined, 'undefined returned');
    equal(cache.has('u'), false, 'undefined not stored');
  });

  test(`${policy}: tags and namespaces`, async () => {
    const cache = new Cache({ max: 100, policy });
    cache.set('course:1', 'a', { tags: ['course:1'] });
    await cache.getOrSet('lessons:1', () => ['l1'], { tags: ['course:1', 'lessons'] });
    cache.set('course:2', 'b', { tags: ['course:2'] });
    equal(cache.invalidateTag('course:1'), 2, 'two entries carried the tag');
    equal(cache.get('course:1'), undefined, 'tagged entry gone');
    equal(cache.get('lessons:1'), undefined, 'tagged load gone');
    equal(cache.get('course:2'), 'b', 'other tag kept');
    const users = cache.namespace('users');
    users.set('1', 'ann');
    equal(users.get('1'), 'ann', 'namespace get');
    equal(cache.get('users:1'), 'ann', 'namespace prefix');
    users.clear();
    equal(cache.get('course:2'), 'b', "a namespace's clear is its own");
  });

  test(`${policy}: stale-while-revalidate`, async () => {
    const cache = new Cache({ max: 100, policy, ttl: '30ms', staleWhileRevalidate: '10s' });
    let version = 0;
    const loader = async () => ++version;
    equal(await cache.getOrSet('k', loader), 1, 'first load');
    await sleep(60);
    equal(await cache.getOrSet('k', loader), 1, 'stale value served at once');
    await sleep(20);
    equal(await cache.getOrSet('k', loader), 2, 'refreshed in the background');
  });

  test(`${policy}: wrap`, async () => {
    const cache = new Cache({ max: 100, policy });
    let calls = 0;
    const course = cache.wrap('course', async (id, options) => {
      calls++;
      return { id, ...options };
    });
    const a = await course(1, { lang: 'en', full: true });
    const b = await course(1, { full: true, lang: 'en' });
    equal(a, b, 'key order does not matter');
    equal(calls, 1, 'one call');
    course.invalidate(1, { lang: 'en', full: true });
    await course(1, { lang: 'en', full: true });
    equal(calls, 2, 'invalidate reloads');
  });
}

let passed = 0;
let failed = 0;
console.log(`larder core smoke suite on ${runtime}`);
for (const { name, fn } of tests) {
  try {
    await fn();
    passed++;
    console.log(`  ok   ${name}`);
  } catch (error) {
    failed++;
    console.log(`  FAIL ${name}: ${error?.stack ?? error}`);
  }
}
console.log(`${runtime}: ${passed} passed, ${failed} failed`);
if (failed > 0 || passed === 0) {
  if (typeof globalThis.Deno !== 'undefined') globalThis.Deno.exit(1);
  else globalThis.process.exit(1);
}
