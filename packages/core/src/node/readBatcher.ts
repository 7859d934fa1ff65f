import { TimeoutError } from "../errors.js";
import type { NodeId } from "../raft/types.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";

interface Waiter {
  resolve(index: number): void;
  reject(e: Error): void;
  timer: TimerHandle;
  done: boolean;
}

interface Round<TStamp> {
  key: string;
  waiters: Waiter[];
  ticks: number;
  /** What the caller recorded when the round started (before its messages went out). */
  stamp: TStamp;
}

/**
 * The context of a read request from node `nodeId`, incarnation `incarnation`: unique across
 * nodes and restarts, so a late answer to another node's or a previous incarnation's request
 * can never pass for this one's.
 */
export function readRequestContext(nodeId: NodeId, incarnation: string, seq: number): Uint8Array {
  return new TextEncoder().encode(`${nodeId}/${incarnation}/${seq}`);
}

/**
 * Linearizable reads batched into ReadIndex rounds: at most one round is in flight; reads
 * that arrive meanwhile wait for the next one, so any number of concurrent reads cost one
 * confirmation. A read resolves once the node has applied up to its round's read index. A
 * round with no answer is asked again under a new context: at once when the leader changes
 * ({@link leaderChanged}), else after `retryAfterTicks` (a lost request or answer).
 *
 * `request` starts a round and returns a stamp (e.g. when it started); `confirmed` receives the
 * stamp once the round's ReadState arrived, for a leader lease to build on.
 */
export class ReadBatcher<TStamp = undefined> {
  readonly #nodeId: NodeId;
  readonly #incarnation: string;
  readonly #request: (ctx: Uint8Array) => TStamp;
  readonly #onConfirmed: (stamp: TStamp) => void;
  readonly #retryAfterTicks: number;
  #queued: Waiter[] = [];
  #round: Round<TStamp> | null = null;
  #seq = 0;
  /** Reads whose index is known, waiting for the apply to catch up. */
  #waitingApply: { index: number; waiters: Waiter[] }[] = [];
  #applied = 0;
  readonly #clock: Clock;

  constructor(o: {
    nodeId: NodeId;
    /** Tells this node's contexts apart from a previous run's. */
    incarnation: string;
    request: (ctx: Uint8Array) => TStamp;
    confirmed?: (stamp: TStamp) => void;
    retryAfterTicks: number;
    clock?: Clock;
  }) {
    this.#clock = o.clock ?? systemClock;
    this.#nodeId = o.nodeId;
    this.#incarnation = o.incarnation;
    this.#request = o.request;
    this.#onConfirmed = o.confirmed ?? (() => {});
    this.#retryAfterTicks = o.retryAfterTicks;
  }

  read(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queued.push(this.#waiter(resolve, reject, timeoutMs, "the linearizable read"));
      this.#maybeStartRound(false);
    });
  }

  /** Resolves once this node has applied `index`. */
  waitApplied(index: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const w = this.#waiter(resolve, reject, timeoutMs, "the lease read");
      this.#waitingApply.push({ index, waiters: [w] });
      this.applied(this.#applied);
    });
  }

  /** Starts a round even with no read waiting (to renew a lease), unless one is in flight. */
  renew(): void {
    this.#maybeStartRound(true);
  }

  #waiter(resolve: (i: number) => void, reject: (e: Error) => void, timeoutMs: number, what: string): Waiter {
    const w: Waiter = {
      resolve,
      reject,
      done: false,
      timer: this.#clock.setTimeout(() => {
        if (w.done) return;
        w.done = true;
        reject(new TimeoutError(this.#nodeId, what, timeoutMs, false));
      }, timeoutMs),
    };
    return w;
  }

  #maybeStartRound(evenIfEmpty: boolean): void {
    if (this.#round !== null) return;
    this.#queued = this.#queued.filter((w) => !w.done);
    if (this.#queued.length === 0 && !evenIfEmpty) return;
    const ctx = readRequestContext(this.#nodeId, this.#incarnation, ++this.#seq);
    const waiters = this.#queued;
    this.#queued = [];
    const round: Round<TStamp> = { key: keyOf(ctx), waiters, ticks: 0, stamp: undefined as TStamp };
    this.#round = round;
    round.stamp = this.#request(ctx);
  }

  /** A ReadState arrived: the read with `ctx` may be served once `index` is applied. */
  confirmed(ctx: Uint8Array, index: number): void {
    const round = this.#round;
    if (!round || keyOf(ctx) !== round.key) return;
    this.#round = null;
    this.#onConfirmed(round.stamp);
    this.#waitingApply.push({ index, waiters: round.waiters });
    this.applied(this.#applied);
    this.#maybeStartRound(false);
  }

  /** The node applied up to `index`. */
  applied(index: number): void {
    this.#applied = index;
    if (this.#waitingApply.length === 0) return;
    const still: { index: number; waiters: Waiter[] }[] = [];
    for (const g of this.#waitingApply) {
      if (g.index > index) {
        still.push(g);
        continue;
      }
      for (const w of g.waiters) this.#settle(w, () => w.resolve(g.index));
    }
    this.#waitingApply = still;
  }

  tick(): void {
    const round = this.#round;
    if (!round) return;
    if (++round.ticks < this.#retryAfterTicks) return;
    // No answer: the request or its answer was lost. Ask again with a new context.
    this.#restartRound();
  }

  /**
   * A new leader is known: the round in flight went to the old one (or was dropped for want
   * of a leader) and will likely never be answered. Ask again at once, under a new context.
   */
  leaderChanged(): void {
    if (this.#round) this.#restartRound();
  }

  #restartRound(): void {
    const round = this.#round!;
    this.#round = null;
    this.#queued = [...round.waiters, ...this.#queued];
    this.#maybeStartRound(false);
  }

  #settle(w: Waiter, f: () => void): void {
    if (w.done) return;
    w.done = true;
    this.#clock.clearTimeout(w.timer);
    f();
  }

  failAll(e: Error): void {
    const all = [
      ...this.#queued,
      ...(this.#round?.waiters ?? []),
      ...this.#waitingApply.flatMap((g) => g.waiters),
    ];
    for (const w of all) this.#settle(w, () => w.reject(e));
    this.#queued = [];
    this.#round = null;
    this.#waitingApply = [];
  }
}

function keyOf(ctx: Uint8Array): string {
  return Array.from(ctx, (b) => b.toString(16).padStart(2, "0")).join("");
}
