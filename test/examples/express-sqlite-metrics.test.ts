/** examples/express-sqlite serves both caches' larder/otel metrics in the Prometheus text format on GET /metrics. */
import type Database from 'better-sqlite3';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type ExampleApp } from '../../examples/express-sqlite/app.js';
import { openDatabase } from '../../examples/express-sqlite/db.js';

let db: Database.Database;
let example: ExampleApp;

beforeEach(() => {
  db = openDatabase(':memory:');
  example = createApp({ db, ttl: '1m', instance: 'metrics' });
});

afterEach(async () => {
  await example.close();
  db.close();
});

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await request(example.app).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  const samples = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (match === null) continue;
    const labels = (match[2] as string)
      .split(/,(?=[a-z_]+=")/)
      .filter((l) => !l.startsWith('otel_scope_'))
      .sort()
      .join(',');
    samples.set(`${match[1]}{${labels}}`, Number(match[3]));
  }
  return samples;
}

describe('examples/express-sqlite: GET /metrics', () => {
  it('reports the data cache and the response cache under their own cache_name', async () => {
    await request(example.app).get('/courses/7'); // data: miss + load
    await request(example.app).get('/courses/7'); // data: hit
    // One Host for both (supertest listens on a new port each time; the response key holds the host).
    await request(example.app).get('/courses?page=1').set('Host', 'courses.example'); // responses: miss
    await request(example.app).get('/courses?page=1').set('Host', 'courses.example'); // responses: hit
    const m = await scrape();
    expect(m.get('larder_cache_requests_total{cache_name="data",result="hit"}')).toBe(1);
    expect(m.get('larder_cache_requests_total{cache_name="data",result="miss"}')).toBe(1);
    expect(m.get('larder_cache_loads_total{cache_name="data",outcome="success"}')).toBe(1);
    expect(m.get('larder_cache_load_duration_count{cache_name="data",outcome="success"}')).toBe(1);
    expect(m.get('larder_cache_entries{cache_name="data"}')).toBe(1);
    expect(m.get('larder_cache_requests_total{cache_name="responses",result="hit"}')).toBe(1);
    expect(m.get('larder_cache_requests_total{cache_name="responses",result="miss"}')).toBe(1);
    expect(m.get('larder_cache_entries{cache_name="responses"}')).toBe(1);
    expect(m.get('larder_cache_evictions_total{cache_name="data"}')).toBe(0);
  });

  it('is not counted as an app request, and follows the caches as they change', async () => {
    await scrape();
    await request(example.app).get('/users/3');
    await request(example.app).get('/users/3');
    await request(example.app).get('/users/3');
    const m = await scrape();
    expect(m.get('larder_cache_requests_total{cache_name="data",result="hit"}')).toBe(2);
    expect((await request(example.app).get('/stats')).body.requests).toBe(3);
  });
});
