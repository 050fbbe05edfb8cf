/**
 * Heartbeat of one Redis connection: notices a Redis that stops answering while its connection stays open
 * (a frozen process, SIGSTOP; a half-open TCP connection after a network partition), which ioredis cannot
 * see by itself because no `close` ever comes.
 *
 * @internal
 */

/** What a heartbeat needs of a connection (an ioredis `Redis`, also in subscriber mode). */
export interface Pingable {
  readonly status: string;
  ping(): Promise<unknown>;
}

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  /**
   * The connection counts as hung when it is `ready` and nothing answered a PING for this long (ms), or when it
   * stays `connecting` / `connect` (TCP, TLS, the ready check) for this long. A PING goes out every
   * `deadline / 2` ms, so a hang is noticed between `deadline` and `1.5 x deadline` after the last answer (or
   * the start of the connection attempt).
   */
  deadline: number;
  /** Called once per hang (again only after an answer, or once the connection left its attempt to connect). */
  onHung: (silentFor: number) => void;
}

/** Sends PING on a connection and reports when it stops answering (see the module comment). @internal */
export class Heartbeat {
  readonly #client: Pingable;
  readonly #deadline: number;
  readonly #onHung: (silentFor: number) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Last answer (or the moment the connection became ready, or started to connect). */
  #lastAnswer = 0;
  #outstanding = false;
  #hung = false;

  constructor(client: Pingable, options: HeartbeatOptions) {
    this.#client = client;
    this.#deadline = options.deadline;
    this.#onHung = options.onHung;
  }

  /**
   * Starts (or restarts, after a reconnect) the heartbeat; the connection counts as just answered. Start it as
   * soon as the connection is made, so that an attempt to connect that never ends counts as a hang too.
   */
  start(): void {
    this.#lastAnswer = Date.now();
    this.#hung = false;
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), Math.max(1, Math.floor(this.#deadline / 2)));
    this.#timer.unref?.();
  }

  /** Stops the heartbeat. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether the connection is considered hung (no answer since the deadline passed). */
  get hung(): boolean {
    return this.#hung;
  }

  #tick(): void {
    const client = this.#client;
    const status = client.status;
    if (status !== 'ready') {
      if (status === 'connecting' || status === 'connect') {
        // A connection attempt (TCP, TLS, the ready check): a Redis that hangs can hold it here forever (its
        // kernel accepts the connection, nothing answers the ready check). It gets the same deadline as a PING.
        const silentFor = Date.now() - this.#lastAnswer;
        if (silentFor >= this.#deadline && !this.#hung) {
          this.#hung = true;
          this.#onHung(silentFor);
        }
        return;
      }
      // Not connected ('wait', 'reconnecting', 'close', 'end'): the connection's own events tell; count from the
      // next attempt.
      this.#lastAnswer = Date.now();
      this.#hung = false;
      return;
    }
    const silentFor = Date.now() - this.#lastAnswer;
    if (silentFor >= this.#deadline && !this.#hung) {
      this.#hung = true;
      this.#onHung(silentFor);
    }
    if (this.#outstanding) return;
    this.#outstanding = true;
    let sent: Promise<unknown>;
    try {
      sent = client.ping();
    } catch {
      this.#outstanding = false;
      return;
    }
    sent.then(
      () => {
        this.#outstanding = false;
        this.#lastAnswer = Date.now();
        this.#hung = false;
      },
      () => {
        // A command timeout or a closed connection: not an answer. Ping again on the next tick.
        this.#outstanding = false;
      },
    );
  }
}
