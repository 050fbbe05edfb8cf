/** What both handlers store: the entry's time, its tags and its size in bytes. @internal */
interface StoredBase {
  /** `lastModified` (incremental) or `timestamp` (`'use cache'`), epoch ms. */
  t: number;
  /** The entry's own tags. */
  g: string[];
  /** Approximate size in bytes, for the memory bound. */
  s: number;
}

/** An incremental-cache entry. @internal */
export interface StoredIncremental extends StoredBase {
  k: 'i';
  /** The value Next.js passed to `set` (streams replaced by their bytes). */
  v: unknown;
  /** `ctx.cacheControl` of `set`. */
  cc?: unknown;
  /** 1 when `v` held streams (then each read gets new ones). */
  st?: 1;
}

/** A `'use cache'` entry. @internal */
export interface StoredUseCache extends StoredBase {
  k: 'u';
  b: Uint8Array;
  stale: number;
  expire: number;
  revalidate: number;
}

/** A stored entry. @internal */
export type Stored = StoredIncremental | StoredUseCache;
