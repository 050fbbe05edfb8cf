/**
 * Single flight (concurrent requests for one key wait for the request producing it), when that answer is not
 * stored or does not fit the waiting request: waiters are let go as soon as the answer is known not to be
 * stored, and a waiter whose answer is another variant stores it where the next lookup reads it.
 */
import { get as httpGet, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CachedResponse, cacheResponses } from '../../src/express/index.js';
import { Cache } from '../../src/index.js';
import { closeServers, serve } from '../helpers/express-server.js';
import { heldTier } from '../helpers/held-tier.js';

afterEach(async () => {
  await closeServers();
});

/** A promise the test resolves when it is done with the responses it holds open. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Resolves with the response as soon as its head arrived (the body may still be streaming). */
function head(server: Server, path: string): Promise<IncomingMessage> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path }, resolve).on('error', reject);
  });
}

/** `promise`'s value, or `'timed out'` after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(resolve, ms, 'timed out'))]);
}

/** The whole body of a response whose head arrived. */
function bodyOf(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

describe('single flight lets waiters go once the answer is known not to be stored', () => {
  /**
   * Two clients of a route that holds its answer open until the test opens `done`: the second must get its
   * head (its own handler run) while the first is still streaming.
   */
  async function secondHeadWhileFirstStreams(
    app: express.Express,
    path: string,
    done: { open: () => void },
  ): Promise<void> {
    const server = serve(app);
    const first = await head(server, path);
    expect(first.statusCode).toBe(200);
    const firstBody = bodyOf(first);
    const second = await within(head(server, path), 2000);
    done.open();
    expect(second).not.toBe('timed out');
    const secondBody = bodyOf(second as IncomingMessage);
    expect(await firstBody).toMatch(/end$/);
    expect(await secondBody).toMatch(/end$/);
    expect((second as IncomingMessage).headers['x-cache']).toBe('MISS');
  }

  it('an event stream (Cache-Control: no-cache): the second client does not wait for the first to end', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const done = gate();
    const app = express();
    let calls = 0;
    app.get('/events', cacheResponses(cache), async (_req, res) => {
      calls++;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write('data: hello\n\n');
      await done.wait;
      res.end('data: end');
    });
    await secondHeadWhileFirstStreams(app, '/events', done);
    expect(calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('a body past maxBodySize: the second download starts while the first is still sent (within it: waits)', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    let done = gate();
    const app = express();
    let calls = 0;
    app.get('/file/:size', cacheResponses(cache, { maxBodySize: 1024 }), async (req, res) => {
      calls++;
      res.type('application/octet-stream');
      res.write(Buffer.alloc(Number(req.params.size), 'x'));
      await done.wait;
      res.end('end');
    });
    await secondHeadWhileFirstStreams(app, '/file/2048', done);
    expect(calls).toBe(2);
    expect(cache.size).toBe(0);
    // A body within maxBodySize still holds the second client, and hands it the answer once it ended.
    done = gate();
    const server = serve(app);
    const first = await head(server, '/file/512');
    const firstBody = bodyOf(first);
    const second = head(server, '/file/512');
    expect(await within(second, 200)).toBe('timed out');
    done.open();
    expect(await firstBody).toMatch(/^x{512}end$/);
    const answer = await second;
    expect(answer.headers['x-cache']).toBe('HIT');
    expect(await bodyOf(answer)).toMatch(/^x{512}end$/);
    expect(calls).toBe(3);
  });

  it('a cookie that express-session adds as the head goes out: the second client does not wait either', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const done = gate();
    const app = express();
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: true }));
    app.get('/feed', cacheResponses(cache), async (_req, res: Response) => {
      res.type('text/plain');
      res.write('first line\n');
      await done.wait;
      res.end('end');
    });
    await secondHeadWhileFirstStreams(app, '/feed', done);
    expect(cache.size).toBe(0);
  });
});

describe('single flight with answers that vary on request headers', () => {
  it('variants produced by requests that waited for another variant are stored where the next lookup reads them', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const lookups = vi.spyOn(cache, 'getOrSet');
    const app = express();
    let calls = 0;
    let held = 'en';
    let hold = gate();
    app.get('/page', cacheResponses(cache), async (req, res) => {
      calls++;
      if (req.get('accept-language') === held) await hold.wait;
      res.vary('Accept-Language').send(`page in ${req.get('accept-language')}`);
    });
    const server = serve(app);
    const get = (language: string) =>
      request(server)
        .get('/page')
        .set('Accept-Language', language)
        .then((answer) => answer);
    /** Sends `first` (held in its handler) and then `second`, which waits for it; returns both answers. */
    async function concurrently(first: string, second: string, secondLookups: number) {
      held = first;
      hold = gate();
      const before = calls;
      const a = get(first);
      await vi.waitFor(() => expect(calls).toBe(before + 1));
      lookups.mockClear();
      const b = get(second);
      await vi.waitFor(() => expect(lookups).toHaveBeenCalledTimes(secondLookups));
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(calls).toBe(before + 1); // `second` waits for `first`
      hold.open();
      return [await a, await b];
    }

    // Nothing stored yet: 'en' goes under the base key, 'de' (which waited for it) under its variant of it.
    const [en, de] = await concurrently('en', 'de', 1);
    expect([en?.text, de?.text]).toEqual(['page in en', 'page in de']);
    // 'en' stored: 'fr' misses its variant and runs; 'es' misses too (base key, then its variant) and waits.
    const [fr, es] = await concurrently('fr', 'es', 2);
    expect([fr?.text, es?.text]).toEqual(['page in fr', 'page in es']);
    expect(calls).toBe(4);
    for (const language of ['en', 'de', 'fr', 'es']) {
      const again = await get(language);
      expect(again.headers['x-cache']).toBe('HIT');
      expect(again.text).toBe(`page in ${language}`);
    }
    expect(calls).toBe(4);
    for (const key of cache.keys()) expect(key.match(/ vary:/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });
});

describe('single flight when concurrent lookups were joined into one (a cache with a second tier)', () => {
  const handlers: Record<string, (res: Response, run: number) => void | Promise<void>> = {
    'answers in the same tick (res.json)': (res, run) => {
      res.json({ run });
    },
    'answers after an await': async (res, run) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      res.json({ run });
    },
  };

  for (const [name, answer] of Object.entries(handlers)) {
    it(`${name}: N concurrent misses run the handler once, the others get its answer`, async () => {
      const { tier, state } = heldTier();
      const cache = new Cache<string, CachedResponse>({ max: 100, tier });
      const app = express();
      let calls = 0;
      app.get('/r', cacheResponses(cache), (_req, res) => answer(res, ++calls));
      const gateway = gate();
      state.hold = gateway.wait;
      const server = serve(app);
      const pending = [1, 2, 3, 4, 5].map(() =>
        request(server)
          .get('/r')
          .then((response) => response),
      );
      // All five looked their key up while the one read of the tier they joined is held.
      await vi.waitFor(() => expect(cache.stats().misses).toBe(5));
      expect(state.reads).toBe(1);
      state.hold = undefined;
      gateway.open();
      const answers = await Promise.all(pending);
      expect(calls).toBe(1);
      expect(answers.map((a) => a.headers['x-cache']).sort()).toEqual(['HIT', 'HIT', 'HIT', 'HIT', 'MISS']);
      for (const a of answers) expect(a.body).toEqual({ run: 1 });
      await cache.close();
    });
  }

  it('an answer that varies on request headers: one handler run per variant', async () => {
    const { tier, state } = heldTier();
    const cache = new Cache<string, CachedResponse>({ max: 100, tier });
    const app = express();
    const calls: string[] = [];
    app.get('/page', cacheResponses(cache), (req, res) => {
      calls.push(req.get('accept-language') as string);
      res.vary('Accept-Language').send(`page in ${req.get('accept-language')}`);
    });
    const gateway = gate();
    state.hold = gateway.wait;
    const server = serve(app);
    const languages = ['en', 'de', 'en', 'de', 'en', 'de'];
    const pending = languages.map((language) =>
      request(server)
        .get('/page')
        .set('Accept-Language', language)
        .then((response) => response),
    );
    await vi.waitFor(() => expect(cache.stats().misses).toBe(6));
    state.hold = undefined;
    gateway.open();
    const answers = await Promise.all(pending);
    expect(calls.sort()).toEqual(['de', 'en']);
    expect(answers.map((a) => a.text)).toEqual(languages.map((language) => `page in ${language}`));
    expect(answers.filter((a) => a.headers['x-cache'] === 'MISS')).toHaveLength(2);
    await cache.close();
  });

  it('an answer that is not stored still lets the joined requests run the handler themselves', async () => {
    const { tier, state } = heldTier();
    const cache = new Cache<string, CachedResponse>({ max: 100, tier });
    const app = express();
    let calls = 0;
    app.get('/r', cacheResponses(cache), (_req, res) => {
      calls++;
      res.set('Cache-Control', 'no-store').json({ run: calls });
    });
    const gateway = gate();
    state.hold = gateway.wait;
    const server = serve(app);
    const pending = [1, 2, 3].map(() =>
      request(server)
        .get('/r')
        .then((response) => response),
    );
    await vi.waitFor(() => expect(cache.stats().misses).toBe(3));
    state.hold = undefined;
    gateway.open();
    const answers = await Promise.all(pending);
    expect(calls).toBe(3);
    expect(answers.map((a) => a.headers['x-cache'])).toEqual(['MISS', 'MISS', 'MISS']);
    expect(cache.size).toBe(0);
    await cache.close();
  });
});
