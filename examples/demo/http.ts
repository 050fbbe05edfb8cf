/** A small HTTP client for the demo: keep-alive, bodies as text, timings. */
import http from 'node:http';

/** An answer, with when its request was sent and when the answer was complete (epoch ms). */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  sentAt: number;
  receivedAt: number;
}

/** One keep-alive agent per demo, shared by every request. */
export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * Sends a request to `http://127.0.0.1:<port><path>` and reads the whole answer.
 *
 * @param port - the server's port on 127.0.0.1
 * @param method - the HTTP method
 * @param path - path and query
 * @param body - a JSON value, or a string sent as is with `Content-Type: application/json`
 */
export function send(port: number, method: string, path: string, body?: unknown): Promise<Answer> {
  const sentAt = Date.now();
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            sentAt,
            receivedAt: Date.now(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Reads a JSON answer; throws when the status is not 2xx. */
export async function getJson<T>(port: number, path: string): Promise<T> {
  const answer = await send(port, 'GET', path);
  if (answer.status < 200 || answer.status > 299)
    throw new Error(`GET ${path} on :${port} answered ${answer.status}`);
  return JSON.parse(answer.text) as T;
}
