/**
 * What the store holds for an entry that has metadata (a TTL, stale windows, tags or a creation time).
 * An entry with none of these is stored as its bare value, which keeps memory per entry at the level of
 * a bare `lru-cache`. The class is internal: no user value can be an `Entry`.
 *
 * @internal
 */
export class Entry<V> {
  constructor(
    /** The cached value (never `undefined`). */
    public value: V,
    /** Fresh until (epoch ms; `Infinity` = no TTL). */
    public expires: number,
    /** Stale-while-revalidate window end (epoch ms, `>= expires`). */
    public staleUntil: number,
    /** Stale-if-error window end (epoch ms, `>= expires`). */
    public errorUntil: number,
    /** When the store may drop it: the latest of the three times above. */
    public deadline: number,
    /** Tags, or `undefined` for none. */
    public tags: readonly string[] | undefined,
    /** When its value was read from its source (epoch ms). */
    public createdAt: number,
    /** The full key it is stored under (for the expiry queue). */
    public key: unknown,
  ) {}

  /** Its index in the cache's expiry queue, or -1 when not queued (kept by `ExpiryQueue`). */
  slot = -1;
}

/**
 * Whether a stored value is an {@link Entry} (rather than a bare value). Checks the constructor, which is
 * much cheaper than `instanceof` for primitive values on the hot path.
 *
 * @internal
 */
export function isEntry(value: unknown): value is Entry<unknown> {
  return (
    typeof value === 'object' && value !== null && (value as { constructor?: unknown }).constructor === Entry
  );
}
