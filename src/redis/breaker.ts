import type { Cluster } from 'ioredis';

/**
 * Circuit breaker per cluster master: when a command to one master times out (it died, hangs, or is failing
 * over), the slot groups that master owns fail at once until a probe routed to them is answered again (by the
 * same master, or by the replica that took over), while the other masters' groups keep working. On a standalone
 * Redis the link's breaker (one connection, one breaker) does this job.
 *
 * @internal
 */
export class NodeBreaker {
  readonly #cluster: Cluster;
  readonly #slotOf: readonly number[];
  readonly #probe: (group: number) => Promise<unknown>;
  readonly #retry: number;
  readonly #onRecover: () => void;
  /** Hung masters (`host:port`), with their probe timer. */
  readonly #hung = new Map<string, ReturnType<typeof setTimeout> | undefined>();
  #disposed = false;

  constructor(
    cluster: Cluster,
    slotOf: readonly number[],
    probe: (group: number) => Promise<unknown>,
    retry: number,
    onRecover: () => void,
  ) {
    this.#cluster = cluster;
    this.#slotOf = slotOf;
    this.#probe = probe;
    this.#retry = retry;
    this.#onRecover = onRecover;
  }

  /** The master owning a group's slot, as the cluster client last saw it. */
  #nodeOf(group: number): string | undefined {
    const slot = this.#slotOf[group];
    return slot === undefined ? undefined : this.#cluster.slots[slot]?.[0];
  }

  /** Whether calls to `group` should fail at once (its master is known to be hung). */
  hung(group: number): boolean {
    if (this.#hung.size === 0) return false;
    const node = this.#nodeOf(group);
    return node !== undefined && this.#hung.has(node);
  }

  /** A call to `group` timed out: its master counts as hung until a probe of the group is answered. */
  trip(group: number): void {
    const node = this.#nodeOf(group);
    if (node === undefined || this.#hung.has(node) || this.#disposed) return;
    this.#hung.set(node, undefined);
    this.#schedule(node, group, 0);
  }

  #schedule(node: string, group: number, delay: number): void {
    const timer = setTimeout(() => {
      this.#probe(group).then(
        () => {
          if (this.#hung.delete(node) && !this.#disposed) this.#onRecover();
        },
        () => {
          if (this.#hung.has(node) && !this.#disposed) this.#schedule(node, group, this.#retry);
        },
      );
    }, delay);
    timer.unref?.();
    this.#hung.set(node, timer);
  }

  /** Stops probing. */
  dispose(): void {
    this.#disposed = true;
    for (const timer of this.#hung.values()) if (timer !== undefined) clearTimeout(timer);
    this.#hung.clear();
  }
}
