/**
 * One listening server per Express app for a test, so that every request of the test carries the same `Host`
 * (supertest's `request(app)` listens on a new port, hence a new `Host`, for each request).
 */
import type { Server } from 'node:http';
import type { Express } from 'express';

const servers = new Map<Express, Server>();

/** The app's server for this test, listening on an ephemeral port (started on first use). */
export function serve(app: Express): Server {
  let server = servers.get(app);
  if (server === undefined) {
    server = app.listen(0); // no host: bound at once (a host is looked up first, asynchronously)
    servers.set(app, server);
  }
  return server;
}

/** Closes every server {@link serve} started (call in `afterEach`). */
export async function closeServers(): Promise<void> {
  const list = [...servers.values()];
  servers.clear();
  await Promise.all(
    list.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}
