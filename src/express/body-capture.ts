/**
 * Copies the body a route writes, up to a limit, into memory the stored entry owns.
 *
 * @module
 */

/**
 * Collects the chunks passed to `res.write`/`res.end`. Each chunk is copied (the caller may reuse its buffer),
 * and {@link BodyCapture.body} joins them into one buffer allocated for it alone: never a view into Node's shared
 * 8 KiB pool, so the entry's `body.byteLength` is the memory it holds (what `sizeOf`/`maxSize` count).
 */
export class BodyCapture {
  readonly #limit: number;
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  #overflowed = false;

  /** @param limit - the largest body kept, in bytes; past it the capture stops and keeps nothing */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Whether the body grew past the limit (then nothing is kept). */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** The bytes captured so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds a chunk as `write`/`end` received it (a string with its encoding, or bytes); ignores anything else. */
  add(chunk: unknown, encoding?: unknown): void {
    if (this.#overflowed || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    let bytes: Uint8Array;
    if (typeof chunk === 'string') {
      bytes = Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    } else if (chunk instanceof Uint8Array) {
      bytes = new Uint8Array(chunk); // a copy of its own: the route may reuse its buffer after write() returns
    } else {
      return;
    }
    this.#size += bytes.byteLength;
    if (this.#size > this.#limit) {
      this.#overflowed = true;
      this.#chunks.length = 0;
      return;
    }
    this.#chunks.push(bytes);
  }

  /**
   * The whole body in one buffer that owns its memory (`body.byteLength === body.buffer.byteLength`); empty once
   * the body overflowed.
   */
  body(): Buffer {
    return this.#overflowed ? Buffer.allocUnsafeSlow(0) : ownedConcat(this.#chunks, this.#size);
  }
}

/** Joins `chunks` (`size` bytes in all) into a buffer allocated outside Node's pool. */
export function ownedConcat(chunks: readonly Uint8Array[], size: number): Buffer {
  const only = chunks.length === 1 ? (chunks[0] as Uint8Array) : undefined;
  if (only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) {
    return Buffer.from(only.buffer, 0, only.byteLength); // already a whole buffer of its own
  }
  const body = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
