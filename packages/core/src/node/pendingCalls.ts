import { TimeoutError } from "../errors.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";

interface Pending<T> {
  resolve(value: T): void;
  reject(e: Error): void;
  /** Monotonic ms after which the call times out. */
  deadline: number;
  timeoutMs: number;
}

/**
 * Calls waiting for their log entry to be applied, by id, each with a deadline. A call whose
 * deadline passes rejects with a {@link TimeoutError} saying its outcome is unknown (the entry
 * may still commit).
 *
 * One timer serves every call, armed for the earliest deadline: a timer per call cost a few
 * µs at every proposal, and calls almost always settle long before their deadline.
 */
export class PendingCalls<T> {
  readonly #calls = new Map<string, Pending<T>>();
  readonly #nodeId: string;
  /** What a call is, for messages ("the proposal"). */
  readonly what: string;
  readonly #clock: Clock;
  #timer: TimerHandle | null = null;
  /** The deadline the timer is armed for; Infinity when it is not. */
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(nodeId: string, what: string, clock: Clock = systemClock) {
    this.#nodeId = nodeId;
    this.what = what;
    this.#clock = clock;
  }

  /**
   * Registers call `id`, then runs `submit`; if `submit` throws, the call rejects with that
   * error at once (nothing was proposed).
   */
  start(id: string, timeoutMs: number, submit: () => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const deadline = this.#clock.monotonic() + timeoutMs;
      this.#calls.set(id, { resolve, reject, deadline, timeoutMs });
      if (deadline < this.#timerAt) this.#arm(deadline);
      try {
        submit();
      } catch (e) {
        this.#take(id);
        reject(e);
      }
    });
  }

  /** How many calls are waiting. */
  get size(): number {
    return this.#calls.size;
  }

  /** The ids of the calls waiting now. */
  ids(): string[] {
    return [...this.#calls.keys()];
  }

  has(id: string): boolean {
    return this.#calls.has(id);
  }

  resolve(id: string, value: T): void {
    this.#take(id)?.resolve(value);
  }

  reject(id: string, e: Error): void {
    this.#take(id)?.reject(e);
  }

  /** Rejects every waiting call with `error(what)`. */
  rejectAll(error: (what: string) => Error): void {
    for (const id of [...this.#calls.keys()]) this.reject(id, error(this.what));
  }

  #take(id: string): Pending<T> | undefined {
    const p = this.#calls.get(id);
    if (!p) return undefined;
    this.#calls.delete(id);
    if (this.#calls.size === 0 && this.#timer !== null) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerAt = Number.POSITIVE_INFINITY;
    }
    return p;
  }

  #arm(at: number): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#expire(), Math.max(0, at - this.#clock.monotonic()));
  }

  /** Times out every call whose deadline passed, then arms the timer for the next deadline. */
  #expire(): void {
    // The timer fired, so its deadline has passed even if the clock rounds differently.
    const now = Math.max(this.#clock.monotonic(), this.#timerAt);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    const expired: Pending<T>[] = [];
    for (const [id, p] of this.#calls) {
      if (p.deadline <= now) {
        this.#calls.delete(id);
        expired.push(p);
      } else if (p.deadline < next) next = p.deadline;
    }
    if (next < Number.POSITIVE_INFINITY) this.#arm(next);
    for (const p of expired) p.reject(new TimeoutError(this.#nodeId, this.what, p.timeoutMs, true));
  }
}
