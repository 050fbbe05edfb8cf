/**
 * The counter-example: a chat service that keeps each room's last 10 messages. This is state, not a cache:
 * there is no database behind it to reload from. Kept in each instance's memory (STATE=memory), users
 * behind a round-robin balancer see different histories; kept in a shared store (STATE=shared, the demo's
 * HTTP store at STORE_URL) or in Redis (STATE=redis, REDIS_URL), every instance sees the same.
 *
 *   POST /rooms/<room>/messages  {"id": "m1", "user": "alice", "text": "hi"}
 *   GET  /rooms/<room>/messages  → {"room", "instance", "messages": [...]}
 */
import type { AddressInfo } from 'node:net';
import express from 'express';

/** A chat message. */
export interface Message {
  id: string;
  user: string;
  text: string;
}

/** Where the rooms live. */
interface RoomState {
  push(room: string, message: Message): Promise<void>;
  recent(room: string): Promise<Message[]>;
  close(): Promise<void>;
}

/** How many messages a room keeps. */
export const KEEP = 10;

function memoryState(): RoomState {
  const rooms = new Map<string, Message[]>();
  return {
    push: async (room, message) => {
      const list = rooms.get(room) ?? [];
      list.push(message);
      if (list.length > KEEP) list.splice(0, list.length - KEEP);
      rooms.set(room, list);
    },
    recent: async (room) => rooms.get(room) ?? [],
    close: async () => {},
  };
}

function sharedState(url: string, prefix: string): RoomState {
  const at = (room: string) => `${url}/lists/${encodeURIComponent(prefix + room)}`;
  return {
    push: async (room, message) => {
      const answer = await fetch(at(room), {
        method: 'POST',
        body: JSON.stringify({ item: message, max: KEEP }),
      });
      if (!answer.ok) throw new Error(`store answered ${answer.status}`);
    },
    recent: async (room) => (await (await fetch(at(room))).json()) as Message[],
    close: async () => {},
  };
}

async function redisState(url: string, prefix: string): Promise<RoomState> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  return {
    push: async (room, message) => {
      const key = prefix + room;
      await redis.multi().rpush(key, JSON.stringify(message)).ltrim(key, -KEEP, -1).expire(key, 600).exec();
    },
    recent: async (room) =>
      (await redis.lrange(prefix + room, 0, -1)).map((item) => JSON.parse(item) as Message),
    close: async () => {
      redis.disconnect();
    },
  };
}

const env = process.env;
const mode = env.STATE ?? 'memory';
const prefix = env.STATE_PREFIX ?? 'larder-demo:chat:';
const state =
  mode === 'redis'
    ? await redisState(env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix)
    : mode === 'shared'
      ? sharedState(env.STORE_URL ?? 'http://127.0.0.1:6380', prefix)
      : memoryState();
const instance = env.INSTANCE ?? String(process.pid);

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '4kb' }));
app.use((_req, res, next) => {
  res.setHeader('X-Instance', instance);
  next();
});
app.post('/rooms/:room/messages', async (req, res) => {
  const { id, user, text } = (req.body ?? {}) as Partial<Message>;
  if (typeof id !== 'string' || typeof user !== 'string' || typeof text !== 'string') {
    res.status(400).json({ error: { status: 400, message: 'give id, user and text (strings)' } });
    return;
  }
  await state.push(String(req.params.room), { id, user, text });
  res.status(201).json({ ok: true, instance });
});
app.get('/rooms/:room/messages', async (req, res) => {
  res.json({ room: req.params.room, instance, messages: await state.recent(String(req.params.room)) });
});

const server = app.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`chat (${instance}) [${mode}] listening on http://127.0.0.1:${port}`);
});
// Behind a load balancer, keep idle connections open longer than the balancer does, so that it never
// sends a request on a connection this server is closing (Node's default is 5 s).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
const shutdown = async () => {
  server.closeAllConnections();
  server.close();
  await state.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
