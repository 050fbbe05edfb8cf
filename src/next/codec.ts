import type { Serializer } from '../serializer.js';

/**
 * The value codec of `larder/next`: Next.js cache values hold `Buffer` (`rscData`, route bodies, images),
 * `Map` (`segmentData`) and sometimes streams, which plain JSON turns into `{type:'Buffer',data:[…]}` and `{}`
 * (the cause of `segmentData.get is not a function`). This codec writes JSON with tagged objects for those
 * types and restores them exactly: `Buffer` comes back as `Buffer`, `Uint8Array` as `Uint8Array`, `Map` as
 * `Map`, and a stream as a new stream over the same bytes on every read.
 *
 * @internal
 */

/** The tag key of an encoded special value. A NUL-prefixed key no Next.js value uses. */
const TAG = '\u0000L';

/** Bytes that stood for a stream when stored; {@link thaw} turns them into a new stream on every read. */
export class StreamBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** Whether `value` is a web `ReadableStream` (duck-typed: Next.js may use another realm's class). */
function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ReadableStream).getReader === 'function' &&
    typeof (value as ReadableStream).tee === 'function'
  );
}

/** Whether `value` is a Node.js readable stream. */
function isNodeStream(value: unknown): value is AsyncIterable<unknown> & { pipe: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { pipe?: unknown }).pipe === 'function' &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** Reads a web stream to its end and returns its bytes. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      chunks.push(chunk);
      length += chunk.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

async function readNode(stream: AsyncIterable<unknown>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** A new single-chunk web stream over `bytes`. */
export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/**
 * Replaces every stream inside `value` by {@link StreamBytes} (reading it to its end), so the value can be
 * kept and served many times. Returns the same object when it holds no stream, else a copy; `streams` tells
 * whether any was found.
 */
export async function freeze(value: unknown): Promise<{ value: unknown; streams: boolean }> {
  const found = { streams: false };
  const out = await freezeAt(value, found, 0);
  return { value: out, streams: found.streams };
}

async function freezeAt(value: unknown, found: { streams: boolean }, depth: number): Promise<unknown> {
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  if (isWebStream(value)) {
    found.streams = true;
    return new StreamBytes(await readAll(value));
  }
  if (isNodeStream(value)) {
    found.streams = true;
    return new StreamBytes(await readNode(value));
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof StreamBytes) return value;
  if (value instanceof Map) {
    let copy: Map<unknown, unknown> | undefined;
    for (const [k, v] of value) {
      const nv = await freezeAt(v, found, depth + 1);
      if (nv !== v && copy === undefined) copy = new Map(value);
      if (copy !== undefined) copy.set(k, nv);
    }
    return copy ?? value;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const nv = await freezeAt(v, found, depth + 1);
      if (nv !== v && copy === undefined) copy = value.slice();
      if (copy !== undefined) copy[i] = nv;
    }
    return copy ?? value;
  }
  if (value instanceof Set) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    const nv = await freezeAt(v, found, depth + 1);
    if (nv !== v && copy === undefined) copy = { ...(value as Record<string, unknown>) };
    if (copy !== undefined) copy[key] = nv;
  }
  return copy ?? value;
}

/** Returns `value` with every {@link StreamBytes} replaced by a new stream (a copy of the containers on the way). */
export function thaw(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  if (value instanceof StreamBytes) return streamOf(value.bytes);
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  if (value instanceof Map) {
    const out = new Map();
    for (const [k, v] of value) out.set(k, thaw(v, depth + 1));
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => thaw(v, depth + 1));
  if (value instanceof Set) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = thaw((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function replacer(this: unknown, key: string, encoded: unknown): unknown {
  // `this[key]` is the value before its toJSON (Buffer and Date have one).
  const value = (this as Record<string, unknown>)[key];
  if (typeof value === 'object' && value !== null) {
    if (Buffer.isBuffer(value)) return { [TAG]: 'B', d: base64(value) };
    if (value instanceof Uint8Array) return { [TAG]: 'U', d: base64(value) };
    if (value instanceof StreamBytes) return { [TAG]: 'S', d: base64(value.bytes) };
    if (value instanceof Map) return { [TAG]: 'M', d: [...value] };
    if (value instanceof Set) return { [TAG]: 'T', d: [...value] };
    if (value instanceof Date) return { [TAG]: 'D', d: value.getTime() };
    if (ArrayBuffer.isView(value)) {
      throw new TypeError(
        `larder/next cannot store a ${value.constructor.name} (only Buffer and Uint8Array)`,
      );
    }
  } else if (typeof value === 'number' && !Number.isFinite(value)) {
    return { [TAG]: 'N', d: String(value) };
  } else if (value === undefined && Array.isArray(this)) {
    return { [TAG]: 'X' };
  } else if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`larder/next cannot store a ${typeof value} (at key ${JSON.stringify(key)})`);
  }
  return encoded;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const tag = (value as Record<string, unknown>)[TAG];
  if (tag === undefined) return value;
  const d = (value as { d?: unknown }).d;
  switch (tag) {
    case 'B':
      return Buffer.from(d as string, 'base64');
    case 'U':
      return new Uint8Array(Buffer.from(d as string, 'base64'));
    case 'S':
      return new StreamBytes(new Uint8Array(Buffer.from(d as string, 'base64')));
    case 'M':
      return new Map(d as [unknown, unknown][]);
    case 'T':
      return new Set(d as unknown[]);
    case 'D':
      return new Date(d as number);
    case 'N':
      return Number(d);
    case 'X':
      return undefined;
    default:
      throw new TypeError(`larder/next: unknown tagged value ${JSON.stringify(tag)}`);
  }
}

/**
 * The serializer `larder/next` gives its Redis tier: JSON plus `Buffer`, `Uint8Array`, `Map`, `Set`, `Date`,
 * non-finite numbers, `undefined` in arrays, and stored streams.
 *
 * @internal
 */
export const nextSerializer: Serializer = {
  serialize(value: unknown): string {
    return JSON.stringify(value, replacer);
  },
  deserialize(text: string): unknown {
    return JSON.parse(text, reviver);
  },
};
