import { TimeoutError } from "../errors.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";

interface Pending<T> {
  resolve(value: T): void;
  reject(e: Error): void;
  timer: TimerHandle;
}

/**
 * Calls waiting for their log entry to be applied, by id, each with a deadline. A call whose
 * deadline passes rejects with a {@link TimeoutError} saying its outcome is unknown (the entry
 * may still commit).
 */
export class PendingCalls<T> {
  readonly #calls = new Map<string, Pending<T>>();
  readonly #nodeId: string;
  /** What a call is, for messages ("the proposal"). */
  readonly what: string;
  readonly #clock: Clock;

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
      const timer = this.#clock.setTimeout(() => {
        this.#calls.delete(id);
        reject(new TimeoutError(this.#nodeId, this.what, timeoutMs, true));
      }, timeoutMs);
      this.#calls.set(id, { resolve, reject, timer });
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
    this.#clock.clearTimeout(p.timer);
    this.#calls.delete(id);
    return p;
  }
}
