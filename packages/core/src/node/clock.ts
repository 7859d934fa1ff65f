/** A timer started through a {@link Clock}; only good for handing back to the same clock. */
export type TimerHandle = { readonly __timer?: never } | object;

/**
 * Everything the runtime and the SDK know of time. The real one is {@link systemClock}; a
 * simulation gives each node its own (simulated time, pauses, jumps, skew), so the real code
 * of every layer runs under one seeded schedule with no real timer in the loop.
 */
export interface Clock {
  /** Wall-clock time in ms since the epoch. May jump (NTP, a VM resume); never use it for durations. */
  now(): number;
  /** Monotonic time in ms from an arbitrary origin: never goes back, keeps counting through a pause. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Runs `fn` once the current turn (and its I/O callbacks) is done: everything queued now joins one batch. */
  setImmediate(fn: () => void): void;
}

type NodeTimer = ReturnType<typeof globalThis.setTimeout>;

/** The process's own clock: `Date.now`, `performance.now` and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as NodeTimer),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (h) => globalThis.clearInterval(h as NodeTimer),
  setImmediate: (fn) => {
    globalThis.setImmediate(fn);
  },
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Resolves on a later turn of `clock`'s event loop (its setImmediate): what long work awaits between slices. */
export function nextTurn(clock: Clock): Promise<void> {
  return new Promise((resolve) => clock.setImmediate(resolve));
}

/**
 * How long code has held the event loop since it last had a turn: long work asks {@link used}
 * between two pieces, and awaits {@link nextTurn} when it says the budget is spent. Time spent
 * awaiting I/O (a write, say) lets timers run and starts a new turn, so only work that never let
 * go counts, measured on the clock's monotonic time.
 */
export class TurnBudget {
  readonly #clock: Pick<Clock, "setImmediate" | "monotonic">;
  readonly #budgetMs: number;
  #turn = { started: 0, over: false };

  constructor(clock: Pick<Clock, "setImmediate" | "monotonic">, budgetMs: number) {
    this.#clock = clock;
    this.#budgetMs = budgetMs;
    this.#begin();
  }

  /** True when the work has held the event loop for the budget, without a turn in between. */
  used(): boolean {
    if (this.#turn.over) {
      this.#begin();
      return false;
    }
    return this.#clock.monotonic() - this.#turn.started >= this.#budgetMs;
  }

  /** Resolves on a later turn, with a fresh budget. */
  async nextTurn(): Promise<void> {
    await new Promise<void>((resolve) => this.#clock.setImmediate(resolve));
    this.#begin();
  }

  #begin(): void {
    const turn = { started: this.#clock.monotonic(), over: false };
    this.#turn = turn;
    // Runs once the event loop had a turn: whatever ran since then did not hold it throughout.
    this.#clock.setImmediate(() => {
      turn.over = true;
    });
  }
}
