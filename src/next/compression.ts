import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, gunzip, gzip } from 'node:zlib';
import type { Serializer } from '../serializer.js';
import { nextSerializer, StreamBytes } from './codec.js';
import type { Stored, StoredIncremental, StoredUseCache } from './stored.js';

/**
 * How `larder/next` turns an entry into the text it stores in Redis and back: the JSON of its value codec
 * (codec.ts), compressed above a threshold, then passed through the user's {@link NextValueCodec} if any.
 *
 * The stored text says how it was encoded, so instances of a rolling deploy read each other's entries:
 * - `{…}`: plain JSON (entries written before compression existed, small entries, `compress: false`);
 * - `~<alg>[+<codec>]~<base64>`: `<alg>` is `gz` (gzip), `br` (brotli) or empty (not compressed), `<codec>` the
 *   name of the user's codec that encoded the bytes after compression. The bytes are a frame: the JSON with
 *   each byte array replaced by a reference, then the byte arrays themselves (so the RSC payload and the
 *   segment data are compressed as bytes, not as base64 text): `u32 jsonLength, json, (u32 length, bytes)*`.
 *
 * Anything else, an algorithm this version does not know, or a codec name other than the configured one is
 * refused as untrusted input (the read is a miss).
 *
 * @internal
 */

/** Compression of the entries `larder/next` stores in Redis. */
export type NextCompression = 'gzip' | 'brotli' | false;

/**
 * A transformation of the bytes `larder/next` stores in Redis, for full control (encryption, another
 * compression algorithm). `encode` runs after the built-in compression (if any) on every value written,
 * `decode` before decompression on every value read; each may return a promise.
 *
 * ```ts
 * const codec: NextValueCodec = {
 *   name: 'aes1',
 *   encode: (bytes) => encrypt(key, bytes),
 *   decode: (bytes) => decrypt(key, bytes), // throw when the bytes are not authentic: the read is a miss
 * };
 * ```
 */
export interface NextValueCodec {
  /**
   * A name written in the header of every value it encodes (1-32 letters, digits, `.`, `_` or `-`; default
   * `'custom'`). Values carrying another name, or none, are refused, so change it when the encoding changes
   * (a new key, a new algorithm): instances of a rolling deploy then miss each other's entries instead of
   * misreading them.
   */
  name?: string;
  /** Encodes the bytes of a value (UTF-8 JSON, or its compressed form). */
  encode(bytes: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Decodes what `encode` returned. Throws (or rejects) when the bytes are not its own: the read is a miss. */
  decode(bytes: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** The resolved encoding settings. @internal */
export interface Encoding {
  compress: NextCompression;
  threshold: number;
  codec: NextValueCodec | undefined;
}

/** The largest value decompression may produce (a corrupt or hostile value cannot exhaust memory). */
const MAX_OUTPUT = 256 * 1024 * 1024;
/** The longest header, `~gz+<32-char name>~`. */
const MAX_HEADER = 40;
const NAME = /^[A-Za-z0-9._-]{1,32}$/;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/** The key of a reference to a byte array of the frame (NUL-prefixed: no Next.js value uses it). */
const REF = '\u0000R';
/** The kinds of byte arrays: Buffer, Uint8Array, stored stream. */
type RefKind = 'B' | 'U' | 'S';

/** Replaces every byte array inside `value` by a reference to its index in `chunks` (copying containers). */
function extract(value: unknown, chunks: Uint8Array[], depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  if (value instanceof StreamBytes) return { [REF]: chunks.push(value.bytes) - 1, t: 'S' };
  if (value instanceof Uint8Array) {
    return { [REF]: chunks.push(value) - 1, t: Buffer.isBuffer(value) ? 'B' : 'U' };
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Set) return value;
  if (value instanceof Map) {
    const out = new Map();
    for (const [k, v] of value) out.set(k, extract(v, chunks, depth + 1));
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => extract(v, chunks, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    out[key] = extract((value as Record<string, unknown>)[key], chunks, depth + 1);
  return out;
}

/** The inverse of {@link extract}; throws on a reference to no chunk. */
function restore(value: unknown, chunks: readonly Buffer[], depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > 66) return value;
  if (value instanceof Map) {
    for (const [k, v] of value) value.set(k, restore(v, chunks, depth + 1));
    return value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i], chunks, depth + 1);
    return value;
  }
  if (
    ArrayBuffer.isView(value) ||
    value instanceof Date ||
    value instanceof Set ||
    value instanceof StreamBytes
  ) {
    return value;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, REF)) {
    const index = record[REF];
    const chunk = typeof index === 'number' ? chunks[index] : undefined;
    const kind = record.t as RefKind;
    if (chunk === undefined || (kind !== 'B' && kind !== 'U' && kind !== 'S')) throw refuse('bad reference');
    if (kind === 'B') return chunk;
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return kind === 'U' ? bytes : new StreamBytes(bytes);
  }
  for (const key of Object.keys(record)) record[key] = restore(record[key], chunks, depth + 1);
  return record;
}

/** The frame of a value: its JSON (byte arrays as references), then the byte arrays. */
function frame(value: unknown): Buffer {
  return framed(value).bytes;
}

/**
 * The frame of a value, and how many more characters its byte arrays take as base64 in the plain JSON than
 * as bytes in the frame (so `bytes.byteLength + base64Extra` is about the plain JSON's length).
 */
function framed(value: unknown): { bytes: Buffer; base64Extra: number } {
  const chunks: Uint8Array[] = [];
  const json = Buffer.from(nextSerializer.serialize(extract(value, chunks, 0)), 'utf8');
  const parts: Uint8Array[] = [u32(json.byteLength), json];
  let base64Extra = 0;
  for (const chunk of chunks) {
    parts.push(u32(chunk.byteLength), chunk);
    base64Extra += Math.ceil(chunk.byteLength / 3) * 4 - chunk.byteLength;
  }
  return { bytes: Buffer.concat(parts), base64Extra };
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** Reads a frame; throws a TypeError when it is not one. */
function unframe(bytes: Buffer): unknown {
  if (bytes.byteLength < 4) throw refuse('short frame');
  const jsonLength = bytes.readUInt32BE(0);
  if (4 + jsonLength > bytes.byteLength) throw refuse('bad frame');
  const json = bytes.toString('utf8', 4, 4 + jsonLength);
  const chunks: Buffer[] = [];
  let at = 4 + jsonLength;
  while (at < bytes.byteLength) {
    if (at + 4 > bytes.byteLength) throw refuse('bad frame');
    const length = bytes.readUInt32BE(at);
    at += 4;
    if (at + length > bytes.byteLength) throw refuse('bad frame');
    chunks.push(bytes.subarray(at, at + length));
    at += length;
  }
  let value: unknown;
  try {
    value = nextSerializer.deserialize(json);
  } catch (error) {
    throw refuse(error instanceof Error ? error.message : String(error));
  }
  return restore(value, chunks, 0);
}

function compressBytes(alg: 'gz' | 'br', input: Buffer): Promise<Buffer> {
  if (alg === 'gz') return gzipAsync(input, { level: 6 });
  return brotliAsync(input, {
    params: {
      // Quality 5: most of brotli's ratio at gzip's speed (the default, 11, takes seconds per megabyte).
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: input.byteLength,
    },
  });
}

function decompressBytes(alg: 'gz' | 'br', bytes: Uint8Array): Promise<Buffer> {
  if (alg === 'gz') return gunzipAsync(bytes, { maxOutputLength: MAX_OUTPUT });
  return unbrotliAsync(bytes, { maxOutputLength: MAX_OUTPUT });
}

function refuse(detail: string): TypeError {
  return new TypeError(`larder/next: refusing a value read from Redis (${detail})`);
}

/** Checks the `compress`, `compressThreshold` and `codec` options. @internal */
export function resolveEncoding(
  compress: unknown,
  threshold: unknown,
  codec: unknown,
  name: string,
): Encoding {
  const c = compress === undefined ? 'gzip' : compress;
  if (c !== 'gzip' && c !== 'brotli' && c !== false) {
    throw new TypeError(`${name}: compress must be 'gzip', 'brotli' or false; got ${String(compress)}`);
  }
  const t = threshold === undefined ? 1024 : threshold;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) {
    throw new RangeError(
      `${name}: compressThreshold must be an integer number of bytes >= 0; got ${String(t)}`,
    );
  }
  if (codec === undefined) return { compress: c, threshold: t, codec: undefined };
  const k = codec as Partial<NextValueCodec> | null;
  if (
    typeof k !== 'object' ||
    k === null ||
    typeof k.encode !== 'function' ||
    typeof k.decode !== 'function'
  ) {
    throw new TypeError(`${name}: codec must be an object with encode(bytes) and decode(bytes) methods`);
  }
  const codecName = k.name ?? 'custom';
  if (typeof codecName !== 'string' || !NAME.test(codecName)) {
    throw new TypeError(
      `${name}: codec.name must be 1-32 letters, digits, '.', '_' or '-'; got ${JSON.stringify(codecName)}`,
    );
  }
  return {
    compress: c,
    threshold: t,
    codec: { name: codecName, encode: k.encode.bind(k), decode: k.decode.bind(k) },
  };
}

function bytesOf(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new TypeError(`larder/next: codec.${what} must return a Uint8Array`);
  return value;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Encodes an entry as the text stored in Redis. Throws the value codec's TypeError for a value that cannot be
 * stored, or the user codec's error.
 *
 * @internal
 */
export async function encodeValue(value: unknown, encoding: Encoding): Promise<string> {
  const { compress, codec } = encoding;
  if (codec === undefined) {
    if (compress === false) return nextSerializer.serialize(value);
    // The frame first: a value worth compressing (a page) is serialized once. A small one is serialized
    // again as plain JSON, which costs little at its size.
    const { bytes, base64Extra } = framed(value);
    if (bytes.byteLength < encoding.threshold) return nextSerializer.serialize(value);
    const alg = compress === 'gzip' ? 'gz' : 'br';
    const packed = await compressBytes(alg, bytes);
    // Kept only when it pays for its base64 (4/3) and header against the plain JSON, whose length is about
    // the frame's plus the base64 overhead of its byte arrays.
    if (((packed.byteLength + 2) / 3) * 4 + 8 < bytes.byteLength + base64Extra) {
      return `~${alg}~${base64(packed)}`;
    }
    return nextSerializer.serialize(value);
  }
  let bytes = frame(value);
  let alg = '';
  if (compress !== false && bytes.byteLength >= encoding.threshold) {
    alg = compress === 'gzip' ? 'gz' : 'br';
    bytes = await compressBytes(alg as 'gz' | 'br', bytes);
  }
  const encoded = bytesOf(await codec.encode(bytes), 'encode');
  return `~${alg}+${codec.name}~${base64(encoded)}`;
}

/**
 * Decodes text read from Redis. Throws a TypeError for anything not written by {@link encodeValue} with a
 * compatible configuration (the caller treats it as a miss); never returns a value that is not an object.
 *
 * @internal
 */
export async function decodeValue(text: unknown, encoding: Encoding): Promise<unknown> {
  if (typeof text !== 'string') throw refuse('not text');
  const codec = encoding.codec;
  let value: unknown;
  if (text.charCodeAt(0) === 123 /* { */) {
    if (codec !== undefined) throw refuse(`not encoded by the codec ${JSON.stringify(codec.name)}`);
    try {
      value = nextSerializer.deserialize(text);
    } catch (error) {
      throw refuse(error instanceof Error ? error.message : String(error));
    }
  } else if (text.charCodeAt(0) === 126 /* ~ */) {
    const end = text.indexOf('~', 1);
    if (end < 0 || end > MAX_HEADER) throw refuse('bad header');
    const header = text.slice(1, end);
    const plus = header.indexOf('+');
    const alg = plus < 0 ? header : header.slice(0, plus);
    const name = plus < 0 ? undefined : header.slice(plus + 1);
    if (alg !== 'gz' && alg !== 'br' && alg !== '')
      throw refuse(`unknown compression ${JSON.stringify(alg)}`);
    if (name !== codec?.name) {
      throw refuse(
        name === undefined
          ? `not encoded by the codec ${JSON.stringify(codec?.name)}`
          : `encoded by an unknown codec ${JSON.stringify(name)}`,
      );
    }
    const body = text.slice(end + 1);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw refuse('bad base64');
    let bytes: Buffer = Buffer.from(body, 'base64');
    if (codec !== undefined) {
      const decoded = bytesOf(await codec.decode(bytes), 'decode');
      bytes = Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength);
    }
    if (alg === '') {
      if (codec === undefined) throw refuse('bad header');
    } else {
      try {
        bytes = await decompressBytes(alg, bytes);
      } catch (error) {
        throw refuse(`cannot decompress: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    value = unframe(bytes);
  } else {
    throw refuse('unknown format');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse('not an entry');
  return value;
}

/** The tier's serializer: values reach it encoded by {@link encodeValue}. @internal */
export const TEXT: Serializer = {
  serialize(value: unknown): string {
    if (typeof value !== 'string') throw new TypeError('larder/next: the tier stores encoded text only');
    return value;
  },
  deserialize(text: string): unknown {
    return text;
  },
};

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((t) => typeof t === 'string');
}

/** Whether a decoded value has the shape of an entry (every byte read from Redis is untrusted). @internal */
export function isStored(value: unknown): value is Stored {
  const v = value as
    | (Partial<Omit<StoredIncremental, 'k'> & Omit<StoredUseCache, 'k'>> & { k?: unknown })
    | null;
  if (typeof v !== 'object' || v === null) return false;
  if (typeof v.t !== 'number' || !Number.isFinite(v.t) || !isStringArray(v.g)) return false;
  if (typeof v.s !== 'number' || !Number.isFinite(v.s)) return false;
  if (v.k === 'i') return v.st === undefined || v.st === 1;
  return (
    v.k === 'u' &&
    v.b instanceof Uint8Array &&
    typeof v.stale === 'number' &&
    typeof v.expire === 'number' &&
    typeof v.revalidate === 'number'
  );
}
