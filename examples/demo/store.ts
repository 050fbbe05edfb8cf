/**
 * A tiny shared store over HTTP (capped lists), run by the demo process: the stand-in for Redis when
 * REDIS_URL is not set. Chat instances in `shared` mode keep their rooms here instead of in their memory.
 *
 *   POST /lists/<key>  {"item": ..., "max": 10}   appends, keeps the last `max` items
 *   GET  /lists/<key>                             the items, oldest first
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running store. */
export interface SharedStore {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the store on a free port of 127.0.0.1. */
export async function startStore(): Promise<SharedStore> {
  const lists = new Map<string, unknown[]>();
  const server = http.createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/lists\//, ''));
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET') {
      reply(200, lists.get(key) ?? []);
      return;
    }
    if (req.method !== 'POST') {
      reply(405, { error: 'GET or POST' });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const { item, max } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          item: unknown;
          max: number;
        };
        const list = lists.get(key) ?? [];
        list.push(item);
        if (list.length > max) list.splice(0, list.length - max);
        lists.set(key, list);
        reply(200, { length: list.length });
      } catch (error) {
        reply(400, { error: String(error) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
