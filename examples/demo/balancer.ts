/**
 * A real HTTP load balancer (reverse proxy): every request goes to one backend, chosen round-robin, or by a
 * hash of the chat room in the path (`/rooms/<room>/...`), the "sticky by room" fix.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A backend the balancer proxies to. */
export interface Backend {
  name: string;
  port: number;
}

/** How the balancer picks a backend. */
export type Mode = 'round-robin' | 'room-hash';

/** A running balancer. */
export interface Balancer {
  readonly port: number;
  /** Replaces the backends (the next request uses the new list). */
  use(backends: readonly Backend[], mode: Mode): void;
  /** Requests sent to each backend since the last `use`. */
  readonly sent: Map<string, number>;
  close(): Promise<void>;
}

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const ROOM = /^\/rooms\/([^/?]+)/;

/** Starts a balancer on a free port of 127.0.0.1. */
export async function startBalancer(): Promise<Balancer> {
  let backends: readonly Backend[] = [];
  let mode: Mode = 'round-robin';
  let next = 0;
  const sent = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const pick = (url: string): Backend => {
    if (mode === 'room-hash') {
      const room = ROOM.exec(url)?.[1];
      if (room !== undefined) return backends[hash(room) % backends.length] as Backend;
    }
    const backend = backends[next % backends.length] as Backend;
    next++;
    return backend;
  };

  const server = http.createServer((req, res) => {
    if (backends.length === 0) {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"error":{"status":503,"message":"no backend"}}');
      return;
    }
    const backend = pick(req.url ?? '/');
    sent.set(backend.name, (sent.get(backend.name) ?? 0) + 1);
    // Like nginx's proxy_next_upstream: a GET or HEAD that failed before any answer (a kept-alive connection
    // the backend had just closed) is sent once more, on a new connection.
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    const forward = (retry: boolean) => {
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: backend.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
          agent: retry ? false : agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        if (idempotent && !retry && !res.headersSent) {
          forward(true);
          return;
        }
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: { status: 502, message: `backend ${backend.name}: ${error.message}` } }),
        );
      });
      if (idempotent) upstream.end();
      else req.pipe(upstream);
    };
    forward(false);
  });
  server.keepAliveTimeout = 65_000; // longer than any idle gap of the demo client, as in front of the instances
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    use(list, how) {
      backends = list;
      mode = how;
      next = 0;
      sent.clear();
    },
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
