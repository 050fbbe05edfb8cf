/**
 * Key layout of the tier on a Redis Cluster: slot groups.
 *
 * A Lua script (and MGET) may only touch keys of one hash slot, yet an entry's read and conditional write need
 * the times of its tags and of the clears beside it. So the keys are split into `GROUPS` slot groups, each
 * with its own hash tag: every entry lives in one group (chosen by a hash of its key), and each group holds its
 * own copy of the tag times, clear times and latest-invalidation time (and that time's copy, `j`):
 *
 *     <prefix>{<group tag>}v:<key>    <prefix>{<group tag>}t:<tag>    <prefix>{<group tag>}c    <prefix>{<group tag>}i
 *
 * A read or write touches one group (one slot, one round trip, as on a standalone Redis). A tag invalidation
 * or clear writes every group (`GROUPS` small scripts, sent at once): its cost depends on the number of groups,
 * never on the number of tagged entries. The group tags are chosen so that their slots are evenly spaced over
 * the 16384 slots, so the entries spread over the masters in proportion to the slots each master owns.
 *
 * On a standalone Redis (or Sentinel) there is one group, the bare prefix: the layout of earlier versions.
 *
 * @internal
 */

import { keyOfSuffix } from './keys.js';

/** Number of slot groups on a cluster (divisible by 2, 3, 4, 6, 8, 12, 16: even shares for those master counts). */
export const GROUPS = 48;

const SLOTS = 16384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** The Redis Cluster hash slot of a key whose bytes are all ASCII (CRC16/XMODEM mod 16384). */
export function asciiSlot(key: string): number {
  let crc = 0;
  for (let i = 0; i < key.length; i++) {
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ key.charCodeAt(i)) & 0xff] as number);
  }
  return crc % SLOTS;
}

/** Hash tags whose slots are evenly spaced: tag `i` hashes to the slot nearest the middle of the `i`-th range. */
function groupTags(count: number): string[] {
  const tags: string[] = [];
  const width = SLOTS / count;
  for (let i = 0; i < count; i++) {
    const lo = Math.floor(i * width);
    const hi = Math.floor((i + 1) * width);
    const mid = (lo + hi) / 2;
    let best = '';
    let bestDistance = Number.POSITIVE_INFINITY;
    for (let n = 0; n < 20_000 && bestDistance > width / 8; n++) {
      const tag = `${i}.${n.toString(36)}`;
      const slot = asciiSlot(tag);
      if (slot >= lo && slot < hi && Math.abs(slot - mid) < bestDistance) {
        best = tag;
        bestDistance = Math.abs(slot - mid);
      }
    }
    tags.push(best);
  }
  return tags;
}

let clusterTags: string[] | undefined;

/** Where the tier's keys go: one group (standalone) or {@link GROUPS} slot groups (cluster). @internal */
export class KeyLayout {
  /** The key prefix of each group (`<prefix>` alone, or `<prefix>{<group tag>}`). */
  readonly groups: readonly string[];
  /** The hash slot of each group's keys (cluster only; empty on a standalone Redis). */
  readonly slots: readonly number[];
  readonly #byTag: Map<string, number>;
  readonly #prefix: string;

  constructor(prefix: string, cluster: boolean) {
    this.#prefix = prefix;
    this.#byTag = new Map();
    if (!cluster) {
      this.groups = [prefix];
      this.slots = [];
      return;
    }
    clusterTags ??= groupTags(GROUPS);
    this.groups = clusterTags.map((tag) => `${prefix}{${tag}}`);
    this.slots = clusterTags.map(asciiSlot);
    clusterTags.forEach((tag, i) => {
      this.#byTag.set(tag, i);
    });
  }

  /** Whether there is more than one group (a cluster). */
  get sharded(): boolean {
    return this.groups.length > 1;
  }

  /** The group of a cache key (FNV-1a of its UTF-16 code units). */
  groupOf(key: string): number {
    const n = this.groups.length;
    if (n === 1) return 0;
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) % n;
  }

  /** The group of a Redis key of this layout (one made from `groups[i]`); 0 on a standalone Redis. */
  groupOfRedisKey(rkey: string): number {
    if (this.groups.length === 1) return 0;
    const start = this.#prefix.length + 1;
    const end = rkey.indexOf('}', start);
    return this.#byTag.get(rkey.slice(start, end)) ?? 0;
  }

  /** The cache key of an entry's Redis key of this layout (one made from a group and {@link valueSuffix}). */
  cacheKeyOf(rkey: string): string {
    return keyOfSuffix(rkey.slice((this.groups[this.groupOfRedisKey(rkey)] as string).length));
  }

  /** Splits Redis keys (with one value each) by group: `[group, keys, values][]`. */
  split<T>(rkeys: readonly string[], values: readonly T[]): [number, string[], T[]][] {
    if (this.groups.length === 1) return [[0, [...rkeys], [...values]]];
    const by = new Map<number, [number, string[], T[]]>();
    rkeys.forEach((rkey, i) => {
      const g = this.groupOfRedisKey(rkey);
      let bucket = by.get(g);
      if (bucket === undefined) {
        bucket = [g, [], []];
        by.set(g, bucket);
      }
      bucket[1].push(rkey);
      bucket[2].push(values[i] as T);
    });
    return [...by.values()];
  }
}
