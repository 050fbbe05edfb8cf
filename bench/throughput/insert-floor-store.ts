/**
 * The least work a count-bounded W-TinyLFU insertion that evicts can do, benchmark-only (issue 18's set-with-eviction
 * bar): one `Map` lookup, the key's hash, a sketch increment, the insertion (`Map.set`, a FIFO window of 1%), and,
 * once the window overflows, its oldest entry compared with main's oldest by two sketch estimates and the loser
 * dropped (`Map.delete`, the eviction listener called). Hashes are kept per slot (4 bytes an entry that larder's store
 * does not spend, see its recent-hash table), main is one FIFO (no segments, no promotion: the benchmark's keys are
 * never hit), and nothing adapts.
 *
 * With `ghosts`, it also does the ghost work larder's window climber needs: every insertion looks its key up in the
 * ghost memory's two regions (`Ghost.vote`), and every eviction records the evicted key's hash in one (`Ghost.record`).
 * That is the floor of an adaptive window, whose votes come from those lookups.
 *
 * @module
 */
import { FrequencySketch } from '../../src/policy/frequency-sketch.js';
import { Ghost, GhostRegion } from '../../src/policy/ghost.js';
import { hashKey } from '../../src/policy/hash.js';

const WINDOW = 0;
const MAIN = 1;
const FIRST_SLOT = 2;

/** See the module comment. */
export class InsertFloorStore<K, V> {
  readonly #map = new Map<K, number>();
  readonly #keys: (K | undefined)[];
  readonly #vals: (V | undefined)[];
  readonly #hash: Int32Array;
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #free: number[] = [];
  readonly #sketch: FrequencySketch;
  readonly #max: number;
  readonly #windowMax: number;
  readonly #onEvict: (key: K, value: V) => void;
  readonly #ghosts: Ghost | undefined;
  readonly #horizon: number;
  #top = FIRST_SLOT;
  #count = 0;
  #windowCount = 0;
  #windowExits = 0;
  #mainEvictions = 0;
  /** The climber's score (votes are counted, never acted on). */
  votes = 0;

  constructor(max: number, onEvict: (key: K, value: V) => void, ghosts: boolean) {
    this.#max = max;
    this.#windowMax = Math.max(1, Math.floor(max / 100));
    const slots = max + FIRST_SLOT + 1;
    this.#keys = new Array<K | undefined>(slots).fill(undefined);
    this.#vals = new Array<V | undefined>(slots).fill(undefined);
    this.#hash = new Int32Array(slots);
    this.#next = new Int32Array(slots);
    this.#prev = new Int32Array(slots);
    for (const s of [WINDOW, MAIN]) {
      this.#next[s] = s;
      this.#prev[s] = s;
    }
    this.#sketch = new FrequencySketch(max);
    this.#onEvict = onEvict;
    this.#horizon = Math.max(1, Math.round(0.05 * max));
    this.#ghosts = ghosts ? new Ghost(this.#horizon) : undefined;
  }

  /** Entries held. */
  get size(): number {
    return this.#count;
  }

  /** Inserts a key (a held one only gets its new value). */
  set(key: K, value: V): void {
    const held = this.#map.get(key);
    if (held !== undefined) {
      // A replacement counts as an access (larder's store defers it; the hash is at hand here).
      this.#vals[held] = value;
      this.#sketch.increment(this.#hash[held]!);
      return;
    }
    const h = hashKey(key);
    this.#sketch.increment(h);
    if (this.#ghosts !== undefined) {
      this.votes += this.#ghosts.vote(h, this.#windowExits, this.#mainEvictions, this.#horizon);
    }
    const i = this.#free.length > 0 ? (this.#free.pop() as number) : this.#top++;
    this.#keys[i] = key;
    this.#vals[i] = value;
    this.#hash[i] = h;
    this.#map.set(key, i);
    this.#link(i, WINDOW);
    this.#windowCount++;
    this.#count++;
    if (this.#windowCount > this.#windowMax) this.#leaveWindow();
  }

  #leaveWindow(): void {
    const c = this.#next[WINDOW]!;
    this.#unlink(c);
    this.#windowCount--;
    this.#windowExits++;
    if (this.#count <= this.#max) {
      this.#link(c, MAIN);
      return;
    }
    const v = this.#next[MAIN]!;
    const hc = this.#hash[c]!;
    const hv = this.#hash[v]!;
    if (this.#sketch.frequency(hc) > this.#sketch.frequency(hv)) {
      this.#mainEvictions++;
      this.#ghosts?.record(hv, this.#mainEvictions, GhostRegion.MAIN);
      this.#unlink(v);
      this.#drop(v);
      this.#link(c, MAIN);
    } else {
      this.#ghosts?.record(hc, this.#windowExits);
      this.#drop(c);
    }
  }

  #drop(i: number): void {
    const key = this.#keys[i] as K;
    const value = this.#vals[i] as V;
    this.#map.delete(key);
    this.#keys[i] = undefined;
    this.#vals[i] = undefined;
    this.#free.push(i);
    this.#count--;
    this.#onEvict(key, value);
  }

  #link(i: number, s: number): void {
    const p = this.#prev[s]!;
    this.#next[p] = i;
    this.#prev[i] = p;
    this.#next[i] = s;
    this.#prev[s] = i;
  }

  #unlink(i: number): void {
    const p = this.#prev[i]!;
    const n = this.#next[i]!;
    this.#next[p] = n;
    this.#prev[n] = p;
  }
}
