import { StreamBytes } from './codec.js';

/**
 * Makes the byte arrays of a value that is about to be kept in memory own their memory.
 *
 * A `Buffer` under 4 KiB is usually a view into Node's shared 8 KiB pool (`Buffer.from`, `Buffer.concat`,
 * base64 decoding), and a slice of a larger buffer is a view into all of it: keeping such a view keeps the
 * whole parent alive, which the memory bound (counting `byteLength`) does not see. Next.js values carry
 * several of them (`rscData`, every `segmentData` segment, route bodies), and so do values decoded from
 * Redis. Held by the thousand, pages took 2-3x `maxMemory`.
 *
 * Every `Buffer` / `Uint8Array` (and stored stream bytes) that is a view into a larger buffer is copied into
 * one new `ArrayBuffer` per value, so that the value keeps exactly its own bytes alive (one allocation per
 * entry, not one per byte array). Containers on the way (plain objects, arrays, `Map`s) are copied, never
 * changed: the caller's value is left as it was. Returns `value` itself when nothing needs copying.
 *
 * @internal
 */
export function ownBytes<T>(value: T): T {
  const need = { views: 0, bytes: 0 };
  measure(value, need, 0);
  if (need.views === 0) return value;
  const pack: Pack = { buffer: new ArrayBuffer(need.bytes), offset: 0 };
  return copy(value, pack, 0) as T;
}

/** The buffer the copied bytes go to, and how much of it is used. */
interface Pack {
  readonly buffer: ArrayBuffer;
  offset: number;
}

const MAX_DEPTH = 64;

/** Whether `view` is all of its buffer (so keeping it keeps nothing else alive). */
function owns(view: Uint8Array): boolean {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function measure(value: unknown, need: { views: number; bytes: number }, depth: number): void {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return;
  if (value instanceof Uint8Array) {
    if (!owns(value)) {
      need.views++;
      need.bytes += value.byteLength;
    }
  } else if (value instanceof StreamBytes) {
    measure(value.bytes, need, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) measure(v, need, depth + 1);
  } else if (Array.isArray(value)) {
    for (const v of value) measure(v, need, depth + 1);
  } else if (!ArrayBuffer.isView(value) && isPlain(value)) {
    for (const key of Object.keys(value)) measure((value as Record<string, unknown>)[key], need, depth + 1);
  }
}

function copy(value: unknown, pack: Pack, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (value instanceof Uint8Array) {
    if (owns(value)) return value;
    const at = pack.offset;
    const length = value.byteLength;
    pack.offset += length;
    const out = Buffer.isBuffer(value)
      ? Buffer.from(pack.buffer, at, length)
      : new Uint8Array(pack.buffer, at, length);
    out.set(value);
    return out;
  }
  if (value instanceof StreamBytes) {
    const bytes = copy(value.bytes, pack, depth + 1) as Uint8Array;
    return bytes === value.bytes ? value : new StreamBytes(bytes);
  }
  if (value instanceof Map) {
    let out: Map<unknown, unknown> | undefined;
    for (const [k, v] of value) {
      const nv = copy(v, pack, depth + 1);
      if (nv !== v && out === undefined) out = new Map(value);
      out?.set(k, nv);
    }
    return out ?? value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const nv = copy(v, pack, depth + 1);
      if (nv !== v && out === undefined) out = value.slice();
      if (out !== undefined) out[i] = nv;
    }
    return out ?? value;
  }
  if (ArrayBuffer.isView(value) || !isPlain(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    const nv = copy(v, pack, depth + 1);
    if (nv !== v && out === undefined) {
      out = Object.getPrototypeOf(value) === null ? Object.assign(Object.create(null), value) : { ...value };
    }
    // defineProperty, not assignment: an own `__proto__` key (from JSON) must stay a plain property.
    if (out !== undefined)
      Object.defineProperty(out, key, { value: nv, writable: true, enumerable: true, configurable: true });
  }
  return out ?? value;
}
