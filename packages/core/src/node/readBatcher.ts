import { TimeoutError } from "../errors.js";
import type { NodeId } from "../raft/types.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";

interface Waiter {
  resolve(index: number): void;
  reject(e: Error): void;
  timer: TimerHandle;
  done: boolean;
}

interface Round {
  ctx: Uint8Array;
  key: string;
  waiters: Waiter[];
  ticks: number;
}

/**
 * Linearizable reads batched into ReadIndex rounds: at most one round is in flight; reads
 * that arrive meanwhile wait for the next one, so any number of concurrent reads cost one
 * confirmation. A read resolves once the node has applied up to its round's read index. A
 * round with no answer after `retryAfterTicks` (lost request, leader change) is asked again.
 */
export class ReadBatcher {
  readonly #nodeId: NodeId;
  readonly #request: (ctx: Uint8Array) => void;
  readonly #retryAfterTicks: number;
  #queued: Waiter[] = [];
  #round: Round | null = null;
  #seq = 0;
  /** Reads whose index is known, waiting for the apply to catch up. */
  #waitingApply: { index: number; waiters: Waiter[] }[] = [];
  #applied = 0;
  readonly #clock: Clock;

  constructor(o: {
    nodeId: NodeId;
    request: (ctx: Uint8Array) => void;
    retryAfterTicks: number;
    clock?: Clock;
  }) {
    this.#clock = o.clock ?? systemClock;
    this.#nodeId = o.nodeId;
    this.#request = o.request;
    this.#retryAfterTicks = o.retryAfterTicks;
  }

  read(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        done: false,
        timer: this.#clock.setTimeout(() => {
          if (w.done) return;
          w.done = true;
          reject(new TimeoutError(this.#nodeId, "the linearizable read", timeoutMs, false));
        }, timeoutMs),
      };
      this.#queued.push(w);
      this.#maybeStartRound();
    });
  }

  #maybeStartRound(): void {
    if (this.#round !== null) return;
    this.#queued = this.#queued.filter((w) => !w.done);
    if (this.#queued.length === 0) return;
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setFloat64(0, ++this.#seq);
    this.#round = { ctx, key: keyOf(ctx), waiters: this.#queued, ticks: 0 };
    this.#queued = [];
    this.#request(ctx);
  }

  /** A ReadState arrived: the read with `ctx` may be served once `index` is applied. */
  confirmed(ctx: Uint8Array, index: number): void {
    const round = this.#round;
    if (!round || keyOf(ctx) !== round.key) return;
    this.#round = null;
    this.#waitingApply.push({ index, waiters: round.waiters });
    this.applied(this.#applied);
    this.#maybeStartRound();
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
    this.#round = null;
    this.#queued = [...round.waiters, ...this.#queued];
    this.#maybeStartRound();
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
