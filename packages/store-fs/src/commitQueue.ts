interface Waiter<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit: items wait in one queue; `flush` takes everything queued as one group, and while
 * it runs (while its fsync runs) the next group collects. Concurrent callers thus share one
 * fsync, and more of them means bigger groups rather than more fsyncs. An item pushed while
 * nothing is being flushed starts its flush at once, inside `push`.
 *
 * The first failure of `flush` is final: that group, everything queued and everything pushed
 * later are rejected with `fail(error)`, because after a failed write or fsync what the disk
 * holds is unknown.
 */
export class CommitQueue<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #fail: (err: unknown) => Error;
  readonly #schedule: (fn: () => void) => void;
  #queue: Waiter<T>[] = [];
  #running = false;
  #failure: Error | null = null;
  #last: Promise<void> = Promise.resolve();

  /** `schedule` runs the next group after the callers of the last one had their turn (default `setImmediate`). */
  constructor(
    flush: (items: T[]) => Promise<void>,
    fail: (err: unknown) => Error,
    schedule: (fn: () => void) => void = setImmediate,
  ) {
    this.#flush = flush;
    this.#fail = fail;
    this.#schedule = schedule;
  }

  /** The error every push now gets, once a flush has failed. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Queues `item`; resolves once the group holding it has been flushed. */
  push(item: T): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    const p = new Promise<void>((resolve, reject) => this.#queue.push({ item, resolve, reject }));
    this.#last = p;
    p.catch(() => {});
    if (!this.#running) {
      this.#running = true;
      // At once: a lone item's write and fsync start before its caller goes on (a Raft leader
      // sends and applies while its own fsync runs). Items pushed while this group is written
      // form the next group.
      void this.#run();
    }
    return p;
  }

  /** Settles as the most recent push does: once everything pushed so far is flushed. */
  drained(): Promise<void> {
    return this.#last;
  }

  readonly #run = async (): Promise<void> => {
    const group = this.#queue;
    this.#queue = [];
    if (group.length === 0) {
      this.#running = false;
      return;
    }
    try {
      await this.#flush(group.map((w) => w.item));
    } catch (err) {
      this.#failure = this.#fail(err);
      for (const w of group) w.reject(this.#failure);
      for (const w of this.#queue) w.reject(this.#failure);
      this.#queue = [];
      this.#running = false;
      return;
    }
    for (const w of group) w.resolve();
    if (this.#queue.length === 0) {
      // Idle: the next push starts at once (a single writer, such as a Raft node's loop, never waits).
      this.#running = false;
      return;
    }
    // Items came in during this flush; the callers just resolved queue their next items in
    // microtasks: let them all join the next group.
    this.#schedule(this.#run);
  };
}
