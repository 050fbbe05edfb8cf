/**
 * larder/otel on a larder/express response cache: the middleware's lookups are requests, never loads (it stores
 * answers with `set`), and `traceLoads` opens no span for them.
 */
import express from 'express';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CachedResponse, cacheResponses } from '../../src/express/index.js';
import { Cache } from '../../src/index.js';
import { instrument } from '../../src/otel/index.js';
import { closeServers, serve } from '../helpers/express-server.js';
import { metricsHarness, tracingHarness } from './harness.js';

const t = tracingHarness();
afterAll(() => t.close());
afterEach(async () => {
  await closeServers();
});

describe('larder/otel on a larder/express response cache', () => {
  it('reports its lookups as requests, and no loads and no load spans (as docs/observability.md says)', async () => {
    const h = metricsHarness();
    const responses = new Cache<string, CachedResponse>({ max: 100 });
    const stop = instrument(responses, {
      name: 'http-responses',
      meter: h.meter,
      traceLoads: true,
      tracer: t.tracer,
    });
    const app = express();
    app.get('/users/:id', cacheResponses(responses), (req, res) => {
      res.set('Vary', 'Accept-Language').json({ id: req.params.id });
    });
    for (const id of [1, 2]) {
      const first = await request(serve(app)).get(`/users/${id}`).set('Accept-Language', 'en');
      expect(first.headers['x-cache']).toBe('MISS');
      const second = await request(serve(app)).get(`/users/${id}`).set('Accept-Language', 'en');
      expect(second.headers['x-cache']).toBe('HIT');
      const variant = await request(serve(app)).get(`/users/${id}`).set('Accept-Language', 'de');
      expect(variant.headers['x-cache']).toBe('MISS');
    }
    // Per id: a miss, a hit, and the variant's lookups (the base entry, a hit; then its variant, a miss).
    expect(await h.value('larder.cache.requests', { 'cache.name': 'http-responses', result: 'miss' })).toBe(
      4,
    );
    expect(await h.value('larder.cache.requests', { 'cache.name': 'http-responses', result: 'hit' })).toBe(4);
    expect(await h.value('larder.cache.loads')).toBeUndefined();
    expect(await h.value('larder.cache.load.duration')).toBeUndefined();
    expect(t.exporter.getFinishedSpans().filter((s) => s.name === 'larder.cache.load')).toEqual([]);
    stop();
  });
});
